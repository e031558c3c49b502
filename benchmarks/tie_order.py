"""The same interactions with their same-second ties in five orders, as RecBole atomic datasets (issue 7).

    python benchmarks/tie_order.py OUT [--inter PATH.inter] [--seed 2020]

Writes OUT/<name>-<order>/<name>-<order>.inter for each order, with the file's users and items and, as timestamp,
each interaction's position in its user's sequence (as in our ml-1m copy), so that RecBole's time order is exactly
the order written:
- file: RecBole's own order, a stable sort by time, ties as the file lists them;
- shuffled: ties in a random order (seeded);
- item: ties by ascending item ID, a pattern a model can learn (a higher ID follows a lower one in a tie);
- global: ties by one random order of the items shared by all users (seeded), a pattern a model can learn too, and
  the one RecBole's ml-1m file shows: its rows follow a near-global item order (benchmarks/tie_source.py);
- blurred: the global order with per-rating noise (sd 0.15 on the rank scaled to [0, 1)), so that two users agree on
  about 80% of tied pairs, as in RecBole's ml-1m (79.7% over 16 users sampled).
Training one model on each (run_recbole_mamba.py --dataset=<name>-<order> --data_path=OUT) measures how much
the tie order alone moves the metrics, on real MovieLens timestamps (default: the ml-100k that ships with RecBole).
Prints for each order the share of consecutive pairs whose next item ID is larger, and how many test targets differ
from the file order's.
"""
import argparse
import os
import sys

import numpy as np
import pandas as pd

ORDERS = ("file", "shuffled", "item", "global", "blurred")
BLUR = 0.15  # the noise that brings two users' agreement on tied pairs to RecBole's ml-1m level (about 80%)


def default_inter():
    import recbole
    return os.path.join(os.path.dirname(recbole.__file__), "dataset_example", "ml-100k", "ml-100k.inter")


def read_inter(path):
    df = pd.read_csv(path, sep="\t")
    df.columns = [c.split(":")[0] for c in df.columns]
    return df[["user_id", "item_id", "timestamp"]]


def blurred_keys(df, seed, noise):
    """One random item ranking scaled to [0, 1), plus Gaussian noise of sd `noise` drawn per rating (seeded)."""
    rng = np.random.default_rng(seed)
    items = np.unique(df["item_id"].to_numpy())
    rank = dict(zip(items, rng.permutation(len(items)) / len(items)))
    return df["item_id"].map(rank).to_numpy() + rng.normal(0.0, noise, len(df))


def ordered(df, order, seed=2020):
    """df sorted by user and time, same-second ties in the given order."""
    df = df.reset_index(drop=True)
    if order == "file":
        key = np.arange(len(df))
    elif order == "shuffled":
        key = np.random.default_rng(seed).permutation(len(df))
    elif order == "item":
        key = df["item_id"].to_numpy()
    elif order == "global":  # one random rank per item, the same for every user (seeded)
        key = blurred_keys(df, seed, 0.0)
    elif order == "blurred":
        key = blurred_keys(df, seed, BLUR)
    else:
        raise ValueError(f"unknown tie order {order!r}: one of {', '.join(ORDERS)}")
    return sort_ties(df, key)


def sort_ties(df, key):
    """df (index 0..n-1) sorted by user and time, same-second ties by `key` (one value per row)."""
    out = df.assign(_tie=key).sort_values(["user_id", "timestamp", "_tie"], kind="stable").drop(columns="_tie")
    return out.reset_index(drop=True)


def with_positions(df):
    """The timestamp replaced by the position in the user's sequence (0, 1, ...)."""
    return df.assign(timestamp=df.groupby("user_id").cumcount().astype(float))


def write_atomic(df, folder, name):
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    path = os.path.join(folder, name, f"{name}.inter")
    df.to_csv(path, sep="\t", index=False, header=["user_id:token", "item_id:token", "timestamp:float"])
    return path


def rising_share(df):
    """Share of a user's consecutive pairs whose next item ID is larger than the current one."""
    same_user = df["user_id"].to_numpy()[1:] == df["user_id"].to_numpy()[:-1]
    items = pd.to_numeric(df["item_id"]).to_numpy()
    return float((items[1:] > items[:-1])[same_user].mean())


def last_items(df):
    return df.groupby("user_id")["item_id"].last()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--inter", default=None, help="an atomic .inter with real timestamps (default: RecBole's ml-100k)")
    p.add_argument("--seed", type=int, default=2020, help="the seed of the shuffled and global orders")
    args = p.parse_args(argv)
    path = args.inter or default_inter()
    name = os.path.basename(path).rsplit(".", 1)[0]
    df = read_inter(path)
    file_targets = last_items(ordered(df, "file"))
    for order in ORDERS:
        seq = ordered(df, order, args.seed)
        written = write_atomic(with_positions(seq), args.out, f"{name}-{order}")
        changed = int((last_items(seq) != file_targets).sum())
        print(f"{order}: {written}: next item ID larger in {rising_share(seq):.1%} of consecutive pairs; "
              f"test target differs from the file order's for {changed} of {len(file_targets)} users")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How much a learnable order of same-second ties is worth, measured in seconds on the CPU (issue 7).

    python benchmarks/tie_markov.py [--inter PATH.inter] [--seeds 2020 2021 2022]

Writes nothing. For each order of `benchmarks/tie_order.py` (file, shuffled, item, global, blurred; per seed where
seeded)
it scores a first-order transition model, counts of "item b right after item a" over the training part of every
sequence, under RecBole's protocol: 5-core filtering, leave-one-out (last item test, second to last validation), full
ranking over all items, NDCG@10 and HR@10. The model learns nothing but which item follows which, so the difference
between the orders is the part of the metric that the order of ties alone supplies. It is no substitute for the
neural models (those are `benchmarks/tie_order.py` runs on a GPU); it shows the direction and the rough size on the
CPU in seconds.
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tie_order  # noqa: E402


def k_core(df, k=5):
    """Drop users and items with fewer than k interactions until none is left (RecBole's 5-core, iterated)."""
    while True:
        users = df["user_id"].map(df["user_id"].value_counts())
        items = df["item_id"].map(df["item_id"].value_counts())
        keep = (users >= k) & (items >= k)
        if keep.all():
            return df
        df = df[keep]


def sequences(df):
    return [g["item_id"].tolist() for _, g in df.groupby("user_id", sort=True)]


def ndcg_hr(scores, target, k=10):
    """Rank of the target among all items (ties count against it, as a pessimistic full ranking)."""
    rank = int((scores > scores[target]).sum() + (scores == scores[target]).sum() - 1)
    return (1 / math.log2(rank + 2), 1.0) if rank < k else (0.0, 0.0)


def evaluate(seqs, n_items):
    """Transition counts from each sequence's training part; test and validation NDCG@10 / HR@10."""
    counts = np.zeros((n_items, n_items), dtype=np.float32)
    popularity = np.zeros(n_items, dtype=np.float32)
    for s in seqs:
        train = s[:-2]
        np.add.at(counts, (train[:-1], train[1:]), 1)
        np.add.at(popularity, train, 1)
    prior = popularity / popularity.max() * 1e-3  # breaks ties between unseen transitions by popularity
    out = {}
    for split, (last, target) in {"valid": (-3, -2), "test": (-2, -1)}.items():
        n = h = 0.0
        for s in seqs:
            a, b = ndcg_hr(counts[s[last]] + prior, s[target])
            n, h = n + a, h + b
        out[split] = (n / len(seqs), h / len(seqs))
    return out


def noisy_global(df, seed, noise):
    """Ties by one random item ranking (a fraction in [0, 1)) plus per-rating Gaussian noise of sd `noise`.

    Returns the ordered frame and, per user, the items sorted by that key alone (the analogue of RecBole's row order
    in ratings.dat, which the ranking shows through) for measuring how well users agree on it."""
    df = df.reset_index(drop=True)
    key = tie_order.blurred_keys(df, seed, noise)
    keyed = df.assign(_key=key)
    rows = {u: g.sort_values("_key")["item_id"].tolist() for u, g in keyed.groupby("user_id")}
    return tie_order.sort_ties(df, key), rows


def agreement_on_ties(df, rows, users=60):
    """Share of item pairs tied in one user that another user's row order holds the same way (tie_source.py's
    measure; RecBole's ml-1m: 79.8% over 13 users), over the first `users` users."""
    from tie_source import cross_user_agreement
    picked = sorted(rows)[:users]
    times = {u: dict(zip(g["item_id"], g["timestamp"])) for u, g in df[df["user_id"].isin(picked)].groupby("user_id")}
    agree, pairs = cross_user_agreement({u: rows[u] for u in picked}, times)
    return agree / max(pairs, 1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inter", default=None, help="an atomic .inter with real timestamps (default: RecBole's ml-100k)")
    p.add_argument("--seeds", type=int, nargs="+", default=[2020, 2021, 2022])
    p.add_argument("--noise", type=float, nargs="*", default=[0.05, 0.1, 0.15, 0.2],
                   help="also: global rankings blurred by per-rating noise of these sds (agreement printed)")
    args = p.parse_args(argv)
    df = k_core(tie_order.read_inter(args.inter or tie_order.default_inter()))
    ids = {item: k for k, item in enumerate(sorted(df["item_id"].unique()))}
    df = df.assign(item_id=df["item_id"].map(ids))
    print(f"{df['user_id'].nunique()} users, {len(ids)} items, {len(df)} interactions after 5-core")
    print("order\tseed\ttest NDCG@10\ttest HR@10\tvalid NDCG@10\tvalid HR@10")
    for order in tie_order.ORDERS:
        for seed in ([None] if order in ("file", "item") else args.seeds):  # blurred = the noise 0.15 rows below
            r = evaluate(sequences(tie_order.ordered(df, order, seed if seed is not None else 0)), len(ids))
            print(f"{order}\t{seed if seed is not None else '-'}\t{r['test'][0]:.4f}\t{r['test'][1]:.4f}\t"
                  f"{r['valid'][0]:.4f}\t{r['valid'][1]:.4f}")
    for noise in args.noise:
        for seed in args.seeds:
            seq, rows = noisy_global(df, seed, noise)
            r = evaluate(sequences(seq), len(ids))
            print(f"global+noise {noise:g} (users agree on {100 * agreement_on_ties(df, rows):.1f}% of tied pairs)"
                  f"\t{seed}\t{r['test'][0]:.4f}\t{r['test'][1]:.4f}\t{r['valid'][0]:.4f}\t{r['valid'][1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

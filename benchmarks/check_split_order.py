"""Checks that RecBole's leave-one-out split of a dataset follows each user's order in the atomic file.

    python benchmarks/check_split_order.py [--dataset ml-1m] [--data_path ../shared/datasets] [--every 1] [--max_len N]

For every `--every`-th test sample it rebuilds, from the .inter file alone, what the sample must be: the user's last
kept item as target and the (up to MAX_ITEM_LIST_LENGTH) items before it as history. It also checks every user's
validation target (the second-to-last item). It prints the counts and exits 1 on any mismatch. Items the k-core
filter removed are left out of the expected sequence, as RecBole does.
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from recbole.data import data_preparation  # noqa: E402

from recbole_mamba.quick_start import load_dataset, make_config  # noqa: E402


def per_user_items(inter_file):
    users = {}
    with open(inter_file, newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        header = next(rows)
        u_col = next(i for i, h in enumerate(header) if h.startswith("user_id"))
        i_col = next(i for i, h in enumerate(header) if h.startswith("item_id"))
        t_col = next(i for i, h in enumerate(header) if h.startswith("timestamp"))
        for row in rows:
            users.setdefault(row[u_col], []).append((float(row[t_col]), row[i_col]))
    return {u: [item for _, item in sorted(seq, key=lambda x: x[0])] for u, seq in users.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="ml-1m")
    p.add_argument("--data_path", default=os.path.join("..", "shared", "datasets"))
    p.add_argument("--every", type=int, default=1)
    p.add_argument("--max_len", type=int, default=None, help="MAX_ITEM_LIST_LENGTH (default: the dataset's)")
    args = p.parse_args(argv)
    overrides = {"data_path": args.data_path, "show_progress": False, "use_gpu": False, "state": "WARNING"}
    if args.max_len:
        overrides["MAX_ITEM_LIST_LENGTH"] = args.max_len
    config = make_config("SASRec", args.dataset, cmd_args=[], config_dict=overrides)
    dataset = load_dataset(config)
    _, valid, test = data_preparation(config, dataset)
    uid, iid, max_len = config["USER_ID_FIELD"], config["ITEM_ID_FIELD"], config["MAX_ITEM_LIST_LENGTH"]
    kept_items = dataset.field2token_id[iid]
    raw = per_user_items(os.path.join(args.data_path, args.dataset, f"{args.dataset}.inter"))
    expected = {u: [i for i in seq if i in kept_items] for u, seq in raw.items()}

    feat, checked, bad = test._dataset.inter_feat, 0, []
    for k in range(0, len(feat), args.every):
        user = dataset.id2token(uid, feat[uid][k].item())
        length = feat[config["ITEM_LIST_LENGTH_FIELD"]][k].item()
        history = [dataset.id2token(iid, x) for x in feat[iid + config["LIST_SUFFIX"]][k][:length].tolist()]
        seq = expected[user]
        if dataset.id2token(iid, feat[iid][k].item()) != seq[-1] or history != seq[-1 - min(length, max_len):-1]:
            bad.append(user)
        checked += 1
    vfeat, v_bad = valid._dataset.inter_feat, []
    for k in range(len(vfeat)):
        user = dataset.id2token(uid, vfeat[uid][k].item())
        if dataset.id2token(iid, vfeat[iid][k].item()) != expected[user][-2]:
            v_bad.append(user)
    print(f"test samples checked: {checked} of {len(feat)}, mismatches: {len(bad)}")
    print(f"validation targets checked: {len(vfeat)}, mismatches: {len(v_bad)}")
    if bad or v_bad:
        print("first mismatching users:", (bad + v_bad)[:10])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

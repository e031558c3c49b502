"""Where our ml-1m copy's order of same-second ties comes from (issue 7).

    python benchmarks/tie_source.py SAMPLE [--ours ../shared/datasets/ml-1m/ml-1m.inter]

SAMPLE holds rows of RecBole's ml-1m.inter (user, item, rating, timestamp; tab-separated, RecBole header optional),
in the file's own order, for whole users. RecBole orders each user's ratings by a stable sort on time, so its ties
keep the file's order. Our copy (../shared/datasets/README.md) has positions instead of timestamps; for each user in
SAMPLE this prints whether its order is what numpy before 2.0 gives for a non-stable sort of the file's rows by time
(`argsort(kind="quicksort")`, pandas' default in `sort_values`), how many tie groups keep the file's order, whether
the test and validation targets (last and second-to-last item) agree with RecBole's, how the file's row order
relates to time and to item ID (Kendall's tau), and whether it follows one order of the items shared by all users
(two users who rated the same two movies hold them in the same file order): such a global order decides RecBole's
order of ties, and a model can learn it.
"""
import argparse
import os
import sys

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

SMALL_PARTITION = 15  # numpy's SMALL_QUICKSORT: partitions of at most 16 elements are insertion-sorted


def legacy_quicksort_argsort(keys):
    """The permutation numpy < 2.0 returns for `argsort(keys, kind="quicksort")` on machines without AVX-512.

    numpy's introsort: while a partition holds more than 16 elements, take the median of its first, middle and last
    keys as pivot, partition around it (Hoare style, from both ends) and continue with the smaller side, stacking the
    larger; partitions of at most 16 elements are finished by insertion sort. Equal keys therefore end in an order
    set by the partition swaps, not the input order. numpy falls back to heapsort past a recursion depth of
    2 * floor(log2 n); that fallback is left out (it does not occur on the inputs checked here, and the function
    raises if it would).
    """
    v = list(keys)
    idx = list(range(len(v)))
    depth_limit = 2 * (len(v).bit_length() - 1) if v else 0
    stack = []
    lo, hi, depth = 0, len(v) - 1, depth_limit
    while True:
        if depth < 0:  # numpy checks the depth when it starts on a stacked partition
            raise NotImplementedError("numpy would switch to heapsort here")
        while hi - lo > SMALL_PARTITION:
            mid = lo + ((hi - lo) >> 1)
            if v[idx[mid]] < v[idx[lo]]:
                idx[mid], idx[lo] = idx[lo], idx[mid]
            if v[idx[hi]] < v[idx[mid]]:
                idx[hi], idx[mid] = idx[mid], idx[hi]
            if v[idx[mid]] < v[idx[lo]]:
                idx[mid], idx[lo] = idx[lo], idx[mid]
            pivot = v[idx[mid]]
            i, j = lo, hi - 1
            idx[mid], idx[j] = idx[j], idx[mid]
            while True:
                i += 1
                while v[idx[i]] < pivot:
                    i += 1
                j -= 1
                while pivot < v[idx[j]]:
                    j -= 1
                if i >= j:
                    break
                idx[i], idx[j] = idx[j], idx[i]
            idx[i], idx[hi - 1] = idx[hi - 1], idx[i]
            depth -= 1
            if i - lo < hi - i:
                stack.append((i + 1, hi, depth))
                hi = i - 1
            else:
                stack.append((lo, i - 1, depth))
                lo = i + 1
        for k in range(lo + 1, hi + 1):  # insertion sort of the small partition
            item, key, m = idx[k], v[idx[k]], k
            while m > lo and key < v[idx[m - 1]]:
                idx[m] = idx[m - 1]
                m -= 1
            idx[m] = item
        if not stack:
            return idx
        lo, hi, depth = stack.pop()


def read_sample(path):
    with open(path) as f:
        first = f.readline()
    header = 0 if ":token" in first or ":float" in first else None
    df = pd.read_csv(path, sep="\t", header=header)
    df = df.iloc[:, :4]
    df.columns = ["user", "item", "rating", "time"]
    return df


def read_ours(path):
    df = pd.read_csv(path, sep="\t")
    df.columns = [c.split(":")[0] for c in df.columns]
    return df.rename(columns={"user_id": "user", "item_id": "item", "timestamp": "position"})


def compare_user(rows, ours_items):
    """One user: the file's rows (in file order) against our copy's items (in our order)."""
    times = rows["time"].tolist()
    items = rows["item"].tolist()
    if sorted(ours_items) != sorted(items):
        return None
    stable = [items[k] for k in np.argsort(np.asarray(times), kind="stable")]
    legacy = [items[k] for k in legacy_quicksort_argsort(times)]
    time_of = dict(zip(items, times))
    position = {item: k for k, item in enumerate(ours_items)}
    groups = {}
    for item in stable:
        groups.setdefault(time_of[item], []).append(item)
    ties = [g for g in groups.values() if len(g) > 1]
    tied_pairs = [(a, b) for a, b in zip(stable, stable[1:]) if time_of[a] == time_of[b]]
    return {
        "ratings": len(items),
        "legacy_sort_reproduces": legacy == ours_items,
        "ours_respects_time": all(time_of[a] <= time_of[b] for a, b in zip(ours_items, ours_items[1:])),
        "tie_groups": len(ties),
        "tied_ratings": sum(len(g) for g in ties),
        "test_tied": sum(time_of[x] == time_of[stable[-1]] for x in stable) > 1,
        "valid_tied": sum(time_of[x] == time_of[stable[-2]] for x in stable) > 1,
        "tie_groups_in_file_order": sum(sorted(g, key=position.get) == g for g in ties),
        "test_same": ours_items[-1] == stable[-1],
        "valid_same": ours_items[-2] == stable[-2],
        "tau_file_time": kendalltau(np.arange(len(times)), times)[0],
        "tau_file_item": kendalltau(np.arange(len(items)), items)[0],
        "file_ties_next_id_larger": (sum(b > a for a, b in tied_pairs), len(tied_pairs)),
    }


def cross_user_agreement(orders, times=None):
    """Share of item pairs that two users hold in the same relative order, over all ordered pairs of users.

    orders: {user: [items in some order]}. With times ({user: {item: time}}), only pairs that share their second in
    the first user count (ties). A per-user order that follows one global order of the items agrees near 1; orders
    drawn independently per user agree near 0.5 (real time order: somewhat above, as users tend to rate old
    favourites first). Returns (agreeing pairs, pairs).
    """
    position = {u: {item: k for k, item in enumerate(items)} for u, items in orders.items()}
    agree = pairs = 0
    for u in position:
        for v in position:
            if u == v:
                continue
            common = sorted(set(position[u]) & set(position[v]))
            for i, a in enumerate(common):
                for b in common[i + 1:]:
                    if times is not None and times[u][a] != times[u][b]:
                        continue
                    pairs += 1
                    agree += (position[u][a] < position[u][b]) == (position[v][a] < position[v][b])
    return agree, pairs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sample", help="rows of RecBole's ml-1m.inter in file order, whole users")
    p.add_argument("--ours", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets",
                                                  "ml-1m", "ml-1m.inter"))
    args = p.parse_args(argv)
    sample, ours = read_sample(args.sample), read_ours(args.ours)
    our_order = {u: g.sort_values("position")["item"].tolist() for u, g in ours.groupby("user")}
    results = []
    file_orders, ours_orders, times = {}, {}, {}
    for user, rows in sample.groupby("user", sort=False):
        r = compare_user(rows, our_order.get(user, []))
        if r is None:
            print(f"user {user}: not all of its ratings are in SAMPLE or ours: skipped")
            continue
        results.append(r)
        file_orders[user], ours_orders[user] = rows["item"].tolist(), our_order[user]
        times[user] = dict(zip(rows["item"], rows["time"]))
        print(f"user {user}: {r['ratings']} ratings, {r['tie_groups']} tie groups, "
              f"{r['tie_groups_in_file_order']} in the file's order in ours; test target "
              f"{'same' if r['test_same'] else 'differs'}, "
              f"validation target {'same' if r['valid_same'] else 'differs'}; "
              f"numpy<2 quicksort of the file by time gives ours: {r['legacy_sort_reproduces']}; "
              f"tau(file row, time) {r['tau_file_time']:+.3f}, tau(file row, item ID) {r['tau_file_item']:+.3f}")
    if not results:
        print("no complete user in SAMPLE", file=sys.stderr)
        return 1
    n = len(results)
    larger = sum(r["file_ties_next_id_larger"][0] for r in results)
    pairs = sum(r["file_ties_next_id_larger"][1] for r in results)
    print(f"{n} users, {sum(r['ratings'] for r in results)} ratings: ours respects time for "
          f"{sum(r['ours_respects_time'] for r in results)}; numpy<2 quicksort reproduces ours for "
          f"{sum(r['legacy_sort_reproduces'] for r in results)}; tie groups in the file's order "
          f"{sum(r['tie_groups_in_file_order'] for r in results)} of {sum(r['tie_groups'] for r in results)}; "
          f"test targets differ for {sum(not r['test_same'] for r in results)}, validation targets for "
          f"{sum(not r['valid_same'] for r in results)}; in the file's ties the next item ID is larger in "
          f"{larger} of {pairs} pairs ({100 * larger / max(pairs, 1):.1f}%)")
    tied, rated = sum(r["tied_ratings"] for r in results), sum(r["ratings"] for r in results)
    test_tied, valid_tied = sum(r["test_tied"] for r in results), sum(r["valid_tied"] for r in results)
    print(f"ratings sharing their second with another of the user's: {tied} of {rated}; "
          f"test targets in a tie: {test_tied} of {n}, validation targets: {valid_tied} of {n}")
    # does one global order of the items show through? item pairs two users both rated, in the same relative order
    for label, orders in (("the file's row order", file_orders), ("our order", ours_orders)):
        a_all, n_all = cross_user_agreement(orders)
        a_tie, n_tie = cross_user_agreement(orders, times)
        print(f"{label}: two users hold a co-rated pair in the same order for {a_all} of {n_all} pairs "
              f"({100 * a_all / max(n_all, 1):.1f}%); pairs tied in the first user: {a_tie} of {n_tie} "
              f"({100 * a_tie / max(n_tie, 1):.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How much of a leave-one-out split rests on the order of interactions that share a timestamp (issue 7).

    python benchmarks/tie_share.py [PATH.inter]   # default: RecBole's shipped ml-100k (real MovieLens timestamps)

Sorting a user's interactions by time leaves same-second ties in whatever order the file had. Under RecBole's
leave-one-out split (order TO) the last item is the test target and the one before it the validation target, so
each target that shares its second with another of the user's interactions is chosen by the tie order, not by time.
Prints, over users: the share whose test / validation target is tied that way, the share of interactions in a tie
group of two or more, and the largest group. Our ml-1m copy has positions, not timestamps, so it cannot be measured
itself; a file with real timestamps shows how much the order of ties can decide.
"""
import argparse
import os
import sys

import pandas as pd


def default_inter():
    import recbole
    return os.path.join(os.path.dirname(recbole.__file__), "dataset_example", "ml-100k", "ml-100k.inter")


def tie_share(path, uid="user_id", time="timestamp"):
    df = pd.read_csv(path, sep="\t")
    df.columns = [c.split(":")[0] for c in df.columns]
    df = df.sort_values([uid, time], kind="stable")
    df = df[df.groupby(uid)[time].transform("size") >= 3]  # users with a train, a valid and a test item
    group = df.groupby([uid, time])[time].transform("size")  # size of each row's same-second group
    pos_from_end = df.groupby(uid).cumcount(ascending=False)  # 0: test target, 1: validation target
    return {
        "users": df[uid].nunique(),
        "test target tied": float((group[pos_from_end == 0] > 1).mean()),
        "valid target tied": float((group[pos_from_end == 1] > 1).mean()),
        "interactions in a tie": float((group > 1).mean()),
        "largest tie": int(group.max()),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inter", nargs="?", default=None, help="a RecBole .inter file with user_id and timestamp")
    path = p.parse_args().inter or default_inter()
    r = tie_share(path)
    print(f"{path}: {r['users']} users")
    print(f"test target shares its timestamp with another of the user's interactions: {r['test target tied']:.1%}")
    print(f"validation target does:                                                  {r['valid target tied']:.1%}")
    print(f"interactions in a same-timestamp group of 2 or more: {r['interactions in a tie']:.1%}; "
          f"largest group {r['largest tie']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

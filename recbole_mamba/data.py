"""Data for a run: atomic-file checks before any work, RecBole's dataset with only the samples the objective uses,
the every-position training split, padding trim of training batches, and per-domain loaders of a union of datasets.

RecBole reads, filters and splits; this module decides which samples exist:
- `load_dataset`: the files checked line by line (`validate_atomic_file`), then RecBole's dataset; a sequential
  model without a dataset class of its own gets `WindowedSequentialDataset`, whose augmentation makes only the
  samples `train_positions` uses, and whose `build` hands back the every-position training split
  (`every_position_samples`) when `train_positions` is `all`.
- `prepare_data`: RecBole's `data_preparation` over it; training batches cut to their longest sequence
  (`TrimmedTrainDataLoader`) for models that allow it.
"""
import os

import torch

from recbole_mamba import distributed, multidomain
from recbole_mamba.errors import DatasetFormatError, DatasetNotFoundError
from recbole_mamba.objective import WindowedSequentialDataset

from recbole.data import create_dataset, data_preparation  # noqa: E402  (after compat, via config)
from recbole.data.dataloader import TrainDataLoader  # noqa: E402
from recbole.utils import ModelType  # noqa: E402


def _known_download(dataset):
    import yaml

    import recbole

    url_file = os.path.join(os.path.dirname(recbole.__file__), "properties", "dataset", "url.yaml")
    with open(url_file) as f:
        return dataset in (yaml.safe_load(f) or {})


ATOMIC_TYPES = ("token", "token_seq", "float", "float_seq")
_VALIDATED = set()  # (path, mtime, size) of files validate_atomic_file has passed


def validate_atomic_file(path, sep="\t", id_fields=("user_id", "item_id")):
    """Raise DatasetFormatError naming the file and line for what RecBole would misread or crash on.

    Every line has the header's number of columns; every column needs a value somewhere; the id fields
    (USER_ID_FIELD, ITEM_ID_FIELD) need one on every line. A file that passed is not read again.
    """
    import pandas as pd

    stamp = (os.path.abspath(path), os.path.getmtime(path), os.path.getsize(path))
    if stamp in _VALIDATED:
        return
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\r\n")
    if not header:
        raise DatasetFormatError(f"{path} is empty (expected a header like user_id:token<TAB>item_id:token)")
    columns = header.split(sep)
    for col in columns:
        name, _, ftype = col.partition(":")
        if not name or ftype not in ATOMIC_TYPES:
            raise DatasetFormatError(f"{path}: header column {col!r} must be name:type with type one of "
                                     f"{', '.join(ATOMIC_TYPES)} (e.g. user_id:token)")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            fields = line.count(sep) + 1
            if fields != len(columns) and line.strip():
                raise DatasetFormatError(f"{path}: line {number} has {fields} column(s), the header has "
                                         f"{len(columns)}")
    table = pd.read_csv(path, sep=sep, header=0, names=columns, dtype=str, quoting=3, keep_default_na=False)
    if table.empty:
        raise DatasetFormatError(f"{path} has a header but no rows")
    for col in columns:
        values = table[col]
        missing = values == ""
        if missing.all() or (missing.any() and col.partition(":")[0] in id_fields):
            line = int(missing.idxmax()) + 2
            raise DatasetFormatError(f"{path}: line {line} has no value for {col} (fewer columns than the header?)")
        if col.endswith(":float"):
            numeric = pd.to_numeric(values.where(~missing), errors="coerce")
            bad = numeric.isna() & ~missing
            if bad.any():
                line = int(bad.idxmax()) + 2
                raise DatasetFormatError(f"{path}: line {line}: {col} must be numeric, got {values[bad.idxmax()]!r}")
    _VALIDATED.add(stamp)


def check_sequences(config, dataset):
    """Leave-one-out needs 3 interactions per user (train, valid, test); say so instead of failing later."""
    split = (config["eval_args"] or {}).get("split", {})
    if "LS" not in split or split["LS"] != "valid_and_test":
        return
    counts = dataset.inter_feat[dataset.uid_field].value_counts()  # a DataFrame until data_preparation
    if (counts < 3).any():
        raise DatasetFormatError(
            f"{int((counts < 3).sum())} user(s) of {config['dataset']} have fewer than 3 interactions after filtering, "
            f"which leave-one-out cannot split into train/valid/test. Set user_inter_num_interval: \"[3,inf)\" "
            f"(or stricter) or remove them from the file.")


def check_dataset(config):
    """Raise DatasetNotFoundError (naming the paths tried) unless the dataset's atomic files can be read (a union
    of datasets, a+b, is written first: recbole_mamba.multidomain)."""
    name, path = config["dataset"], config["data_path"]
    if multidomain.domains(name):
        multidomain.write_union(multidomain.domains(name), config["union_sources"], path)
    names = config["benchmark_filename"] or [None]
    inter_files = [os.path.join(path, f"{name}.{part}.inter" if part else f"{name}.inter") for part in names]
    if all(os.path.isfile(f) for f in inter_files):
        for f in inter_files:
            validate_atomic_file(f, config["field_separator"], (config["USER_ID_FIELD"], config["ITEM_ID_FIELD"]))
        return
    if not os.path.exists(path) and _known_download(name):
        return  # RecBole downloads it; a failed download is reported by load_dataset
    tried = ", ".join(inter_files)
    raise DatasetNotFoundError(
        f"dataset {name!r} not found: looked for {tried}. Put RecBole atomic files there, or pass "
        f"--data_path=DIR where DIR/{name}/{name}.inter exists.")


def load_dataset(config):
    """RecBole's create_dataset, with an offline download failure turned into one clear error."""
    check_dataset(config)
    try:
        dataset = create_sequential_dataset(config)
    except (OSError, SystemExit) as exc:  # URLError is an OSError; RecBole exits when a download is declined
        if os.path.isfile(os.path.join(config["data_path"], f"{config['dataset']}.inter")):
            raise
        raise DatasetNotFoundError(
            f"dataset {config['dataset']!r} is not at {config['data_path']} and could not be downloaded "
            f"({exc!r}). On an offline machine, copy its atomic files there or pass --data_path=DIR.") from None
    check_sequences(config, dataset)
    return dataset


def create_sequential_dataset(config):
    """RecBole's create_dataset, except that a sequential model without a dataset class of its own (RecBole picks
    `<Model>Dataset` by name) gets WindowedSequentialDataset; a `dataset_save_path` is loaded by RecBole's."""
    import recbole.data.dataset as datasets

    if (config["MODEL_TYPE"] != ModelType.SEQUENTIAL or hasattr(datasets, config["model"] + "Dataset")
            or config["dataset_save_path"]):
        return create_dataset(config)
    dataset = WindowedSequentialDataset(config)
    if config["save_dataset"]:
        dataset.save()
    return dataset


def prepare_data(config, dataset):
    """RecBole's data_preparation (with `train_positions: all` the dataset's `build` hands back the every-position
    training split); with `trim_padding` (resolved by the objective) the training loader is a
    TrimmedTrainDataLoader over the same split and sampler."""
    train_data, valid_data, test_data = data_preparation(config, dataset)
    if config["trim_padding"]:
        train_data = TrimmedTrainDataLoader(config, train_data._dataset, train_data._sampler, shuffle=config["shuffle"])
    return train_data, valid_data, test_data


class TrimmedTrainDataLoader(TrainDataLoader):
    """RecBole's training loader whose batches leave it, on the host, without the padding columns that all their
    sequences share (`trim_padding`)."""

    def collate_fn(self, index):
        return trim_padding(super().collate_fn(index), self.config["ITEM_LIST_LENGTH_FIELD"],
                            self.config["LIST_SUFFIX"], self.config["trim_multiple"] or 1)


def kept_width(longest, width, multiple=1):
    """Columns a trimmed batch keeps: its longest sequence, rounded up to a multiple of `multiple` (so that batch
    shapes repeat: fewer kernel autotunes and compiles), never more than the `width` it has."""
    return min(width, -(-longest // multiple) * multiple)


def trim_padding(interaction, length_field, list_suffix, multiple=1):
    """The batch without the padding columns that every sequence of it has: `*_list` fields cut to the longest
    sequence (`kept_width`). Exact for models that read left to right (a position's output depends on the items
    before it)."""
    from recbole.data.interaction import Interaction

    longest = int(interaction[length_field].max())
    return Interaction({k: v[:, :kept_width(longest, v.shape[1], multiple)]
                        if k.endswith(list_suffix) and v.dim() >= 2 else v
                        for k, v in interaction.interaction.items()})


def domain_of_items(dataset, config):
    """[I] domain id of every internal item id of a union of datasets (recbole_mamba.multidomain), else None."""
    if not multidomain.domains(config["dataset"]):
        return None
    return dataset.item_feat[multidomain.DOMAIN_FIELD]


def domain_loaders(config, data, item_domain, dataset):
    """[(domain name, a full-ranking loader of `data`'s users of that domain)]: a user's domain is its first
    history item's."""
    feat = data._dataset.inter_feat
    user_domain = item_domain[feat[config["ITEM_ID_FIELD"] + config["LIST_SUFFIX"]][:, 0]]
    out = []
    for domain_id in torch.unique(user_domain).tolist():
        name = dataset.id2token(multidomain.DOMAIN_FIELD, domain_id)
        out.append((str(name), distributed.subset_loader(config, data, user_domain == domain_id)))
    return out

"""Run one model (ours or RecBole's) through RecBole's data pipeline, trainer and evaluator."""
import logging
import os
import sys
import time
from logging import getLogger

import numpy as np
import torch

from recbole_mamba import distributed, multidomain
from recbole_mamba.config import Config, check_config, checkpoint_settings, property_file
from recbole_mamba.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from recbole_mamba.model.abstract_recommender import (EveryPositionMixin,
                                                      MambaSequentialRecommender, every_position_model,
                                                      validate_positions)
from recbole_mamba.trainer import TRAIN_LOOPS, load_resumable
from recbole_mamba.utils import get_model, get_trainer

from recbole.data import create_dataset, data_preparation  # noqa: E402  (after compat, via config)
from recbole.data.dataset import SequentialDataset  # noqa: E402
from recbole.data.interaction import Interaction  # noqa: E402
from recbole.utils import ModelType, init_logger, init_seed, set_color  # noqa: E402


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


class WindowedSequentialDataset(SequentialDataset):
    """RecBole's SequentialDataset, except that with `train_positions: all` and leave-one-out (the split that decides
    which samples are kept before any split runs) its data_augmentation makes only the samples that are used: each
    user's valid and test samples and the training windows that `every_position_samples` keeps. RecBole makes one
    MAX_ITEM_LIST_LENGTH row per interaction: interactions x L values (5.2M x 16,384 at L=16,384, far beyond host
    memory); this makes users x 3 (x windows) rows, the same values."""
    windowed = False  # True once only the used samples were made

    def data_augmentation(self):
        config = self.config
        split = (config["eval_args"] or {}).get("split") or {}
        numerical = [f for f in self.inter_feat if f in (config["numerical_features"] or [])]
        if config["train_positions"] != "all" or split != {"LS": "valid_and_test"} or numerical:
            return super().data_augmentation()
        self._aug_presets()
        self._check_field("uid_field", "time_field")
        self.sort(by=[self.uid_field, self.time_field], ascending=True)
        length = config["MAX_ITEM_LIST_LENGTH"]
        uid = self.inter_feat[self.uid_field].numpy()
        n = len(uid)
        rows = np.arange(n)
        first = np.r_[True, uid[1:] != uid[:-1]]
        last = np.r_[uid[1:] != uid[:-1], True]
        start = np.maximum.accumulate(np.where(first, rows, 0))  # the user's first row
        end = np.minimum.accumulate(np.where(last, rows, n)[::-1])[::-1]  # the user's last row
        position, from_end = rows - start, end - rows  # a sample per position >= 1 (the target's)
        # leave-one-out over a user's samples: the last two are valid and test (one, test, if it has two);
        # the training part ends `train_end` samples before the last
        train_end = np.minimum(2, end - start - 1)
        kept = from_end <= train_end
        if (config["train_windows"] or "last") == "every":
            kept |= (from_end - train_end) % length == 0
        target = np.flatnonzero(kept & (position >= 1))
        lengths = np.minimum(position[target], length)
        offsets = np.arange(length)
        source = torch.as_tensor(np.minimum(target[:, None] - lengths[:, None] + offsets, n - 1))  # [S L] row read
        pad = torch.as_tensor(offsets >= lengths[:, None])  # [S L] past the history
        samples = {self.item_list_length_field: torch.as_tensor(lengths, dtype=torch.int64)}
        for field in self.inter_feat:
            if field != self.uid_field:
                history = self.inter_feat[field][source]  # [S L ...]
                samples[getattr(self, f"{field}_list_field")] = history.masked_fill(
                    pad.view(*pad.shape, *[1] * (history.dim() - 2)), 0)
        self.inter_feat = self.inter_feat[torch.as_tensor(target)]
        self.inter_feat.update(Interaction(samples))
        self.windowed = True


def create_sequential_dataset(config):
    """RecBole's create_dataset; a sequential model without a dataset class of its own gets
    WindowedSequentialDataset (RecBole's saved-dataset cache names the class, so the two never mix)."""
    import recbole.data.dataset as datasets

    if config["MODEL_TYPE"] != ModelType.SEQUENTIAL or hasattr(datasets, config["model"] + "Dataset"):
        return create_dataset(config)
    datasets.SequentialDataset = WindowedSequentialDataset  # the class create_dataset looks up by name
    try:
        return create_dataset(config)
    finally:
        datasets.SequentialDataset = SequentialDataset


def every_position_samples(train, config):
    """The training split for `train_positions: all`: RecBole's prefix samples (rows grouped by user, in time order)
    reduced to each user's last one, whose history holds the MAX_ITEM_LIST_LENGTH items before its target: with the
    target, the most recent window of L + 1 items, the model reads L of them and predicts the next item at each.
    `train_windows: every` also keeps every L-th earlier sample, windows that tile the user's whole training part.
    Validation and test are not touched. A WindowedSequentialDataset holds these samples already."""
    if getattr(train, "windowed", False):
        return train
    uid = train.inter_feat[train.uid_field].numpy()
    order = np.argsort(uid, kind="stable")  # rows of one user stay in their (time) order
    sorted_uid = uid[order]
    last = np.r_[sorted_uid[1:] != sorted_uid[:-1], True]
    if (config["train_windows"] or "last") == "last":
        keep = order[last]
    else:
        last_index = np.minimum.accumulate(np.where(last, np.arange(len(uid)), len(uid))[::-1])[::-1]  # user's last row
        keep = order[(last_index - np.arange(len(uid))) % config["MAX_ITEM_LIST_LENGTH"] == 0]
    return train.copy(train.inter_feat[torch.as_tensor(np.sort(keep))])


def prepare_data(config, dataset):
    """RecBole's data_preparation; with `train_positions: all` its training split is `every_position_samples`."""
    if config["train_positions"] != "all":
        return data_preparation(config, dataset)
    build = dataset.build

    def build_every_position():
        train, valid, test = build()
        return [every_position_samples(train, config), valid, test]

    dataset.build = build_every_position
    try:
        return data_preparation(config, dataset)
    finally:
        del dataset.build


def trim_padding(interaction, length_field, list_suffix):
    """The batch without the padding columns that every sequence of it has: `*_list` fields cut to the longest
    sequence. Exact for models that read left to right (a position's output depends on the items before it)."""
    from recbole.data.interaction import Interaction

    longest = int(interaction[length_field].max())
    return Interaction({k: v[:, :longest] if k.endswith(list_suffix) and v.dim() >= 2 else v
                        for k, v in interaction.interaction.items()})


def trim_training_batches(train_data, model):
    """Training batches leave the loader trimmed (`trim_padding`), on the host, for models that allow it."""
    if not getattr(model, "trim_padding", False):
        return
    collate, suffix = train_data.collate_fn, train_data.config["LIST_SUFFIX"]
    train_data.collate_fn = lambda index: trim_padding(collate(index), model.ITEM_SEQ_LEN, suffix)


def make_config(model=None, dataset=None, config_file_list=None, config_dict=None, cmd_args=None):
    """Config plus our early checks (model config values) before any data is read."""
    config = Config(model=model, dataset=dataset, config_file_list=config_file_list,
                    config_dict=config_dict, cmd_args=cmd_args)
    check_config(config)
    if config["amp_dtype"] not in (None, "bfloat16", "float16"):
        raise ConfigError(f"amp_dtype must be bfloat16 or float16, got {config['amp_dtype']!r}")
    if config["train_loop"] not in (None, *TRAIN_LOOPS):
        raise ConfigError(f"train_loop must be one of {', '.join(TRAIN_LOOPS)}, got {config['train_loop']!r}")
    validate = getattr(config.model_class, "validate_config", None)
    if validate is not None:
        validate(config)
    if config["MODEL_TYPE"] == ModelType.SEQUENTIAL:
        validate_positions(config)
        if config["train_positions"] == "all":  # (validate_positions resolved `auto` and refused what cannot)
            config["train_batch_size"] = config["train_batch_size_all"]  # sequences, not prefix samples
        if config["item_model"] not in (None, "id"):  # the text model reads the .item columns it describes items by
            if not issubclass(config.model_class, MambaSequentialRecommender):
                raise ConfigError(f"item_model={config['item_model']} is for recbole_mamba's models; "
                                  f"{config['model']} has ID embeddings only")
            load_col = dict(config["load_col"] or {})
            load_col["item"] = list(dict.fromkeys([config["ITEM_ID_FIELD"], *config["text_fields"]]))
            config["load_col"] = load_col
        if multidomain.domains(config["dataset"]):  # each item's domain: ranking within it, metrics per domain
            load_col = dict(config["load_col"] or {})
            load_col["item"] = list(dict.fromkeys([config["ITEM_ID_FIELD"], *(load_col.get("item") or []),
                                                   multidomain.DOMAIN_FIELD]))
            config["load_col"] = load_col
    return config


def build_model(config, dataset):
    """The model of `config` on `dataset`; RecBole's causal models get the every-position objective."""
    model_class = get_model(config["model"])
    if config["train_positions"] == "all" and not issubclass(model_class, EveryPositionMixin):
        model_class = every_position_model(model_class)
    return model_class(config, dataset)


def readable(result):
    """RecBole's result dict as `hit@10 0.0668  ndcg@10 0.0310` (plain floats, 4 decimals)."""
    return "  ".join(f"{k} {float(v):.4f}" for k, v in (result or {}).items())


class TrainingRecorder:
    """Wraps a trainer's _train_epoch / _valid_epoch: seconds per training epoch and the epoch of each validation.

    Its state travels in resumable checkpoints, so a resumed run reports every epoch of the whole run."""

    def __init__(self, trainer):
        self.seconds, self.valid = [], []  # valid: (epoch index, score, wall seconds since training began)
        self._epoch = -1
        self._began = None  # perf_counter at the first batch of this process's first epoch
        self._wall_before = 0.0  # wall seconds of the run before a resume
        train_epoch, valid_epoch = trainer._train_epoch, trainer._valid_epoch

        def timed(train_data, epoch_idx, *args, **kwargs):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            start = time.perf_counter()
            if self._began is None:
                self._began = start
            out = train_epoch(train_data, epoch_idx, *args, **kwargs)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.seconds.append(time.perf_counter() - start)
            self._epoch = epoch_idx
            return out

        def validated(*args, **kwargs):
            score, result = valid_epoch(*args, **kwargs)
            wall = self._wall_before + time.perf_counter() - (self._began or time.perf_counter())
            self.valid.append((self._epoch, float(score), wall))
            return score, result

        trainer._train_epoch, trainer._valid_epoch = timed, validated
        trainer.recorder = self

    def state(self):
        return {"seconds": list(self.seconds), "valid": [list(v) for v in self.valid]}

    def load_state(self, state):
        self.seconds = list(state["seconds"])
        self.valid = [tuple(v) if len(v) == 3 else (*v, None) for v in state["valid"]]
        self._epoch = self.valid[-1][0] if self.valid else -1
        self._wall_before = (self.valid[-1][2] or 0.0) if self.valid else 0.0

    def seconds_to(self, epoch):
        """Training seconds of epochs 0..epoch (the time to reach that epoch's model), None if unknown."""
        if epoch is None or len(self.seconds) <= epoch:
            return None
        return sum(self.seconds[: epoch + 1])

    def wall_to(self, epoch):
        """Wall seconds from the first training batch to the end of `epoch`'s validation (training, evaluation and
        everything between), None if unknown."""
        return next((wall for e, _, wall in self.valid if e == epoch), None)

    def best_epoch(self, bigger=True):
        if not self.valid:
            return None
        pick = max if bigger else min  # the first epoch reaching the best score
        return pick(self.valid, key=lambda v: v[1])[0]


def resume_settings(state, model=None, dataset=None, config_dict=None):
    """(model, dataset, config_dict) of the run that wrote the resumable checkpoint `state`; what the
    caller gives explicitly wins."""
    merged = {**checkpoint_settings(state), **(config_dict or {})}
    return model or state["config"]["model"], dataset or state["config"]["dataset"], merged


def run(model=None, dataset=None, config_file_list=None, config_dict=None, cmd_args=None, saved=True,
        verbose=True, resume=None, on_validation=None):
    """Train, validate and test one model; returns RecBole's result dict plus cost figures.

    Keys: best_valid_score, valid_score_bigger, best_valid_result, test_result, model, dataset,
    params, epochs, best_epoch, valid_curve ([(epoch, valid score)] of every validation), train_s_per_epoch,
    peak_gpu_mem_gib (None on CPU), saved_model_file.
    resume: a `<model>-<time>-last.pth` file written by an earlier run: training continues from it with
    every random state restored (same result as the uninterrupted run); its settings are the defaults.
    on_validation: called as on_validation(epoch, valid_score) after every validation (e.g. a tuner's report).
    """
    resumed = None
    if resume:  # read before any data is loaded, so a bad file fails fast
        resumed = load_resumable(resume)
        model, dataset, config_dict = resume_settings(resumed, model, dataset, config_dict)
    config = make_config(model, dataset, config_file_list, config_dict, cmd_args)
    if distributed.wanted(config):  # nproc > 1: this process starts the ranks and returns rank 0's result
        check_dataset(config)
        return distributed.launch(_run_rank, config, model, dataset, config_file_list, config_dict, cmd_args,
                                  saved, verbose, resume)
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    logger = getLogger()
    if not verbose:
        logger.setLevel(logging.WARNING)
    check_dataset(config)  # a missing or malformed file fails before the config dump and any work
    logger.info(sys.argv)
    logger.info(config)

    dataset_obj = load_dataset(config)
    logger.info(dataset_obj)
    train_data, valid_data, test_data = prepare_data(config, dataset_obj)
    decimals = config["metric_decimal_place"]
    if not config["single_spec"]:  # a rank: its own users to evaluate, metrics unrounded until reduced
        valid_data, test_data = distributed.shard(config, valid_data), distributed.shard(config, test_data)
        config["metric_decimal_place"] = distributed.EXACT_DECIMALS

    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model_obj = build_model(config, train_data._dataset).to(config["device"])
    trim_training_batches(train_data, model_obj)
    logger.info(model_obj)
    params = sum(p.numel() for p in model_obj.parameters() if p.requires_grad)
    logger.info(set_color("trainable parameters", "blue") + f": {params}")

    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model_obj)
    if not config["single_spec"]:
        trainer.metric_decimals = decimals  # what the reduced metrics are rounded to
        trainer.saved_model_file = distributed.same_on_every_rank(trainer.saved_model_file)
    item_domain = domain_of_items(dataset_obj, config)
    if item_domain is not None:  # on the device once, not in every evaluation batch
        trainer.item_domain = item_domain.to(config["device"])
    timer = TrainingRecorder(trainer)
    if resume:
        trainer.resume_checkpoint(resume, resumed)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    best_valid_score, best_valid_result = trainer.fit(
        train_data, valid_data, saved=saved, show_progress=config["show_progress"], verbose=verbose,
        callback_fn=on_validation)
    if not config["single_spec"]:
        torch.distributed.barrier()  # rank 0 has written the best model
    test_result = trainer.evaluate(test_data, load_best_model=saved, show_progress=config["show_progress"])
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    by_domain = {}
    if item_domain is not None:  # the best model (loaded by the test evaluation) on each domain's users alone
        for split, data in (("valid", valid_data), ("test", test_data)):
            for name, part in domain_loaders(config, data, item_domain, dataset_obj):
                by_domain.setdefault(name, {})[split] = dict(trainer.evaluate(part, load_best_model=False))
                logger.info(set_color(f"{split} {name}", "yellow") + f": {readable(by_domain[name][split])}")

    logger.info(set_color("best valid ", "yellow") + f": {readable(best_valid_result)}")
    logger.info(set_color("test result", "yellow") + f": {readable(test_result)}")
    s_per_epoch = sum(timer.seconds) / len(timer.seconds) if timer.seconds else None
    best_epoch = timer.best_epoch(config["valid_metric_bigger"])
    logger.info(set_color("train s/epoch", "blue") + (f": {s_per_epoch:.2f}" if s_per_epoch else ": –")
                + (f", peak GPU memory {peak:.2f} GiB" if peak is not None else ""))
    return {
        "model": config["model"],
        "dataset": config["dataset"],
        "best_valid_score": best_valid_score,
        "valid_score_bigger": config["valid_metric_bigger"],
        "best_valid_result": dict(best_valid_result or {}),
        "test_result": dict(test_result or {}),
        "params": params,
        "epochs": len(timer.seconds),
        "best_epoch": best_epoch,
        "valid_curve": [(epoch, score) for epoch, score, _ in timer.valid],
        "wall_s_to_best": timer.wall_to(best_epoch),
        "train_s_per_epoch": s_per_epoch,
        "train_s_to_best": timer.seconds_to(best_epoch),
        "peak_gpu_mem_gib": peak,
        "saved_model_file": trainer.saved_model_file if saved else None,
        **({"by_domain": by_domain} if by_domain else {}),
    }


def _run_rank(local_rank, settings, out, model, dataset, config_file_list, config_dict, cmd_args, saved, verbose,
              resume):
    """One rank of a run with nproc > 1 (recbole_mamba.distributed.launch)."""
    try:
        result = run(model, dataset, config_file_list, {**(config_dict or {}), **settings, "local_rank": local_rank},
                     cmd_args, saved=saved, verbose=verbose, resume=resume)
        distributed.leave_result(out, local_rank + settings["offset"], result)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


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


__all__ = ["run", "make_config", "load_dataset", "check_dataset", "ConfigError", "property_file"]

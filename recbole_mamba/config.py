"""Config: RecBole's Config with our property files layered on top and our model lookup.

Precedence, lowest to highest:
  RecBole's yaml (overall, model, dataset, quick_start)  <  properties/quick_start_config/sequential.yaml
  <  properties/model/<Model>.yaml  <  properties/dataset/<dataset>.yaml
  <  properties/model/<Model>/<dataset>.yaml (one model's values for one dataset, e.g. tuned ones)
  <  config files  <  config_dict  <  command line (--key=value)
"""
import difflib
import functools
import os
import re
import sys
from logging import getLogger

import yaml

from recbole_mamba import compat

compat.apply()

from recbole.config import Config as RecBoleConfig  # noqa: E402
from recbole.utils import ModelType  # noqa: E402

from recbole_mamba import multidomain  # noqa: E402
from recbole_mamba.errors import ConfigError  # noqa: E402
from recbole_mamba.utils import get_model  # noqa: E402

PROPERTIES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "properties")
_BPR_DEFAULT_NEG = {"distribution": "uniform", "sample_num": 1, "alpha": 1.0, "dynamic": False, "candidate_num": 0}


def property_file(*parts):
    return os.path.join(PROPERTIES_DIR, *parts)


def property_layers(model, dataset, sequential=True):
    """Our property files for one run, lowest precedence first (the order of this module's docstring); a union of
    datasets (a+b, recbole_mamba.multidomain) takes each one's dataset file, in its order."""
    base = [property_file("quick_start_config", "sequential.yaml")] if sequential else []
    names = multidomain.domains(dataset) or [dataset]
    return base + [property_file("model", f"{model}.yaml"), *[property_file("dataset", f"{n}.yaml") for n in names],
                   property_file("model", model, f"{dataset}.yaml")]


# how the run that wrote a checkpoint was spread over processes: not a setting of the model or of a resumed run
PROCESS_KEYS = ("nproc", "world_size", "ip", "port", "offset", "local_rank")


def checkpoint_settings(state):
    """The config_dict that rebuilds the run which wrote checkpoint `state`.

    What its user set (`run_config`) over the values that our model and dataset property files gave it then, taken
    from the checkpoint's final config: those files can change between versions (LatentMamba's ml-1m width did), and
    a checkpoint must still load into the model it was trained as, and a resumed run go on with its own settings.
    The sequential base (protocol, epoch loop) is not pinned: RecBole rewrites some of its values after loading.
    """
    final = state.get("config") or {}
    pinned = {}
    for file in property_layers(final.get("model"), final.get("dataset"), sequential=False):
        if os.path.isfile(file):
            with open(file) as f:
                keys = yaml.safe_load(f) or {}
            pinned.update({key: final[key] for key in keys if key in final})
    run_config = {k: v for k, v in (state.get("run_config") or {}).items() if k not in PROCESS_KEYS}
    return {**pinned, **run_config}


class Config(RecBoleConfig):
    """RecBole Config that knows recbole_mamba's models and property files.

    Args (as RecBole's, plus):
        cmd_args: list of "--key=value" strings used instead of sys.argv[1:] (None: read sys.argv).
    """

    def __init__(self, model=None, dataset=None, config_file_list=None, config_dict=None, cmd_args=None):
        self._cmd_args = cmd_args
        super().__init__(model, dataset, config_file_list, config_dict)
        self._default_bpr_sampling()

    def _load_cmd_line(self):
        # RecBole splits "--key=value" on every "=", so a value holding one (a path like ck/lr=0.003) was
        # dropped with only a warning; we split on the first "=" and keep RecBole's duplicate check.
        if self._cmd_args is not None:
            args = list(self._cmd_args)
        elif "ipykernel_launcher" in sys.argv[0]:
            return {}  # a notebook's argv belongs to its kernel
        else:
            args = sys.argv[1:]
        parsed, unrecognized = split_key_values(args)
        if unrecognized:
            getLogger().warning("command line args [%s] will not be used in RecBole", " ".join(unrecognized))
        return self._convert_config_dict(parsed)

    def _get_model_and_dataset(self, model, dataset):
        if model is None:
            model = self.external_config_dict.get("model")
            if model is None:
                raise KeyError("model must be given (argument, config file, config dict or --model=...)")
        if isinstance(model, str):
            model_class = get_model(model)
        else:
            model_class, model = model, model.__name__
        if dataset is None:
            dataset = self.external_config_dict.get("dataset")
            if dataset is None:
                raise KeyError("dataset must be given (argument, config file, config dict or --dataset=...)")
        return model, model_class, dataset

    def _load_internal_config_dict(self, model, model_class, dataset):
        super()._load_internal_config_dict(model, model_class, dataset)
        sequential = self.internal_config_dict["MODEL_TYPE"] == ModelType.SEQUENTIAL
        dataset_files = [property_file("dataset", f"{n}.yaml") for n in multidomain.domains(dataset) or [dataset]]
        for file in property_layers(model, dataset, sequential):
            if os.path.isfile(file):
                loaded = self._update_internal_config_dict(file) or {}
                if file in dataset_files:
                    self.parameters["Dataset"] += [k for k in loaded if k not in self.parameters["Dataset"]]

    def _set_default_parameters(self):
        sources = self.final_config_dict.get("data_path")
        super()._set_default_parameters()
        if multidomain.domains(self.dataset):  # the union is written under checkpoint_dir by load_dataset
            self.final_config_dict["union_sources"] = sources
            self.final_config_dict["data_path"] = os.path.join(
                self.final_config_dict.get("checkpoint_dir") or "saved", "datasets", self.dataset)

    def _init_device(self):
        if "local_rank" not in self.final_config_dict:  # one process (the launcher of several included)
            return super()._init_device()
        from recbole_mamba import distributed  # a rank of recbole_mamba.distributed.launch

        d = self.final_config_dict
        gpu_id = d["gpu_id"]
        d["gpu_id"] = ",".join(map(str, gpu_id)) if isinstance(gpu_id, (tuple, list)) else str(gpu_id)
        os.environ["CUDA_VISIBLE_DEVICES"] = d["gpu_id"]
        d["device"] = distributed.init_process_group(self)
        d["single_spec"] = False
        if d["local_rank"] + (d.get("offset") or 0) != 0:
            d["state"], d["show_progress"], d["verbose"] = "error", False, False

    def _default_bpr_sampling(self):
        # our sequential base turns negative sampling off (CE); BPR needs one negative per positive
        neg = self.final_config_dict.get("train_neg_sample_args") or {}
        if (self.final_config_dict.get("loss_type") == "BPR" and neg.get("distribution") == "none"
                and "train_neg_sample_args" not in self.external_config_dict):
            self.final_config_dict["train_neg_sample_args"] = dict(_BPR_DEFAULT_NEG)
            self._set_train_neg_sample_args()


# Keys RecBole reads although none of its yaml files defines them (run-time, multi-process and dataset keys).
_UNDECLARED_KEYS = (
    "model", "dataset", "config_files", "device", "nproc", "world_size", "offset", "ip", "port", "local_rank",
    "single_spec", "benchmark_filename", "field_separator", "seq_separator", "additional_feat_suffix", "load_col",
    "unload_col", "rm_dup_inter", "normalize_all", "normalize_field", "discretization", "threshold",
    "test_neg_sample_args", "valid_neg_sample_args", "train_neg_sample_args", "USER_ID_FIELD", "ITEM_ID_FIELD",
    "TIME_FIELD", "LABEL_FIELD", "RATING_FIELD", "encoding", "numerical_features", "check_unknown_keys",
)
_warned = set()


@functools.lru_cache(maxsize=None)
def _yaml_keys():
    """Every top-level key of every yaml file RecBole ships and we ship."""
    import glob

    import recbole

    roots = [os.path.join(os.path.dirname(recbole.__file__), "properties"), PROPERTIES_DIR]
    keys = set(_UNDECLARED_KEYS)
    for root in roots:
        for path in glob.glob(os.path.join(root, "**", "*.yaml"), recursive=True):
            with open(path, encoding="utf-8") as f:
                keys.update(re.findall(r"^([A-Za-z_][\w-]*)\s*:", f.read(), flags=re.M))
    return frozenset(keys)


def split_key_values(args):
    """`--key=value` arguments as ({key: value string}, [the arguments of another shape]); split on the first "="
    (a value may hold one, e.g. a path ck/lr=0.003); a key given twice with different values is a ConfigError.
    The one parser of the command lines of recbole-mamba, -leaderboard and -tune and of Config."""
    parsed, other = {}, []
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            other.append(arg)
            continue
        name, value = arg[2:].split("=", 1)
        if name in parsed and parsed[name] != value:
            raise ConfigError(f"--{name} is given twice, with different values ({parsed[name]} and {value})")
        parsed[name] = value
    return parsed, other


def command_line_keys(args):
    """The {key: value string} of a command line that must hold only --key=value arguments (recbole-mamba, -tune,
    -leaderboard): an argument of another shape, or a key given twice, is a ConfigError."""
    parsed, other = split_key_values(args)
    if other:
        raise ConfigError(f"arguments must look like --key=value, got: {' '.join(other)}")
    return parsed


@functools.lru_cache(maxsize=None)
def _keys_by_model():
    """({model: its yaml keys}, keys of every other yaml): RecBole's and our model files (ours in model/<Model>/ too),
    and the overall, dataset and quick-start files that apply to every model."""
    import glob

    import recbole

    def keys_of(path):
        with open(path, encoding="utf-8") as f:
            return set(re.findall(r"^([A-Za-z_][\w-]*)\s*:", f.read(), flags=re.M))

    by_model, general = {}, set(_UNDECLARED_KEYS)
    for root in (os.path.join(os.path.dirname(recbole.__file__), "properties"), PROPERTIES_DIR):
        model_dir = os.path.join(root, "model")
        for path in glob.glob(os.path.join(root, "**", "*.yaml"), recursive=True):
            rel = os.path.relpath(path, model_dir)
            if rel.startswith(".."):
                general |= keys_of(path)
            else:
                name = rel.split(os.sep)[0]
                by_model.setdefault(os.path.splitext(name)[0], set()).update(keys_of(path))
    return by_model, frozenset(general)


def check_model_keys(config):
    """Ranges that every model's keys share, checked for RecBole's models as for ours: sizes and lengths > 0,
    dropout probabilities in [0, 1). A key that only other models read gets a one-line warning instead."""
    by_model, general = _keys_by_model()
    model = config["model"]
    own = by_model.get(model, set()) | general

    def given(key):
        return key in config and config[key] is not None and (key in own or key not in config.external_config_dict)

    for key in ("hidden_size", "embedding_size", "inner_size", "n_layers", "num_layers", "n_heads",
                "MAX_ITEM_LIST_LENGTH"):
        if given(key):
            value = config[key]
            _expect(_is_number(value) and float(value).is_integer() and value > 0, f"{key} must be > 0, got {value!r}")
    for key in ("dropout_prob", "hidden_dropout_prob", "attn_dropout_prob", "dropout"):
        if given(key):
            value = config[key]
            _expect(_is_number(value) and 0 <= value < 1, f"{key} must be in [0, 1), got {value!r}")
    if config["check_unknown_keys"] is False:
        return
    for key in config.external_config_dict:
        if key in own or (key, "unused") in _warned:
            continue
        readers = sorted(m for m, keys in by_model.items() if key in keys)
        if readers:
            _warned.add((key, "unused"))
            print(f"recbole-mamba: warning: {model} does not read {key!r} (a key of {', '.join(readers[:3])}"
                  f"{', ...' if len(readers) > 3 else ''}), so it has no effect", file=sys.stderr)


def documented_keys(model):
    """{key: (default, comment)} from our yaml files for `model` (its own file, then the sequential base);
    empty for a model we ship no yaml for."""
    files = [property_file("model", f"{model}.yaml")]
    if not os.path.isfile(files[0]):
        get_model(model)  # an unknown model: one clear error
        return {}
    keys = {}
    for path in files + [property_file("quick_start_config", "sequential.yaml")]:
        with open(path, encoding="utf-8") as f:
            for line in f:
                match = re.match(r"^([A-Za-z_]\w*):\s*([^#]*?)\s*(?:#\s*(.*))?$", line.rstrip())
                if match and match.group(1) not in keys:
                    keys[match.group(1)] = (match.group(2) or "(a mapping: see the yaml file)", match.group(3) or "")
    return keys


def _expect(condition, message):
    if not condition:
        raise ConfigError(message)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_config(config):
    """One-line ConfigErrors for what would fail later (or silently do nothing), before any data is read:
    a value whose type differs from its default's, values out of range, a scan backend that cannot run here.
    Keys no yaml file defines get a one-line warning on stderr (a misspelt key is otherwise ignored);
    `check_unknown_keys: False` silences it."""
    user = config.external_config_dict
    defaults = config.internal_config_dict
    for key, value in user.items():
        default = defaults.get(key)
        if default is None or value is None:
            continue
        if isinstance(default, bool):
            _expect(isinstance(value, bool), f"{key} must be True or False, got {value!r}")
        elif _is_number(default):
            _expect(_is_number(value), f"{key} must be a number, got {value!r}")
            if isinstance(default, int) and key not in ("learning_rate", "weight_decay"):
                _expect(float(value).is_integer(), f"{key} must be an integer, got {value!r}")
    check_model_keys(config)
    for key in ("epochs", "train_batch_size", "eval_batch_size", "eval_step", "stopping_step"):
        value = config[key]
        _expect(value is None or (_is_number(value) and value >= 1), f"{key} must be at least 1, got {value!r}")
    _expect(_is_number(config["learning_rate"]) and config["learning_rate"] > 0,
            f"learning_rate must be > 0, got {config['learning_rate']!r}")
    _expect(config["weight_decay"] is None or (_is_number(config["weight_decay"]) and config["weight_decay"] >= 0),
            f"weight_decay must be >= 0, got {config['weight_decay']!r}")
    betas = config["adam_betas"]
    _expect(betas is None or (isinstance(betas, (list, tuple)) and len(betas) == 2
                              and all(_is_number(b) and 0 <= b < 1 for b in betas)),
            f"adam_betas must be two numbers in [0, 1), e.g. [0.9, 0.98], got {betas!r}")
    if config["check_unknown_keys"] is False:
        return
    known = _yaml_keys()
    for key in user:
        if key in known or key in defaults or (key, "unknown") in _warned:
            continue
        _warned.add((key, "unknown"))
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(f"recbole-mamba: warning: unknown config key {key!r}{hint}: no yaml of RecBole, recbole_mamba or "
              f"{config['model']} defines it, so it may have no effect; check_unknown_keys=False silences this",
              file=sys.stderr)


def make_config(model=None, dataset=None, config_file_list=None, config_dict=None, cmd_args=None):
    """The run's Config, and every check of it, once, before any data is read: value types and ranges
    (`check_config`), the model's own keys (its `validate_config`), the training objective (`validate_positions`
    decides `train_positions`), and the columns the item model and a union of datasets need."""
    from recbole.utils import ModelType

    from recbole_mamba.model.abstract_recommender import MambaSequentialRecommender
    from recbole_mamba.objective import validate_positions
    from recbole_mamba.trainer import TRAIN_LOOPS

    config = Config(model=model, dataset=dataset, config_file_list=config_file_list,
                    config_dict=config_dict, cmd_args=cmd_args)
    check_config(config)
    if os.path.exists("log") and not os.path.isdir("log"):  # RecBole's init_logger writes into ./log/
        raise ConfigError(f"RecBole writes its logs into ./log/, but {os.path.abspath('log')} is a file: run from "
                          f"another folder or move that file")
    if config["amp_dtype"] not in (None, "bfloat16", "float16"):
        raise ConfigError(f"amp_dtype must be bfloat16 or float16, got {config['amp_dtype']!r}")
    if config["train_loop"] not in (None, *TRAIN_LOOPS):
        raise ConfigError(f"train_loop must be one of {', '.join(TRAIN_LOOPS)}, got {config['train_loop']!r}")
    validate = getattr(config.model_class, "validate_config", None)
    if validate is not None:
        validate(config)
    if config["MODEL_TYPE"] == ModelType.SEQUENTIAL:
        validate_positions(config)  # the objective decides train_positions, once
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

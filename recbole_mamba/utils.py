"""Model and trainer lookup: recbole_mamba first, then RecBole (RecBole-GNN's plugin shape)."""
import contextlib
import importlib
import inspect
import os

from recbole_mamba.errors import UnknownModelError

OUR_MODELS = ("LatentMamba", "HMamba", "Mamba4Rec", "eSASRec")
_OUR_PACKAGE = "recbole_mamba.model.sequential_recommender"


def recbole_model_names():
    """Class names of RecBole's models in the sub-packages RecBole itself searches."""
    names = set()
    for sub in ("general_recommender", "context_aware_recommender", "sequential_recommender",
                "knowledge_aware_recommender"):
        try:
            mod = importlib.import_module(f"recbole.model.{sub}")
        except Exception:
            continue
        names.update(n for n, obj in vars(mod).items()
                     if inspect.isclass(obj) and obj.__module__.startswith(mod.__name__))
    return sorted(names)


def get_model(model_name):
    """Model class named `model_name`: ours (recbole_mamba.model.sequential_recommender.<name.lower()>) or RecBole's."""
    if not isinstance(model_name, str) or not model_name:
        raise UnknownModelError(f"model name must be a non-empty string, got {model_name!r}")
    module_path = f"{_OUR_PACKAGE}.{model_name.lower()}"
    if importlib.util.find_spec(module_path) is not None:
        module = importlib.import_module(module_path)
        if hasattr(module, model_name):
            return getattr(module, model_name)
    else:
        from recbole.utils import get_model as recbole_get_model

        try:
            return recbole_get_model(model_name)
        except (ValueError, AttributeError, ImportError):  # RecBole probes exlib (lightgbm, xgboost) last
            pass
    known = list(OUR_MODELS) + recbole_model_names()
    close = [k for k in known if k.lower() == model_name.lower()]
    hint = f" Did you mean {close[0]}?" if close else ""
    raise UnknownModelError(
        f"unknown model {model_name!r}.{hint} Models of recbole_mamba: {', '.join(OUR_MODELS)}; "
        f"RecBole's: {', '.join(recbole_model_names())}")


def get_trainer(model_type, model_name):
    """Trainer for `model_name`: recbole_mamba.trainer.<Name>Trainer if we define one, else RecBole's choice;
    either way with SafeTrainerMixin (weights-only checkpoints, NaN guard)."""
    trainer_module = importlib.import_module("recbole_mamba.trainer")
    if hasattr(trainer_module, model_name + "Trainer"):
        base = getattr(trainer_module, model_name + "Trainer")
    else:
        from recbole.utils import get_trainer as recbole_get_trainer

        base = recbole_get_trainer(model_type, model_name)
    return trainer_module.make_safe(base)


def row_runs(keys):
    """For rows whose equal keys stand next to each other (sorted by user): [N] index of the first and [N] index of
    the last row of each row's run of equal keys. [7, 7, 9] -> ([0, 0, 2], [1, 1, 2])."""
    import numpy as np

    keys = np.asarray(keys)
    n, rows = len(keys), np.arange(len(keys))
    if n == 0:
        return rows, rows
    change = keys[1:] != keys[:-1]
    start = np.maximum.accumulate(np.where(np.r_[True, change], rows, 0))
    end = np.minimum.accumulate(np.where(np.r_[change, True], rows, n)[::-1])[::-1]
    return start, end


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """open(path) for writing through `path.tmp`, moved over `path` only when the block ends without an error: the
    file always holds a whole version (the last good one or the new one), never a half-written one."""
    with open(path + ".tmp", mode, **open_kwargs) as f:
        yield f
    os.replace(path + ".tmp", path)

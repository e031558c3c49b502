"""RecBole 1.2.1 on today's numpy / pandas / torch / scipy: every fix in one place, applied once.

RecBole 1.2.1 (the latest release) predates numpy 2, pandas 3 and torch >= 2.6. Each fix below
is small, named after what it repairs, and has a test in tests/test_compat.py. `apply()` is
idempotent and is called by `recbole_mamba.config` before any RecBole configuration is built.

1. numpy 2 removed `np.float_`, `np.complex_`, `np.unicode_`, `np.bool8`. RecBole's
   `Config.compatibility_settings` reads the first three, Ray Tune 2.6.3 reads `np.bool8`.
2. torch >= 2.6 loads with `weights_only=True` by default, which refuses RecBole's checkpoints
   (they pickle the Config object with protocol 4, unreadable by the weights-only unpickler).
   Our trainers write plain checkpoints instead (recbole_mamba/trainer.py), and RecBole's trainer
   module (best-model reload, resume) loads through `recbole_mamba.trainer.safe_load`, always
   weights-only: a checkpoint cannot execute code.
3. `recbole/model/sequential_recommender/sine.py` switches autograd anomaly detection on at
   import (which happens on any `get_model` of a sequential model): ~1.5-2.4x slower training.
4. pandas 3 copy-on-write makes `feat[field].fillna(..., inplace=True)` in
   `Dataset._fill_nan` a silent no-op: missing values stayed NaN. Re-implemented with assignment.
5. scipy >= 1.12 removed `dok_matrix._update`, used by RecBole's graph baselines (LightGCN, NGCF...).
6. hyperopt >= 0.2.7 draws with numpy's Generator API (`rng.integers`), but RecBole's exhaustive search
   hands it a legacy `RandomState`. Applied by the tuner only (`patch_hyperopt_exhaustive_rng`), so that
   hyperopt stays optional.
7. pandas 3's `Series.agg(len)` returns the Series' length, not each element's: RecBole's token_seq fields (titles,
   genres of `.item` files) use it to split remapped ids back into rows, and crash. `Series.agg(len)` is given its
   pandas 2 meaning, elementwise lengths; every other `agg` is pandas' own.
8. RecBole's `ensure_dir` checks for a folder and then creates it: the ranks of one multi-process run create the same
   `log/` and checkpoint folders at once and one fails with FileExistsError. It becomes `os.makedirs(exist_ok=True)`.
"""
import functools
import os
import types

import numpy as np

_NUMPY_ALIASES = {"float_": np.float64, "complex_": np.complex128, "unicode_": np.str_, "bool8": np.bool_}


def patch_numpy_aliases():
    for name, value in _NUMPY_ALIASES.items():
        if name not in np.__dict__:
            setattr(np, name, value)


class _TorchWithSafeLoad(types.ModuleType):
    """Stands in for `torch` inside RecBole's trainer module: `load` is always weights-only."""

    def __init__(self, torch_module):
        super().__init__("torch")
        self._torch = torch_module

    def __getattr__(self, name):
        return getattr(self._torch, name)

    def load(self, f, map_location=None, **_ignored):
        from recbole_mamba.trainer import safe_load

        return safe_load(f, map_location=map_location)


def patch_recbole_checkpoint_load():
    import torch
    import recbole.trainer.trainer as trainer_mod

    if not isinstance(trainer_mod.torch, _TorchWithSafeLoad):
        trainer_mod.torch = _TorchWithSafeLoad(torch)


def disable_sine_anomaly_detection():
    import torch
    import recbole.model.sequential_recommender  # noqa: F401  (runs sine.py's import-time switch)

    torch.autograd.set_detect_anomaly(False)


def _fill_nan(self):
    """RecBole's Dataset._fill_nan, with assignments instead of chained in-place fillna."""
    from recbole.utils import FeatureType

    for feat_name in self.feat_name_list:
        feat = getattr(self, feat_name)
        for field in feat:
            ftype = self.field2type[field]
            if ftype == FeatureType.TOKEN:
                feat[field] = feat[field].fillna(value=0)
            elif ftype == FeatureType.FLOAT:
                feat[field] = feat[field].fillna(value=feat[field].mean())
            else:
                dtype = np.int64 if ftype == FeatureType.TOKEN_SEQ else np.float64
                feat[field] = feat[field].apply(lambda x: np.array([], dtype=dtype) if isinstance(x, float) else x)


def patch_pandas_fill_nan():
    from recbole.data.dataset import Dataset

    Dataset._fill_nan = _fill_nan


def patch_scipy_dok_update():
    import scipy.sparse as sp

    if not hasattr(sp.dok_matrix, "_update"):
        sp.dok_matrix._update = lambda self, data: self._dict.update(data)


class _NumpyWithGeneratorRandomState(types.ModuleType):
    """Stands in for `numpy` inside recbole.trainer.hyper_tuning: RandomState(seed) -> default_rng(seed)."""

    def __init__(self, numpy_module):
        super().__init__("numpy")
        self._np = numpy_module
        self.random = types.SimpleNamespace(RandomState=numpy_module.random.default_rng)

    def __getattr__(self, name):
        return getattr(self._np, name)


def patch_hyperopt_exhaustive_rng():
    import recbole.trainer.hyper_tuning as hyper_tuning
    from importlib.metadata import version

    major, minor, patch_level = (int(p) for p in (version("hyperopt").split(".") + ["0", "0"])[:3])
    if (major, minor, patch_level) >= (0, 2, 7) and not isinstance(hyper_tuning.np, _NumpyWithGeneratorRandomState):
        hyper_tuning.np = _NumpyWithGeneratorRandomState(np)


@functools.lru_cache(maxsize=None)
def quiet_harmless_warnings():
    """RecBole's data loader turns read-only numpy arrays into tensors that nothing writes to (torch warns once)."""
    import warnings

    warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)


def patch_pandas_agg_len():
    import pandas as pd

    if isinstance(pd.Series([[1, 2]]).agg(len), pd.Series):  # pandas < 3: nothing to fix
        return
    original = pd.Series.agg

    def agg(self, func=None, axis=0, *args, **kwargs):
        if func is len:
            return self.map(len)
        return original(self, func, axis, *args, **kwargs)

    pd.Series.agg = pd.Series.aggregate = agg


def _ensure_dir(dir_path):
    """RecBole's ensure_dir without its check-then-create race (ranks of one run create the same folders)."""
    os.makedirs(dir_path, exist_ok=True)


def patch_ensure_dir_race():
    import importlib

    for name in ("recbole.utils.utils", "recbole.utils", "recbole.utils.logger", "recbole.trainer.trainer",
                 "recbole.data.dataset.dataset", "recbole.data.utils"):
        module = importlib.import_module(name)
        if getattr(module, "ensure_dir", None) is not None:
            module.ensure_dir = _ensure_dir


def apply():
    """Apply every fix once (safe to call many times)."""
    quiet_harmless_warnings()
    patch_pandas_agg_len()
    patch_numpy_aliases()
    patch_recbole_checkpoint_load()
    disable_sine_anomaly_detection()
    patch_pandas_fill_nan()
    patch_scipy_dok_update()
    patch_ensure_dir_race()
    return True

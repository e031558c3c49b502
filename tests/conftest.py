import os

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)
DATA_DIR = os.path.join(TESTS_DIR, "data")

# Small enough for a 2-core CI machine, big enough to exercise every code path.
TINY = {
    "data_path": DATA_DIR,
    "epochs": 1,
    "train_batch_size": 64,
    "eval_batch_size": 256,
    "MAX_ITEM_LIST_LENGTH": 20,
    "hidden_size": 16,
    "inner_size": 32,
    "d_state": 4,
    "n_heads": 2,
    "n_layers": 1,
    "show_progress": False,
    "use_gpu": False,
    "state": "WARNING",
    "train_positions": "last",  # many prefix samples: one epoch learns the tiny chains (the default, auto, is tested)
}


@pytest.fixture
def tiny_config():
    return dict(TINY)


@pytest.fixture
def own_properties(tmp_path, monkeypatch):
    """A copy of properties/ that the Config reads instead, for tests that add or change property files."""
    import shutil

    import recbole_mamba.config as config_module

    props = tmp_path / "properties"
    shutil.copytree(config_module.PROPERTIES_DIR, props)
    (props / "model" / "LatentMamba").mkdir(exist_ok=True)
    monkeypatch.setattr(config_module, "PROPERTIES_DIR", str(props))
    return props


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path, monkeypatch):
    """RecBole writes log/ and saved/ into the working directory: keep them out of the repo."""
    monkeypatch.chdir(tmp_path)

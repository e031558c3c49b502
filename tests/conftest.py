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
}


def stopped_run(tmp_path, folder, name, ndcg, epochs=1, early_stop=True):
    """A run's log: `epochs` epochs and, when ndcg is given, a test result with that NDCG@10 (hit@10 = 2 ndcg), after
    an early stop unless early_stop is False (the run ran out of epochs)."""
    path = tmp_path / folder / f"{name}.log"
    path.parent.mkdir(exist_ok=True)
    text = f"seed = {name.split('_')[1]}\n" + "".join(
        f"24 Nov 00:00    INFO  epoch {e} training [time: 1.00s, train loss: 1.0]\n" for e in range(epochs))
    if ndcg is not None:
        if early_stop:
            text += "24 Nov 00:01    INFO  Finished training, best eval result in epoch 0\n"
        text += (f"24 Nov 00:01    INFO  test result: OrderedDict({{'hit@10': np.float64({2 * ndcg}), "
                 f"'ndcg@10': np.float64({ndcg})}})\n")
    path.write_text(text)
    return str(path)


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

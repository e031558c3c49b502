"""One test per RecBole 1.2.1 compatibility fix (recbole_mamba/compat.py)."""
import numpy as np
import pandas as pd
import pytest
import torch

from recbole_mamba import compat

compat.apply()


class NotATensor:
    """Stands for the Config object that RecBole pickles into its checkpoints."""


def test_numpy_aliases_restored():
    assert np.float_ is np.float64 and np.complex_ is np.complex128 and np.unicode_ is np.str_ and np.bool8 is np.bool_


def test_recbole_config_builds_with_numpy_2(tiny_config):
    from recbole_mamba.config import Config

    config = Config(model="SASRec", dataset="tiny", config_dict=tiny_config, cmd_args=[])
    assert config["model"] == "SASRec"


def test_recbole_trainer_loads_checkpoints_weights_only(tmp_path):
    import recbole.trainer.trainer as trainer_mod

    from recbole_mamba.errors import RecBoleMambaError

    good, bad = tmp_path / "good.pth", tmp_path / "bad.pth"
    torch.save({"config": {"model": "X"}, "w": torch.ones(2)}, good)
    torch.save({"config": NotATensor(), "w": torch.ones(2)}, bad)  # what RecBole itself would write
    assert torch.equal(trainer_mod.torch.load(good)["w"], torch.ones(2))
    with pytest.raises(RecBoleMambaError, match="cannot be loaded safely"):
        trainer_mod.torch.load(bad)  # a pickled object is refused, never executed
    assert trainer_mod.torch.zeros is torch.zeros  # the stand-in forwards everything else


def test_sine_import_leaves_anomaly_detection_off():
    import recbole.model.sequential_recommender.sine  # noqa: F401
    from recbole_mamba.utils import get_model

    get_model("SINE")
    assert not torch.is_anomaly_enabled()


def test_fill_nan_really_fills_under_copy_on_write():
    from recbole.data.dataset import Dataset
    from recbole.utils import FeatureType

    fake = type("FakeDataset", (), {})()
    fake.feat_name_list = ["inter_feat"]
    fake.inter_feat = pd.DataFrame({"item_id": [1.0, None, 3.0], "rating": [1.0, None, 3.0]})
    fake.field2type = {"item_id": FeatureType.TOKEN, "rating": FeatureType.FLOAT}
    Dataset._fill_nan(fake)
    assert fake.inter_feat["item_id"].tolist() == [1.0, 0.0, 3.0]
    assert fake.inter_feat["rating"].tolist() == [1.0, 2.0, 3.0]


def test_scipy_dok_update_restored():
    import scipy.sparse as sp

    m = sp.dok_matrix((3, 3), dtype=np.float32)
    m._update({(0, 1): 2.0, (2, 2): 1.0})
    assert m[0, 1] == 2.0 and m.nnz == 2


def test_apply_is_idempotent():
    assert compat.apply() and compat.apply()


def test_series_agg_len_is_elementwise_and_token_seq_fields_load(tiny_config):
    s = pd.Series([np.array([1, 2]), np.array([3]), np.array([4, 5, 6])])
    assert s.agg(len).tolist() == [2, 1, 3] and s.agg(np.concatenate).tolist() == [1, 2, 3, 4, 5, 6]
    assert pd.Series([1.0, 2.0]).agg("sum") == 3.0  # every other aggregation is pandas' own
    from recbole_mamba.quick_start import load_dataset, make_config

    config = make_config("Mamba4Rec", "tiny", cmd_args=[], config_dict={
        **tiny_config, "load_col": {"inter": ["user_id", "item_id", "timestamp"], "item": ["item_id", "title"]}})
    dataset = load_dataset(config)
    first = dataset.item_feat["title"][1]
    assert dataset.id2token("title", [t for t in first.tolist() if t])[0] == "step"  # RecBole's own remap of a title


def test_ensure_dir_tolerates_a_folder_made_meanwhile(tmp_path, monkeypatch):
    import os

    import recbole.trainer.trainer as trainer_module
    import recbole.utils.logger as logger_module

    import recbole_mamba.config  # noqa: F401  (applies the fixes)

    folder = tmp_path / "log"
    folder.mkdir()  # another rank created it between RecBole's check and its makedirs:
    monkeypatch.setattr(os.path, "exists", lambda path: False)  # the check saw no folder
    for ensure_dir in (logger_module.ensure_dir, trainer_module.ensure_dir):
        ensure_dir(str(folder))  # RecBole's own raises FileExistsError here
    assert folder.is_dir()

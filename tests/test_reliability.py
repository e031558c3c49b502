"""Checkpoints load weights-only and reproduce predictions; NaN stops training clearly; runs are deterministic."""
import pytest
import torch

from recbole.data import data_preparation

from recbole_mamba.quick_start import load_dataset, make_config, run
from recbole_mamba.trainer import TrainingDivergedError
from recbole_mamba.utils import get_model, get_trainer


def test_checkpoint_is_weights_only_and_reproduces_predictions(tiny_config, tmp_path):
    tiny_config["checkpoint_dir"] = str(tmp_path)
    result = run("LatentMamba", "tiny", config_dict=tiny_config, cmd_args=[], saved=True)
    checkpoint = torch.load(result["saved_model_file"], weights_only=True)  # plain data only
    assert checkpoint["config"]["model"] == "LatentMamba" and isinstance(checkpoint["best_valid_score"], float)

    config = make_config("LatentMamba", "tiny", config_dict=tiny_config, cmd_args=[])
    _, _, test_data = data_preparation(config, load_dataset(config))
    fresh = get_model("LatentMamba")(config, test_data._dataset).eval()
    fresh.load_state_dict(checkpoint["state_dict"])
    trainer = get_trainer(config["MODEL_TYPE"], "LatentMamba")(config, fresh)
    metrics = trainer.evaluate(test_data, load_best_model=False)
    assert dict(metrics) == result["test_result"]  # identical predictions, so identical metrics


def test_nan_loss_stops_with_epoch_and_batch(tiny_config, monkeypatch):
    cls = get_model("Mamba4Rec")
    calls = {"n": 0}
    original = cls.calculate_loss

    def flaky(self, interaction):
        calls["n"] += 1
        loss = original(self, interaction)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(cls, "calculate_loss", flaky)
    with pytest.raises(TrainingDivergedError, match="at epoch 0, batch 2"):
        run("Mamba4Rec", "tiny", config_dict=tiny_config, cmd_args=[], saved=False)


def test_same_seed_same_metrics(tiny_config):
    first = run("LatentMamba", "tiny", config_dict=tiny_config, cmd_args=[], saved=False)
    second = run("LatentMamba", "tiny", config_dict=tiny_config, cmd_args=[], saved=False)
    assert first["test_result"] == second["test_result"]
    assert first["best_valid_result"] == second["best_valid_result"]

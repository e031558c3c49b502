"""Checkpoints load weights-only and reproduce predictions; NaN stops training clearly; runs are deterministic."""
import os

import pytest
import torch

from recbole.data import data_preparation

from recbole_mamba.quick_start import load_dataset, make_config, run
from recbole_mamba.trainer import TrainingDivergedError, load_resumable, save_whole
from recbole_mamba.utils import get_model, get_trainer


def test_checkpoint_is_weights_only_and_reproduces_predictions(tiny_config, tmp_path):
    tiny_config["checkpoint_dir"] = str(tmp_path)
    result = run("LatentMamba", "tiny", config_dict=tiny_config, cmd_args=[], saved=True)
    checkpoint = torch.load(result["saved_model_file"], weights_only=True)  # plain data only
    assert checkpoint["config"]["model"] == "LatentMamba" and isinstance(checkpoint["best_valid_score"], float)
    assert "optimizer" not in checkpoint  # the best model is served, not resumed: -last.pth has the optimizer
    last = torch.load(result["saved_model_file"][:-len(".pth")] + "-last.pth", weights_only=True)
    assert set(last["optimizer"]["state"]) and last["state_dict"].keys() == checkpoint["state_dict"].keys()

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


class _Interrupted(Exception):
    pass


# BERT4Rec with `worker: 2`: its masking (RecBole's MaskItemSequence) runs in loader worker processes, seeded from
# the loader's generator, which the checkpoint restores; that is how the accuracy suite runs it
@pytest.mark.parametrize("model,extra", [("LatentMamba", {}), ("SASRec", {"loss_type": "BPR"}),
                                         ("BERT4Rec", {"worker": 2})])
def test_resumed_run_equals_uninterrupted_run(model, extra, tiny_config, tmp_path, monkeypatch):
    # dropout on, shuffled batches, (for BPR) sampled negatives: every random state matters here
    cfg = {**tiny_config, **extra, "epochs": 4, "stopping_step": 10, "checkpoint_dir": str(tmp_path / "a"),
           "dropout_prob": 0.3, "hidden_dropout_prob": 0.3, "attn_dropout_prob": 0.3}
    if extra.get("loss_type") == "BPR":
        cfg["train_neg_sample_args"] = {"distribution": "uniform", "sample_num": 1}
    full = run(model=model, dataset="tiny", config_dict=cfg, cmd_args=[])

    from recbole_mamba import trainer as trainer_mod
    real_save_last = trainer_mod.SafeTrainerMixin._save_last

    def crash_after_epoch_1(self, epoch, *args, **kwargs):
        real_save_last(self, epoch, *args, **kwargs)
        if epoch == 1:
            raise _Interrupted()
    monkeypatch.setattr(trainer_mod.SafeTrainerMixin, "_save_last", crash_after_epoch_1)
    cfg_b = {**cfg, "checkpoint_dir": str(tmp_path / "b")}
    with pytest.raises(_Interrupted):
        run(model=model, dataset="tiny", config_dict=cfg_b, cmd_args=[])
    monkeypatch.setattr(trainer_mod.SafeTrainerMixin, "_save_last", real_save_last)
    torch.manual_seed(12345)  # a fresh process would start from other random states: they must be restored
    last = [f for f in os.listdir(tmp_path / "b") if f.endswith("-last.pth")]
    assert len(last) == 1
    resumed = run(resume=str(tmp_path / "b" / last[0]))  # model, dataset and settings come from the checkpoint

    assert resumed["model"] == model and resumed["epochs"] == full["epochs"] == 4
    assert resumed["best_valid_result"] == full["best_valid_result"]
    assert resumed["test_result"] == full["test_result"]
    assert resumed["best_epoch"] == full["best_epoch"]
    best_file = resumed["saved_model_file"]  # still the interrupted run's best model, not the resume file
    assert best_file.startswith(str(tmp_path / "b")) and not best_file.endswith("-last.pth")
    a = torch.load(full["saved_model_file"], weights_only=True)["state_dict"]
    b = torch.load(resumed["saved_model_file"], weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # the weights after the last epoch too: the best model may predate the interruption (BERT4Rec's often does here)
    a_last, b_last = (load_resumable(f[:-len(".pth")] + "-last.pth")["state_dict"]
                      for f in (full["saved_model_file"], best_file))
    assert a_last.keys() == b_last.keys() and all(torch.equal(a_last[k], b_last[k]) for k in a_last)


def test_resume_refuses_a_best_model_checkpoint(tiny_config, tmp_path):
    from recbole_mamba.errors import ConfigError
    result = run(model="LatentMamba", dataset="tiny", config_dict={**tiny_config, "checkpoint_dir": str(tmp_path)},
                 cmd_args=[])
    with pytest.raises(ConfigError, match="not a resumable checkpoint"):
        run(resume=result["saved_model_file"])
    with pytest.raises(ConfigError, match="does not exist"):
        run(resume=str(tmp_path / "nope-last.pth"))


def test_resuming_a_finished_run_trains_nothing_and_keeps_the_best_model(tiny_config, tmp_path):
    cfg = {**tiny_config, "epochs": 2, "checkpoint_dir": str(tmp_path)}
    first = run(model="Mamba4Rec", dataset="tiny", config_dict=cfg, cmd_args=[])
    best_before = torch.load(first["saved_model_file"], weights_only=True)["state_dict"]
    last = first["saved_model_file"][:-len(".pth")] + "-last.pth"
    again = run(resume=last)
    assert again["test_result"] == first["test_result"] and again["epochs"] == 2
    best_after = torch.load(first["saved_model_file"], weights_only=True)["state_dict"]
    assert all(torch.equal(best_before[k], best_after[k]) for k in best_before)


def test_a_save_that_fails_half_way_leaves_the_previous_checkpoint_whole(tmp_path):
    path = str(tmp_path / "model.pth")
    save_whole({"epoch": 1, "w": torch.ones(3)}, path)
    with pytest.raises(Exception):  # a lambda cannot be pickled: torch.save fails after it has begun writing
        save_whole({"epoch": 2, "w": torch.zeros(3), "bad": lambda: None}, path)
    kept = torch.load(path, weights_only=True)
    assert kept["epoch"] == 1 and torch.equal(kept["w"], torch.ones(3))


def test_checkpoints_keep_the_property_values_they_were_trained_with(tiny_config, tmp_path, own_properties):
    # session 15 moved LatentMamba's ml-1m width from 64 to 128 in properties/: checkpoints written before must still
    # load (inference) and resume with their own width, while a new run gets the new one
    from recbole_mamba.config import Config
    from recbole_mamba.inference import Recommender

    pair = own_properties / "model" / "LatentMamba" / "tiny.yaml"
    pair.write_text("hidden_size: 24\ninner_size: 48\n")
    cfg = {k: v for k, v in tiny_config.items() if k not in ("hidden_size", "inner_size")}
    first = run(model="LatentMamba", dataset="tiny", config_dict={**cfg, "checkpoint_dir": str(tmp_path / "ck")},
                cmd_args=[])
    best = first["saved_model_file"]

    pair.write_text("hidden_size: 32\ninner_size: 64\n")  # the default moves after the run
    assert Config(model="LatentMamba", dataset="tiny", config_dict=cfg, cmd_args=[])["hidden_size"] == 32
    rec = Recommender(best)  # loads the weights: a width-32 model would not take them
    assert (rec.config["hidden_size"], rec.config["inner_size"]) == (24, 48)
    assert rec.model.item_embedding.weight.shape[1] == 24
    resumed = run(resume=best[:-len(".pth")] + "-last.pth", config_dict={"epochs": 2})
    assert resumed["epochs"] == 2 and resumed["params"] == first["params"]

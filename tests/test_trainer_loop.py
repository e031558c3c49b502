"""The overlapped epoch loop (train_loop: overlapped) against RecBole's own (train_loop: recbole), its reference twin:
same summed loss, bit for bit, and same weights after an epoch; NaN still stops it, naming the batch."""
import json
import os
import subprocess
import sys

import pytest
import torch

from recbole.data import data_preparation
from recbole.trainer import Trainer

from conftest import REPO_DIR, TINY

from recbole_mamba.errors import ConfigError
from recbole_mamba.quick_start import load_dataset, make_config, run
from recbole_mamba.trainer import TrainingDivergedError, make_safe
from recbole_mamba.utils import get_model, get_trainer


def one_epoch(model_name, tiny_config, loop, extra=None, tuple_loss=False):
    """(summed loss RecBole's way, model weights) after one training epoch from seed 2020 under `loop`."""
    config = make_config(model_name, "tiny", config_dict={**tiny_config, "train_loop": loop, **(extra or {})},
                         cmd_args=[])
    train_data, _, _ = data_preparation(config, load_dataset(config))
    torch.manual_seed(2020)
    model = get_model(model_name)(config, train_data._dataset)
    if tuple_loss:  # a model whose loss comes in parts: RecBole sums each part over the epoch
        whole = model.calculate_loss
        model.calculate_loss = lambda interaction: (0.25 * whole(interaction), 0.75 * whole(interaction))
    trainer = get_trainer(config["MODEL_TYPE"], model_name)(config, model)
    loss = trainer._train_epoch(train_data, 0)
    return loss, {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("model_name,extra,tuple_loss", [
    ("LatentMamba", None, False),
    ("HMamba", {"clip_grad_norm": {"max_norm": 0.01}}, False),  # gradient clipping on the way (0.5 clips nothing)
    ("SASRec", {"enable_amp": True}, True),  # a RecBole baseline, under autocast, with a loss in two parts
    ("Pop", None, False),  # a RecBole general model whose loss is a one-element vector, not a scalar
])
def test_overlapped_loop_equals_recbole_loop(tiny_config, model_name, extra, tuple_loss):
    # geoopt's TorchScript functions run unoptimized on their first calls in a process and fused later, which moves
    # HMamba's loss in the 7th digit: a first epoch warms them up, so that both loops below meet the same code
    one_epoch(model_name, tiny_config, "recbole", extra, tuple_loss)
    ref_loss, ref_weights = one_epoch(model_name, tiny_config, "recbole", extra, tuple_loss)
    loss, weights = one_epoch(model_name, tiny_config, "overlapped", extra, tuple_loss)
    assert type(loss) is type(ref_loss) and loss == ref_loss  # exact: the same float64 sum in the same order
    assert weights.keys() == ref_weights.keys()
    for k in weights:
        assert torch.equal(weights[k], ref_weights[k]), k


@pytest.mark.parametrize("loop", ["overlapped", "recbole"])
def test_nan_loss_names_its_batch_in_both_loops(tiny_config, monkeypatch, loop):
    cls = get_model("LatentMamba")
    calls = {"n": 0}
    original = cls.calculate_loss

    def flaky(self, interaction):  # batches 2 and 3 turn NaN: the first of them is named
        calls["n"] += 1
        loss = original(self, interaction)
        return loss * float("nan") if calls["n"] in (3, 4) else loss

    monkeypatch.setattr(cls, "calculate_loss", flaky)
    with pytest.raises(TrainingDivergedError, match="became nan at epoch 0, batch 2;"):
        run("LatentMamba", "tiny", config_dict={**tiny_config, "train_loop": loop}, cmd_args=[], saved=False)


def test_a_trainer_with_its_own_epoch_loop_keeps_it(tiny_config):
    class OwnLoop(Trainer):
        def _train_epoch(self, train_data, epoch_idx, loss_func=None, show_progress=False):
            return "own loop"

    config = make_config("LatentMamba", "tiny", config_dict=tiny_config, cmd_args=[])
    train_data, _, _ = data_preparation(config, load_dataset(config))
    model = get_model("LatentMamba")(config, train_data._dataset)
    assert make_safe(OwnLoop)(config, model)._train_epoch(train_data, 0) == "own loop"


def test_unknown_train_loop_is_a_config_error(tiny_config):
    with pytest.raises(ConfigError, match="train_loop must be one of overlapped, recbole"):
        run("LatentMamba", "tiny", config_dict={**tiny_config, "train_loop": "fast"}, cmd_args=[], saved=False)


def test_ab_benchmark_runs_both_loops_from_the_same_states(tmp_path):
    args = [f"--{k}={v}" for k, v in TINY.items() if k not in ("epochs", "state")]
    r = subprocess.run([sys.executable, os.path.join(REPO_DIR, "benchmarks", "train_loop_ab.py"), "--dataset", "tiny",
                        "--batches", "3", *args], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, PYTHONPATH=REPO_DIR))
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    runs, summary = lines[:-1], lines[-1]
    assert [x["loop"] for x in runs] == ["recbole", "overlapped", "overlapped", "recbole"]
    assert len({x["loss"] for x in runs}) == 1 and all(x["batches"] == 3 for x in runs)
    assert summary["same_loss"] is True and summary["same_weights"] is True and summary["each_loop_repeats"] is True
    assert summary["recbole_over_overlapped"] > 0

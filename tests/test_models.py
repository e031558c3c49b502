"""Every model trains one epoch on the tiny dataset and evaluates, through the same run() as the CLI."""
import math

import pytest
import torch

from recbole_mamba.quick_start import run

METRICS = ("hit@10", "ndcg@10", "mrr@10")


def check_result(result):
    for phase in ("best_valid_result", "test_result"):
        for m in METRICS:
            assert 0.0 <= result[phase][m] <= 1.0 and not math.isnan(result[phase][m])
    assert result["epochs"] == 1 and result["params"] > 0


@pytest.mark.parametrize("model", ["SASRec", "GRU4Rec", "BERT4Rec"])
def test_recbole_baselines_run_through_our_entry(model, tiny_config):
    result = run(model=model, dataset="tiny", config_dict=tiny_config, cmd_args=[], saved=False)
    check_result(result)


@pytest.mark.parametrize("model,extra", [
    ("LatentMamba", {}),
    ("LatentMamba", {"interaction": "add", "positional_encoding": "sinusoidal", "norm_first": False,
                     "norm_type": "layernorm", "ffn_act": "swiglu", "n_layers": 2}),
    ("LatentMamba", {"item_branch": False, "loss_type": "BPR"}),
    ("LatentMamba", {"n_heads": 1, "d_state": 8}),  # the "heads" and "state" screens' corner: one full-width head
    ("LatentMamba", {"ssm": "mamba2"}),
    ("LatentMamba", {"ssm": "gla"}),
    ("Mamba4Rec", {"ssm": "mamba2"}),
    ("HMamba", {"variant": "full", "ssm": "gla"}),
    ("Mamba4Rec", {"n_layers": 2}),
    ("HMamba", {"variant": "full", "manifold": "lorentz"}),
    ("HMamba", {"variant": "full", "manifold": "poincare"}),
    ("HMamba", {"variant": "half", "manifold": "lorentz"}),
    ("HMamba", {"variant": "half", "manifold": "poincare", "learn_curvature": False}),
    ("HMamba", {"hyperbolic_score": "distance", "learn_temperature": True}),  # the default is squared_distance
])
def test_mamba_models_train_and_learn(model, extra, tiny_config):
    # the tiny data follows item chains: a model that learned anything beats random ranking (hit@10 ~ 10/60)
    result = run(model=model, dataset="tiny", config_dict={**tiny_config, **extra}, cmd_args=[], saved=False)
    check_result(result)
    assert result["test_result"]["hit@10"] > 0.3, result["test_result"]


def model_after_one_backward(name, config_dict):
    """The model built on the tiny data, after loss.backward() on its first training batch; and the loss."""
    from recbole_mamba.quick_start import make_config, load_dataset
    from recbole.data import data_preparation
    from recbole_mamba.utils import get_model

    config = make_config(name, "tiny", config_dict=config_dict, cmd_args=[])
    train, _, _ = data_preparation(config, load_dataset(config))
    model = get_model(name)(config, train._dataset)
    loss = model.calculate_loss(next(iter(train)))
    loss.backward()
    return model, loss


@pytest.mark.parametrize("model_name,extra", [
    ("LatentMamba", {}), ("Mamba4Rec", {}), ("HMamba", {"variant": "full"}), ("HMamba", {"variant": "half"}),
    ("LatentMamba", {"ssm": "mamba2"}), ("LatentMamba", {"ssm": "gla"}), ("HMamba", {"ssm": "gla"}),
    ("HMamba", {"variant": "full", "learn_temperature": True}), ("eSASRec", {}), ("eSASRec", {"block": "sasrec"}),
])
def test_every_trainable_parameter_gets_a_gradient(model_name, extra, tiny_config):
    # a trainable parameter the loss never reaches is dead weight in the optimizer and the parameter count
    # (the half variant once kept a learnable curvature it never uses)
    model, _ = model_after_one_backward(model_name, {**tiny_config, **extra})
    assert [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None] == []


def test_hmamba_full_learns_its_curvature(tiny_config):
    model, loss = model_after_one_backward("HMamba", tiny_config)
    grad = model.space.curvature.raw.grad
    assert torch.isfinite(loss) and grad is not None and torch.isfinite(grad) and grad.abs() > 0
    assert model.curvature_scale()[0] == model.space.c.sqrt() and torch.all(model.curvature_scale()[1:] == 1)


@pytest.mark.parametrize("model", ["LatentMamba", "HMamba", "Mamba4Rec"])
def test_mixed_precision_training_in_bfloat16(model, tiny_config, monkeypatch):
    # enable_amp runs the loss under autocast in amp_dtype (bfloat16): check the dtype really is bf16,
    # that the scan still runs (state in float32) and the model learns as it does in float32
    seen = []
    real = torch.nn.functional.linear

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        if torch.is_autocast_enabled("cpu"):
            seen.append(out.dtype)
        return out
    monkeypatch.setattr(torch.nn.functional, "linear", spy)
    result = run(model=model, dataset="tiny", config_dict={**tiny_config, "enable_amp": True}, cmd_args=[],
                 saved=False)
    check_result(result)
    assert seen and set(seen) == {torch.bfloat16}
    assert result["test_result"]["hit@10"] > 0.3, result["test_result"]
    assert torch.get_autocast_dtype("cpu") == torch.bfloat16  # restored (CPU's default is bf16 too)


def test_amp_dtype_is_checked_before_data_loads(tiny_config):
    from recbole_mamba.errors import ConfigError
    with pytest.raises(ConfigError, match="amp_dtype must be bfloat16 or float16"):
        run(model="LatentMamba", dataset="tiny", config_dict={**tiny_config, "amp_dtype": "fp8"}, cmd_args=[],
            saved=False)


def test_hmamba_distance_logits():
    """-d / T, -d^2 / T, and the learned scale multiplying either (exp(0) = 1 at the start)."""
    from recbole_mamba.model.sequential_recommender.hmamba import HMamba

    head = HMamba.__new__(HMamba)
    torch.nn.Module.__init__(head)
    d = torch.tensor([0.5, 2.0, 3.0])
    head.temperature, head.squared, head.log_scale = 0.5, False, None
    assert torch.allclose(head.distance_logits(d), -d / 0.5)
    head.squared = True
    assert torch.allclose(head.distance_logits(d), -d * d / 0.5)
    head.log_scale = torch.nn.Parameter(torch.tensor(0.7))
    assert torch.allclose(head.distance_logits(d), -d * d / 0.5 * torch.exp(torch.tensor(0.7)))


@pytest.mark.parametrize("extra", [{}, {"block": "sasrec", "n_layers": 2, "init": "normal"}])
def test_esasrec_trains_and_learns(extra, tiny_config):
    # its recipe (every position, per-position negatives) makes one sample per user: small batches, a few epochs
    config = {**tiny_config, "epochs": 20, "train_batch_size_all": 16, **extra}
    result = run(model="eSASRec", dataset="tiny", config_dict=config, cmd_args=[], saved=False)
    assert result["epochs"] == 20 and result["params"] > 0
    assert result["test_result"]["hit@10"] > 0.3, result["test_result"]


@pytest.mark.parametrize("block", ["ligr", "sasrec"])
def test_esasrec_reads_histories_right_aligned_and_causally(block, tiny_config):
    """Outputs are causal; with padded keys masked (ligr) they do not depend on how much padding follows a history;
    the SASRec block attends to its left padding as the benchmark's does, so there the full length matters.
    (Positions count from the window's last item, as RecTools counts them: a prefix alone is read differently.)"""
    from recbole_mamba.quick_start import make_config, load_dataset
    from recbole.data import data_preparation
    from recbole_mamba.utils import get_model

    config = make_config("eSASRec", "tiny", config_dict={**tiny_config, "block": block}, cmd_args=[])
    train, _, _ = data_preparation(config, load_dataset(config))
    model = get_model("eSASRec")(config, train._dataset).eval()
    seq = torch.tensor([[5, 9, 3, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    length = torch.tensor([4])
    with torch.no_grad():
        full = model.sequence_output(seq, length)[0, :4]  # [4 H]
        changed = seq.clone()
        changed[0, 3] = 11  # a later item does not change earlier outputs
        later = model.sequence_output(changed, length)[0, :3]
        shorter = model.sequence_output(seq[:, :8], length)[0, :4]  # the same history, less padding
    torch.testing.assert_close(later, full[:3])
    if block == "ligr":
        torch.testing.assert_close(shorter, full)
    else:
        assert not torch.allclose(shorter, full)


def test_adam_betas_reach_the_optimizer(tiny_config):
    from recbole_mamba.quick_start import make_config, load_dataset, build_model
    from recbole.data import data_preparation
    from recbole_mamba.utils import get_trainer

    config = make_config("eSASRec", "tiny", config_dict=tiny_config, cmd_args=[])
    train, _, _ = data_preparation(config, load_dataset(config))
    trainer = get_trainer(config["MODEL_TYPE"], "eSASRec")(config, build_model(config, train._dataset))
    assert trainer.optimizer.param_groups[0]["betas"] == (0.9, 0.98)

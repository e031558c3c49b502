"""The mamba2 (SSD) and gla heads: the chunked scan against the step-by-step recurrence and the closed quadratic
form, outputs and every gradient; the mixer with these heads, causal and equal on its two CPU backends."""
import importlib.util
import sys

import pytest
import torch

from recbole_mamba.model.layers import MambaMixer
from recbole_mamba.ops.gated_scan import gated_scan, gated_scan_ref, gated_scan_torch, resolve_gated_backend


def inputs(length, per_state, dtype=torch.float64, batch=2, heads=3, n=4, p=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    a = -torch.rand(batch, length, heads, n if per_state else 1, generator=g, dtype=dtype) * 2  # log decay <= 0
    return [r(batch, length, heads, p), a, r(batch, length, heads, n), r(batch, length, heads, n)]


def value_and_grads(fn, tensors, **kwargs):
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    out = fn(*leaves, **kwargs)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    return [out.detach(), *torch.autograd.grad((out * weights).sum(), leaves)]


@pytest.mark.parametrize("per_state", [False, True], ids=["mamba2", "gla"])
@pytest.mark.parametrize("length,chunk", [(1, None), (13, 4), (20, None), (70, None), (33, 8)])
def test_chunked_scan_equals_the_recurrence_with_gradients(per_state, length, chunk):
    x = inputs(length, per_state)
    for got, want in zip(value_and_grads(gated_scan_torch, x, chunk=chunk), value_and_grads(gated_scan_ref, x)):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("per_state", [False, True], ids=["mamba2", "gla"])
def test_float32_chunked_scan_is_within_float32_of_the_float64_recurrence(per_state):
    x = inputs(40, per_state)
    got = value_and_grads(gated_scan_torch, [t.float() for t in x])
    want = value_and_grads(gated_scan_ref, x)
    for g, w in zip(got, want):
        assert g.dtype == torch.float32
        assert ((g.double() - w).norm() / w.norm()).item() < 1e-5


def test_ssd_head_is_masked_attention_without_softmax():
    """One decay per head: y = ((C B^T) ⊙ M) v with M[t, s] = exp(a_{s+1} + ... + a_t) for s <= t, else 0."""
    v, a, b, c = inputs(9, per_state=False)
    cum = a[..., 0].cumsum(1)  # [B L H]
    diff = cum.transpose(1, 2)[..., :, None] - cum.transpose(1, 2)[..., None, :]  # [B H T S]
    causal = torch.ones(9, 9, dtype=torch.bool).tril()
    weights = torch.einsum("bthn,bshn->bhts", c, b) * torch.exp(diff) * causal
    expected = torch.einsum("bhts,bshp->bthp", weights, v)
    torch.testing.assert_close(gated_scan_torch(v, a, b, c), expected, rtol=1e-10, atol=1e-10)


def _fla_reference(package_path):
    """A pure-PyTorch reference module of fla-core (no Triton needed), loaded from its file; skips without fla-core."""
    import importlib.util

    spec = importlib.util.find_spec("fla")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("fla-core is not installed (the [fla] extra)")
    pytest.importorskip("einops")
    path = f"{spec.submodule_search_locations[0]}/{package_path}"
    module_spec = importlib.util.spec_from_file_location(f"fla_reference_{package_path.replace('/', '_')}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("per_state", [False, True], ids=["mamba2", "gla"])
def test_our_mapping_onto_fla_core_matches_its_own_reference(per_state):
    """What the triton backend hands fla-core's kernels (q=C, k=B, v=x*dt, g=A*dt, scale 1) computes our recurrence,
    checked with fla-core's own pure-PyTorch references (float32 inside): naive_chunk_simple_gla (one decay per
    head) and naive_recurrent_gla (one per state; its scale K^-1/2 is fixed, so q is scaled back)."""
    v, a, b, c = inputs(70, per_state, batch=3, heads=4, n=16, p=32)
    want = gated_scan_ref(v, a, b, c)
    if per_state:
        got, _ = _fla_reference("ops/gla/naive.py").naive_recurrent_gla(c * c.shape[-1] ** 0.5, b, v, a)
    else:
        got, _ = _fla_reference("ops/simple_gla/naive.py").naive_chunk_simple_gla(c, b, v, a[..., 0], scale=1.0)
    assert got.shape == want.shape
    assert ((got.double() - want).abs().max() / want.abs().max()).item() < 1e-5


def test_backend_switch_on_the_cpu():
    assert resolve_gated_backend("auto", "cpu") == "torch"
    with pytest.raises(ValueError, match="runs ssm=mamba1 heads only"):
        resolve_gated_backend("cuda", "cpu")
    with pytest.raises(ValueError, match="needs fla-core: tensors are on cpu"):
        resolve_gated_backend("triton", "cpu")
    x = inputs(6, per_state=True)
    torch.testing.assert_close(gated_scan(*x, backend="auto"), gated_scan_ref(*x), rtol=1e-10, atol=1e-10)


def test_mamba2_heads_leave_fla_core_where_its_backward_is_wrong(monkeypatch):
    """Hopper under Triton 3.6 without tilelang (what fla-core 0.6.0's own flags say of an H100/H200 of torch 2.11's
    image): chunk_simple_gla's backward raises there (fla-core #640), so mamba2 heads run on torch under `auto` and a
    request for triton is refused before any work; gla heads keep fla-core."""
    import types

    from recbole_mamba.ops import gated_scan as module

    monkeypatch.setattr(module.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(module, "_fla_ops", lambda: (None, None))
    flags = dict(IS_NVIDIA_HOPPER=True, TRITON_ABOVE_3_4_0=True, TRITON_ABOVE_3_7_1=False)
    monkeypatch.setitem(sys.modules, "fla", types.ModuleType("fla"))
    monkeypatch.setitem(sys.modules, "fla.utils", types.SimpleNamespace(**flags))
    monkeypatch.setitem(sys.modules, "triton", types.SimpleNamespace(__version__="3.6.0"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(module, "_simple_gla_backward_problem",  # uncached here: the flags change below
                        module._simple_gla_backward_problem.__wrapped__)
    assert resolve_gated_backend("auto", "cuda", "gla") == "triton"
    assert resolve_gated_backend("auto", "cuda", "mamba2") == "torch"
    with pytest.raises(ValueError, match=r"mamba2 heads needs fla-core: .*Triton 3.6.0 \(fla-core issue #640"):
        resolve_gated_backend("triton", "cuda", "mamba2")
    monkeypatch.setitem(sys.modules, "fla.utils", types.SimpleNamespace(**{**flags, "TRITON_ABOVE_3_7_1": True}))
    assert resolve_gated_backend("auto", "cuda", "mamba2") == "triton"


@pytest.mark.parametrize("ssm", ["mamba2", "gla"])
def test_mixer_heads_agree_on_both_backends_and_are_causal(ssm):
    torch.manual_seed(0)
    mixer = MambaMixer(8, d_state=4, n_heads=3, scan_backend="torch", ssm=ssm).double()
    x = torch.randn(2, 23, 24, dtype=torch.float64)
    params = list(mixer.parameters())
    got = value_and_grads(lambda t: mixer(t), [x])
    got_params = torch.autograd.grad(mixer(x).pow(2).sum(), params)
    mixer.scan_backend = "ref"
    want = value_and_grads(lambda t: mixer(t), [x])
    want_params = torch.autograd.grad(mixer(x).pow(2).sum(), params)
    for g, w in zip(got + list(got_params), want + list(want_params)):
        torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-10)
    later = x.clone()
    later[:, 12:] += 1  # a change after position 11 leaves positions 0..11 alone
    torch.testing.assert_close(mixer(later)[:, :12], mixer(x)[:, :12], rtol=0, atol=0)


def test_heads_have_their_own_shapes():
    m1, m2, gla = (MambaMixer(16, d_state=8, n_heads=4, ssm=s) for s in ("mamba1", "mamba2", "gla"))
    assert m2.A_log.shape == (4,) and m2.dt_bias.shape == (4,) and m2.dt_proj is None
    assert gla.A_log.shape == (4, 8) and gla.dt_bias.shape == (4,)
    assert m1.A_log.shape == (4 * 32, 8) and m1.dt_bias.shape == (4 * 32,)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(m2) < count(m1) and count(gla) < count(m1)
    with pytest.raises(ValueError, match="unknown ssm 'mamba3'"):
        MambaMixer(16, ssm="mamba3")

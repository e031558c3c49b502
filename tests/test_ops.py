"""Selective scan backends: the fast torch path against the float64 reference, outputs and gradients."""
import pytest
import torch

import recbole_mamba.ops.scan_torch as scan_torch
from recbole_mamba.ops.scan_torch import selective_scan_ref, selective_scan_torch
from recbole_mamba.ops.selective_scan import BackendUnavailable, resolve_backend, selective_scan


def make_inputs(batch, dim, length, n, groups=None, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    bc_shape = (batch, n, length) if groups is None else (batch, groups, n, length)
    return {
        "u": r(batch, dim, length), "delta": r(batch, dim, length),
        "A": -torch.rand(dim, n, generator=g, dtype=dtype) * 3 - 0.1,
        "B": r(*bc_shape), "C": r(*bc_shape), "D": r(dim), "z": r(batch, dim, length), "delta_bias": r(dim),
    }


def run_scan(fn, inputs, dtype):
    leaves = {k: v.detach().to(dtype).requires_grad_() for k, v in inputs.items()}
    out = fn(leaves["u"], leaves["delta"], leaves["A"], leaves["B"], leaves["C"], leaves["D"], z=leaves["z"],
             delta_bias=leaves["delta_bias"], delta_softplus=True)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    (out * weights).sum().backward()
    return out.detach(), {k: v.grad for k, v in leaves.items()}


def rel_err(a, b):
    a, b = a.double(), b.double()
    scale = b.norm()
    return ((a - b).norm() / scale).item() if scale > 0 else (a - b).norm().item()


@pytest.mark.parametrize("batch,dim,length,n,groups", [
    (2, 4, 1, 3, None), (3, 8, 2, 5, None), (2, 6, 17, 4, None), (2, 8, 33, 4, 2), (1, 8, 64, 8, 4),
])
def test_torch_scan_matches_float64_reference(batch, dim, length, n, groups):
    inputs = make_inputs(batch, dim, length, n, groups)
    ref_out, ref_grads = run_scan(selective_scan_ref, inputs, torch.float64)
    out, grads = run_scan(selective_scan_torch, inputs, torch.float32)
    assert rel_err(out, ref_out) < 1e-5
    for name in inputs:
        assert rel_err(grads[name], ref_grads[name]) < 1e-5, name


def test_chunking_and_batch_blocks_do_not_change_results(monkeypatch):
    inputs = make_inputs(5, 6, 23, 4, 2, seed=3)
    whole_out, whole_grads = run_scan(selective_scan_torch, inputs, torch.float64)
    monkeypatch.setattr(scan_torch, "_CHUNK_ELEMS", 100)  # chunks of a few steps
    monkeypatch.setattr(scan_torch, "_BLOCK_STATE_ELEMS", 50)  # batch blocks of 2 rows
    assert scan_torch._chunk_len(23, 2 * 6 * 4) < 23 and scan_torch._batch_block(5, 6 * 4) < 5
    out, grads = run_scan(selective_scan_torch, inputs, torch.float64)
    assert rel_err(out, whole_out) < 1e-12
    for name in inputs:
        assert rel_err(grads[name], whole_grads[name]) < 1e-12, name


def test_torch_scan_float64_is_exact_and_optional_args():
    inputs = make_inputs(2, 4, 9, 3)
    u, delta, A, B, C = (inputs[k] for k in "u delta A B C".split())
    out = selective_scan_torch(u, delta, A, B, C)
    ref = selective_scan_ref(u, delta, A, B, C)
    assert out.dtype == torch.float64
    assert rel_err(out, ref) < 1e-12


def test_scan_keeps_float32_state_under_bf16_inputs():
    inputs = make_inputs(2, 4, 40, 3, dtype=torch.float32)
    ref = selective_scan_ref(**{k: v for k, v in inputs.items()}, delta_softplus=True)
    low = {k: v.to(torch.bfloat16) for k, v in inputs.items()}
    out = selective_scan_torch(**low, delta_softplus=True)
    assert out.dtype == torch.bfloat16
    assert rel_err(out.float(), ref) < 2e-2


def test_backend_resolution_on_cpu():
    assert resolve_backend("auto", "cpu") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"
    with pytest.raises(ValueError, match="unknown scan_backend"):
        resolve_backend("fast", "cpu")
    with pytest.raises(BackendUnavailable, match="scan_backend='cuda' was requested"):
        resolve_backend("cuda", "cpu")


@pytest.mark.parametrize("triton_ok, cuda_ok, expected", [
    (True, True, "triton"), (False, True, "cuda"), (True, False, "triton"), (False, False, "torch")])
def test_auto_on_cuda_prefers_triton_then_mamba_ssm(monkeypatch, triton_ok, cuda_ok, expected):
    import recbole_mamba.ops.selective_scan as dispatch
    monkeypatch.setattr(dispatch, "triton_backend_problem", lambda device: None if triton_ok else "no triton")
    monkeypatch.setattr(dispatch, "cuda_backend_problem", lambda device: None if cuda_ok else "no mamba-ssm")
    assert dispatch.resolve_backend("auto", "cuda") == expected


def test_triton_backend_refuses_cpu_tensors(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(BackendUnavailable, match="scan_backend='triton' was requested.*needs CUDA tensors"):
        resolve_backend("triton", "cpu")


def test_dispatcher_backends_agree():
    inputs = make_inputs(2, 4, 12, 3, dtype=torch.float32)
    a = selective_scan(**inputs, delta_softplus=True, backend="torch")
    b = selective_scan(**inputs, delta_softplus=True, backend="ref")
    assert rel_err(a, b) < 1e-5

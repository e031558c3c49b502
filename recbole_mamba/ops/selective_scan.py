"""The one switch between selective-scan implementations.

    selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, backend="auto")

Backends (shapes and semantics of mamba-ssm's `selective_scan_fn`, see ops/scan_torch.py):
    triton our recommendation-shaped Triton kernel (ops/scan_triton.py); needs Triton and CUDA
           tensors (or TRITON_INTERPRET=1, Triton's CPU interpreter, for tests).
    cuda   mamba-ssm's fused CUDA kernel; needs mamba-ssm installed and CUDA tensors.
    torch  our pure-PyTorch scan (fast on CPU, works on any device).
    ref    the naive reference loop (for tests and debugging only).
    auto   the fastest that can run: triton, then cuda, then torch (order measured on an H100 by
           benchmarks/triton_launch_sweep.py and bench_layers.py at L = 50..1000, d_state 16 and 32:
           our Triton scan's forward+backward is 1.6-3.3x faster than mamba-ssm's there; see
           docs/performance.md). On CPU: torch.
A backend that was asked for by name and cannot run raises; `auto` never does. Triton and
mamba-ssm are imported lazily, on the first call that needs them, never at package import. The
backend chosen for each (request, device) pair is logged once.
"""
import functools
import logging

from .scan_torch import selective_scan_ref, selective_scan_torch

BACKENDS = ("auto", "triton", "cuda", "torch", "ref")
_logger = logging.getLogger(__name__)
_logged = set()


class BackendUnavailable(RuntimeError):
    """A scan backend was requested by name but cannot run here."""


@functools.lru_cache(maxsize=None)
def _mamba_ssm_scan():
    """mamba-ssm's selective_scan_fn, or the reason it cannot be imported (as a string)."""
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception as exc:  # ImportError, or a CUDA extension built for another torch
        return f"{type(exc).__name__}: {exc}"
    return selective_scan_fn


@functools.lru_cache(maxsize=None)
def _triton_scan():
    """Our Triton selective_scan_triton, or the reason it cannot be imported (as a string)."""
    try:
        from .scan_triton import selective_scan_triton
    except Exception as exc:  # no Triton (CPU wheels of torch do not ship it), or a broken install
        return f"{type(exc).__name__}: {exc}"
    return selective_scan_triton


def triton_backend_problem(device_type="cuda"):
    """None when the Triton backend can run on `device_type`, else why not (one line)."""
    import os

    import torch

    interpreted = os.environ.get("TRITON_INTERPRET") == "1"
    if device_type != "cuda" and not interpreted:
        return f"tensors are on {device_type}, the Triton kernel needs CUDA tensors"
    if device_type == "cuda" and not torch.cuda.is_available():
        return "CUDA is not available (torch.cuda.is_available() is False)"
    fn = _triton_scan()
    if isinstance(fn, str):
        return f"Triton cannot be imported ({fn}); it comes with CUDA builds of torch"
    return None


def cuda_backend_problem(device_type="cuda"):
    """None when the mamba-ssm backend can run on `device_type`, else why not (one line)."""
    import torch

    if device_type != "cuda":
        return f"tensors are on {device_type}, mamba-ssm's kernel needs CUDA tensors"
    if not torch.cuda.is_available():
        return "CUDA is not available (torch.cuda.is_available() is False)"
    fn = _mamba_ssm_scan()
    if isinstance(fn, str):
        return f"mamba-ssm cannot be imported ({fn}); install it with `pip install .[cuda]` on a CUDA machine"
    return None


def resolve_backend(backend, device_type):
    """Name of the backend that runs for a `backend` request on tensors of `device_type`."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown scan_backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        if device_type != "cuda":
            return "torch"
        if triton_backend_problem(device_type) is None:
            return "triton"
        return "cuda" if cuda_backend_problem(device_type) is None else "torch"
    checks = {"cuda": cuda_backend_problem, "triton": triton_backend_problem}
    if backend in checks:
        problem = checks[backend](device_type)
        if problem is not None:
            raise BackendUnavailable(f"scan_backend={backend!r} was requested but {problem}")
    return backend


def _log_once(request, device_type, chosen):
    key = (request, device_type)
    if key not in _logged:
        _logged.add(key)
        _logger.info(f"selective scan: backend={chosen} (requested {request}, device {device_type})")


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, backend="auto"):
    chosen = resolve_backend(backend, u.device.type)
    _log_once(backend, u.device.type, chosen)
    if chosen == "cuda":
        fn = _mamba_ssm_scan()
        return fn(u, delta, A, B.contiguous(), C.contiguous(), D, z=z, delta_bias=delta_bias,
                  delta_softplus=delta_softplus)
    if chosen == "triton":
        return _triton_scan()(u, delta, A, B, C, D, z=z, delta_bias=delta_bias, delta_softplus=delta_softplus)
    if chosen == "ref":
        return selective_scan_ref(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    return selective_scan_torch(u, delta, A, B, C, D, z, delta_bias, delta_softplus)

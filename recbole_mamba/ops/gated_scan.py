"""Scans whose decay is shared by a head's channels: Mamba-2's SSD head (one decay per head and step) and the
gated-linear-attention head (one decay per head, state and step). With a state S_t [N P] per head:

    S_t = diag(exp(a_t)) S_{t-1} + b_t v_t^T,    y_t = S_t^T c_t

a_t [N'] the log decay (N' = 1: SSD; N' = N: GLA), b_t, c_t [N] the input and output maps, v_t [P] the values.
Unrolled, y_t = sum_{s <= t} (sum_n c_t[n] b_s[n] exp(sum_{s < r <= t} a_r[n])) v_s: attention without a softmax,
whose weights are matrix products, where a Mamba-1 head (a decay per channel and state) needs an elementwise scan.

Layout (fla-core's): v [B L H P], a [B L H N'], b, c [B L H N] -> y [B L H P]; computed in float32, returned in
v's dtype (float64 stays float64).

    gated_scan_ref    the step-by-step recurrence (the reference twin; slow)
    gated_scan_torch  chunked: the quadratic form inside chunks of `chunk` steps, the state carried between them
                      (pure PyTorch, any device)
    gated_scan        the switch: backend auto | triton (fla-core's chunk_simple_gla / chunk_gla, CUDA, imported
                      lazily) | torch | ref; `cuda` (mamba-ssm) runs Mamba-1 heads only. `auto` takes fla-core
                      where it can run the head (fla_problem), else torch.
"""
import functools

import torch

GATED_BACKENDS = ("auto", "triton", "cuda", "torch", "ref")


def _upcast(*tensors):
    """The tensors in float32, or all in float64 if one is."""
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
    return [t.to(dtype) for t in tensors]


def gated_scan_ref(v, a, b, c):
    """The recurrence, one step at a time. v [B L H P], a [B L H N'], b, c [B L H N] -> [B L H P]."""
    dtype = v.dtype
    v, a, b, c = _upcast(v, a, b, c)
    batch, length, heads, p = v.shape
    state = v.new_zeros(batch, heads, b.shape[-1], p)  # [B H N P]
    out = []
    for t in range(length):
        state = torch.exp(a[:, t])[..., None] * state + b[:, t, :, :, None] * v[:, t, :, None, :]
        out.append(torch.einsum("bhn,bhnp->bhp", c[:, t], state))
    return torch.stack(out, 1).to(dtype)


def gated_scan_torch(v, a, b, c, chunk=None):
    """The same function in chunks: inside a chunk y = (weights ⊙ decay mask) v with the decays of
    exp(cum_t - cum_s) (s <= t, cum the log decay summed from the chunk's start), between chunks the state.
    chunk: steps per chunk (default 64 for SSD heads, 16 for GLA heads, whose weights hold a factor per state)."""
    dtype = v.dtype
    v, a, b, c = _upcast(v, a, b, c)
    batch, length, heads, p = v.shape
    n = b.shape[-1]
    per_state = a.shape[-1] > 1
    size = min(chunk or (16 if per_state else 64), length)
    pad = (-length) % size
    if pad:  # zero steps at the end: decay 1, no input; their outputs are dropped
        v, a, b, c = (torch.nn.functional.pad(t, (0, 0, 0, 0, 0, pad)) for t in (v, a, b, c))
    k = v.shape[1] // size
    v, a, b, c = (t.reshape(batch, k, size, heads, t.shape[-1]) for t in (v, a, b, c))  # [B K T H .]
    cum = a.cumsum(2)  # [B K T H N'] log decay from the chunk's start to t, inclusive
    causal = torch.ones(size, size, dtype=torch.bool, device=v.device).tril()  # [t s]: s <= t
    if per_state:
        diff = cum[:, :, :, None] - cum[:, :, None, :]  # [B K T S H N]
        decay = torch.exp(diff.masked_fill(~causal[:, :, None, None], float("-inf")))
        weights = torch.einsum("bktHn,bksHn,bktsHn->bkHts", c, b, decay)  # [B K H T S]
    else:
        g = cum[..., 0].transpose(2, 3)  # [B K H T]
        diff = g[..., :, None] - g[..., None, :]  # [B K H T S]
        weights = torch.einsum("bktHn,bksHn->bkHts", c, b) * torch.exp(diff.masked_fill(~causal, float("-inf")))
    y = torch.einsum("bkHts,bksHp->bktHp", weights, v)  # [B K T H P], within the chunk
    to_end = torch.exp(cum[:, :, -1:] - cum)  # [B K T H N'] decay from s to the chunk's end
    inputs = torch.einsum("bksHn,bksHp->bkHnp", b * to_end, v)  # [B K H N P] what a chunk adds to the state
    across = torch.exp(cum[:, :, -1])  # [B K H N'] decay over a whole chunk
    state = v.new_zeros(batch, heads, n, p)
    carried = []
    for i in range(k):  # the state entering each chunk
        carried.append(state)
        state = across[:, i, :, :, None] * state + inputs[:, i]
    carried = torch.stack(carried, 1)  # [B K H N P]
    y = y + torch.einsum("bktHn,bkHnp->bktHp", c * torch.exp(cum), carried)
    return y.reshape(batch, k * size, heads, p)[:, :length].to(dtype)


@functools.lru_cache(maxsize=None)
def _fla_ops():
    """(chunk_simple_gla, chunk_gla) of fla-core, or the reason they cannot be imported (a string)."""
    try:
        from fla.ops.gla import chunk_gla
        from fla.ops.simple_gla import chunk_simple_gla
    except Exception as exc:  # not installed, no Triton, or built for another torch
        return f"{type(exc).__name__}: {exc}"
    return chunk_simple_gla, chunk_gla


@functools.lru_cache(maxsize=None)
def _simple_gla_backward_problem():
    """Why fla-core's chunk_simple_gla (the mamba2 head) cannot train here, or None. fla-core 0.6.0 raises in its
    backward (chunk_bwd_dqkwg with a gate) on Hopper GPUs under Triton >= 3.4.0, < 3.7.1, whose kernels compute it
    wrongly there, unless tilelang is installed (fla-core issue #640); found before any work, from fla-core's flags
    (once per process: the switch asks at every call)."""
    import importlib.util
    try:
        from fla.utils import IS_NVIDIA_HOPPER, TRITON_ABOVE_3_4_0, TRITON_ABOVE_3_7_1
    except ImportError:  # another fla-core: its own checks, if any, speak when it runs
        return None
    broken_triton = IS_NVIDIA_HOPPER and TRITON_ABOVE_3_4_0 and not TRITON_ABOVE_3_7_1
    if broken_triton and importlib.util.find_spec("tilelang") is None:
        import triton
        return (f"fla-core's chunk_simple_gla backward is wrong on Hopper GPUs under Triton {triton.__version__} "
                f"(fla-core issue #640: it needs Triton >= 3.7.1 or tilelang)")
    return None


def fla_problem(device_type, ssm="gla"):
    """None when fla-core's kernels can run the `ssm` head ("mamba2" | "gla") on `device_type`, else why not (one
    line)."""
    if device_type != "cuda":
        return f"tensors are on {device_type}, fla-core's kernels need CUDA tensors"
    if not torch.cuda.is_available():
        return "CUDA is not available (torch.cuda.is_available() is False)"
    ops = _fla_ops()
    if isinstance(ops, str):
        return f"fla-core cannot be imported ({ops}); pip install \"recbole-mamba[fla]\" on a CUDA machine"
    return _simple_gla_backward_problem() if ssm == "mamba2" else None


def resolve_gated_backend(backend, device_type, ssm="gla"):
    """The backend that runs the gated scan of an `ssm` head ("mamba2" | "gla") for a `scan_backend` request on
    `device_type` (a named one that cannot run raises ValueError with the reason)."""
    if backend not in GATED_BACKENDS:
        raise ValueError(f"unknown scan_backend {backend!r}; choose one of {', '.join(GATED_BACKENDS)}")
    if backend == "auto":
        return "triton" if fla_problem(device_type, ssm) is None else "torch"
    if backend == "cuda":
        raise ValueError("scan_backend=cuda (mamba-ssm's kernel) runs ssm=mamba1 heads only; the mamba2 and gla "
                         "heads run on triton (fla-core) or torch")
    if backend == "triton":
        problem = fla_problem(device_type, ssm)
        if problem is not None:
            raise ValueError(f"scan_backend=triton for {ssm} heads needs fla-core: {problem}")
    return backend


def gated_scan(v, a, b, c, backend="auto"):
    """The gated scan on the backend `backend` resolves to (see the module's docstring)."""
    chosen = resolve_gated_backend(backend, v.device.type, "mamba2" if a.shape[-1] == 1 else "gla")
    if chosen == "ref":
        return gated_scan_ref(v, a, b, c)
    if chosen == "torch":
        return gated_scan_torch(v, a, b, c)
    chunk_simple_gla, chunk_gla = _fla_ops()
    if a.shape[-1] == 1:
        y, _ = chunk_simple_gla(c, b, v, g=a[..., 0].float(), scale=1.0)
    else:
        y, _ = chunk_gla(c, b, v, g=a.float(), scale=1.0)
    return y

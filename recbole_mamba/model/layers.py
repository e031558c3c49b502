"""Building blocks shared by every model: a (multi-head) Mamba mixer, FFN, norms, init.

The Mamba mixer follows Mamba v1 (Gu & Dao, 2023): in_proj -> causal depthwise conv -> SiLU ->
x_proj (dt, B, C) -> dt_proj -> selective scan (+ D skip, SiLU(z) gate) -> out_proj.
With n_heads > 1 it runs n_heads independent low-dimensional Mambas side by side (LatentMamba's
latent heads): every projection is head-wise (block-diagonal), the depthwise conv and the scan
treat the heads as channel groups, so all heads run in one batched call, no Python loop.
`ssm` picks the recurrence of each head: `mamba1` (a decay per channel and state: the selective scan),
`mamba2` (Mamba-2's SSD head: one dt and one decay per head and step) or `gla` (one dt per head and step, a
decay rate per state, as gated linear attention): the last two are matrix products (ops/gated_scan.py).
"""
import functools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from recbole_mamba.ops.gated_scan import gated_scan
from recbole_mamba.ops.selective_scan import resolve_backend, selective_scan

SSMS = ("mamba1", "mamba2", "gla")


class HeadwiseLinear(nn.Module):
    """n_heads independent linear maps: [..., H*d_in] -> [..., H*d_out] (plain Linear when H=1)."""

    def __init__(self, n_heads, d_in, d_out, bias=True):
        super().__init__()
        self.n_heads, self.d_in, self.d_out = n_heads, d_in, d_out
        self.weight = nn.Parameter(torch.empty(n_heads, d_in, d_out))
        self.bias = nn.Parameter(torch.zeros(n_heads * d_out)) if bias else None
        bound = 1 / math.sqrt(d_in)
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, x):
        # One dense GEMM with the block-diagonal weight: at recommendation widths (H*d <= a few
        # hundred) the zero blocks cost less than a head-batched einsum, whose skinny per-head
        # GEMMs (K = d_in = 16) took 58% of a LatentMamba layer on an H100 (benchmarks/profile_step.py).
        weight = self.weight[0] if self.n_heads == 1 else torch.block_diag(*self.weight.unbind(0))
        return F.linear(x, weight.t(), self.bias)

    def extra_repr(self):
        return f"n_heads={self.n_heads}, d_in={self.d_in}, d_out={self.d_out}, bias={self.bias is not None}"


@functools.lru_cache(maxsize=None)
def _causal_conv1d_fn():
    try:
        from causal_conv1d import causal_conv1d_fn
    except Exception:
        return None
    return causal_conv1d_fn


def causal_conv_silu_shifted(x, weight, bias):
    """SiLU(causal depthwise conv1d) in the channels-last layout, as K shifted multiply-adds:

        y[b, t, c] = SiLU(bias[c] + sum_{k<K} weight[c, 0, k] * x[b, t - K + 1 + k, c]),  x[b, s < 0, c] = 0

    x [B L C], weight [C 1 K] -> [B L C]. The same function as `causal_depthwise_conv` (its reference twin, which
    works on [B C L]); under torch.compile this form fuses with the split before it and the SiLU into one kernel
    and needs no layout copy, where cuDNN's grouped conv cannot fuse and wants [B C L].
    """
    k, length = weight.shape[-1], x.shape[1]
    padded = F.pad(x, (0, 0, k - 1, 0))  # [B L+K-1 C]: K-1 zero steps in front
    taps = weight[:, 0, :]  # [C K]
    y = padded[:, 0:length] * taps[:, 0]
    for i in range(1, k):
        y = y + padded[:, i:i + length] * taps[:, i]
    return F.silu(y if bias is None else y + bias)


# The scan stays out of torch.compile's graphs (a graph break): its Triton kernels and custom autograd are already
# fused; compile_layers fuses what lies around it.
_scan_outside_compile = torch.compiler.disable(selective_scan)
_gated_outside_compile = torch.compiler.disable(gated_scan)


def causal_depthwise_conv(x, weight, bias, use_cuda_kernel):
    """SiLU(causal depthwise conv1d(x)); x [B C L], weight [C 1 K]. causal-conv1d's kernel when asked and present."""
    if use_cuda_kernel:
        fn = _causal_conv1d_fn()
        if fn is not None:
            return fn(x, weight.squeeze(1), bias, activation="silu")
    k = weight.shape[-1]
    y = F.conv1d(x, weight, bias, padding=k - 1, groups=x.shape[1])[..., : x.shape[-1]]
    return F.silu(y)


class MambaMixer(nn.Module):
    """Mamba mixer over [B L n_heads*d_head], with n_heads independent heads.

    Args:
        d_head: model width of one head (the whole width when n_heads=1).
        d_state, d_conv, expand: Mamba's N, conv kernel and inner expansion (d_inner = expand*d_head).
        dt_rank: rank of the dt projection ("auto": ceil(d_head / 16)); mamba1 heads only.
        scan_backend: "auto" | "triton" | "cuda" | "torch" | "ref" (ops/selective_scan.py, ops/gated_scan.py).
        ssm: "mamba1" | "mamba2" | "gla", the recurrence of each head (the module's docstring).
    """

    def __init__(self, d_head, d_state=16, d_conv=4, expand=2, n_heads=1, dt_rank="auto",
                 dt_min=0.001, dt_max=0.1, dt_init_floor=1e-4, dt_scale=1.0, scan_backend="auto", ssm="mamba1"):
        super().__init__()
        if ssm not in SSMS:
            raise ValueError(f"unknown ssm {ssm!r}; choose one of {', '.join(SSMS)}")
        self.n_heads, self.d_head, self.d_state, self.ssm = n_heads, d_head, d_state, ssm
        self.d_inner = int(expand * d_head)
        self.dt_rank = math.ceil(d_head / 16) if dt_rank == "auto" else int(dt_rank)
        self.scan_backend = scan_backend
        channels = n_heads * self.d_inner
        self.in_proj = HeadwiseLinear(n_heads, d_head, 2 * self.d_inner, bias=False)
        self.conv1d = nn.Conv1d(channels, channels, d_conv, groups=channels, padding=d_conv - 1)
        if ssm == "mamba1":
            self.x_proj = HeadwiseLinear(n_heads, self.d_inner, self.dt_rank + 2 * d_state, bias=False)
            self.dt_proj = HeadwiseLinear(n_heads, self.dt_rank, self.d_inner, bias=False)
            dt_count = channels  # a dt per channel
            A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(channels, 1)  # [C N], S4D-real
        else:
            self.x_proj = HeadwiseLinear(n_heads, self.d_inner, 1 + 2 * d_state, bias=False)  # dt, B, C per head
            self.dt_proj = None
            dt_count = n_heads  # a dt per head
            if ssm == "mamba2":
                A = torch.empty(n_heads).uniform_(1, 16)  # [H], Mamba-2's initialisation
            else:
                A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(n_heads, 1)  # [H N]
        self.dt_bias = nn.Parameter(torch.empty(dt_count))
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(channels))
        self.out_proj = HeadwiseLinear(n_heads, self.d_inner, d_head, bias=False)
        if self.dt_proj is not None:  # Mamba's dt initialisation: weight ~ U(+-dt_rank^-0.5 * dt_scale)
            std = self.dt_rank ** -0.5 * dt_scale
            nn.init.uniform_(self.dt_proj.weight, -std, std)
            self.dt_proj.weight._no_reinit = True
        # softplus(dt_bias) ~ logU(dt_min, dt_max)
        dt = torch.exp(torch.rand(dt_count) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=dt_init_floor)
        with torch.no_grad():
            self.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        for p in (self.dt_bias, self.A_log, self.D):
            p._no_reinit = True
            p._no_weight_decay = True

    def _conv(self, x, backend):
        """SiLU(causal depthwise conv) of x [B L C]: ([B L C], [B C L])."""
        if torch.compiler.is_compiling():  # compile_layers: one fused kernel writes both layouts
            x = causal_conv_silu_shifted(x, self.conv1d.weight, self.conv1d.bias)  # [B L C], for x_proj
            return x, x.transpose(1, 2).contiguous()  # [B C L] in memory: the scan's forward reads it faster
        u = causal_depthwise_conv(x.transpose(1, 2), self.conv1d.weight, self.conv1d.bias,
                                  use_cuda_kernel=backend in ("cuda", "triton"))  # [B C L]
        return u.transpose(1, 2), u

    def forward(self, hidden, A_scale=None):
        """hidden [B L H*d_head] -> [B L H*d_head]. A_scale [N] multiplies A column-wise (HMamba's K(c);
        mamba1 and gla heads)."""
        if self.ssm != "mamba1":
            return self._forward_gated(hidden, A_scale)
        batch, length, _ = hidden.shape
        h, di, n = self.n_heads, self.d_inner, self.d_state
        xz = self.in_proj(hidden).view(batch, length, h, 2 * di)
        x = xz[..., :di].reshape(batch, length, h * di)  # [B L C]
        z = xz[..., di:].reshape(batch, length, h * di).transpose(1, 2)  # [B C L]
        backend = None if torch.compiler.is_compiling() else resolve_backend(self.scan_backend, x.device.type)
        x, u = self._conv(x, backend)
        x_dbl = self.x_proj(x).view(batch, length, h, self.dt_rank + 2 * n)
        dt, Bm, Cm = torch.split(x_dbl, [self.dt_rank, n, n], dim=-1)
        dt = self.dt_proj(dt.reshape(batch, length, h * self.dt_rank)).transpose(1, 2)  # [B C L]
        Bm = Bm.permute(0, 2, 3, 1)  # [B H N L]: heads are the scan's channel groups
        Cm = Cm.permute(0, 2, 3, 1)
        A = -torch.exp(self.A_log.float())  # [C N]
        if A_scale is not None:
            A = A * A_scale
        y = _scan_outside_compile(u, dt, A, Bm, Cm, self.D.float(), z=z, delta_bias=self.dt_bias.float(),
                                  delta_softplus=True, backend=self.scan_backend)
        return self.out_proj(y.transpose(1, 2))  # the triton backend returns y channels-last: no copy here

    def _forward_gated(self, hidden, A_scale=None):
        """mamba2 / gla heads: y = gated_scan(x * dt, dt * A, B, C) + D x, gated by SiLU(z)."""
        batch, length, _ = hidden.shape
        h, di, n = self.n_heads, self.d_inner, self.d_state
        xz = self.in_proj(hidden).view(batch, length, h, 2 * di)
        x, _ = self._conv(xz[..., :di].reshape(batch, length, h * di), hidden.device.type)  # [B L C]
        dt, Bm, Cm = torch.split(self.x_proj(x).view(batch, length, h, 1 + 2 * n), [1, n, n], dim=-1)
        dt = F.softplus(dt[..., 0].float() + self.dt_bias.float())  # [B L H]
        A = -torch.exp(self.A_log.float()).view(h, -1)  # [H N'] (N' = 1: mamba2, N: gla)
        if A_scale is not None:
            A = A * A_scale
        x = x.view(batch, length, h, di)  # [B L H P]
        y = _gated_outside_compile((x * dt[..., None]).to(x.dtype), dt[..., None] * A, Bm, Cm,
                                   backend=self.scan_backend)  # [B L H P]
        y = y + x * self.D.view(h, di).to(x.dtype)
        y = y * F.silu(xz[..., di:])
        return self.out_proj(y.reshape(batch, length, h * di))


class FeedForward(nn.Module):
    """Position-wise FFN: Linear -> act -> dropout -> Linear (act: gelu | relu | swiglu)."""

    def __init__(self, d_model, d_inner, dropout, act="gelu"):
        super().__init__()
        if act not in ("gelu", "relu", "swiglu"):
            raise ValueError(f"unknown FFN activation {act!r}")
        self.act = act
        self.fc1 = nn.Linear(d_model, 2 * d_inner if act == "swiglu" else d_inner)
        self.fc2 = nn.Linear(d_inner, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        h = self.fc1(x)
        if self.act == "swiglu":
            a, b = h.chunk(2, dim=-1)
            h = F.silu(a) * b
        else:
            h = F.gelu(h) if self.act == "gelu" else F.relu(h)
        return self.fc2(self.dropout(h))


def make_norm(kind, dim, eps=1e-12):
    if kind == "rmsnorm":
        return nn.RMSNorm(dim, eps=1e-6)
    if kind == "layernorm":
        return nn.LayerNorm(dim, eps=eps)
    raise ValueError(f"unknown norm type {kind!r}")


def init_weights(module, std=0.02):
    """RecBole-style init (normal(0, std) weights, zero biases) that leaves `_no_reinit` tensors alone (Mamba's
    A and dt, a pretrained text encoder's weights)."""
    if isinstance(module, (nn.Linear, nn.Embedding, HeadwiseLinear)):
        if not getattr(module.weight, "_no_reinit", False):
            module.weight.data.normal_(mean=0.0, std=std)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()
    if isinstance(module, (nn.Linear, HeadwiseLinear)) and module.bias is not None:
        if not getattr(module.bias, "_no_reinit", False):
            module.bias.data.zero_()
    elif isinstance(module, (nn.LayerNorm, nn.RMSNorm)) and not getattr(module.weight, "_no_reinit", False):
        module.weight.data.fill_(1.0)
        if getattr(module, "bias", None) is not None:
            module.bias.data.zero_()

"""Pure-PyTorch selective scan: the CPU path, the GPU fallback, and the readable reference.

Both functions take mamba-ssm's arguments and shapes:
    u, delta, z: [B D L]    A: [D N] (real, negative)    B, C: [B N L] or [B G N L] (G groups divide D)
    D, delta_bias: [D]      returns [B D L] in u's dtype
and compute, for every batch row b and channel d (g = group of d):
    delta' = softplus(delta + delta_bias)                (softplus only if delta_softplus)
    h_t    = exp(delta'_t * A) * h_{t-1} + delta'_t * B_t * u_t          h_0 = 0, h_t in R^N
    y_t    = <C_t, h_t> + D * u_t ;   out = y * silu(z)                 (z optional)

`selective_scan_ref` is the naive step-by-step loop under autograd (slow, obviously right).
`selective_scan_torch` is the fast twin: time is cut into cache-sized chunks, every
elementwise product of a chunk is one batched op, only the recurrence itself walks over time
(one fused multiply-add per step, in place), and the backward pass is written by hand
(recomputing each chunk's states from a checkpoint, as mamba-ssm's kernel does) so that
autograd keeps no per-step graph and memory stays O(B D L + B D N L / Tc). Tests compare the two on outputs
and on every gradient.
"""
import torch
import torch.nn.functional as F


def _as_grouped(M):
    # [B N L] -> [B 1 N L]; [B G N L] unchanged
    if M.dim() == 3:
        return M.unsqueeze(1)
    if M.dim() == 4:
        return M
    raise ValueError(f"B/C must be [batch, d_state, L] or [batch, groups, d_state, L], got {tuple(M.shape)}")


def _compute_dtype(u):
    """float64 stays float64; every narrower dtype is computed in float32."""
    return torch.float64 if u.dtype == torch.float64 else torch.float32


def _prepare_delta(delta, delta_bias, delta_softplus, dtype=torch.float32):
    delta = delta.to(dtype)
    if delta_bias is not None:
        delta = delta + delta_bias.to(dtype)[..., None]
    if delta_softplus:
        delta = F.softplus(delta)
    return delta


def _finish(y, u, D, z, out_dtype):
    if D is not None:
        y = y + u.to(y.dtype) * D.to(y.dtype)[..., None]
    if z is not None:
        y = y * F.silu(z.to(y.dtype))
    return y.to(out_dtype)


def selective_scan_ref(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Reference twin: a plain loop over time under autograd (float32 or the input's wider dtype)."""
    dtype_in = u.dtype
    compute = _compute_dtype(u)
    delta = _prepare_delta(delta, delta_bias, delta_softplus, compute)
    u_, A_ = u.to(compute), A.to(compute)
    Bg, Cg = _as_grouped(B).to(compute), _as_grouped(C).to(compute)
    batch, dim, length = u.shape
    groups = Bg.shape[1]
    rep = dim // groups
    Bd = Bg.repeat_interleave(rep, dim=1)  # [B D N L]
    Cd = Cg.repeat_interleave(rep, dim=1)
    h = u_.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(length):
        dA = torch.exp(delta[:, :, t, None] * A_)  # [B D N]
        h = dA * h + (delta[:, :, t] * u_[:, :, t])[..., None] * Bd[:, :, :, t]
        ys.append((h * Cd[:, :, :, t]).sum(-1))
    y = torch.stack(ys, dim=-1) if ys else u_.new_zeros(batch, dim, 0)
    if D is not None:
        y = y + u_ * D.to(compute)[..., None]
    if z is not None:
        y = y * F.silu(z.to(compute))
    return y.to(dtype_in)


# Elements of one time-chunk buffer [Tc B D N]: small enough to stay in cache and to be
# served by malloc without fresh page faults (allocating full [L B D N] tensors cost more than
# all the arithmetic on a 2-core CPU).
_CHUNK_ELEMS = 1 << 22
# Elements of one step's state [Bc D N] in a batch block: the scan runs block by block so that
# a chunk holds several steps even for large batches.
_BLOCK_STATE_ELEMS = 1 << 19


def _chunk_len(length, per_step):
    return max(1, min(length, _CHUNK_ELEMS // max(per_step, 1)))


def _batch_block(batch, per_row):
    return max(1, min(batch, _BLOCK_STATE_ELEMS // max(per_row, 1)))


class _ScanCore(torch.autograd.Function):
    """y[b,d,l] = <C_l, h_l> with h_l = exp(delta_l A) h_{l-1} + delta_l u_l B_l  (no D, no gate).

    Inputs (float32 or float64): delta, u [B D L]; A [D N]; Bg, Cg [B G N L], D = G*P channels.
    Time-major chunks of Tc steps: within a chunk every product is one batched op over
    [Tc B G P N] and only the recurrence walks step by step. The forward keeps just the state
    at each chunk start; the backward recomputes a chunk's states from it, then runs the
    adjoint recurrence dL/dh_t = gy_t C_t + exp(delta_{t+1} A) dL/dh_{t+1} backwards.
    """

    @staticmethod
    def _chunk_states(delta_t, du_t, B_t, A, s, e, h0, dA, H):
        """Fill dA[:e-s] = exp(delta A) and H[:e-s] = states for steps s..e-1, starting from h0."""
        n = e - s
        torch.mul(delta_t[s:e].unsqueeze(-1), A, out=dA[:n]).exp_()  # [Tc B D N]
        H5 = H[:n].view(n, *du_t.shape[1:], A.shape[1])
        torch.mul(du_t[s:e].unsqueeze(-1), B_t[s:e].unsqueeze(3), out=H5)  # delta u B: [Tc B G P N]
        H[0].addcmul_(dA[0], h0)
        for i in range(1, n):
            H[i].addcmul_(dA[i], H[i - 1])

    @staticmethod
    def forward(ctx, delta, u, A, Bg, Cg):
        batch, dim, length = u.shape
        groups, n = Bg.shape[1], Bg.shape[2]
        p = dim // groups
        delta_t = delta.permute(2, 0, 1).contiguous()  # [L B D]
        du_t = (delta * u).permute(2, 0, 1).reshape(length, batch, groups, p)  # [L B G P]
        B_t = Bg.permute(3, 0, 1, 2).contiguous()  # [L B G N]
        C_t = Cg.permute(3, 0, 1, 2).contiguous()
        tc = _chunk_len(length, batch * dim * n)
        dA = u.new_empty(tc, batch, dim, n)
        H = u.new_empty(tc, batch, dim, n)
        starts = list(range(0, length, tc))
        h0 = u.new_empty(len(starts), batch, dim, n)  # state before each chunk
        h0[0].zero_()
        y = u.new_empty(length, batch, groups, p)
        for k, s in enumerate(starts):
            e = min(s + tc, length)
            if k > 0:
                h0[k].copy_(H[tc - 1])
            _ScanCore._chunk_states(delta_t, du_t, B_t, A, s, e, h0[k], dA, H)
            torch.matmul(H[: e - s].view(e - s, batch, groups, p, n), C_t[s:e].unsqueeze(-1),
                         out=y[s:e].unsqueeze(-1))
        ctx.save_for_backward(delta_t, du_t, u, A, B_t, C_t, h0)
        ctx.tc = tc
        return y.view(length, batch, dim).permute(1, 2, 0)

    @staticmethod
    def backward(ctx, gy):
        delta_t, du_t, u, A, B_t, C_t, h0 = ctx.saved_tensors
        tc = ctx.tc
        length, batch, groups, p = du_t.shape
        dim, n = groups * p, A.shape[1]
        gy_t = gy.to(u.dtype).permute(2, 0, 1).reshape(length, batch, groups, p, 1).contiguous()
        dA = u.new_empty(tc, batch, dim, n)
        H = u.new_empty(tc, batch, dim, n)
        G = u.new_empty(tc, batch, dim, n)
        tmp = u.new_empty(tc, batch, dim, n)
        carry = u.new_zeros(batch, dim, n)  # exp(delta_{t+1} A) dL/dh_{t+1} from the next chunk
        g_delta = u.new_empty(length, batch, dim)
        g_du = u.new_empty(length, batch, groups, p)
        gB = u.new_empty(length, batch, groups, n)
        gC = u.new_empty(length, batch, groups, n)
        gA = u.new_zeros(dim, n)
        starts = list(range(0, length, tc))
        for k in range(len(starts) - 1, -1, -1):
            s = starts[k]
            e = min(s + tc, length)
            m = e - s
            _ScanCore._chunk_states(delta_t, du_t, B_t, A, s, e, h0[k], dA, H)
            G5 = G[:m].view(m, batch, groups, p, n)
            torch.mul(gy_t[s:e], C_t[s:e].unsqueeze(3), out=G5)
            G[m - 1].add_(carry)
            for i in range(m - 2, -1, -1):
                G[i].addcmul_(dA[i + 1], G[i + 1])
            torch.mul(dA[0], G[0], out=carry)
            H5 = H[:m].view(m, batch, groups, p, n)
            torch.matmul(gy_t[s:e].transpose(-1, -2), H5, out=gC[s:e].unsqueeze(-2))
            torch.matmul(G5, B_t[s:e].unsqueeze(-1), out=g_du[s:e].unsqueeze(-1))
            torch.matmul(du_t[s:e].unsqueeze(-2), G5, out=gB[s:e].unsqueeze(-2))
            # S = dL/d(delta A) = G_t * h_{t-1} * exp(delta_t A), in G's storage
            S = G[:m].mul_(dA[:m])
            S[1:].mul_(H[: m - 1])
            S[0].mul_(h0[k])
            torch.mul(S, A, out=tmp[:m])
            torch.sum(tmp[:m], dim=-1, out=g_delta[s:e])
            torch.mul(S, delta_t[s:e].unsqueeze(-1), out=tmp[:m])
            gA += tmp[:m].sum(dim=(0, 1))
        g_du = g_du.view(length, batch, dim)
        u_t = u.permute(2, 0, 1)
        g_delta += g_du * u_t
        g_u = g_du * delta_t
        return (g_delta.permute(1, 2, 0), g_u.permute(1, 2, 0), gA,
                gB.permute(1, 2, 3, 0), gC.permute(1, 2, 3, 0))


def selective_scan_torch(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Fast pure-PyTorch selective scan (same signature and semantics as `selective_scan_ref`).

    Computes in float32 for float32/bf16/fp16 inputs (the scan state never drops below float32,
    also under autocast) and in float64 for float64 inputs; returns u's dtype.
    """
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValueError(f"u and delta must both be [batch, dim, L], got {tuple(u.shape)} and {tuple(delta.shape)}")
    dim = u.shape[1]
    Bg, Cg = _as_grouped(B), _as_grouped(C)
    if dim % Bg.shape[1] != 0:
        raise ValueError(f"channels ({dim}) must be divisible by the number of B/C groups ({Bg.shape[1]})")
    with torch.autocast(device_type=u.device.type, enabled=False):
        compute = _compute_dtype(u)
        dt = _prepare_delta(delta, delta_bias, delta_softplus, compute)
        uf, Af, Bf, Cf = (t.to(compute) for t in (u, A, Bg, Cg))
        bc = _batch_block(u.shape[0], dim * A.shape[1])
        if bc >= u.shape[0]:
            y = _ScanCore.apply(dt, uf, Af, Bf, Cf)
        else:  # independent batch blocks keep every step's state cache-sized
            # split, not slices: a slice's backward writes its block into a zeroed full-batch gradient, once per
            # block and input, then sums them; split's backward is one concatenation (benchmarks/cpu_train_step.py)
            blocks = zip(dt.split(bc), uf.split(bc), Bf.split(bc), Cf.split(bc))
            y = torch.cat([_ScanCore.apply(d, x, Af, b, c) for d, x, b, c in blocks])
        return _finish(y, u, D, z, u.dtype)

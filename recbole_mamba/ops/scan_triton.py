"""Triton selective scan shaped for recommendation: many short sequences, narrow channel groups.

Same arguments, shapes and semantics as `selective_scan_ref` (ops/scan_torch.py), which is its
reference twin in the parity tests:
    u, delta, z: [B D L]   A: [D N]   B, C: [B N L] or [B G N L]   D, delta_bias: [D]
Any strides are accepted (the mixer passes transposed views; nothing is copied), and the output
is laid out channels-last ([B L D] in memory, returned as a [B D L] view) because the next op,
out_proj, wants exactly that.

Design (why it is fast at L <= a few hundred, d_state 16..64):
- one program per (sequence, block of channels of one B/C group); its state h [BLOCK_C N] lives
  in registers for the whole sequence, so nothing L-wide except inputs/outputs touches memory;
- B_t and C_t are loaded once per program and step (the block shares one group), and the
  reductions dB_t = sum_c ..., dC_t = sum_c ... happen in registers: no atomics;
- time runs in chunks of CHUNK steps; the forward unrolls a chunk at compile time so its loads are
  independent of the recurrence and can be issued early;
- the forward stores the state at each chunk start (B D N L/CHUNK floats); the backward walks the
  chunks in reverse, recomputes a chunk's states from its checkpoint into a small scratch, then
  runs the adjoint recurrence dL/dh_t = gy_t C_t + exp(delta_{t+1} A) dL/dh_{t+1} backwards. Its
  per-step loops stay rolled (BWD_UNROLL): unrolled, the body needed 255 registers, spilled and
  missed the instruction cache (Nsight Compute, docs/performance.md).
The state is always float32 (also for bf16 inputs under autocast); float64 inputs are computed
in float32 (use the torch/ref backends for float64 work).

Triton is imported lazily by ops/selective_scan.py; importing this module needs Triton.
"""
import torch
import triton
import triton.language as tl

# Steps per chunk: 8 measured 5-8% faster than 16 and 32 (fwd+bwd, L = 50 and 200, LatentMamba's and Mamba1's scan
# shapes; one H200, benchmarks/results/2026-12-04_h200_compile/); at L = 50 it also pads less (56 steps, not 64).
# 4 is 10% faster again at LatentMamba's shape but keeps twice the chunk checkpoints (ml-1m end to end: no faster
# epoch, 20% more peak memory; benchmarks/results/2026-12-04_h200_parallel_scan/).
CHUNK = 8
# Launch settings, measured by benchmarks/triton_launch_sweep.py (None: the heuristic in _launch_config).
BLOCK_C = None  # channels per program (a power of two, capped by the group size); None: 32 (16 from d_state 64)
BWD_UNROLL = 1  # unroll factor of the backward's per-step loops
BWD_WARPS = None  # warps per backward program


@triton.jit
def _softplus(x):
    return tl.where(x > 20.0, x, tl.log(1.0 + tl.exp(x)))


@triton.jit
def _program_tile(pid_blk, group_size, blocks_per_group, A_ptr, s_ac, s_an, D_ptr, dtb_ptr,
                  N: tl.constexpr, NP: tl.constexpr, BLOCK_C: tl.constexpr, HAS_D: tl.constexpr, HAS_DTB: tl.constexpr):
    """The channels of program `pid_blk` (a block of one B/C group) and their per-channel parameters:
    (group, local ids, channel ids, channel mask, state ids, state mask, int zeros [BLOCK_C], int zeros [NP],
    A [BLOCK_C NP], D [BLOCK_C], delta_bias [BLOCK_C]); absent D / delta_bias are zeros."""
    g = pid_blk // blocks_per_group
    c_local = tl.arange(0, BLOCK_C)
    c_in_group = (pid_blk % blocks_per_group) * BLOCK_C + c_local
    c_mask = c_in_group < group_size
    c = g * group_size + c_in_group
    n = tl.arange(0, NP)
    n_mask = n < N
    c_zero = tl.zeros([BLOCK_C], dtype=tl.int32)  # t + zeros: per-lane masks from a scalar step index
    n_zero = tl.zeros([NP], dtype=tl.int32)
    A = tl.load(A_ptr + c[:, None] * s_ac + n[None, :] * s_an, mask=c_mask[:, None] & n_mask[None, :],
                other=0.0).to(tl.float32)
    Dv = tl.zeros([BLOCK_C], dtype=tl.float32)
    if HAS_D:
        Dv = tl.load(D_ptr + c, mask=c_mask, other=0.0).to(tl.float32)
    dtb = tl.zeros([BLOCK_C], dtype=tl.float32)
    if HAS_DTB:
        dtb = tl.load(dtb_ptr + c, mask=c_mask, other=0.0).to(tl.float32)
    return g, c_local, c, c_mask, n, n_mask, c_zero, n_zero, A, Dv, dtb


@triton.jit
def _step_inputs(u_base, dt_base, b_base, t, L, s_ul, s_dl, s_bl, dtb, c_mask, n_mask, c_zero, n_zero,
                 HAS_DTB: tl.constexpr, SOFTPLUS: tl.constexpr):
    """Step t's masks and inputs: (m, nv, u, dt before softplus, dt, B_t); dt is 0 on padded steps (t >= L), so
    they leave the state unchanged."""
    m = c_mask & (c_zero + t < L)
    nv = n_mask & (n_zero + t < L)
    u = tl.load(u_base + t * s_ul, mask=m, other=0.0).to(tl.float32)
    dt_raw = tl.load(dt_base + t * s_dl, mask=m, other=0.0).to(tl.float32)
    if HAS_DTB:
        dt_raw = dt_raw + dtb
    dt = dt_raw
    if SOFTPLUS:
        dt = _softplus(dt_raw)
    dt = tl.where(m, dt, 0.0)
    Bt = tl.load(b_base + t * s_bl, mask=nv, other=0.0).to(tl.float32)
    return m, nv, u, dt_raw, dt, Bt


@triton.jit
def _scan_fwd_kernel(
    u_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, dtb_ptr, out_ptr, ck_ptr,
    L, n_chunks, group_size, blocks_per_group,
    s_ub, s_uc, s_ul, s_db, s_dc, s_dl, s_ac, s_an,
    s_bb, s_bg, s_bn, s_bl, s_cb, s_cg, s_cn, s_cl,
    s_zb, s_zc, s_zl, s_ob, s_oc, s_ol,
    N: tl.constexpr, NP: tl.constexpr, BLOCK_C: tl.constexpr, CHUNK: tl.constexpr,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DTB: tl.constexpr, SOFTPLUS: tl.constexpr,
):
    pid_b = tl.program_id(0).to(tl.int64)
    pid_blk = tl.program_id(1)
    g, c_local, c, c_mask, n, n_mask, c_zero, n_zero, A, Dv, dtb = _program_tile(
        pid_blk, group_size, blocks_per_group, A_ptr, s_ac, s_an, D_ptr, dtb_ptr, N, NP, BLOCK_C, HAS_D, HAS_DTB)
    u_base = u_ptr + pid_b * s_ub + c * s_uc
    dt_base = dt_ptr + pid_b * s_db + c * s_dc
    z_base = z_ptr + pid_b * s_zb + c * s_zc
    o_base = out_ptr + pid_b * s_ob + c * s_oc
    b_base = B_ptr + pid_b * s_bb + g * s_bg + n * s_bn
    cc_base = C_ptr + pid_b * s_cb + g * s_cg + n * s_cn
    prog = pid_b * tl.num_programs(1) + pid_blk
    TILE: tl.constexpr = BLOCK_C * NP
    # checkpoints: [B, n_blocks, n_chunks, BLOCK_C, NP] contiguous float32 (the backward reads them the same way)
    ck_base = ck_ptr + prog * n_chunks * TILE + c_local[:, None] * NP + n[None, :]

    h = tl.zeros([BLOCK_C, NP], dtype=tl.float32)
    for k in range(n_chunks):
        tl.store(ck_base + k * TILE, h)
        for i in tl.static_range(CHUNK):
            t = k * CHUNK + i
            m, nv, u, dt_raw, dt, Bt = _step_inputs(u_base, dt_base, b_base, t, L, s_ul, s_dl, s_bl, dtb, c_mask,
                                                    n_mask, c_zero, n_zero, HAS_DTB, SOFTPLUS)
            Ct = tl.load(cc_base + t * s_cl, mask=nv, other=0.0).to(tl.float32)
            h = tl.exp(dt[:, None] * A) * h + (dt * u)[:, None] * Bt[None, :]
            y = tl.sum(h * Ct[None, :], axis=1)
            if HAS_D:
                y = y + Dv * u
            if HAS_Z:
                zt = tl.load(z_base + t * s_zl, mask=m, other=0.0).to(tl.float32)
                y = y * zt * tl.sigmoid(zt)
            tl.store(o_base + t * s_ol, y, mask=m)


@triton.jit
def _scan_bwd_kernel(
    u_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, dtb_ptr, gout_ptr, ck_ptr, scratch_ptr,
    du_ptr, ddt_ptr, dz_ptr, dBp_ptr, dCp_ptr, dAp_ptr, dDp_ptr,
    L, n_chunks, group_size, blocks_per_group,
    s_ub, s_uc, s_ul, s_db, s_dc, s_dl, s_ac, s_an,
    s_bb, s_bg, s_bn, s_bl, s_cb, s_cg, s_cn, s_cl,
    s_zb, s_zc, s_zl, s_gb, s_gc, s_gl,
    s_dub, s_duc, s_dul, s_ddb, s_ddc, s_ddl, s_dzb, s_dzc, s_dzl,
    N: tl.constexpr, NP: tl.constexpr, BLOCK_C: tl.constexpr, CHUNK: tl.constexpr, UNROLL: tl.constexpr,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DTB: tl.constexpr, SOFTPLUS: tl.constexpr,
):
    pid_b = tl.program_id(0).to(tl.int64)
    pid_blk = tl.program_id(1)
    n_blk = tl.num_programs(1)
    g, c_local, c, c_mask, n, n_mask, c_zero, n_zero, A, Dv, dtb = _program_tile(
        pid_blk, group_size, blocks_per_group, A_ptr, s_ac, s_an, D_ptr, dtb_ptr, N, NP, BLOCK_C, HAS_D, HAS_DTB)
    u_base = u_ptr + pid_b * s_ub + c * s_uc
    dt_base = dt_ptr + pid_b * s_db + c * s_dc
    z_base = z_ptr + pid_b * s_zb + c * s_zc
    g_base = gout_ptr + pid_b * s_gb + c * s_gc
    du_base = du_ptr + pid_b * s_dub + c * s_duc
    ddt_base = ddt_ptr + pid_b * s_ddb + c * s_ddc
    dz_base = dz_ptr + pid_b * s_dzb + c * s_dzc
    b_base = B_ptr + pid_b * s_bb + g * s_bg + n * s_bn
    cc_base = C_ptr + pid_b * s_cb + g * s_cg + n * s_cn
    prog = pid_b * n_blk + pid_blk
    TILE: tl.constexpr = BLOCK_C * NP
    tile = c_local[:, None] * NP + n[None, :]
    ck_base = ck_ptr + prog * n_chunks * TILE + tile
    # scratch slot 0: the chunk's start state; slot i + 1: the state after the chunk's step i
    sc_base = scratch_ptr + prog * (CHUNK + 1) * TILE + tile
    # per-program partial sums: dB/dC [B, n_blocks, L, N] (N contiguous: one short row per step);
    # dA [B, n_blocks, BLOCK_C, NP]; dD [B, n_blocks, BLOCK_C]
    dBp_base = dBp_ptr + prog * L * N + n
    dCp_base = dCp_ptr + prog * L * N + n

    dh = tl.zeros([BLOCK_C, NP], dtype=tl.float32)
    dA_acc = tl.zeros([BLOCK_C, NP], dtype=tl.float32)
    dD_acc = tl.zeros([BLOCK_C], dtype=tl.float32)
    for kk in range(n_chunks):
        k = n_chunks - 1 - kk
        h = tl.load(ck_base + k * TILE)
        tl.store(sc_base, h)
        # recompute this chunk's states (rolled loop by default: an unrolled body spills registers and
        # overflows the instruction cache, see docs/performance.md)
        for i in tl.range(0, CHUNK, loop_unroll_factor=UNROLL):
            t = k * CHUNK + i
            m, nv, u, dt_raw, dt, Bt = _step_inputs(u_base, dt_base, b_base, t, L, s_ul, s_dl, s_bl, dtb, c_mask,
                                                    n_mask, c_zero, n_zero, HAS_DTB, SOFTPLUS)
            h = tl.exp(dt[:, None] * A) * h + (dt * u)[:, None] * Bt[None, :]
            tl.store(sc_base + (i + 1) * TILE, h)
        tl.debug_barrier()
        h_t = h
        for j in tl.range(0, CHUNK, loop_unroll_factor=UNROLL):  # adjoint recurrence, backwards in time
            i = CHUNK - 1 - j
            t = k * CHUNK + i
            h_prev = tl.load(sc_base + i * TILE)
            m, nv, u, dt_raw, dt, Bt = _step_inputs(u_base, dt_base, b_base, t, L, s_ul, s_dl, s_bl, dtb, c_mask,
                                                    n_mask, c_zero, n_zero, HAS_DTB, SOFTPLUS)
            Ct = tl.load(cc_base + t * s_cl, mask=nv, other=0.0).to(tl.float32)
            go = tl.load(g_base + t * s_gl, mask=m, other=0.0).to(tl.float32)
            if HAS_Z:
                zt = tl.load(z_base + t * s_zl, mask=m, other=0.0).to(tl.float32)
                y = tl.sum(h_t * Ct[None, :], axis=1)
                if HAS_D:
                    y = y + Dv * u
                sz = tl.sigmoid(zt)
                gy = go * zt * sz
                dz = go * y * sz * (1.0 + zt * (1.0 - sz))
                tl.store(dz_base + t * s_dzl, dz, mask=m)
            else:
                gy = go
            dh = dh + gy[:, None] * Ct[None, :]  # dL/dh_t
            dC_t = tl.sum(gy[:, None] * h_t, axis=0)  # [NP]
            dB_t = tl.sum(dh * (dt * u)[:, None], axis=0)
            tl.store(dCp_base + t * N, dC_t, mask=nv)
            tl.store(dBp_base + t * N, dB_t, mask=nv)
            dA_t = tl.exp(dt[:, None] * A)
            s = dh * dA_t * h_prev  # dL/d(delta A) elementwise
            du = tl.sum(dh * Bt[None, :], axis=1) * dt
            ddt = tl.sum(s * A + dh * Bt[None, :] * u[:, None], axis=1)
            if HAS_D:
                du = du + Dv * gy
                dD_acc += gy * u
            dA_acc += s * dt[:, None]
            if SOFTPLUS:
                ddt = ddt * tl.sigmoid(dt_raw)
            tl.store(du_base + t * s_dul, du, mask=m)
            tl.store(ddt_base + t * s_ddl, ddt, mask=m)
            dh = dh * dA_t  # carry to h_{t-1}
            h_t = h_prev
        tl.debug_barrier()
    tl.store(dAp_ptr + prog * TILE + tile, dA_acc)
    tl.store(dDp_ptr + prog * BLOCK_C + c_local, dD_acc)


def _launch_config(dim, groups, d_state):
    """(group size, channels per program, programs per group, padded d_state, forward warps, backward warps)."""
    group_size = dim // groups
    npow = triton.next_power_of_2(d_state)
    # at most 1024 state elements per program: one warp holds 32 of them per thread per tile (d_state 64 and
    # more are not measured yet)
    block_c = min(BLOCK_C or max(1, min(32, 1024 // npow)), triton.next_power_of_2(group_size))
    blocks_per_group = triton.cdiv(group_size, block_c)
    num_warps = max(1, min(8, block_c * npow // 256))
    # one warp keeps the backward's per-step reductions over channels (dB_t, dC_t) inside the warp (shuffles,
    # no shared-memory round trip); 32 channels x one warp measured best at LatentMamba's (4 groups, d_state 16)
    # and Mamba4Rec's (1 group, d_state 32) shapes; 64 channels spill (docs/performance.md)
    bwd_warps = BWD_WARPS or 1
    return group_size, block_c, blocks_per_group, npow, num_warps, bwd_warps


def _sum_blocks(partial, batch, groups, blocks_per_group):
    """[B n_blocks L N] partial sums -> [B G N L] (a view of [B G L N] memory; no copy when one block per group)."""
    p = partial.view(batch, groups, blocks_per_group, *partial.shape[2:])
    p = p[:, :, 0] if blocks_per_group == 1 else p.sum(2)
    return p.transpose(-1, -2)


def _as_grouped(M):
    return M.unsqueeze(1) if M.dim() == 3 else M


def _strides(t, n):
    return tuple(t.stride()) if t is not None else (0,) * n


class _TritonScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, delta_softplus):
        batch, dim, length = u.shape
        grouped = B.dim() == 4
        Bg, Cg = _as_grouped(B), _as_grouped(C)
        groups, d_state = Bg.shape[1], Bg.shape[2]
        group_size, block_c, bpg, npow, num_warps, _ = _launch_config(dim, groups, d_state)
        n_chunks = max(1, triton.cdiv(length, CHUNK))
        n_blocks = groups * bpg
        ck = torch.empty(batch, n_blocks, n_chunks, block_c, npow, device=u.device, dtype=torch.float32)
        out = torch.empty(batch, length, dim, device=u.device, dtype=u.dtype).transpose(1, 2)
        dummy = u
        _scan_fwd_kernel[(batch, n_blocks)](
            u, delta, A, Bg, Cg, D if D is not None else dummy, z if z is not None else dummy,
            delta_bias if delta_bias is not None else dummy, out, ck,
            length, n_chunks, group_size, bpg,
            *u.stride(), *delta.stride(), *A.stride(), *Bg.stride(), *Cg.stride(), *_strides(z, 3), *out.stride(),
            N=d_state, NP=npow, BLOCK_C=block_c, CHUNK=CHUNK,
            HAS_D=D is not None, HAS_Z=z is not None, HAS_DTB=delta_bias is not None, SOFTPLUS=bool(delta_softplus),
            num_warps=num_warps,
        )
        ctx.save_for_backward(u, delta, A, Bg, Cg, D, z, delta_bias, ck)
        ctx.meta = (bool(delta_softplus), grouped, B.dtype, C.dtype)
        return out

    @staticmethod
    def backward(ctx, gout):
        u, delta, A, Bg, Cg, D, z, delta_bias, ck = ctx.saved_tensors
        delta_softplus, grouped, b_dtype, c_dtype = ctx.meta
        batch, dim, length = u.shape
        groups, d_state = Bg.shape[1], Bg.shape[2]
        group_size, block_c, bpg, npow, _, bwd_warps = _launch_config(dim, groups, d_state)
        n_chunks = ck.shape[2]
        n_blocks = groups * bpg
        dev = u.device
        f32 = dict(device=dev, dtype=torch.float32)
        scratch = torch.empty(batch * n_blocks, CHUNK + 1, block_c, npow, **f32)
        du = torch.empty_like(u)
        ddt = torch.empty_like(delta, dtype=torch.float32)
        dz = torch.empty_like(z) if z is not None else None
        dBp = torch.empty(batch, n_blocks, length, d_state, **f32)
        dCp = torch.empty(batch, n_blocks, length, d_state, **f32)
        dAp = torch.empty(batch, n_blocks, block_c, npow, **f32)
        dDp = torch.empty(batch, n_blocks, block_c, **f32)
        dummy = u
        _scan_bwd_kernel[(batch, n_blocks)](
            u, delta, A, Bg, Cg, D if D is not None else dummy, z if z is not None else dummy,
            delta_bias if delta_bias is not None else dummy, gout, ck, scratch,
            du, ddt, dz if dz is not None else dummy, dBp, dCp, dAp, dDp,
            length, n_chunks, group_size, bpg,
            *u.stride(), *delta.stride(), *A.stride(), *Bg.stride(), *Cg.stride(), *_strides(z, 3), *gout.stride(),
            *du.stride(), *ddt.stride(), *_strides(dz, 3),
            N=d_state, NP=npow, BLOCK_C=block_c, CHUNK=CHUNK, UNROLL=BWD_UNROLL,
            HAS_D=D is not None, HAS_Z=z is not None, HAS_DTB=delta_bias is not None, SOFTPLUS=delta_softplus,
            num_warps=bwd_warps,
        )
        dB, dC = (_sum_blocks(p, batch, groups, bpg) for p in (dBp, dCp))
        if not grouped:
            dB, dC = dB.squeeze(1), dC.squeeze(1)
        # per-block channel tiles back to [D N] / [D] (tiles past group_size are padding)
        dA = dAp.sum(0).view(groups, bpg * block_c, npow)[:, :group_size, :d_state].reshape(dim, d_state)
        dD = dDp.sum(0).view(groups, bpg * block_c)[:, :group_size].reshape(dim) if D is not None else None
        d_bias = ddt.sum(dim=(0, 2)) if delta_bias is not None else None
        return (du, ddt.to(delta.dtype), dA.to(A.dtype), dB.to(b_dtype), dC.to(c_dtype),
                dD.to(D.dtype) if D is not None else None, dz,
                d_bias.to(delta_bias.dtype) if delta_bias is not None else None, None)


def selective_scan_triton(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """Fused Triton selective scan (signature and semantics of `selective_scan_ref`); CUDA tensors
    (or any device under TRITON_INTERPRET=1). Returns u's dtype, laid out channels-last."""
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValueError(f"u and delta must both be [batch, dim, L], got {tuple(u.shape)} and {tuple(delta.shape)}")
    Bg = _as_grouped(B)
    if u.shape[1] % Bg.shape[1] != 0:
        raise ValueError(f"channels ({u.shape[1]}) must be divisible by the number of B/C groups ({Bg.shape[1]})")
    with torch.autocast(device_type=u.device.type, enabled=False):
        return _TritonScan.apply(u, delta, A, B, C, D, z, delta_bias, delta_softplus)

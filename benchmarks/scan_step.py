"""Run the selective scan forward+backward at LatentMamba's ml-1m shape, for a profiler to look at.

    python benchmarks/scan_step.py BACKEND [ITERATIONS [LAYOUT]]   (CUDA; BACKEND: triton | cuda | torch)
    ncu --clock-control none -k regex:'scan_(fwd|bwd)' --launch-skip 2 --launch-count 2 \
        python benchmarks/scan_step.py triton 2                    (what benchmarks/ncu_scan.sh does)

Shape: batch 2048, L 200, 128 channels in 4 B/C groups (4 heads x d_inner 32), d_state 16, D, z gate,
delta bias and softplus, float32. LAYOUT `mixer` (default) lays the tensors out in memory as LatentMamba's
mixer hands them over (u from the torch conv: [B C L]; delta, z and the incoming gradient channels-last;
B and C views of the x_proj output [B L H (r+2N)]); `contiguous` makes every tensor contiguous as shaped.
Prints the shape, the median ms of the iterations after the first (bench_layers' timer) and, for the Triton backend,
each compiled kernel's registers, spills and shared memory. SCAN_BWD_UNROLL / SCAN_BWD_WARPS / SCAN_BLOCK_C /
SCAN_CHUNK in the environment override the Triton scan's launch settings (see benchmarks/triton_launch_sweep.py),
here and in bench_layers.py.
"""
import json
import os
import sys

import torch

from recbole_mamba.ops.selective_scan import selective_scan

B, L, CHANNELS, GROUPS, N = 2048, 200, 128, 4, 16


def inputs(layout="mixer", B=B, L=L, CHANNELS=CHANNELS, GROUPS=GROUPS, N=N, device="cuda"):  # noqa: N803
    """Leaves (u, delta, A, B, C, D, z, delta_bias), all requiring grad, and the output gradient."""
    g = torch.Generator(device=device).manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, device=device, generator=g)

    def channels_last(scale=1.0):  # [B C L] view of [B L C] memory
        return (r(B, L, CHANNELS) * scale).transpose(1, 2)
    if layout == "contiguous":
        bc = [r(B, GROUPS, N, L), r(B, GROUPS, N, L)]
        delta, z, gout = r(B, CHANNELS, L) * 0.5, r(B, CHANNELS, L), r(B, CHANNELS, L)
    else:
        x_dbl = r(B, L, GROUPS, 4 + 2 * N)  # dt rank 4, then B, then C
        bc = [x_dbl[..., 4:4 + N].permute(0, 2, 3, 1).detach(), x_dbl[..., 4 + N:].permute(0, 2, 3, 1).detach()]
        delta, z, gout = channels_last(0.5), channels_last(), channels_last()
    leaves = [r(B, CHANNELS, L), delta, -torch.rand(CHANNELS, N, device=device) - 0.1, *bc, r(CHANNELS), z,
              r(CHANNELS)]
    return [t.requires_grad_() for t in leaves], gout


def scan(leaves, backend):
    """The scan of LatentMamba's mixer (D, z gate, delta bias, softplus) on the leaves of `inputs`."""
    return selective_scan(*leaves[:5], D=leaves[5], z=leaves[6], delta_bias=leaves[7], delta_softplus=True,
                          backend=backend)


def apply_env_overrides():
    """SCAN_BWD_UNROLL / SCAN_BWD_WARPS / SCAN_BLOCK_C / SCAN_CHUNK -> the Triton scan's launch settings; returns
    what was applied."""
    applied = {}
    for env, attr in (("SCAN_BWD_UNROLL", "BWD_UNROLL"), ("SCAN_BWD_WARPS", "BWD_WARPS"),
                      ("SCAN_BLOCK_C", "BLOCK_C"), ("SCAN_CHUNK", "CHUNK")):
        if os.environ.get(env):
            import recbole_mamba.ops.scan_triton as st
            setattr(st, attr, int(os.environ[env]))
            applied[attr] = int(os.environ[env])
    return applied


def triton_resources():
    """Registers / spills / shared memory of each compiled Triton scan kernel (empty if not compiled)."""
    import recbole_mamba.ops.scan_triton as st
    rows = []
    for name in ("_scan_fwd_kernel", "_scan_bwd_kernel"):
        caches = getattr(getattr(st, name), "device_caches", {})
        for cache in caches.values():
            kernels = cache[0] if isinstance(cache, tuple) else cache
            for k in kernels.values():
                rows.append({"kernel": name, "n_regs": getattr(k, "n_regs", None),
                             "n_spills": getattr(k, "n_spills", None),
                             "shared": getattr(getattr(k, "metadata", None), "shared", None),
                             "num_warps": getattr(getattr(k, "metadata", None), "num_warps", None)})
    return rows


def main():
    backend = sys.argv[1]
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    layout = sys.argv[3] if len(sys.argv) > 3 else "mixer"
    overrides = apply_env_overrides()
    leaves, gout = inputs(layout)

    def step():
        scan(leaves, backend).backward(gout)
    from bench_layers import timer  # here, not at the top: bench_layers imports this module
    ms = timer(step, warm=1, reps=max(1, iterations - 1))  # exactly `iterations` steps (ncu counts launches)
    print(json.dumps({"backend": backend, "layout": layout, "B": B, "L": L, "channels": CHANNELS, "groups": GROUPS,
                      "N": N, "iterations": iterations, **overrides, "median_ms_last": ms,
                      "device": torch.cuda.get_device_name()}))
    if backend == "triton":
        for row in triton_resources():
            print(json.dumps(row))


if __name__ == "__main__":
    main()

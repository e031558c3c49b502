"""Run the selective scan forward+backward at LatentMamba's ml-1m shape, for a profiler to look at.

    python benchmarks/scan_step.py BACKEND [ITERATIONS]          (CUDA; BACKEND: triton | cuda | torch)
    ncu --clock-control none -k regex:'scan_(fwd|bwd)' --launch-skip 2 --launch-count 2 \
        python benchmarks/scan_step.py triton 2                  (what benchmarks/ncu_scan.sh does)

Shape: batch 2048, L 200, 128 channels in 4 B/C groups (4 heads x d_inner 32), d_state 16, D, z gate,
delta bias and softplus, float32. Prints the shape, the median ms of the last iterations and, for the
Triton backend, each compiled kernel's registers, spills and shared memory.
"""
import json
import sys

import torch

from recbole_mamba.ops.selective_scan import selective_scan

B, L, CHANNELS, GROUPS, N = 2048, 200, 128, 4, 16


def inputs():
    g = torch.Generator(device="cuda").manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, device="cuda", generator=g)
    leaves = [r(B, CHANNELS, L), r(B, CHANNELS, L) * 0.5, -torch.rand(CHANNELS, N, device="cuda") - 0.1,
              r(B, GROUPS, N, L), r(B, GROUPS, N, L), r(CHANNELS), r(B, CHANNELS, L), r(CHANNELS)]
    return [t.requires_grad_() for t in leaves], r(B, CHANNELS, L)


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
    leaves, gout = inputs()
    times = []
    for _ in range(iterations):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        out = selective_scan(*leaves[:5], D=leaves[5], z=leaves[6], delta_bias=leaves[7], delta_softplus=True,
                             backend=backend)
        out.backward(gout)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    print(json.dumps({"backend": backend, "B": B, "L": L, "channels": CHANNELS, "groups": GROUPS, "N": N,
                      "iterations": iterations, "median_ms_last": sorted(times[1:] or times)[len(times[1:] or times) // 2],
                      "device": torch.cuda.get_device_name()}))
    if backend == "triton":
        for row in triton_resources():
            print(json.dumps(row))


if __name__ == "__main__":
    main()

"""Sweep of the Triton scan's launch shape (num_warps x channels per program) at LatentMamba's scan shape
(B=2048, L=200, 128 channels in 4 groups, d_state 16): forward and forward+backward median ms.

    python benchmarks/triton_launch_sweep.py      (CUDA + Triton)
"""
import json

import torch
import triton

import recbole_mamba.ops.scan_triton as scan_triton
from recbole_mamba.ops.selective_scan import selective_scan

B, L, CHANNELS, GROUPS, N = 2048, 200, 128, 4, 16


def median_ms(fn, warm=3, reps=10):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def main():
    g = torch.Generator(device="cuda").manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, device="cuda", generator=g)
    leaves = [r(B, CHANNELS, L), r(B, CHANNELS, L) * 0.5, -torch.rand(CHANNELS, N, device="cuda") - 0.1,
              r(B, GROUPS, N, L), r(B, GROUPS, N, L), r(CHANNELS), r(B, CHANNELS, L), r(CHANNELS)]
    leaves = [t.requires_grad_() for t in leaves]
    gout = r(B, CHANNELS, L)

    def forward():
        return selective_scan(*leaves[:5], D=leaves[5], z=leaves[6], delta_bias=leaves[7], delta_softplus=True,
                              backend="triton")

    def step():
        forward().backward(gout)

    for warps in (1, 2, 4):
        for block_c in (16, 32):
            def launch_config(dim, groups, d_state, warps=warps, block_c=block_c):
                group_size = dim // groups
                return group_size, block_c, group_size // block_c, triton.next_power_of_2(d_state), warps
            scan_triton._launch_config = launch_config
            print(json.dumps({"warps": warps, "block_c": block_c, "fwd_ms": round(median_ms(forward), 3),
                              "fwd_bwd_ms": round(median_ms(step), 3)}), flush=True)


if __name__ == "__main__":
    main()

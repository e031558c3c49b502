"""Sweep of the Triton scan's launch shape (num_warps x channels per program) at LatentMamba's scan shape
(B=2048, L=200, 128 channels in 4 groups, d_state 16): forward and forward+backward median ms.

    python benchmarks/triton_launch_sweep.py      (CUDA + Triton)
"""
import json
import os
import sys

import torch
import triton

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recbole_mamba.ops.scan_triton as scan_triton  # noqa: E402
from bench_layers import timer  # noqa: E402  (CUDA-event median)
from recbole_mamba.ops.selective_scan import selective_scan  # noqa: E402


def median_ms(fn):
    return timer(fn, warm=3, reps=10)

B, L, CHANNELS, GROUPS, N = 2048, 200, 128, 4, 16


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

"""Sweep of the Triton scan backward's launch settings at LatentMamba's scan shape (B=2048, L=200, 128 channels
in 4 groups, d_state 16, tensors laid out as the mixer hands them over): per-step loop unroll factor x warps
per program. Prints forward and forward+backward median ms (CUDA events) and the kernels' registers/spills.

    python benchmarks/triton_launch_sweep.py [LAYOUT]      (CUDA + Triton; LAYOUT mixer | contiguous)
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recbole_mamba.ops.scan_triton as scan_triton  # noqa: E402
from bench_layers import timer  # noqa: E402  (CUDA-event median)
from recbole_mamba.ops.selective_scan import selective_scan  # noqa: E402
from scan_step import inputs, triton_resources  # noqa: E402


def main():
    layout = sys.argv[1] if len(sys.argv) > 1 else "mixer"
    leaves, gout = inputs(layout)

    def forward(backend="triton"):
        return selective_scan(*leaves[:5], D=leaves[5], z=leaves[6], delta_bias=leaves[7], delta_softplus=True,
                              backend=backend)

    def step(backend="triton"):
        forward(backend).backward(gout)

    for name, fn in (("cuda fwd", lambda: forward("cuda")), ("cuda fwd+bwd", lambda: step("cuda"))):
        try:
            print(json.dumps({"layout": layout, "backend": name, "ms": round(timer(fn, warm=3, reps=10), 3)}),
                  flush=True)
        except Exception as exc:  # mamba-ssm missing
            print(json.dumps({"backend": name, "error": repr(exc)[:200]}), flush=True)
    for unroll in (1, 2, 4, 16):
        for warps in (1, 2, 4):
            scan_triton.BWD_UNROLL, scan_triton.BWD_WARPS = unroll, warps
            row = {"layout": layout, "bwd_unroll": unroll, "bwd_warps": warps,
                   "fwd_ms": round(timer(forward, warm=3, reps=10), 3),
                   "fwd_bwd_ms": round(timer(step, warm=3, reps=10), 3)}
            bwd = [r for r in triton_resources() if r["kernel"] == "_scan_bwd_kernel"]
            row.update(bwd_regs=[r["n_regs"] for r in bwd][-1:], bwd_spills=[r["n_spills"] for r in bwd][-1:])
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

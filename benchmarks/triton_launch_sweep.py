"""Sweep of the Triton scan's launch settings (steps per chunk; channels per program x backward warps x backward
unroll) against
mamba-ssm's scan, tensors laid out as our mixer hands them over (benchmarks/scan_step.py). Prints forward and
forward+backward median ms (CUDA events) and the backward kernel's registers/spills, one JSON line per row.

    python benchmarks/triton_launch_sweep.py [SHAPE ...]      (CUDA + Triton; default: latent)
SHAPE: latent (LatentMamba: B=2048, L=200, 128 channels in 4 groups, d_state 16), mamba1 (Mamba4Rec / HMamba:
B=2048, L=200, 128 channels in 1 group, d_state 32), latent50 / latent1000 (LatentMamba at L=50 / 1000 with
B=8192 / 409: the same token budget).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recbole_mamba.ops.scan_triton as scan_triton  # noqa: E402
from bench_layers import timer  # noqa: E402  (CUDA-event median)
from scan_step import inputs, scan, triton_resources  # noqa: E402

SHIPPED = [{}]  # the launch settings as shipped
CHUNKS = [dict(CHUNK=c) for c in (2, 4, 8, 16)]
SHAPES = {  # name: (B, L, channels, groups, d_state), settings to sweep (scan_triton module attributes)
    "latent": ((2048, 200, 128, 4, 16), SHIPPED + CHUNKS + [dict(BLOCK_C=32, BWD_WARPS=w, BWD_UNROLL=u)
                                                          for u in (2, 4) for w in (1, 2)]),
    "mamba1": ((2048, 200, 128, 1, 32), SHIPPED + CHUNKS + [dict(BLOCK_C=c, BWD_WARPS=w) for c in (16, 64)
                                                          for w in (1, 2)]),
    "latent50": ((8192, 50, 128, 4, 16), SHIPPED + CHUNKS),
    "latent1000": ((409, 1000, 128, 4, 16), SHIPPED + CHUNKS),
}
KEYS = ("BLOCK_C", "BWD_WARPS", "BWD_UNROLL", "CHUNK")


def sweep(shape):
    (batch, length, channels, groups, n), settings = SHAPES[shape]
    leaves, gout = inputs("mixer", B=batch, L=length, CHANNELS=channels, GROUPS=groups, N=n)
    head = {"shape": shape, "B": batch, "L": length, "channels": channels, "groups": groups, "N": n}

    def forward(backend="triton"):
        return scan(leaves, backend)

    def step(backend="triton"):
        forward(backend).backward(gout)

    try:
        print(json.dumps({**head, "backend": "cuda", "fwd_ms": round(timer(lambda: forward("cuda"), 3, 10), 3),
                          "fwd_bwd_ms": round(timer(lambda: step("cuda"), 3, 10), 3)}), flush=True)
    except Exception as exc:  # mamba-ssm missing
        print(json.dumps({**head, "backend": "cuda", "error": repr(exc)[:200]}), flush=True)
    shipped = {k: getattr(scan_triton, k) for k in KEYS}
    for setting in settings:
        for k, v in setting.items():
            setattr(scan_triton, k, v)
        row = {**head, "backend": "triton", **setting}
        try:
            row.update(fwd_ms=round(timer(forward, 3, 10), 3), fwd_bwd_ms=round(timer(step, 3, 10), 3))
        except Exception as exc:  # e.g. a tile too large to compile
            row.update(error=repr(exc)[:300])
        bwd = [r for r in triton_resources() if r["kernel"] == "_scan_bwd_kernel"]
        row.update(bwd_regs=bwd[-1]["n_regs"] if bwd else None, bwd_spills=bwd[-1]["n_spills"] if bwd else None)
        print(json.dumps(row), flush=True)
        for k, v in shipped.items():
            setattr(scan_triton, k, v)


def main():
    for shape in sys.argv[1:] or ["latent"]:
        sweep(shape)


if __name__ == "__main__":
    main()

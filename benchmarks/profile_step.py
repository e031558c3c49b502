"""Profile one training step (fwd + bwd) of our Mamba layers at ml-1m shapes on a GPU.

    python benchmarks/profile_step.py [B L [BACKEND]]
Prints median ms per configuration (CUDA events) and the top CUDA kernels of LatentMamba's mixer
with scan backend BACKEND (default triton).
"""
import json
import sys

import torch

from recbole_mamba.model.layers import MambaMixer

B = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
L = int(sys.argv[2]) if len(sys.argv) > 2 else 200
PROFILED = sys.argv[3] if len(sys.argv) > 3 else "triton"
dev = "cuda"


def bench(fn, warm=3, rep=10):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(rep):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        ts.append(s.elapsed_time(e))
    return sorted(ts)[len(ts) // 2]


def step_fn(module, x):
    def f():
        module.zero_grad(set_to_none=True)
        module(x).float().pow(2).mean().backward()
    return f


configs = [(f"mixer h1 d64 N32 {b}", dict(d_head=64, d_state=32, n_heads=1), b) for b in ("triton", "cuda")]
configs += [(f"mixer h4 d16 N16 {b}", dict(d_head=16, d_state=16, n_heads=4), b) for b in ("triton", "cuda")]
for name, kw, backend in configs:
    torch.manual_seed(0)
    m = MambaMixer(scan_backend=backend, **kw).to(dev)
    x = torch.randn(B, L, kw["d_head"] * kw["n_heads"], device=dev, requires_grad=True)
    torch.cuda.reset_peak_memory_stats()
    ms = bench(step_fn(m, x), rep=3 if backend == "torch" else 10)
    print(json.dumps({"config": name, "B": B, "L": L, "ms": round(ms, 2),
                      "peak_MiB": round(torch.cuda.max_memory_allocated() / 2**20)}), flush=True)

m = MambaMixer(16, d_state=16, n_heads=4, scan_backend=PROFILED).to(dev)
x = torch.randn(B, L, 64, device=dev, requires_grad=True)
f = step_fn(m, x)
f()
torch.cuda.synchronize()
with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
    for _ in range(3):
        f()
    torch.cuda.synchronize()
print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=15, max_name_column_width=60))

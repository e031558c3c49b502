"""Sweep of the Triton scan's launch shape (num_warps x channels per program) at LatentMamba's scan shape
(B=2048, L=200, 128 channels in 4 groups, d_state 16): forward and forward+backward median ms.
    python benchmarks/triton_launch_sweep.py      (CUDA + Triton)
"""
import torch, json, sys
import recbole_mamba.ops.scan_triton as st
from recbole_mamba.ops.selective_scan import selective_scan
orig = st._launch_config
def timeit(fn, reps=10):
    for _ in range(3): fn()
    ts = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(); s.record(); fn(); e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e))
    return sorted(ts)[len(ts)//2]
B, L, Cc, G, N = 2048, 200, 128, 4, 16
g = torch.Generator(device="cuda").manual_seed(0)
r = lambda *s: torch.randn(*s, device="cuda", generator=g)
leaves = [r(B, Cc, L), r(B, Cc, L) * .5, -torch.rand(Cc, N, device="cuda") - .1, r(B, G, N, L), r(B, G, N, L), r(Cc), r(B, Cc, L), r(Cc)]
leaves = [t.requires_grad_() for t in leaves]
gout = r(B, Cc, L)
for warps in (1, 2, 4):
    for bc in (16, 32):
        st._launch_config = lambda d, gr, n, w=warps, b=bc: (d // gr, b, (d // gr) // b, triton_np(n), w)
        import triton; triton_np = triton.next_power_of_2
        def fwd():
            return selective_scan(*leaves[:5], D=leaves[5], z=leaves[6], delta_bias=leaves[7], delta_softplus=True, backend="triton")
        def step():
            out = fwd(); out.backward(gout)
        print(json.dumps({"warps": warps, "block_c": bc, "fwd_ms": round(timeit(fwd), 3), "fwd_bwd_ms": round(timeit(step), 3)}), flush=True)

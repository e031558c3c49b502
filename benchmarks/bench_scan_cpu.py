"""CPU selective-scan benchmark: our torch scan vs mamba-ssm's own `selective_scan_ref` (fwd + bwd).

mamba-ssm cannot be installed on a CPU-only machine without its CUDA build, so its pure-Python
reference is loaded from a mamba-ssm wheel at run time: the two files it needs are read out of
the wheel into a temporary folder and the CUDA-only modules it imports are stubbed (nothing of
mamba-ssm is copied into this repository). Needs `pip install einops`.

    python benchmarks/bench_scan_cpu.py [--wheel PATH] [--B 256 --L 200 --D 128 --N 32]

Prints a parity check (ours vs mamba-ssm's reference) and median seconds per forward+backward.
"""
import argparse
import glob
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import types
import zipfile

import torch

from recbole_mamba.ops.scan_torch import selective_scan_ref, selective_scan_torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WHEEL = os.path.join(HERE, "..", "..", "shared", "wheels", "cuda", "mamba_ssm-*.whl")


def load_mamba_ssm_ref(wheel):
    """mamba_ssm.ops.selective_scan_interface.selective_scan_ref, imported from the wheel on CPU."""
    tmp = tempfile.mkdtemp()
    with zipfile.ZipFile(wheel) as zf:
        for name in ("mamba_ssm/ops/selective_scan_interface.py", "mamba_ssm/utils/torch.py"):
            zf.extract(name, tmp)
    for pkg in ("mamba_ssm", "mamba_ssm.ops", "mamba_ssm.ops.triton", "mamba_ssm.utils"):
        mod = types.ModuleType(pkg)
        mod.__path__ = [os.path.join(tmp, *pkg.split("."))]
        sys.modules.setdefault(pkg, mod)
    layer_norm = types.ModuleType("mamba_ssm.ops.triton.layer_norm")
    layer_norm._layer_norm_fwd = None
    sys.modules["mamba_ssm.ops.triton.layer_norm"] = layer_norm
    sys.modules["selective_scan_cuda"] = types.ModuleType("selective_scan_cuda")  # CUDA-only extension
    path = os.path.join(tmp, "mamba_ssm", "ops", "selective_scan_interface.py")
    spec = importlib.util.spec_from_file_location("mamba_ssm.ops.selective_scan_interface", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.selective_scan_ref


def inputs(B, D, L, N, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    return dict(u=r(B, D, L), delta=r(B, D, L) * 0.5, A=-torch.rand(D, N, generator=g, dtype=dtype) * 2 - 0.05,
                B=r(B, N, L), C=r(B, N, L), D=r(D), z=r(B, D, L), delta_bias=r(D) * 0.5)


def fwd_bwd(fn, x):
    leaves = {k: v.clone().requires_grad_() for k, v in x.items()}
    out = fn(**leaves, delta_softplus=True)
    out.sum().backward()
    return out.detach(), {k: v.grad for k, v in leaves.items()}


def timed(fn, x, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fwd_bwd(fn, x)
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--wheel", default=None)
    p.add_argument("--B", type=int, default=256)
    p.add_argument("--L", type=int, default=200)
    p.add_argument("--D", type=int, default=128)
    p.add_argument("--N", type=int, default=32)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--ref-reps", type=int, default=1)
    p.add_argument("--time-our-ref", action="store_true", help="also time our naive twin (minutes)")
    a = p.parse_args()
    wheel = a.wheel or sorted(glob.glob(DEFAULT_WHEEL))[-1]
    theirs = load_mamba_ssm_ref(wheel)
    print(json.dumps({"machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "mamba_ssm_wheel": os.path.basename(wheel)}), flush=True)

    small = inputs(3, 16, 37, 8, seed=1)  # float32: mamba-ssm's reference casts B, C to float32
    ref_out, ref_g = fwd_bwd(theirs, small)
    for name, fn in (("ours_torch", selective_scan_torch), ("ours_ref", selective_scan_ref)):
        out, g = fwd_bwd(fn, small)
        errs = [((out - ref_out).norm() / ref_out.norm()).item()] + [
            ((g[k] - ref_g[k]).norm() / ref_g[k].norm()).item() for k in small]
        print(json.dumps({"parity_vs_mamba_ssm_ref_float32": name, "max_rel_err": max(errs)}), flush=True)

    x = inputs(a.B, a.D, a.L, a.N)
    shape = {"B": a.B, "L": a.L, "d_inner": a.D, "d_state": a.N}
    results = {}
    impls = [("ours_torch", selective_scan_torch, a.reps), ("mamba_ssm_selective_scan_ref", theirs, a.ref_reps)]
    if a.time_our_ref:
        impls.append(("ours_ref", selective_scan_ref, a.ref_reps))
    for name, fn, reps in impls:
        fwd_bwd(fn, inputs(2, 8, 5, 4))  # warm-up
        med, all_t = timed(fn, x, reps)
        results[name] = med
        print(json.dumps({"impl": name, **shape, "fwd_bwd_s_median": round(med, 3),
                          "runs_s": [round(t, 3) for t in all_t]}), flush=True)
    ratio = results["mamba_ssm_selective_scan_ref"] / results["ours_torch"]
    print(f"\nours_torch is {ratio:.1f}x faster than mamba-ssm's selective_scan_ref "
          f"(forward+backward, B={a.B} L={a.L} d_inner={a.D} d_state={a.N}, float32, CPU)")


if __name__ == "__main__":
    main()

"""Layer benchmark at recommendation shapes: one layer, forward + backward, fixed token budget.

    python benchmarks/bench_layers.py [--tokens 409600] [--lengths 50,200,1000,4000] [--out results.json]

For each L (batch = tokens // L, D = 64) it times, with CUDA events after warm-up (median of --reps):
  mixers      mamba-ssm Mamba1 (fused path, d_state 32), mamba-ssm Mamba2 (Triton SSD, headdim 16),
              our MambaMixer at Mamba1's shape (1 head, d_state 32) per scan backend, and
              LatentMamba's mixer (4 heads x 16, d_state 16) per scan backend;
  full layers RecBole's SASRec TransformerLayer (2 heads, inner 256), torch's SDPA encoder layer,
              our LatentMamba layer (defaults of properties/model/LatentMamba.yaml; --ssms adds its mamba2 / gla
              heads) and Mamba4Rec layer;
  scan only   selective_scan per backend at LatentMamba's and Mamba1's scan shapes, with the floor
              bytes-that-must-move / measured copy bandwidth (inputs read + outputs written, fwd + bwd);
  saved       (--parts saved) what one layer's forward keeps for its backward, by submodule (activation memory);
  profile     (--parts profile) the CUDA kernels of one LatentMamba layer step (eager, and compiled with --compile),
              grouped by name: ms per step and share, the largest first.
--compile adds each layer under torch.compile (the LatentMamba and Mamba4Rec layers as `compile_layers: True` builds
them: the scan outside the graph) with the seconds its first step took (compile_s); --memory_budgets 1,0.5,0.1 times
ours at each `compile_memory_budget`.
Peak memory is max_memory_allocated during the timed steps minus what was allocated before.
Prints one JSON line per row and a Markdown table at the end; a row that cannot run says why.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch._dynamo
import torch.nn as nn
import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recbole_mamba.model.abstract_recommender import set_compile_memory_budget  # noqa: E402
from recbole_mamba.model.layers import MambaMixer  # noqa: E402
from recbole_mamba.model.sequential_recommender.latentmamba import LatentMambaLayer  # noqa: E402
from recbole_mamba.model.sequential_recommender.mamba4rec import Mamba4RecLayer  # noqa: E402
from scan_step import apply_env_overrides, inputs, scan  # noqa: E402  (env overrides; the scan's inputs and call)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV = "cuda" if torch.cuda.is_available() else "cpu"


def timer(fn, warm, reps):
    """Median ms of fn() (CUDA events on GPU, perf_counter on CPU)."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        if DEV == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            import time
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2]


def measure(name, fn, args, extra=None):
    row = {"name": name, **(extra or {})}
    try:
        if DEV == "cuda":
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        row["ms"] = round(timer(fn, args.warm, args.reps), 3)
        if DEV == "cuda":
            row["peak_MiB"] = round((torch.cuda.max_memory_allocated() - base) / 2**20, 1)
    except Exception as exc:  # e.g. out of memory, or a backend that cannot run here
        row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    print(json.dumps(row), flush=True)
    return row


def layer_step(module, x):
    def step():
        module.zero_grad(set_to_none=True)
        x.grad = None
        module(x).float().pow(2).mean().backward()
    return step


def model_config(model, **overrides):
    with open(os.path.join(ROOT, "recbole_mamba", "properties", "model", f"{model}.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg.update(overrides)
    if cfg.get("head_dim") is None and "n_heads" in cfg:
        cfg["head_dim"] = cfg["hidden_size"] // cfg["n_heads"]
    return cfg


class SDPAEncoderLayer(nn.Module):
    """torch's TransformerEncoderLayer (fused scaled-dot-product attention), causal, post-norm like SASRec."""

    def __init__(self, d):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d, 2, 4 * d, 0.0, activation="gelu", batch_first=True)

    def forward(self, x):
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1], device=x.device)
        return self.layer(x, src_mask=mask, is_causal=True)


class RecBoleSASRecLayer(nn.Module):
    """One layer of RecBole's SASRec encoder with the causal attention mask SASRec builds."""

    def __init__(self, d):
        super().__init__()
        from recbole.model.layers import TransformerLayer
        self.layer = TransformerLayer(2, d, 4 * d, 0.0, 0.0, "gelu", 1e-12)

    def forward(self, x):
        L = x.shape[1]
        causal = torch.tril(torch.ones(L, L, device=x.device, dtype=torch.bool))
        mask = torch.where(causal, 0.0, -10000.0)[None, None]  # [1 1 L L], SASRec's extended mask
        return self.layer(x, mask)


def mixer_rows(args, L, batch, D):
    rows = []
    x = torch.randn(batch, L, D, device=DEV, requires_grad=True)
    try:
        from mamba_ssm import Mamba, Mamba2
    except Exception as exc:
        rows.append({"name": "mamba-ssm", "L": L, "error": f"not importable: {type(exc).__name__}"})
        Mamba = Mamba2 = None
    if Mamba is not None:
        torch.manual_seed(0)
        rows.append(measure("mixer mamba-ssm Mamba1 N32", layer_step(Mamba(D, d_state=32).to(DEV), x), args,
                            {"L": L, "B": batch}))
        torch.manual_seed(0)
        m2 = Mamba2(D, d_state=64, headdim=16, chunk_size=64, use_mem_eff_path=False).to(DEV)
        rows.append(measure("mixer mamba-ssm Mamba2 hd16", layer_step(m2, x), args, {"L": L, "B": batch}))
    for label, kw in [("ours h1x64 N32", dict(d_head=D, d_state=32, n_heads=1)),
                      ("ours LatentMamba h4x16 N16", dict(d_head=D // 4, d_state=16, n_heads=4))]:
        for backend in args.backends:
            if backend == "torch" and L > 1000:
                continue
            torch.manual_seed(0)
            m = MambaMixer(scan_backend=backend, **kw).to(DEV)
            rows.append(measure(f"mixer {label} {backend}", layer_step(m, x), args, {"L": L, "B": batch}))
    return rows


def compile_under(module, budget=1.0):
    """module.compile()'d as `compile_layers` does, its graphs to be built (at the first call) under activation memory
    `budget` (compile_memory_budget); returns it."""
    torch._dynamo.reset()
    set_compile_memory_budget(budget)
    module.compile()
    return module


def compiled_name(name, budget):
    return f"{name} compiled" + (f" budget {budget:g}" if budget != 1 else "")


def compiled_measure(name, module, x, args, extra, budget=1.0):
    """measure() of the module compiled under `budget`, with the seconds of its first step (the compile) as
    compile_s."""
    import time

    step = layer_step(compile_under(module, budget), x)
    t0 = time.perf_counter()
    try:
        step()
        if DEV == "cuda":
            torch.cuda.synchronize()
    except Exception as exc:
        row = {"name": name, **extra, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"}
        print(json.dumps(row), flush=True)
        return row
    return measure(name, step, args, {**extra, "compile_s": round(time.perf_counter() - t0, 1)})


def full_layer_rows(args, L, batch, D):
    rows = []
    x = torch.randn(batch, L, D, device=DEV, requires_grad=True)
    extra = {"L": L, "B": batch}
    for name, make in [("layer SASRec (RecBole)", lambda: RecBoleSASRecLayer(D)),
                       ("layer torch SDPA encoder", lambda: SDPAEncoderLayer(D))]:
        torch.manual_seed(0)
        rows.append(measure(name, layer_step(make().to(DEV), x), args, extra))
        if args.compile and "SDPA" in name:
            torch.manual_seed(0)
            rows.append(compiled_measure(compiled_name(name, 1), make().to(DEV), x, args, extra))
    for backend in args.backends:
        if backend == "torch" and L > 1000:
            continue
        makers = [("LatentMamba", lambda: LatentMambaLayer(
                      model_config("LatentMamba", scan_backend=backend, dropout_prob=0.0), L)),
                  ("Mamba4Rec", lambda: Mamba4RecLayer(
                      model_config("Mamba4Rec", scan_backend=backend, dropout_prob=0.0), residual=True))]
        for ssm in args.ssms[1:] if backend != "cuda" else ():  # mamba2 / gla heads (ops/gated_scan.py)
            makers.append((f"LatentMamba {ssm}", lambda ssm=ssm: LatentMambaLayer(
                model_config("LatentMamba", scan_backend=backend, dropout_prob=0.0, ssm=ssm), L)))
        for label, make in makers:
            torch.manual_seed(0)
            rows.append(measure(f"layer {label} {backend}", layer_step(make().to(DEV), x), args, extra))
            for budget in args.memory_budgets if args.compile else ():
                torch.manual_seed(0)
                rows.append(compiled_measure(compiled_name(f"layer {label} {backend}", budget), make().to(DEV), x,
                                             args, extra, budget))
    return rows


def profile_rows(args, L, batch, D, top=14):
    """The CUDA kernels of one LatentMamba layer step, by name: ms per step (mean over --reps) and share."""
    from torch.profiler import ProfilerActivity, profile

    rows = []
    x = torch.randn(batch, L, D, device=DEV, requires_grad=True)
    variants = [("eager", False)] + ([("compiled", True)] if args.compile else [])
    for label, compiled in variants:
        torch.manual_seed(0)
        layer = LatentMambaLayer(model_config("LatentMamba", scan_backend=args.backends[0], dropout_prob=0.0), L)
        layer = compile_under(layer.to(DEV)) if compiled else layer.to(DEV)
        step = layer_step(layer, x)
        for _ in range(args.warm):
            step()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(args.reps):
                step()
            torch.cuda.synchronize()
        kernels = {}
        for event in prof.key_averages():
            us = getattr(event, "device_time_total", None) or getattr(event, "cuda_time_total", 0)
            if us and event.key and not event.key.startswith(("cudaDeviceSynchronize", "ProfilerStep")):
                kernels[event.key] = kernels.get(event.key, 0.0) + us
        total = sum(kernels.values())
        ranked = sorted(kernels.items(), key=lambda kv: -kv[1])
        row = {"name": f"profile LatentMamba layer {label}", "length": L, "B": batch,
               "kernel_ms_per_step": round(total / args.reps / 1e3, 3), "kernels": len(kernels),
               "top": [{"kernel": k[:90], "ms": round(v / args.reps / 1e3, 3), "share": round(v / total, 3)}
                       for k, v in ranked[:top]]}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def saved_bytes(module, x):
    """{innermost submodule: bytes autograd keeps for the backward} of one forward of `module` on x: each storage
    counted once, where it is first saved; parameters left out (they are resident anyway)."""
    stack, totals, seen = ["(top)"], {}, {p.untyped_storage().data_ptr() for p in module.parameters()}
    handles = []
    for name, sub in module.named_modules():
        handles.append(sub.register_forward_pre_hook(lambda m, a, name=name or "(top)": stack.append(name)))
        handles.append(sub.register_forward_hook(lambda m, a, o: stack.pop() and None))  # None: output kept

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            totals[stack[-1]] = totals.get(stack[-1], 0) + storage.nbytes()
        return t

    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            module(x)
    finally:
        for h in handles:
            h.remove()
    return totals


def saved_rows(args, L, batch, D):
    """Activation memory by part: what one layer's forward keeps for its backward, in MiB per part."""
    rows = []
    x = torch.randn(batch, L, D, device=DEV, requires_grad=True)
    backend = args.backends[0]
    layers = [("layer SASRec (RecBole)", lambda: RecBoleSASRecLayer(D)),
              ("layer torch SDPA encoder", lambda: SDPAEncoderLayer(D)),
              (f"layer LatentMamba {backend}",
               lambda: LatentMambaLayer(model_config("LatentMamba", scan_backend=backend, dropout_prob=0.0), L))]
    if args.compile:  # compiled at each budget; one step first (graphs compile at their first call)
        layers += [(compiled_name(f"layer LatentMamba {backend}", b), layers[-1][1], b) for b in args.memory_budgets]
    for name, make, *budget in layers:
        try:
            module = make().to(DEV)
            if budget:
                compile_under(module, budget[0])(x).sum().backward()
            parts = saved_bytes(module, x)
        except Exception as exc:  # e.g. out of memory at a long L
            rows.append({"name": f"saved {name}", "L": L, "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        total = sum(parts.values())
        rows.append({"name": f"saved {name}", "L": L, "B": batch, "saved_MiB": round(total / 2**20, 1),
                     "parts_MiB": {k: round(v / 2**20, 1) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])}})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def copy_bandwidth():
    """Bytes read + written per second by a large device copy (the achievable-bandwidth yardstick)."""
    n = (1 << 28) if DEV == "cuda" else (1 << 24)
    a = torch.empty(n, device=DEV)
    b = torch.empty_like(a)
    ms = timer(lambda: b.copy_(a), 3, 10)
    return 2 * a.numel() * 4 / (ms * 1e-3)


def scan_rows(args, L, batch, bandwidth):
    rows = []
    shapes = [("LatentMamba scan C128 G4 N16", 128, 4, 16), ("Mamba1 scan C128 G1 N32", 128, 1, 32)]
    for label, channels, groups, n in shapes:
        leaves, gout = inputs("contiguous", B=batch, L=L, CHANNELS=channels, GROUPS=groups, N=n, device=DEV)
        # fp32 floor: fwd reads u, delta, z, B, C and writes out; bwd reads them + gout, writes du, ddelta, dz, dB, dC
        bld, bgnl = batch * channels * L * 4, batch * groups * n * L * 4
        floor_ms = ((4 * bld + 2 * bgnl) + (7 * bld + 4 * bgnl)) / bandwidth * 1e3
        for backend in args.backends:
            if backend == "torch" and L > 1000:
                continue

            def step(backend=backend):
                for t in leaves:
                    t.grad = None
                scan(leaves, backend).backward(gout)
            row = measure(f"scan {label} {backend}", step, args, {"L": L, "B": batch, "floor_ms": round(floor_ms, 3)})
            if "ms" in row:
                row["x_floor"] = round(row["ms"] / floor_ms, 2)
            rows.append(row)
    return rows


def table(rows, lengths):
    names = list(dict.fromkeys(r["name"] for r in rows if "L" in r))  # (profile rows have none: JSON only)
    by = {(r["name"], r.get("L")): r for r in rows}
    lines = ["| layer / op | " + " | ".join(f"L={L} ms (peak MiB)" for L in lengths) + " |",
             "|---|" + "---|" * len(lengths)]
    for name in names:
        cells = []
        for L in lengths:
            r = by.get((name, L))
            if r is None:
                cells.append("–")
            elif "error" in r:
                cells.append("error")
            elif "saved_MiB" in r:
                cells.append(f"saved {r['saved_MiB']:.0f} MiB")
            else:
                floor = f" {r['x_floor']}x floor" if "x_floor" in r else ""
                cells.append(f"{r['ms']:.2f} ({r.get('peak_MiB', '–')}){floor}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens", type=int, default=409600)
    p.add_argument("--lengths", default="50,200,1000,4000")
    p.add_argument("--d_model", type=int, default=64)
    p.add_argument("--backends", default="triton,cuda,torch" if DEV == "cuda" else "torch")
    p.add_argument("--warm", type=int, default=5)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--parts", default="mixer,layer,scan")
    p.add_argument("--out", default=None, help="write all rows as JSON here")
    p.add_argument("--compile", action="store_true", help="also time the layers under torch.compile")
    p.add_argument("--memory_budgets", default="1", help="compile_memory_budget values for our compiled layers")
    p.add_argument("--ssms", default="mamba1", help="LatentMamba head recurrences to time (mamba1 first), e.g. "
                   "mamba1,mamba2,gla; the new heads run on triton (fla-core) and torch")
    args = p.parse_args()
    args.memory_budgets = [float(v) for v in args.memory_budgets.split(",")]
    args.backends = args.backends.split(",")
    args.ssms = ["mamba1"] + [v for v in args.ssms.split(",") if v != "mamba1"]
    lengths = [int(v) for v in args.lengths.split(",")]
    parts = args.parts.split(",")
    torch.backends.cuda.matmul.allow_tf32 = True
    info = {"device": torch.cuda.get_device_name() if DEV == "cuda" else "cpu", "torch": torch.__version__,
            "tokens": args.tokens, "d_model": args.d_model, "triton_bwd_overrides": apply_env_overrides()}
    bandwidth = copy_bandwidth()
    info["copy_bandwidth_GBps"] = round(bandwidth / 1e9, 1)
    print(json.dumps(info), flush=True)
    rows = []
    for L in lengths:
        batch = max(1, args.tokens // L)
        if "mixer" in parts:
            rows += mixer_rows(args, L, batch, args.d_model)
        if "layer" in parts:
            rows += full_layer_rows(args, L, batch, args.d_model)
        if "scan" in parts:
            rows += scan_rows(args, L, batch, bandwidth)
        if "saved" in parts:
            rows += saved_rows(args, L, batch, args.d_model)
        if "profile" in parts and DEV == "cuda":
            rows += profile_rows(args, L, batch, args.d_model)
    print()
    print(table(rows, lengths))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"info": info, "rows": rows}, f, indent=1)
    return 0 if not math.isnan(bandwidth) else 1


if __name__ == "__main__":
    sys.exit(main())

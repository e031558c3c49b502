"""The Triton scan against the float64 reference, run by Triton's CPU interpreter (TRITON_INTERPRET=1).

Triton ships with CUDA builds of torch only, so CPU CI skips this file; on a machine with Triton it
checks the kernel's logic (masks, chunking, strides, all gradients) without a GPU. The GPU run of the
same checks at full size is benchmarks/gpu_parity.py (log in benchmarks/results/). On a CPU machine: Triton's
interpreter (3.6) needs numpy < 2.4, e.g. `pip install --target /tmp/tr triton==3.6.0 numpy==2.2.6 --no-deps` and
`PYTHONPATH=/tmp/tr python -m pytest tests/test_scan_triton.py` (the subprocess keeps PYTHONPATH).
"""
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("triton")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent("""
    import torch
    from recbole_mamba.ops.scan_torch import selective_scan_ref
    from recbole_mamba.ops.selective_scan import selective_scan
    from recbole_mamba.model.layers import MambaMixer

    def rel(a, b):
        return ((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30)).item()

    def case(batch, dim, length, n, groups, optional=True, channels_last=False, dtype=torch.float32):
        g = torch.Generator().manual_seed(length * 31 + dim)
        r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
        bc = (batch, n, length) if groups is None else (batch, groups, n, length)
        base = dict(u=r(batch, dim, length), delta=r(batch, dim, length) * 0.5,
                    A=-torch.rand(dim, n, generator=g, dtype=torch.float64) * 2 - 0.05, B=r(*bc), C=r(*bc))
        if optional:
            base.update(D=r(dim), z=r(batch, dim, length), delta_bias=r(dim) * 0.5)
        base = {k: (v.to(dtype).double() if k != "A" else v) for k, v in base.items()}
        gout = r(batch, dim, length)
        ref = {k: v.clone().requires_grad_() for k, v in base.items()}
        out_ref = selective_scan_ref(**ref, delta_softplus=optional)
        out_ref.backward(gout)
        def cast(k, v):
            v = v.to(torch.float32 if k == "A" else dtype)
            if channels_last and v.shape == (batch, dim, length):
                v = v.transpose(1, 2).contiguous().transpose(1, 2)
            return v.requires_grad_()
        tri = {k: cast(k, v) for k, v in base.items()}
        out = selective_scan(**tri, delta_softplus=optional, backend="triton")
        assert out.dtype == dtype
        out.backward(gout.to(dtype))
        errs = {"out": rel(out, out_ref), **{k: rel(tri[k].grad, ref[k].grad) for k in base}}
        tol = 1e-5 if dtype == torch.float32 else 1e-2
        assert max(errs.values()) < tol, (batch, dim, length, n, groups, errs)
        return max(errs.values())

    worst = max([case(2, 8, 1, 4, None), case(2, 8, 21, 4, 2), case(3, 160, 17, 12, 2, channels_last=True),
                 case(2, 8, 20, 5, 1, optional=False), case(2, 8, 19, 4, 2, dtype=torch.bfloat16),
                 case(1, 40, 18, 64, None)])

    torch.manual_seed(0)
    m = MambaMixer(8, d_state=4, n_heads=2, scan_backend="torch")
    x = torch.randn(3, 11, 16, requires_grad=True)
    grads = []
    for backend in ("torch", "triton"):
        m.scan_backend = backend
        m.zero_grad()
        x.grad = None
        y = m(x)
        y.pow(2).mean().backward()
        grads.append((y.detach(), x.grad.clone(), [p.grad.clone() for p in m.parameters()]))
    (y1, gx1, gp1), (y2, gx2, gp2) = grads
    mixer = max([rel(y2, y1), rel(gx2, gx1)] + [rel(b, a) for a, b in zip(gp1, gp2)])
    assert mixer < 1e-5, mixer
    print("OK", worst, mixer)
""")


def test_triton_scan_matches_reference_under_interpreter():
    env = dict(os.environ, TRITON_INTERPRET="1",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert proc.stdout.startswith("OK")

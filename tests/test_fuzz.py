"""Property-based tests (hypothesis): random shapes and magnitudes for the scan and the hyperbolic math."""
import torch
from hypothesis import given, settings, strategies as st

from recbole_mamba.hyperbolic.manifold import HyperbolicSpace
from recbole_mamba.ops.scan_torch import selective_scan_ref, selective_scan_torch

SETTINGS = settings(max_examples=25, deadline=None)


@SETTINGS
@given(batch=st.integers(1, 3), groups=st.sampled_from([1, 2]), per_group=st.integers(1, 4), length=st.integers(1, 40),
       n=st.integers(1, 6), scale=st.sampled_from([1e-3, 1.0, 10.0]), seed=st.integers(0, 10_000))
def test_scan_matches_reference_on_random_shapes(batch, groups, per_group, length, n, scale, seed):
    g = torch.Generator().manual_seed(seed)
    dim = groups * per_group
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * scale  # noqa: E731
    args = dict(u=r(batch, dim, length), delta=r(batch, dim, length), A=-torch.rand(dim, n, generator=g,
                dtype=torch.float64) * 4, B=r(batch, groups, n, length), C=r(batch, groups, n, length), D=r(dim),
                z=r(batch, dim, length), delta_bias=r(dim))
    leaves_a = {k: v.clone().requires_grad_() for k, v in args.items()}
    leaves_b = {k: v.clone().requires_grad_() for k, v in args.items()}
    out_a = selective_scan_torch(**leaves_a, delta_softplus=True)
    out_b = selective_scan_ref(**leaves_b, delta_softplus=True)
    out_a.sum().backward()
    out_b.sum().backward()
    assert torch.isfinite(out_a).all()
    assert torch.allclose(out_a, out_b, rtol=1e-9, atol=1e-9 * scale ** 3)
    for k in args:
        assert torch.isfinite(leaves_a[k].grad).all()
        assert torch.allclose(leaves_a[k].grad, leaves_b[k].grad, rtol=1e-7, atol=1e-7 * max(1.0, scale ** 4)), k


@SETTINGS
@given(kind=st.sampled_from(["lorentz", "poincare"]), log_c=st.floats(-4, 2), log_scale=st.floats(-6, 6),
       dim=st.integers(1, 16), seed=st.integers(0, 10_000))
def test_hyperbolic_distances_finite_with_finite_gradients(kind, log_c, log_scale, dim, seed):
    g = torch.Generator().manual_seed(seed)
    space = HyperbolicSpace(kind, curvature=10.0 ** log_c, learnable=True)
    v = (torch.randn(4, dim, generator=g) * 10.0 ** log_scale).requires_grad_()
    w = (torch.randn(5, dim, generator=g) * 10.0 ** log_scale).requires_grad_()
    d = space.pairwise_dist(space.expmap0(v), space.expmap0(w))
    assert torch.isfinite(d).all() and (d >= 0).all()
    d.sum().backward()
    for grad in (v.grad, w.grad, space.curvature.raw.grad):
        assert torch.isfinite(grad).all()

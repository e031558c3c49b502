"""Hyperbolic math: identities, agreement with geoopt, and finite values/gradients at the edges."""
import geoopt
import pytest
import torch

from recbole_mamba.hyperbolic import math as hm
from recbole_mamba.hyperbolic.manifold import Curvature, HyperbolicSpace

DTYPES = [torch.float32, torch.float64]
CURVATURES = [1e-3, 0.1, 1.0, 10.0]
# geoopt itself is only ~1e-5 exact in float64 far from the origin (checked with mpmath: ours matched 50 digits)
TOL = {torch.float32: 1e-4, torch.float64: 1e-5}


def points(n, d, dtype, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype) * scale


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", CURVATURES)
def test_lorentz_identities_and_geoopt_agreement(dtype, c):
    ct = torch.tensor(c, dtype=dtype)
    v, w = points(6, 5, dtype, 0.5 / c ** 0.5), points(4, 5, dtype, 0.5 / c ** 0.5, seed=1)
    x, y = hm.lorentz_expmap0(v, c=ct), hm.lorentz_expmap0(w, c=ct)
    inner = -x[:, 0] ** 2 + (x[:, 1:] ** 2).sum(-1)
    assert torch.allclose(inner * c, -torch.ones_like(inner), atol=TOL[dtype] * 10)  # on the hyperboloid
    assert torch.allclose(hm.lorentz_logmap0(x, c=ct), v, atol=TOL[dtype] * 10 / c ** 0.5)
    d = hm.lorentz_pairwise_dist(x, y, c=ct)
    ref = geoopt.Lorentz(k=1 / c).dist(x[:, None].double(), y[None].double())
    assert torch.allclose(d.double(), ref, rtol=TOL[dtype] * 10, atol=TOL[dtype] / c ** 0.5)
    assert torch.allclose(d, hm.lorentz_pairwise_dist(y, x, c=ct).t(), rtol=1e-6)  # symmetric
    assert hm.lorentz_dist(x, x, c=ct).abs().max() < 1e-2 / c ** 0.5  # d(x, x) = 0 (up to the arcosh clamp)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", CURVATURES)
def test_poincare_identities_and_geoopt_agreement(dtype, c):
    ct = torch.tensor(c, dtype=dtype)
    v, w = points(6, 5, dtype, 0.2 / c ** 0.5), points(4, 5, dtype, 0.2 / c ** 0.5, seed=1)
    x, y = hm.poincare_expmap0(v, c=ct), hm.poincare_expmap0(w, c=ct)
    assert (x.norm(dim=-1) < 1 / c ** 0.5).all()
    assert torch.allclose(hm.poincare_logmap0(x, c=ct), v, atol=TOL[dtype] * 10 / c ** 0.5)
    d = hm.poincare_pairwise_dist(x, y, c=ct)
    ref = geoopt.PoincareBall(c=c).dist(x[:, None].double(), y[None].double())
    assert torch.allclose(d.double(), ref, rtol=TOL[dtype] * 10, atol=TOL[dtype] / c ** 0.5)
    assert torch.allclose(d, hm.poincare_dist(x[:, None], y[None], c=ct), rtol=1e-4)
    assert hm.poincare_dist(x, x, c=ct).abs().max() < 1e-2 / c ** 0.5


@pytest.mark.parametrize("kind", ["lorentz", "poincare"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [1e-4, 1.0, 100.0])
@pytest.mark.parametrize("scale", [0.0, 1e-3, 1.0, 1e3, 1e6])
def test_space_is_finite_with_finite_gradients_everywhere(kind, dtype, c, scale):
    space = HyperbolicSpace(kind, curvature=c, learnable=True).to(dtype)
    v = (points(5, 8, dtype, scale) + 0).requires_grad_()
    items = (points(7, 8, dtype, scale, seed=2)).requires_grad_()
    d = space.pairwise_dist(space.expmap0(v), space.expmap0(items))
    assert torch.isfinite(d).all() and (d >= 0).all()
    d.sum().backward()
    for g in (v.grad, items.grad, space.curvature.raw.grad):
        assert g is not None and torch.isfinite(g).all()


def test_length_one_and_single_point():
    space = HyperbolicSpace("lorentz", 1.0)
    x = space.expmap0(torch.zeros(1, 4))
    assert torch.isfinite(space.pairwise_dist(x, x)).all()


def test_curvature_positive_and_fixed_option():
    c = Curvature(0.5, learnable=True)
    assert abs(c().item() - 0.5) < 1e-4 and c.raw.requires_grad
    fixed = Curvature(2.0, learnable=False)
    assert abs(fixed().item() - 2.0) < 1e-4 and not any(p.requires_grad for p in fixed.parameters())
    with pytest.raises(ValueError):
        Curvature(0.0)
    with pytest.raises(ValueError, match="unknown manifold"):
        HyperbolicSpace("sphere")

"""Hyperbolic maps and distances of curvature -c (c > 0), as pure functions with keyword-only `c`.

Maps at the origin wrap geoopt's functional API (geoopt.manifolds.lorentz.math with k = 1/c,
geoopt.manifolds.stereographic.math with k = -c); the pairwise distances, which geoopt only has
in broadcast form ([B, I, D] memory), are written here in matmul form ([B, I] memory) and are
tested against geoopt's `dist`. Every function clamps at its domain edge and computes in float32
at least (also under bf16 autocast).
"""
import torch
from geoopt.manifolds.lorentz import math as lmath
from geoopt.manifolds.stereographic import math as pmath

EPS = {torch.float32: 1e-6, torch.float64: 1e-12}


def _wide(x):
    return x if x.dtype == torch.float64 else x.float()


def _eps(x):
    return EPS.get(x.dtype, 1e-6)


def clip_norm(v, max_norm):
    """v * min(1, max_norm / |v|): keeps tangent vectors where float32 hyperbolic math is exact enough."""
    norm = v.norm(dim=-1, keepdim=True).clamp_min(1e-15)
    return v * (max_norm / norm).clamp(max=1.0)


def lorentz_expmap0(v, *, c):
    """Hyperboloid point of tangent vector (0, v) at the origin o = (1/sqrt(c), 0, ..., 0):

        exp_o(v) = ( cosh(sqrt(c)|v|) / sqrt(c),  sinh(sqrt(c)|v|) v / (sqrt(c)|v|) )   in R^{D+1},
    lying on <x, x>_L = -x_0^2 + |x_s|^2 = -1/c.
    """
    v = _wide(v)
    u = torch.cat([torch.zeros_like(v[..., :1]), v], dim=-1)
    return lmath.expmap0(u, k=1.0 / _wide(c))


def lorentz_logmap0(x, *, c):
    """Tangent vector v at the origin with exp_o(v) = x:  v = arcosh(sqrt(c) x_0) x_s / |x_s|   (R^D)."""
    return lmath.logmap0(_wide(x), k=1.0 / _wide(c))[..., 1:]


def lorentz_dist(x, y, *, c):
    """Geodesic distance d(x, y) = arcosh(-c <x, y>_L) / sqrt(c), broadcast over leading dims."""
    x, y, c = _wide(x), _wide(y), _wide(c)
    inner = -x[..., 0] * y[..., 0] + (x[..., 1:] * y[..., 1:]).sum(-1)
    return torch.acosh((-c * inner).clamp_min(1.0 + _eps(x))) / c.sqrt()


def lorentz_pairwise_dist(x, y, *, c):
    """All distances between x [B, D+1] and y [I, D+1] -> [B, I]; -<x, y>_L = x_0 y_0^T - x_s y_s^T."""
    x, y, c = _wide(x), _wide(y), _wide(c)
    minus_inner = torch.outer(x[:, 0], y[:, 0]) - x[:, 1:] @ y[:, 1:].transpose(0, 1)
    return torch.acosh((c * minus_inner).clamp_min(1.0 + _eps(x))) / c.sqrt()


def poincare_expmap0(v, *, c):
    """Poincaré-ball point exp_0(v) = tanh(sqrt(c)|v|) v / (sqrt(c)|v|), projected to |x| < (1 - eps)/sqrt(c)."""
    k = -_wide(c)
    return pmath.project(pmath.expmap0(_wide(v), k=k), k=k)


def poincare_logmap0(x, *, c):
    """log_0(x) = artanh(sqrt(c)|x|) x / (sqrt(c)|x|)."""
    return pmath.logmap0(_wide(x), k=-_wide(c))


def poincare_dist(x, y, *, c):
    """d(x, y) = arcosh(1 + 2c|x - y|^2 / ((1 - c|x|^2)(1 - c|y|^2))) / sqrt(c), broadcast over leading dims."""
    x, y, c = _wide(x), _wide(y), _wide(c)
    sq = (x - y).pow(2).sum(-1)
    den = ((1 - c * x.pow(2).sum(-1)) * (1 - c * y.pow(2).sum(-1))).clamp_min(_eps(x))
    return torch.acosh((1 + 2 * c * sq / den).clamp_min(1.0 + _eps(x))) / c.sqrt()


def poincare_pairwise_dist(x, y, *, c):
    """All distances between x [B, D] and y [I, D] -> [B, I], with |x - y|^2 = |x|^2 + |y|^2 - 2 x y^T."""
    x, y, c = _wide(x), _wide(y), _wide(c)
    xx, yy = x.pow(2).sum(-1), y.pow(2).sum(-1)
    sq = (xx[:, None] + yy[None, :] - 2 * x @ y.transpose(0, 1)).clamp_min(0)
    den = ((1 - c * xx)[:, None] * (1 - c * yy)[None, :]).clamp_min(_eps(x))
    return torch.acosh((1 + 2 * c * sq / den).clamp_min(1.0 + _eps(x))) / c.sqrt()

"""Thin modules over hyperbolic/math.py: a manifold of (optionally learnable) curvature -c."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from recbole_mamba.hyperbolic import math as hmath

MANIFOLDS = ("lorentz", "poincare")


class Curvature(nn.Module):
    """c = softplus(raw) + min_c > 0; learnable or fixed."""

    def __init__(self, init=1.0, learnable=True, min_c=1e-4):
        super().__init__()
        if init <= 0:
            raise ValueError(f"curvature must be > 0, got {init}")
        self.min_c = min_c
        raw = torch.tensor(math.log(math.expm1(max(init - min_c, 1e-6))))  # inverse softplus
        if learnable:
            self.raw = nn.Parameter(raw)
        else:
            self.register_buffer("raw", raw)

    def forward(self):
        return F.softplus(self.raw.float()) + self.min_c


class HyperbolicSpace(nn.Module):
    """expmap0 / logmap0 / pairwise distance on the Lorentz model or the Poincaré ball, curvature -c.

    `max_tangent_norm` R bounds the geodesic radius of every mapped point: tangent vectors are
    clipped to |v| <= R / sqrt(c) (None: no clip).
    """

    def __init__(self, kind="lorentz", curvature=1.0, learnable=True, max_tangent_norm=5.0):
        super().__init__()
        if kind not in MANIFOLDS:
            raise ValueError(f"unknown manifold {kind!r}; choose one of {', '.join(MANIFOLDS)}")
        self.kind = kind
        self.curvature = Curvature(curvature, learnable)
        self.max_tangent_norm = max_tangent_norm

    @property
    def c(self):
        return self.curvature()

    def expmap0(self, v):
        # clip the dimensionless radius sqrt(c)|v|: cosh/sinh of it must stay well inside float32
        if self.max_tangent_norm is not None:
            v = hmath.clip_norm(v, self.max_tangent_norm / self.c.sqrt())
        fn = hmath.lorentz_expmap0 if self.kind == "lorentz" else hmath.poincare_expmap0
        return fn(v, c=self.c)

    def logmap0(self, x):
        fn = hmath.lorentz_logmap0 if self.kind == "lorentz" else hmath.poincare_logmap0
        return fn(x, c=self.c)

    def dist(self, x, y):
        fn = hmath.lorentz_dist if self.kind == "lorentz" else hmath.poincare_dist
        return fn(x, y, c=self.c)

    def pairwise_dist(self, x, y):
        fn = hmath.lorentz_pairwise_dist if self.kind == "lorentz" else hmath.poincare_pairwise_dist
        return fn(x, y, c=self.c)

    def extra_repr(self):
        return f"kind={self.kind}, max_tangent_norm={self.max_tangent_norm}"

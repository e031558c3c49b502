"""HMamba: Hyperbolic Mamba for sequential recommendation (Zhang et al., arXiv 2505.09205).

variant full: Euclidean item embeddings are lifted onto the manifold (Lorentz: (0, e) then exp_o;
  Poincaré: exp_0), read back in the tangent space at the origin (log), and the Mamba stack works
  on these tangent features with the curvature-aware transition  A_bar = exp(delta A (.) K(c)),
  K(c) = diag(sqrt(c), 1, ..., 1). The last position's output is mapped onto the manifold and
  every item is scored by the negative geodesic distance / temperature; CE over all items.
variant half: the same stack on plain Euclidean embeddings, plain scan, dot-product scoring.
Residuals and norms act on tangent vectors only (never a norm on manifold coordinates).
"""
import torch
import torch.nn as nn

from recbole_mamba.hyperbolic.manifold import MANIFOLDS, HyperbolicSpace
from recbole_mamba.model.abstract_recommender import MambaSequentialRecommender, check
from recbole_mamba.model.layers import init_weights
from recbole_mamba.model.sequential_recommender.mamba4rec import Mamba4RecLayer

VARIANTS = ("full", "half")
SCORES = ("distance", "squared_distance")


class HMamba(MambaSequentialRecommender):
    @classmethod
    def validate_config(cls, config):
        super().validate_config(config)
        check(config["variant"] in VARIANTS, f"variant must be one of {VARIANTS}, got {config['variant']!r}")
        check(config["manifold"] in MANIFOLDS, f"unknown manifold {config['manifold']!r}; choose one of {MANIFOLDS}")
        check(isinstance(config["curvature"], (int, float)) and config["curvature"] > 0,
              f"curvature must be > 0, got {config['curvature']!r}")
        check(isinstance(config["temperature"], (int, float)) and config["temperature"] > 0,
              f"temperature must be > 0, got {config['temperature']!r}")
        check(config["max_tangent_norm"] is None or config["max_tangent_norm"] > 0,
              f"max_tangent_norm must be > 0 or ~, got {config['max_tangent_norm']!r}")
        check(not (config["ssm"] == "mamba2" and config["variant"] == "full" and config["curvature_aware_scan"]),
              "ssm=mamba2 has one decay per head, which the curvature-aware scan cannot scale per state: use "
              "ssm=mamba1 or gla, or curvature_aware_scan=False")
        check(config["hyperbolic_score"] in (None, *SCORES),
              f"hyperbolic_score must be one of {', '.join(SCORES)}, got {config['hyperbolic_score']!r}")

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.variant = config["variant"]
        self.hyperbolic = self.variant == "full"
        self.curvature_aware_scan = self.hyperbolic and config["curvature_aware_scan"]
        self.temperature = config["temperature"]
        self.squared = config["hyperbolic_score"] == "squared_distance"
        # logits = -d / temperature (or -d^2 / temperature), times a learned scale exp(s) when learn_temperature
        self.log_scale = nn.Parameter(torch.zeros(())) if self.hyperbolic and config["learn_temperature"] else None
        # the half variant never maps onto a manifold, so it has none (and no curvature to count or train)
        self.space = HyperbolicSpace(config["manifold"], config["curvature"], config["learn_curvature"],
                                     config["max_tangent_norm"]) if self.hyperbolic else None
        self.emb_dropout = nn.Dropout(config["dropout_prob"])
        self.emb_norm = nn.LayerNorm(self.hidden_size, eps=1e-12)
        # tangent-space residual blocks: h = LN(h + Mamba(h; K(c))); h = LN(h + FFN(h))
        self.layers = nn.ModuleList([Mamba4RecLayer(config, residual=True) for _ in range(config["n_layers"])])
        self.d_state = config["d_state"]
        self.apply(init_weights)
        self.compile_layers_if_asked(config)

    def curvature_scale(self):
        """K(c) as a column scale of A: [sqrt(c), 1, ..., 1] (None when the scan is not curvature-aware)."""
        if not self.curvature_aware_scan:
            return None
        ones = torch.ones(self.d_state - 1, device=self.space.curvature.raw.device)
        return torch.cat([self.space.c.sqrt().reshape(1), ones])

    def sequence_output(self, item_seq, item_seq_len):
        h = self.item_embedding(item_seq)  # [B L D], Euclidean
        if self.hyperbolic:
            h = self.space.logmap0(self.space.expmap0(h)).to(h.dtype)  # lift onto the manifold, read in T_o
        h = self.emb_norm(self.emb_dropout(h))
        A_scale = self.curvature_scale()
        for layer in self.layers:
            h = layer(h, A_scale=A_scale)
        return h  # [B L D], tangent vectors at the origin

    def distance_logits(self, d):
        """-d / temperature, or -d^2 / temperature (`hyperbolic_score`), times exp(learned log-scale)."""
        logits = -(d * d if self.squared else d) / self.temperature
        return logits * self.log_scale.exp() if self.log_scale is not None else logits

    def pair_scores(self, seq_output, item_emb):
        if not self.hyperbolic:
            return super().pair_scores(seq_output, item_emb)
        with torch.autocast(device_type=seq_output.device.type, enabled=False):
            d = self.space.dist(self.space.expmap0(seq_output), self.space.expmap0(item_emb))
        return self.distance_logits(d)

    def all_scores(self, seq_output, item_emb):
        if not self.hyperbolic:
            return super().all_scores(seq_output, item_emb)
        with torch.autocast(device_type=seq_output.device.type, enabled=False):
            d = self.space.pairwise_dist(self.space.expmap0(seq_output), self.space.expmap0(item_emb))
        return self.distance_logits(d)  # [B I]

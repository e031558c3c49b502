"""LatentMamba: Hydra's multi-head latent Mamba ("A Novel Mamba-based Sequential Recommendation
Method", Yuan, arXiv 2504.07398).

Stated by the paper: item embedding -> dropout -> RMSNorm; stacked layers of multi-head latent Mamba
+ FFN; input network X = Split(SiLU(W_X H~)) into v heads of width d_c; per head a low-dimensional
Mamba (history) and FC layers with positional encoding (item information) that interact; heads
concatenated and projected back; inner-product prediction; CE loss.
Our choices where the paper is silent are config keys (properties/model/LatentMamba.yaml) and are
explained in docs/models.md.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from recbole_mamba.model.abstract_recommender import MambaSequentialRecommender, check
from recbole_mamba.model.layers import FeedForward, HeadwiseLinear, MambaMixer, init_weights, make_norm

INTERACTIONS = ("gate", "add", "mul")
POSITIONAL = ("learned", "sinusoidal", "none")


def sinusoidal_positions(length, dim):
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return pe


class LatentItemBranch(nn.Module):
    """Per-head FC layers with positional encoding: x [B L H*d_c] -> [B L H*d_c]."""

    def __init__(self, n_heads, head_dim, max_len, positional, dropout):
        super().__init__()
        width = n_heads * head_dim
        self.positional = positional
        if positional == "learned":
            self.position = nn.Embedding(max_len, width)
        elif positional == "sinusoidal":
            self.register_buffer("position", sinusoidal_positions(max_len, width), persistent=False)
        self.fc1 = HeadwiseLinear(n_heads, head_dim, head_dim)
        self.fc2 = HeadwiseLinear(n_heads, head_dim, head_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        length = x.shape[1]
        if self.positional == "learned":
            x = x + self.position.weight[:length]
        elif self.positional == "sinusoidal":
            x = x + self.position[:length].to(x.dtype)
        return self.fc2(self.dropout(F.gelu(self.fc1(x))))


class LatentMambaLayer(nn.Module):
    """One Hydra layer: h + W_O(interact(Mamba_heads(X), Item_heads(X))), then h + FFN(h) (pre-norm by default)."""

    def __init__(self, config, max_len):
        super().__init__()
        d = config["hidden_size"]
        self.n_heads, self.head_dim = config["n_heads"], config["head_dim"]
        width = self.n_heads * self.head_dim
        self.norm_first = config["norm_first"]
        self.interaction = config["interaction"]
        self.norm1 = make_norm(config["norm_type"], d)
        self.norm2 = make_norm(config["norm_type"], d)
        self.w_x = nn.Linear(d, width)
        self.mamba = MambaMixer(self.head_dim, d_state=config["d_state"], d_conv=config["d_conv"],
                                expand=config["expand"], n_heads=self.n_heads, scan_backend=config["scan_backend"],
                               ssm=config["ssm"] or "mamba1")
        self.item_branch = (LatentItemBranch(self.n_heads, self.head_dim, max_len, config["positional_encoding"],
                                             config["dropout_prob"]) if config["item_branch"] else None)
        self.w_o = nn.Linear(width, d)
        self.ffn = FeedForward(d, config["inner_size"], config["dropout_prob"], config["ffn_act"])
        self.dropout = nn.Dropout(config["dropout_prob"])

    def mix(self, h):  # [B L D] -> [B L D]
        x = F.silu(self.w_x(h))  # [B L v*d_c], the v latent heads side by side
        y = self.mamba(x)  # history, per head
        if self.item_branch is not None:
            item = self.item_branch(x)  # item information, per head
            if self.interaction == "gate":
                y = y * torch.sigmoid(item)
            elif self.interaction == "mul":
                y = y * item
            else:
                y = y + item
        return self.w_o(y)

    def forward(self, h):
        if self.norm_first:
            h = h + self.dropout(self.mix(self.norm1(h)))
            return h + self.dropout(self.ffn(self.norm2(h)))
        h = self.norm1(h + self.dropout(self.mix(h)))
        return self.norm2(h + self.dropout(self.ffn(h)))


class LatentMamba(MambaSequentialRecommender):
    @classmethod
    def validate_config(cls, config):
        super().validate_config(config)
        n_heads, head_dim, hidden = config["n_heads"], config["head_dim"], config["hidden_size"]
        check(isinstance(n_heads, int) and n_heads > 0, f"n_heads must be a positive integer, got {n_heads!r}")
        if head_dim is None:
            check(hidden % n_heads == 0,
                  f"hidden_size ({hidden}) must be divisible by n_heads ({n_heads}) when head_dim is not set "
                  f"(or set head_dim explicitly)")
        else:
            check(isinstance(head_dim, int) and head_dim > 0, f"head_dim must be a positive integer, got {head_dim!r}")
        check(config["interaction"] in INTERACTIONS,
              f"interaction must be one of {INTERACTIONS}, got {config['interaction']!r}")
        check(config["positional_encoding"] in POSITIONAL,
              f"positional_encoding must be one of {POSITIONAL}, got {config['positional_encoding']!r}")
        check(config["norm_type"] in ("rmsnorm", "layernorm"),
              f"norm_type must be rmsnorm or layernorm, got {config['norm_type']!r}")
        check(config["ffn_act"] in ("gelu", "relu", "swiglu"),
              f"ffn_act must be gelu, relu or swiglu, got {config['ffn_act']!r}")

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        if config["head_dim"] is None:
            config["head_dim"] = config["hidden_size"] // config["n_heads"]
        self.n_layers = config["n_layers"]
        self.emb_dropout = nn.Dropout(config["dropout_prob"])
        self.emb_norm = make_norm(config["norm_type"], self.hidden_size)
        self.layers = nn.ModuleList([LatentMambaLayer(config, self.max_seq_length) for _ in range(self.n_layers)])
        self.final_norm = make_norm(config["norm_type"], self.hidden_size) if config["norm_first"] else nn.Identity()
        self.apply(init_weights)
        self.compile_layers_if_asked(config)

    def sequence_output(self, item_seq, item_seq_len):
        h = self.emb_norm(self.emb_dropout(self.item_embedding(item_seq)))  # [B L D]
        for layer in self.layers:
            h = layer(h)
        h = self.final_norm(h)
        return h  # [B L D]

"""Mamba4Rec (Liu et al., arXiv 2403.03900) on our Mamba block, for like-for-like comparisons.

embedding -> dropout -> LayerNorm -> [Mamba -> dropout -> LayerNorm (+ residual when > 1 layer)
-> position-wise FFN (+ residual, LayerNorm)] x n_layers -> last position -> inner product, CE.
"""
import torch.nn as nn

from recbole_mamba.model.abstract_recommender import MambaSequentialRecommender
from recbole_mamba.model.layers import FeedForward, MambaMixer, init_weights


class Mamba4RecLayer(nn.Module):
    """h = LN(Mamba(h) (+ h)); h = LN(h + FFN(h)). Also HMamba's layer (residual on, A_scale = K(c))."""

    def __init__(self, config, residual):
        super().__init__()
        d = config["hidden_size"]
        self.residual = residual
        self.mamba = MambaMixer(d, d_state=config["d_state"], d_conv=config["d_conv"], expand=config["expand"],
                                scan_backend=config["scan_backend"], ssm=config["ssm"] or "mamba1")
        self.dropout = nn.Dropout(config["dropout_prob"])
        self.norm = nn.LayerNorm(d, eps=1e-12)
        self.ffn = FeedForward(d, config["inner_size"], config["dropout_prob"], "gelu")
        self.ffn_norm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, h, A_scale=None):
        y = self.dropout(self.mamba(h, A_scale=A_scale))
        h = self.norm(y + h if self.residual else y)
        return self.ffn_norm(h + self.dropout(self.ffn(h)))


class Mamba4Rec(MambaSequentialRecommender):
    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.n_layers = config["n_layers"]
        self.emb_dropout = nn.Dropout(config["dropout_prob"])
        self.emb_norm = nn.LayerNorm(self.hidden_size, eps=1e-12)
        self.layers = nn.ModuleList([Mamba4RecLayer(config, residual=self.n_layers > 1)
                                     for _ in range(self.n_layers)])
        self.apply(init_weights)
        self.compile_layers_if_asked(config)

    def sequence_output(self, item_seq, item_seq_len):
        h = self.emb_norm(self.emb_dropout(self.item_embedding(item_seq)))  # [B L H]
        for layer in self.layers:
            h = layer(h)
        return h  # [B L H]

"""eSASRec (Tikhonov et al., "eSASRec: Enhancing Transformer-based Recommendations in a Modular Fashion", 2025) and
SASRec+SS, the transformer baselines of the eSASRec benchmark, as that benchmark builds them (RecTools' networks).

`block: ligr` (eSASRec): h = h + sigmoid(G1 h) * dropout(MHA(LN1 h)); h = h + sigmoid(G2 h) * dropout(SwiGLU(LN2 h)),
padded keys masked, no final norm. `block: sasrec` (SASRec+SS, the original SASRec block): q = LN1 h;
h = q + MHA(q, h, h); f = LN2 h; h = f + dropout(FFN_relu(f)); padding zeroed between blocks, a final LayerNorm;
padded keys are not masked (the benchmark's SASRec attends to its left padding, see `sequence_output`).

Both: item embeddings plus a learned positional embedding counted from the end of the history, embedding dropout,
causal attention, dot-product scores; every 2-D weight Xavier-normal initialised (`init: xavier`). Trained as the
benchmark trains them with `train_positions: all` and `sampled_negatives: 256` (the model's yaml).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from recbole_mamba.model.abstract_recommender import MambaSequentialRecommender, check
from recbole_mamba.model.layers import init_weights

BLOCKS = ("ligr", "sasrec")


class SwiGLU(nn.Module):
    """W2 dropout(silu(W1 x) * W3 x), no biases (LiGR's feed-forward)."""

    def __init__(self, d, d_inner, dropout):
        super().__init__()
        self.w1 = nn.Linear(d, d_inner, bias=False)
        self.w3 = nn.Linear(d, d_inner, bias=False)
        self.w2 = nn.Linear(d_inner, d, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.w2(self.dropout(F.silu(self.w1(x)) * self.w3(x)))


class LiGRBlock(nn.Module):
    """Pre-norm attention and SwiGLU, each added through a sigmoid gate computed from the block's input."""

    def __init__(self, d, n_heads, d_inner, dropout):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, n_heads, dropout=dropout, batch_first=True)
        self.ffn = SwiGLU(d, d_inner, dropout)
        self.gate1, self.gate2 = nn.Linear(d, d), nn.Linear(d, d)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, h, attn_mask):  # h [B L D], attn_mask [B*heads L L] additive
        x = self.norm1(h)
        a = self.attn(x, x, x, attn_mask=attn_mask, need_weights=False)[0]
        h = h + torch.sigmoid(self.gate1(h)) * self.dropout1(a)
        return h + torch.sigmoid(self.gate2(h)) * self.dropout2(self.ffn(self.norm2(h)))


class SASRecBlock(nn.Module):
    """The SASRec authors' block: normalised queries, un-normalised keys and values, the residual from the queries."""

    def __init__(self, d, n_heads, d_inner, dropout):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, n_heads, dropout=dropout, batch_first=True)
        self.fc1, self.fc2 = nn.Linear(d, d_inner), nn.Linear(d_inner, d)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, h, attn_mask):
        q = self.norm1(h)
        h = q + self.attn(q, h, h, attn_mask=attn_mask, need_weights=False)[0]
        f = self.norm2(h)
        return f + self.dropout2(self.fc2(self.dropout1(F.relu(self.fc1(f)))))


class eSASRec(MambaSequentialRecommender):
    uses_scan = False
    # the benchmark's SASRec sees its histories left-padded to the full length (attending to the padding), so the
    # batch's shape matters: no trimming of padding columns
    allows_trim = False

    @classmethod
    def validate_config(cls, config):
        super().validate_config(config)
        check(config["block"] in BLOCKS, f"block must be one of {', '.join(BLOCKS)}, got {config['block']!r}")
        check(config["init"] in ("xavier", "normal"), f"init must be xavier or normal, got {config['init']!r}")
        check(isinstance(config["n_heads"], int) and config["n_heads"] > 0
              and int(config["hidden_size"]) % config["n_heads"] == 0,
              f"n_heads must be a positive divisor of hidden_size ({config['hidden_size']}), got {config['n_heads']!r}")
        check(isinstance(config["inner_size"], int) and config["inner_size"] > 0,
              f"inner_size must be a positive integer, got {config['inner_size']!r}")

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        d, self.block = self.hidden_size, config["block"]
        self.n_heads = config["n_heads"]
        self.position_embedding = nn.Embedding(self.max_seq_length, d)  # index 0: the most recent item
        self.emb_dropout = nn.Dropout(config["dropout_prob"])
        block = LiGRBlock if self.block == "ligr" else SASRecBlock
        self.layers = nn.ModuleList([block(d, self.n_heads, config["inner_size"], config["dropout_prob"])
                                     for _ in range(config["n_layers"])])
        self.final_norm = nn.LayerNorm(d, eps=1e-8) if self.block == "sasrec" else nn.Identity()
        if config["init"] == "xavier":
            for p in self.parameters():
                if p.dim() > 1 and not getattr(p, "_no_reinit", False):
                    nn.init.xavier_normal_(p)
        else:
            self.apply(init_weights)

    def sequence_output(self, item_seq, item_seq_len):
        B, L = item_seq.shape
        # RecBole's histories are left-aligned (padding on the right); the benchmark's are right-aligned
        # (padding on the left). Read right-aligned: column c holds the history's item c - (L - len).
        shift = (L - item_seq_len)[:, None]  # [B 1]
        col = torch.arange(L, device=item_seq.device)[None, :]  # [1 L]
        real = col >= shift  # [B L]
        source = (col - shift).clamp(min=0)  # [B L]
        seq = torch.where(real, item_seq.gather(1, source), 0)  # [B L] right-aligned
        distance = (L - 1 - col).expand(B, L)  # [B L] from the most recent item
        h = self.item_embedding(seq) + self.position_embedding(distance)  # [B L H]
        h = self.emb_dropout(h) * real[..., None]
        causal = torch.ones(L, L, dtype=torch.bool, device=h.device).triu(1)  # [L L] True: masked
        mask = causal[None].expand(B, L, L)
        if self.block == "ligr":  # padded keys masked; a query keeps itself, so no row is empty
            mask = mask | (~real[:, None, :] & ~torch.eye(L, dtype=torch.bool, device=h.device)[None])
        attn_mask = torch.zeros(B, L, L, dtype=h.dtype, device=h.device).masked_fill(mask, float("-inf"))
        attn_mask = attn_mask.repeat_interleave(self.n_heads, dim=0)  # [B*heads L L]
        for layer in self.layers:
            if self.block == "sasrec":
                h = h * real[..., None]
            h = layer(h, attn_mask)
        h = self.final_norm(h * real[..., None] if self.block == "sasrec" else h)  # [B L H]
        # back to RecBole's left-aligned positions: output j is the history's item j
        back = (col + shift).clamp(max=L - 1)  # [B L]
        return h.gather(1, back[..., None].expand(B, L, h.shape[-1]))

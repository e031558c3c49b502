"""What every recbole_mamba sequential model shares: config checks, loss, scoring, init."""
import torch.nn as nn

from recbole.model.abstract_recommender import SequentialRecommender
from recbole.model.loss import BPRLoss

from recbole_mamba.errors import ConfigError
from recbole_mamba.ops.selective_scan import BACKENDS, BackendUnavailable, resolve_backend


def check(condition, message):
    if not condition:
        raise ConfigError(message)


class MambaSequentialRecommender(SequentialRecommender):
    """A SequentialRecommender whose subclasses only define `forward(item_seq, item_seq_len) -> [B H]`.

    Scoring is the inner product with the item embeddings (subclasses may override `score`),
    trained with CE over all items or BPR with one sampled negative (`loss_type`).
    """

    @classmethod
    def validate_config(cls, config):
        """Raise ConfigError for invalid values before any data is loaded (subclasses extend)."""
        check(config["hidden_size"] is not None and int(config["hidden_size"]) > 0,
              f"hidden_size must be a positive integer, got {config['hidden_size']!r}")
        check(config["MAX_ITEM_LIST_LENGTH"] is None or int(config["MAX_ITEM_LIST_LENGTH"]) > 0,
              f"MAX_ITEM_LIST_LENGTH must be > 0, got {config['MAX_ITEM_LIST_LENGTH']!r}")
        for key in ("d_state", "d_conv", "expand", "n_layers"):
            if key in config and config[key] is not None:
                check(isinstance(config[key], (int, float)) and config[key] > 0,
                      f"{key} must be > 0, got {config[key]!r}")
        for key in ("dropout_prob", "hidden_dropout_prob"):
            if key in config and config[key] is not None:
                check(0 <= float(config[key]) < 1, f"{key} must be in [0, 1), got {config[key]!r}")
        check(config["scan_backend"] in BACKENDS,
              f"unknown scan_backend {config['scan_backend']!r}; choose one of {', '.join(BACKENDS)}")
        device = config["device"]
        try:  # a backend asked for by name must be able to run on the configured device
            resolve_backend(config["scan_backend"], getattr(device, "type", str(device or "cpu")))
        except BackendUnavailable as exc:
            raise ConfigError(f"{exc}; use scan_backend=auto (or torch) here") from None
        check(config["loss_type"] in ("CE", "BPR"), f"loss_type must be CE or BPR, got {config['loss_type']!r}")

    def __init__(self, config, dataset):
        self.validate_config(config)
        super().__init__(config, dataset)
        self.hidden_size = config["hidden_size"]
        self.loss_type = config["loss_type"]
        self.scan_backend = config["scan_backend"]
        self.item_embedding = nn.Embedding(self.n_items, self.hidden_size, padding_idx=0)
        self.bpr_loss = BPRLoss()
        self.ce_loss = nn.CrossEntropyLoss()

    def pair_scores(self, seq_output, item_emb):
        """Score of each sequence against its own item: [B H], [B H] -> [B] (inner product)."""
        return (seq_output * item_emb).sum(-1)

    def all_scores(self, seq_output, item_emb):
        """Scores of each sequence against every item: [B H], [I H] -> [B I] (inner product)."""
        return seq_output @ item_emb.transpose(0, 1)

    def calculate_loss(self, interaction):
        item_seq = interaction[self.ITEM_SEQ]
        item_seq_len = interaction[self.ITEM_SEQ_LEN]
        seq_output = self.forward(item_seq, item_seq_len)  # [B H]
        pos_items = interaction[self.POS_ITEM_ID]
        if self.loss_type == "BPR":
            neg_items = interaction[self.NEG_ITEM_ID]
            pos_score = self.pair_scores(seq_output, self.item_embedding(pos_items))
            neg_score = self.pair_scores(seq_output, self.item_embedding(neg_items))
            return self.bpr_loss(pos_score, neg_score)
        logits = self.all_scores(seq_output, self.item_embedding.weight)  # [B I]
        return self.ce_loss(logits.float(), pos_items)

    def predict(self, interaction):
        seq_output = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        test_item_emb = self.item_embedding(interaction[self.ITEM_ID])  # [B H]
        return self.pair_scores(seq_output, test_item_emb)

    def full_sort_predict(self, interaction):
        seq_output = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        return self.all_scores(seq_output, self.item_embedding.weight)  # [B n_items]

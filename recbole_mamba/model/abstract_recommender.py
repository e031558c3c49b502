"""What every recbole_mamba sequential model shares: config checks, loss, scoring, init; and the every-position
objective (`train_positions: all`), which RecBole's causal sequential models (SASRec, GRU4Rec, ...) get too."""
import functools

import torch
import torch.nn as nn

from recbole.model.abstract_recommender import SequentialRecommender
from recbole.model.loss import BPRLoss

from recbole_mamba.errors import ConfigError
from recbole_mamba.model.item_text import build_item_embedding, validate_item_model
from recbole_mamba.model.loss import NEGATIVE_SOURCES, chunked_ce, full_ce, sampled_softmax, wide
from recbole_mamba.ops.selective_scan import BACKENDS, BackendUnavailable, resolve_backend


def check(condition, message):
    if not condition:
        raise ConfigError(message)


TRAIN_POSITIONS = ("auto", "last", "all")
# RecBole's models that read their history left to right (causal), so that each position's output depends only on
# the items up to it: the per-position outputs of one sequence are those of its prefixes. BERT4Rec and the like
# (bidirectional, or scoring from other features) are not.
CAUSAL_RECBOLE_MODELS = ("SASRec", "GRU4Rec")  # their forward ends with the gather of the last position


def supports_all_positions(model_class, name):
    """Whether a sequential model can train with `train_positions: all` (ours, and RecBole's causal models)."""
    return issubclass(model_class, EveryPositionMixin) or name in CAUSAL_RECBOLE_MODELS


def resolve_positions(config):
    """`train_positions: auto` (the default) becomes `all` for models that support it and `last` for the others
    (BERT4Rec and the like); `all` for one that does not is a ConfigError. Decided here, once, before any data."""
    check(config["train_positions"] in (None, *TRAIN_POSITIONS),
          f"train_positions must be one of {', '.join(TRAIN_POSITIONS)}, got {config['train_positions']!r}")
    supported = supports_all_positions(config.model_class, config["model"])
    if config["train_positions"] in (None, "auto"):
        config["train_positions"] = "all" if supported else "last"
    elif config["train_positions"] == "all" and not supported:
        raise ConfigError(f"train_positions=all needs a model that reads the sequence left to right and outputs "
                          f"every position; {config['model']} is not one of ours or {', '.join(CAUSAL_RECBOLE_MODELS)}")


def validate_positions(config):
    """ConfigErrors for the every-position keys (any sequential model)."""
    resolve_positions(config)
    check(config["train_windows"] in (None, "last", "every"),
          f"train_windows must be last or every, got {config['train_windows']!r}")
    for key in ("ce_chunk_size", "sampled_negatives"):
        check(config[key] is None or (isinstance(config[key], int) and config[key] >= 0),
              f"{key} must be an integer >= 0, got {config[key]!r}")
    check(config["negative_source"] in (None, *NEGATIVE_SOURCES),
          f"negative_source must be one of {', '.join(NEGATIVE_SOURCES)}, got {config['negative_source']!r}")
    check(not (config["exclude_unseen_items"] and (config["sampled_negatives"] or config["loss_type"] == "BPR")),
          "exclude_unseen_items works with CE over every item (full or chunked), not with sampled negatives or BPR")


def inner_pair_scores(seq_output, item_emb):
    """[P H], [P H] -> [P] (inner product)."""
    return (seq_output * item_emb).sum(-1)


def inner_all_scores(seq_output, item_emb):
    """[P H], [N H] -> [P N] (inner product)."""
    return seq_output @ item_emb.transpose(0, 1)


class EveryPositionMixin:
    """`train_positions: all`: one training sample per user window (quick_start.every_position_samples), the next
    item predicted at every position, padding positions carrying no loss. `calculate_loss` falls back to the model's
    own for `last`. The model provides `item_embedding`, `pair_scores`/`all_scores` (inner product by default) and
    `sequence_output(item_seq, item_seq_len) -> [B L H]`; for RecBole's models that is their `forward` with the
    final gather of the last position turned off.

    Loss keys: `ce_chunk_size` > 0 computes the full CE that many positions at a time (exact, less memory);
    `sampled_negatives` > 0 uses sampled softmax with that many negatives from `negative_source`; BPR draws one
    uniform negative per position.
    """

    def init_positions(self, config):
        self.train_positions = config["train_positions"] or "last"
        self.ce_chunk_size = config["ce_chunk_size"] or 0
        self.sampled_negatives = config["sampled_negatives"] or 0
        self.negative_source = config["negative_source"] or "uniform"
        # training batches leave the loader without the padding columns all their sequences share (quick_start)
        self.trim_padding = config["trim_padding"] is not False

    def pair_scores(self, seq_output, item_emb):
        return inner_pair_scores(seq_output, item_emb)

    def all_scores(self, seq_output, item_emb):
        return inner_all_scores(seq_output, item_emb)

    def sequence_output(self, item_seq, item_seq_len):
        """[B L H]: RecBole's forward, whose last step gathers the last position, with that gather turned off."""
        self.gather_indexes = lambda output, index: output  # an instance attribute hides the class's method
        try:
            return self.forward(item_seq, item_seq_len)
        finally:
            del self.gather_indexes

    @staticmethod
    def position_targets(item_seq, item_seq_len, pos_items):
        """The next item at every position: item_seq shifted left, the sample's target at its last position,
        0 (padding, no loss) beyond. [B L], [B], [B] -> [B L]."""
        targets = torch.zeros_like(item_seq)
        targets[:, :-1] = item_seq[:, 1:]
        positions = torch.arange(item_seq.shape[1], device=item_seq.device)[None, :]
        targets = targets.masked_fill(positions >= item_seq_len[:, None] - 1, 0)
        return targets.scatter(1, (item_seq_len - 1)[:, None], pos_items[:, None])

    def calculate_loss(self, interaction):
        if self.train_positions != "all":
            return super().calculate_loss(interaction)
        item_seq, item_seq_len = interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN]
        targets = self.position_targets(item_seq, item_seq_len, interaction[self.POS_ITEM_ID])  # [B L]
        h = self.sequence_output(item_seq, item_seq_len)  # [B L H]
        keep = targets > 0
        h, targets = h[keep], targets[keep]  # [P H], [P]
        items = self.item_embedding.weight
        all_scores = self.all_scores
        if getattr(self, "unseen_items", None) is not None:  # items absent from training get no logit
            all_scores = self.training_scores
        if self.loss_type == "BPR":
            negatives = torch.randint(1, items.shape[0], targets.shape, device=targets.device)
            pos = self.pair_scores(h, items[targets])
            neg = self.pair_scores(h, items[negatives])
            return -torch.log(1e-10 + torch.sigmoid(pos - neg)).mean()
        if self.sampled_negatives:
            return sampled_softmax(self.pair_scores, self.all_scores, h, items, targets, self.sampled_negatives,
                                   self.negative_source)
        if self.ce_chunk_size:
            return chunked_ce(all_scores, h, items, targets, self.ce_chunk_size)
        return full_ce(all_scores, h, items, targets)


@functools.lru_cache(maxsize=None)
def every_position_model(model_class):
    """A RecBole sequential model class with EveryPositionMixin in front (same name, same weights)."""
    def __init__(self, config, dataset):
        model_class.__init__(self, config, dataset)
        self.init_positions(config)

    return type(model_class.__name__, (EveryPositionMixin, model_class),
                {"__init__": __init__, "__module__": model_class.__module__})


def compile_problem(device_type):
    """None when torch.compile's default backend (inductor) can build kernels for `device_type`, else why not."""
    if device_type == "cuda":
        try:
            import triton  # noqa: F401  (inductor writes Triton kernels on GPUs)
        except Exception as exc:
            return f"Triton cannot be imported ({type(exc).__name__}), and inductor writes GPU kernels in Triton"
        return None
    import os
    import shutil

    compilers = [os.environ.get("CXX"), "g++", "c++", "clang++"]
    if not any(c and shutil.which(c) for c in compilers):
        return "no C++ compiler found (inductor builds CPU kernels with one; install g++ or set CXX)"
    return None


def set_compile_memory_budget(budget):
    """torch.compile's activation memory budget (process-wide; read when a graph is compiled, which is at its first
    call): 1 keeps what the min-cut partitioner chooses, lower values make it recompute more in the backward, down to
    little more than the inputs. Each model built with `compile_layers` sets its own value."""
    import torch._functorch.config as functorch_config

    if hasattr(functorch_config, "activation_memory_budget"):  # (validate_config refused a budget < 1 without it)
        functorch_config.activation_memory_budget = 1.0 if budget is None else float(budget)


class MambaSequentialRecommender(EveryPositionMixin, SequentialRecommender):
    """A SequentialRecommender whose subclasses only define `sequence_output(item_seq, item_seq_len) -> [B L H]`.

    Scoring is the inner product with the item embeddings (subclasses may override `pair_scores`/`all_scores`),
    trained with CE over all items or BPR with one sampled negative (`loss_type`), on the last position of
    RecBole's prefix samples or on every position (`train_positions`, EveryPositionMixin); `forward` reads the last
    position of `sequence_output`. The item table is IDs or text (`item_model`, model/item_text.py).
    """
    uses_scan = True  # False: a model without the selective scan (no scan_backend / compile_layers keys)

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
        validate_item_model(config)  # (train_positions and its keys: quick_start.make_config, for every model)
        if not cls.uses_scan:
            return
        check(config["scan_backend"] in BACKENDS,
              f"unknown scan_backend {config['scan_backend']!r}; choose one of {', '.join(BACKENDS)}")
        device = config["device"]
        try:  # a backend asked for by name must be able to run on the configured device
            resolve_backend(config["scan_backend"], getattr(device, "type", str(device or "cpu")))
        except BackendUnavailable as exc:
            raise ConfigError(f"{exc}; use scan_backend=auto (or torch) here") from None
        check(config["loss_type"] in ("CE", "BPR"), f"loss_type must be CE or BPR, got {config['loss_type']!r}")
        check(config["compile_layers"] in (None, True, False),
              f"compile_layers must be True or False, got {config['compile_layers']!r}")
        budget = config["compile_memory_budget"]
        check(budget is None or (isinstance(budget, (int, float)) and not isinstance(budget, bool) and 0 < budget <= 1),
              f"compile_memory_budget must be a number in (0, 1], got {budget!r}")
        if config["compile_layers"]:
            problem = compile_problem(getattr(device, "type", str(device or "cpu")))
            check(problem is None, f"compile_layers=True cannot run here: {problem}; set compile_layers=False")
            if budget is not None and budget < 1:
                import torch._functorch.config as functorch_config
                check(hasattr(functorch_config, "activation_memory_budget"),
                      f"compile_memory_budget={budget} needs a newer torch (this one, {torch.__version__}, has no "
                      f"activation memory budget); leave it at 1.0")
                dropout = [f"{key}={config[key]}" for key in ("dropout_prob", "hidden_dropout_prob")
                           if key in config and config[key]]
                check(not dropout, f"compile_memory_budget={budget} with {' and '.join(dropout)} trains on wrong "
                      f"gradients: torch's partitioner recomputes dropout in the backward with a new mask "
                      f"(pytorch/pytorch#190758); set the dropout to 0 or compile_memory_budget=1.0")

    def __init__(self, config, dataset):
        self.validate_config(config)
        super().__init__(config, dataset)
        self.hidden_size = config["hidden_size"]
        self.loss_type = config["loss_type"]
        self.scan_backend = config["scan_backend"]
        self.item_embedding = build_item_embedding(config, dataset, self.n_items, self.hidden_size)  # item_model
        self.bpr_loss = BPRLoss()
        self.ce_loss = nn.CrossEntropyLoss()
        self.init_positions(config)
        if config["exclude_unseen_items"]:  # [I] True for items neither a target nor in a history of training
            seen = torch.zeros(self.n_items, dtype=torch.bool)
            seen[dataset.inter_feat[self.POS_ITEM_ID]] = True
            seen[dataset.inter_feat[self.ITEM_SEQ].flatten()] = True
            self.register_buffer("unseen_items", ~seen, persistent=False)
        else:
            self.unseen_items = None

    def compile_layers_if_asked(self, config):
        """`compile_layers: True`: torch.compile each of `self.layers` in place (parameter names and checkpoints
        unchanged). The scan runs outside the compiled graphs (layers.py); around it inductor fuses the norms,
        conv, activations and gates (the GEMMs stay cuBLAS calls) and recomputes cheap elementwise results in the
        backward instead of keeping them. Recompiles: once when a batch of another size arrives (shapes turn dynamic)
        and once for evaluation (no gradients)."""
        if config["compile_layers"]:
            set_compile_memory_budget(config["compile_memory_budget"])
            for layer in self.layers:
                layer.compile()

    def training_scores(self, seq_output, item_emb):
        """all_scores with the items the training split never shows masked out ([P I], `exclude_unseen_items`)."""
        return self.all_scores(seq_output, item_emb).masked_fill(self.unseen_items, float("-inf"))

    def sequence_output(self, item_seq, item_seq_len):
        raise NotImplementedError

    def forward(self, item_seq, item_seq_len):
        return self.gather_indexes(self.sequence_output(item_seq, item_seq_len), item_seq_len - 1)  # [B H]

    def calculate_loss(self, interaction):
        if self.train_positions == "all":
            return super().calculate_loss(interaction)
        item_seq = interaction[self.ITEM_SEQ]
        item_seq_len = interaction[self.ITEM_SEQ_LEN]
        seq_output = self.forward(item_seq, item_seq_len)  # [B H]
        pos_items = interaction[self.POS_ITEM_ID]
        if self.loss_type == "BPR":
            neg_items = interaction[self.NEG_ITEM_ID]
            pos_score = self.pair_scores(seq_output, self.item_embedding(pos_items))
            neg_score = self.pair_scores(seq_output, self.item_embedding(neg_items))
            return self.bpr_loss(pos_score, neg_score)
        scores = self.training_scores if self.unseen_items is not None else self.all_scores
        logits = scores(seq_output, self.item_embedding.weight)  # [B I]
        return self.ce_loss(wide(logits), pos_items)

    def _trimmed(self, interaction):
        """The history without the padding columns every sequence of the batch has (exact: outputs are causal)."""
        item_seq, item_seq_len = interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN]
        if self.trim_padding:
            item_seq = item_seq[:, : int(item_seq_len.max())]
        return item_seq, item_seq_len

    def predict(self, interaction):
        seq_output = self.forward(*self._trimmed(interaction))
        test_item_emb = self.item_embedding(interaction[self.ITEM_ID])  # [B H]
        return self.pair_scores(seq_output, test_item_emb)

    def full_sort_predict(self, interaction):
        seq_output = self.forward(*self._trimmed(interaction))
        return self.all_scores(seq_output, self.item_embedding.weight)  # [B n_items]

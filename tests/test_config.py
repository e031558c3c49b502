"""Config layering, model lookup with fallback to RecBole, and early config validation."""
import pytest
import yaml

from recbole_mamba.config import Config
from recbole_mamba.errors import ConfigError, UnknownModelError
from recbole_mamba.quick_start import make_config
from recbole_mamba.utils import get_model


def test_our_model_yaml_and_sequential_base_are_layered(tiny_config):
    config = Config(model="LatentMamba", dataset="tiny", config_dict={"data_path": tiny_config["data_path"]},
                    cmd_args=[])
    assert config["interaction"] == "gate"  # properties/model/LatentMamba.yaml
    assert config["valid_metric"] == "NDCG@10"  # properties/quick_start_config/sequential.yaml
    assert config["eval_args"]["split"] == {"LS": "valid_and_test"} and config["eval_args"]["order"] == "TO"
    assert config["train_neg_sample_args"]["distribution"] == "none"


def test_precedence_file_then_dict_then_command_line(tmp_path, tiny_config):
    cfg_file = tmp_path / "a.yaml"
    cfg_file.write_text(yaml.safe_dump({"n_heads": 8, "d_state": 8, "expand": 3}))
    config = Config(model="LatentMamba", dataset="tiny", config_file_list=[str(cfg_file)],
                    config_dict={"data_path": tiny_config["data_path"], "d_state": 12, "expand": 4},
                    cmd_args=["--expand=5"])
    assert config["n_heads"] == 8  # file over our model yaml (4)
    assert config["d_state"] == 12  # dict over file
    assert config["expand"] == 5  # command line over everything


def test_dataset_yaml_layered_over_model_defaults():
    config = Config(model="SASRec", dataset="ml-1m", config_dict={"data_path": "/nonexistent"}, cmd_args=[])
    assert config["MAX_ITEM_LIST_LENGTH"] == 200
    assert config["load_col"] == {"inter": ["user_id", "item_id", "timestamp"]}
    assert config["train_neg_sample_args"]["distribution"] == "none"  # RecBole's SASRec + our CE base


def test_model_on_dataset_yaml_overrides_model_and_dataset_yaml_for_that_pair_only(own_properties, tiny_config):
    props = own_properties
    (props / "model" / "LatentMamba" / "tiny.yaml").write_text("hidden_size: 24\ndropout_prob: 0.1\n")
    (props / "dataset" / "tiny.yaml").write_text("dropout_prob: 0.3\n")
    data = {"data_path": tiny_config["data_path"]}

    config = Config(model="LatentMamba", dataset="tiny", config_dict=data, cmd_args=[])
    assert config["hidden_size"] == 24 and config["dropout_prob"] == 0.1  # over model (64) and dataset (0.3) yaml
    assert config["n_heads"] == 4  # the rest of properties/model/LatentMamba.yaml still applies
    assert Config(model="LatentMamba", dataset="tiny", config_dict=data, cmd_args=["--hidden_size=32"])[
        "hidden_size"] == 32  # the command line still wins
    other = Config(model="Mamba4Rec", dataset="tiny", config_dict=data, cmd_args=[])
    assert other["hidden_size"] == 64 and other["dropout_prob"] == 0.3  # another model: only the dataset yaml
    elsewhere = Config(model="LatentMamba", dataset="ml-100k", config_dict={"data_path": "/nonexistent"},
                       cmd_args=[])
    assert elsewhere["hidden_size"] == 64  # another dataset: the model's defaults


def test_shipped_ml_1m_width_applies_to_latentmamba_only():
    # properties/model/LatentMamba/ml-1m.yaml (docs/results.md, "Width 128 to early stopping")
    data = {"data_path": "/nonexistent"}
    config = Config(model="LatentMamba", dataset="ml-1m", config_dict=data, cmd_args=[])
    assert (config["hidden_size"], config["inner_size"], config["n_heads"]) == (128, 512, 4)
    assert config["MAX_ITEM_LIST_LENGTH"] == 200  # the dataset yaml still applies
    assert Config(model="LatentMamba", dataset="ml-1m", config_dict=data, cmd_args=["--hidden_size=64"])[
        "hidden_size"] == 64  # the old width stays one flag away
    for model in ("Mamba4Rec", "HMamba"):
        assert Config(model=model, dataset="ml-1m", config_dict=data, cmd_args=[])["hidden_size"] == 64
    assert Config(model="LatentMamba", dataset="ml-100k", config_dict=data, cmd_args=[])["hidden_size"] == 64


def test_tuned_per_dataset_files_apply_to_their_model_and_dataset_only():
    """properties/model/<Model>/<dataset>.yaml (docs/results.md, "Tuned baselines"), RecBole's SASRec included."""
    data = {"data_path": "/nonexistent"}
    sasrec = Config(model="SASRec", dataset="ml-1m-half-real", config_dict=data, cmd_args=[])
    assert (sasrec["hidden_dropout_prob"], sasrec["attn_dropout_prob"]) == (0.2, 0.2)
    assert sasrec["n_layers"] == 2  # RecBole's SASRec.yaml still applies
    assert Config(model="SASRec", dataset="ml-100k", config_dict=data, cmd_args=[])["hidden_dropout_prob"] == 0.5
    assert Config(model="LatentMamba", dataset="Yelp", config_dict=data, cmd_args=[])["dropout_prob"] == 0.5
    assert Config(model="Mamba4Rec", dataset="Amazon_Toys", config_dict=data, cmd_args=[])["dropout_prob"] == 0.2
    assert Config(model="LatentMamba", dataset="ml-1m", config_dict=data, cmd_args=[])["learning_rate"] == 0.002


def test_bpr_gets_one_uniform_negative(tiny_config):
    config = Config(model="Mamba4Rec", dataset="tiny", config_dict={**tiny_config, "loss_type": "BPR"}, cmd_args=[])
    assert config["train_neg_sample_args"]["distribution"] == "uniform"
    assert config["train_neg_sample_args"]["sample_num"] == 1


def test_get_model_ours_first_then_recbole():
    assert get_model("LatentMamba").__module__ == "recbole_mamba.model.sequential_recommender.latentmamba"
    assert get_model("HMamba").__module__.startswith("recbole_mamba.")
    assert get_model("SASRec").__module__ == "recbole.model.sequential_recommender.sasrec"
    assert get_model("GRU4Rec").__module__.startswith("recbole.")


def test_unknown_model_lists_available_models():
    with pytest.raises(UnknownModelError) as err:
        get_model("NoSuchModel")
    assert "LatentMamba" in str(err.value) and "SASRec" in str(err.value)
    with pytest.raises(UnknownModelError, match="Did you mean SASRec"):
        get_model("sasrec")


@pytest.mark.parametrize("model,override,message", [
    ("LatentMamba", {"n_heads": 3}, "divisible by n_heads"),
    ("LatentMamba", {"d_state": 0}, "d_state must be > 0"),
    ("LatentMamba", {"expand": -1}, "expand must be > 0"),
    ("LatentMamba", {"dropout_prob": 1.0}, r"dropout_prob must be in \[0, 1\)"),
    ("LatentMamba", {"interaction": "concat"}, "interaction must be one of"),
    ("LatentMamba", {"scan_backend": "fast"}, "unknown scan_backend"),
    ("LatentMamba", {"ssm": "mamba3"}, "ssm must be one of mamba1, mamba2, gla"),
    ("LatentMamba", {"ssm": "gla", "scan_backend": "cuda"}, "runs ssm=mamba1 heads only"),
    ("LatentMamba", {"ssm": "mamba2", "scan_backend": "triton"}, "needs fla-core"),
    ("HMamba", {"ssm": "mamba2"}, "curvature-aware scan cannot scale per state"),
    ("LatentMamba", {"MAX_ITEM_LIST_LENGTH": 0}, "MAX_ITEM_LIST_LENGTH must be > 0"),
    ("HMamba", {"curvature": 0.0}, "curvature must be > 0"),
    ("HMamba", {"manifold": "sphere"}, "unknown manifold"),
    ("HMamba", {"variant": "quarter"}, "variant must be one of"),
    ("Mamba4Rec", {"d_conv": 0}, "d_conv must be > 0"),
    ("LatentMamba", {"compile_layers": "yes"}, "compile_layers must be True or False"),
    ("LatentMamba", {"compile_memory_budget": 0}, r"compile_memory_budget must be a number in \(0, 1\]"),
    ("Mamba4Rec", {"compile_layers": True, "compile_memory_budget": 0.5}, r"dropout_prob=0.2 trains on wrong gradients"),
    ("eSASRec", {"block": "bert"}, "block must be one of ligr, sasrec"),
    ("eSASRec", {"n_heads": 3}, "n_heads must be a positive divisor of hidden_size"),
    ("eSASRec", {"init": "kaiming"}, "init must be xavier or normal"),
    ("eSASRec", {"adam_betas": [0.9]}, r"adam_betas must be two numbers in \[0, 1\)"),
    ("SASRec", {"negative_source": "popular"}, "negative_source must be one of uniform, position, in_batch"),
    ("LatentMamba", {"trim_multiple": 0}, "trim_multiple must be an integer >= 1, got 0"),
    ("LatentMamba", {"compile_mode": "fast"}, "compile_mode must be one of default, max-autotune-no-cudagraphs"),
    ("LatentMamba", {"compile_layers": True, "compile_mode": "reduce-overhead"},
     "compile_mode=reduce-overhead is not offered: the layers' CUDA graphs overwrite"),
])
def test_invalid_model_config_is_rejected_before_loading_data(model, override, message):
    # data_path points nowhere: validation must fail first, without touching the dataset
    with pytest.raises(ConfigError, match=message):
        make_config(model, "tiny", config_dict={"data_path": "/nonexistent", **override}, cmd_args=[])


def test_command_line_value_may_contain_equals(tiny_config):
    # RecBole's parser splits on every "=" and silently dropped such an argument (a checkpoint dir was lost so)
    config = Config(model="LatentMamba", dataset="tiny", config_dict={"data_path": tiny_config["data_path"]},
                    cmd_args=["--checkpoint_dir=/tmp/ck/lr=0.003", "--expand=3"])
    assert config["checkpoint_dir"] == "/tmp/ck/lr=0.003"
    assert config["expand"] == 3


def test_command_line_duplicate_with_different_values_is_an_error(tiny_config):
    with pytest.raises(ConfigError, match="--expand is given twice, with different values"):
        Config(model="LatentMamba", dataset="tiny", config_dict={"data_path": tiny_config["data_path"]},
               cmd_args=["--expand=3", "--expand=4"])


@pytest.mark.parametrize("model,override,message", [
    ("SASRec", {"hidden_dropout_prob": 1.5}, r"hidden_dropout_prob must be in \[0, 1\), got 1.5"),
    ("GRU4Rec", {"embedding_size": 0}, "embedding_size must be > 0, got 0"),
    ("SASRec", {"n_layers": 0}, "n_layers must be > 0, got 0"),
    ("SASRec", {"MAX_ITEM_LIST_LENGTH": 0}, "MAX_ITEM_LIST_LENGTH must be > 0, got 0"),
    ("GRU4Rec", {"num_layers": 0}, "num_layers must be > 0, got 0"),
])
def test_recbole_models_keys_are_checked_before_loading_data(model, override, message):
    with pytest.raises(ConfigError, match=message):
        make_config(model, "tiny", config_dict={"data_path": "/nonexistent", **override}, cmd_args=[])


def test_a_key_only_other_models_read_gets_one_warning(capsys):
    import recbole_mamba.config as config_module

    config_module._warned.clear()
    make_config("LatentMamba", "tiny", config_dict={"data_path": "/nonexistent", "embedding_size": 0}, cmd_args=[])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "LatentMamba does not read 'embedding_size'" in err[0]  # and no range error for it
    make_config("SASRec", "tiny", config_dict={"data_path": "/nonexistent", "hidden_size": 8}, cmd_args=[])
    assert capsys.readouterr().err == ""  # a key the model reads: no word


@pytest.mark.parametrize("model,expected", [("LatentMamba", "all"), ("eSASRec", "all"), ("SASRec", "all"),
                                            ("GRU4Rec", "all"), ("BERT4Rec", "last")])
def test_train_positions_auto_is_all_where_the_model_can(model, expected):
    config = make_config(model, "tiny", config_dict={"data_path": "/nonexistent"}, cmd_args=[])
    assert config["train_positions"] == expected
    if expected == "all":
        assert config["train_batch_size"] == config["train_batch_size_all"]
    with pytest.raises(ConfigError, match="train_positions=all needs a model that reads the sequence left to right"):
        make_config("BERT4Rec", "tiny", config_dict={"data_path": "/nonexistent", "train_positions": "all"},
                    cmd_args=[])


def test_a_run_checks_its_config_once(tiny_config, monkeypatch):
    import recbole_mamba.config as config_module
    from recbole_mamba.quick_start import run

    calls = []
    real = config_module.check_config
    monkeypatch.setattr(config_module, "check_config", lambda config: calls.append(1) or real(config))
    for model in ("LatentMamba", "SASRec"):
        calls.clear()
        run(model=model, dataset="tiny", config_dict=tiny_config, cmd_args=[], saved=False)
        assert len(calls) == 1, model

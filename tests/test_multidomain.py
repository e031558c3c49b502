"""One model on a union of datasets (a+b): the union's files, ranking within a domain, metrics per domain."""
import shutil

import pytest
import torch

from conftest import DATA_DIR, TINY
from recbole_mamba import multidomain
from recbole_mamba.quick_start import build_model, load_dataset, make_config, prepare_data, run


@pytest.fixture()
def two_domains(tmp_path):
    """tiny and `other`, a second domain: tiny's first 60 users with their files renamed."""
    root = tmp_path / "data"
    shutil.copytree(f"{DATA_DIR}/tiny", root / "tiny")
    (root / "other").mkdir()
    lines = (root / "tiny" / "tiny.inter").read_text().splitlines()
    users = sorted({line.split("\t")[0] for line in lines[1:]}, key=int)[:60]
    kept = [line for line in lines[1:] if line.split("\t")[0] in users]
    (root / "other" / "other.inter").write_text("\n".join([lines[0], *kept]) + "\n")
    items = (root / "tiny" / "tiny.item").read_text().splitlines()  # `other` has titles and years, no genres
    (root / "other" / "other.item").write_text("\n".join(
        ["item_id:token\ttitle:token_seq\tyear:token"]
        + [f"{line.split(chr(9))[0]}\t{line.split(chr(9))[1]}\t{1990 + int(line.split(chr(9))[0]) % 9}"
           for line in items[1:]]) + "\n")
    return root, len(lines) - 1, len(kept)


def union_config(root, tmp_path, **extra):
    return {**TINY, "data_path": str(root), "checkpoint_dir": str(tmp_path / "ck"), **extra}


def test_the_union_keeps_every_interaction_with_its_domain(two_domains, tmp_path):
    root, n_tiny, n_other = two_domains
    folder = tmp_path / "union"
    multidomain.write_union(["tiny", "other"], str(root), str(folder))
    inter = (folder / "tiny+other.inter").read_text().splitlines()
    assert inter[0] == "user_id:token\titem_id:token\ttimestamp:float" and len(inter) - 1 == n_tiny + n_other
    assert inter[1].startswith("tiny|") and inter[-1].startswith("other|")
    item = (folder / "tiny+other.item").read_text().splitlines()
    assert item[0].split("\t")[:2] == ["item_id:token", "domain:token"]
    assert {line.split("\t")[1] for line in item[1:]} == {"tiny", "other"}
    stamp = (folder / "sources.json").stat().st_mtime
    multidomain.write_union(["tiny", "other"], str(root), str(folder))  # unchanged sources: not rewritten
    assert (folder / "sources.json").stat().st_mtime == stamp


def test_items_of_each_domain_are_described_by_their_own_columns(two_domains, tmp_path):
    from recbole_mamba.model.item_text import item_texts

    root, _, _ = two_domains
    fields = ["title", "genre", "year"]
    load_col = {"inter": ["user_id", "item_id", "timestamp"], "item": ["item_id", *fields]}
    config = make_config("Mamba4Rec", "tiny+other", config_dict=union_config(root, tmp_path, load_col=load_col),
                         cmd_args=[])
    # a sequence column one domain lacks is read as empty, not as a failure
    dataset = prepare_data(config, load_dataset(config))[0]._dataset
    texts = item_texts(dataset, fields, "{text}")
    domain = dataset.item_feat["domain"]
    tiny = [t for t, d in zip(texts, domain.tolist()) if dataset.id2token("domain", d) == "tiny"]
    other = [t for t, d in zip(texts, domain.tolist()) if dataset.id2token("domain", d) == "other"]
    assert all("genre: " in t and "year" not in t for t in tiny)
    assert all("year: 199" in t and "genre" not in t for t in other)
    assert not any("[PAD]" in t or "nan" in t for t in texts)


def test_ranking_stays_within_the_users_domain(two_domains, tmp_path):
    from recbole_mamba.data import domain_of_items
    from recbole_mamba.utils import get_trainer

    root, _, _ = two_domains
    config = make_config("Mamba4Rec", "tiny+other", config_dict=union_config(root, tmp_path, scan_backend="torch"),
                         cmd_args=[])
    dataset = load_dataset(config)
    _, _, test = prepare_data(config, dataset)
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, build_model(config, test._dataset))
    trainer.tot_item_num = dataset.item_num
    trainer.item_domain = domain_of_items(dataset, config)
    interaction, scores, _, _ = trainer._full_sort_batch_eval(next(iter(test)))
    user_domain = trainer.item_domain[interaction["item_id_list"][:, 0]]
    other = trainer.item_domain.unsqueeze(0) != user_domain.unsqueeze(1)
    assert torch.isneginf(scores[other]).all() and torch.isfinite(scores[~other][1:]).all()
    assert len(torch.unique(user_domain)) == 2


def test_one_model_trains_on_two_domains_and_reports_each(two_domains, tmp_path):
    root, _, _ = two_domains
    result = run("LatentMamba", "tiny+other", config_dict=union_config(root, tmp_path, train_positions="all"),
                 cmd_args=[])
    assert set(result["by_domain"]) == {"tiny", "other"}
    for parts in result["by_domain"].values():
        assert 0 <= parts["test"]["ndcg@10"] <= 1 and 0 <= parts["valid"]["ndcg@10"] <= 1
    assert (tmp_path / "ck" / "datasets" / "tiny+other" / "tiny+other.inter").is_file()

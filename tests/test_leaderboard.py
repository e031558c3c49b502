"""The leaderboard command on the tiny data: runs side by side, a table per dataset, resumes without rerunning."""
import csv
import os

from conftest import DATA_DIR
from recbole_mamba.leaderboard import _split_models, main, parse_model, tag_of

TINY_ARGS = [f"--data_path={DATA_DIR}", "--epochs=1", "--hidden_size=16", "--inner_size=32", "--d_state=4",
             "--n_layers=1", "--n_heads=2", "--MAX_ITEM_LIST_LENGTH=20", "--use_gpu=False"]


def test_models_with_their_own_settings_split_apart():
    assert _split_models("A,B:x=1,y=2,C:z=3,D") == ["A", "B:x=1,y=2", "C:z=3", "D"]
    assert _split_models("A:betas=[0.9,0.98],y=2,B") == ["A:betas=[0.9,0.98],y=2", "B"]  # a list value is one value
    assert parse_model("A:betas=[0.9,0.98],y=2") == ("A", {"betas": "[0.9,0.98]", "y": "2"})


def test_a_label_with_a_config_file_path_is_one_file_name():
    tag = tag_of("Amazon_Toys", "SASRec:config_files=benchmarks/sasrec_plus.yaml,eval_filter_seen=True", 2020)
    assert tag == "Amazon_Toys__SASRec_config_files-benchmarks-sasrec_plus.yaml_eval_filter_seen-True__2020"
    assert os.sep not in tag


def test_a_leaderboard_runs_sums_up_and_resumes(tmp_path, capsys):
    out = tmp_path / "lb"
    args = ["--models=Mamba4Rec,SASRec:train_positions=all", "--datasets=tiny", "--seeds=2020,2021",
            f"--out={out}", "--parallel=2"] + TINY_ARGS
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "0 of 4 runs already done; 4 to run, 2 at a time" in first
    table = (out / "tiny.md").read_text().splitlines()
    assert table[2].startswith("| model | seeds | test ndcg@10 |")
    rows = {line.split(" | ")[0][2:]: line.split(" | ") for line in table[4:]}
    assert set(rows) == {"Mamba4Rec", "SASRec:train_positions=all"}
    assert rows["Mamba4Rec"][1] == "2020, 2021" and " ± " in rows["Mamba4Rec"][2]  # mean ± std over two seeds
    with open(out / "runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert len(runs) == 4 and all(0 <= float(r["test ndcg@10"]) <= 1 for r in runs)
    assert {r["label"] for r in runs} == {"Mamba4Rec", "SASRec:train_positions=all"}
    assert all(float(r["wall_s_to_best"]) > 0 for r in runs)
    assert len(os.listdir(out / "logs")) == 4
    assert main(args) == 0  # resumes: nothing left to run
    assert "4 of 4 runs already done; 0 to run" in capsys.readouterr().out


def test_a_result_made_with_other_settings_is_run_again(tmp_path):
    from recbole_mamba.leaderboard import is_done

    (tmp_path / "runs").mkdir()
    job = (tag_of("tiny", "SASRec", 2020), "tiny", "SASRec", "SASRec", {}, 2020)
    assert not is_done(str(tmp_path), job, ["--epochs=1"])
    (tmp_path / "runs" / f"{job[0]}.json").write_text('{"common": ["--epochs=1"]}')
    assert is_done(str(tmp_path), job, ["--epochs=1"])
    assert not is_done(str(tmp_path), job, ["--epochs=2"])  # a changed setting: the old result does not stand


def test_the_table_ranks_and_shows_the_metric_that_chose_the_epochs(tmp_path):
    import json

    from recbole_mamba.leaderboard import summarize

    (tmp_path / "runs").mkdir()
    for label, hit, ndcg in [("A", 0.30, 0.20), ("B", 0.35, 0.18)]:  # B is better on valid hit@10, worse on ndcg@10
        result = {"model": label, "dataset": "tiny", "label": label, "seed": 2020, "best_valid_score": hit,
                  "best_valid_result": {"hit@10": hit, "ndcg@10": ndcg}, "test_result": {"hit@10": hit, "ndcg@10": ndcg}}
        if label == "A":
            result["valid_metric"] = "hit@10"  # B is an older result: its metric is read from its best score
        (tmp_path / "runs" / f"tiny__{label}__2020.json").write_text(json.dumps(result))
    table = summarize(str(tmp_path))["tiny"].splitlines()
    header = next(line for line in table if line.startswith("| model"))
    assert header.split(" | ")[4] == "valid hit@10"
    rows = [line for line in table if line.startswith("| A ") or line.startswith("| B ")]
    assert rows[0].startswith("| B ") and rows[1].startswith("| A ")

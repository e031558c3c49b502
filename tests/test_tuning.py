"""Tuning: 2-trial searches on the tiny dataset with hyperopt (RecBole's HyperTuning) and Ray Tune (local mode)."""
import csv
import glob
import os

import pytest
import yaml

from conftest import REPO_DIR, TINY
from recbole_mamba.tuning import main, read_params_file


def tiny_args(tmp_path):
    return [f"--{k}={v}" for k, v in TINY.items() if k != "show_progress"] + [f"--output_dir={tmp_path / 'out'}"]


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "space.hyper"
    path.write_text("learning_rate choice [0.001,0.01]\n")
    return str(path)


def check_outputs(tmp_path, model="Mamba4Rec", exhaustive=True):
    with open(tmp_path / "out" / f"{model}-tuning.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "learning_rate" and len(rows) == 3  # header + 2 trials
    values = {float(r[0]) for r in rows[1:]}
    assert values == {0.001, 0.01} if exhaustive else values <= {0.001, 0.01}  # random may draw a value twice
    scores = [float(r[1]) for r in rows[1:]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    best = yaml.safe_load(open(tmp_path / "out" / f"{model}-best_config.yaml"))
    assert best["learning_rate"] == float(rows[1][0])
    assert (tmp_path / "out" / f"{model}-tuning.md").read_text().startswith("| learning_rate |")


@pytest.mark.parametrize("algo", ["exhaustive", "random"])
def test_hyperopt_two_trials(tmp_path, params_file, algo):
    rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={params_file}", "--tool=hyperopt",
               f"--algo={algo}", "--max_evals=2"] + tiny_args(tmp_path))
    assert rc == 0
    check_outputs(tmp_path, exhaustive=algo == "exhaustive")


def test_ray_two_trials_local_mode(tmp_path, params_file):
    import ray

    try:
        rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={params_file}", "--tool=ray", "--algo=grid",
                   "--ray_local_mode", "--cpus_per_trial=1"] + tiny_args(tmp_path))
    finally:
        ray.shutdown()
    assert rc == 0
    check_outputs(tmp_path)


def test_shipped_search_spaces_parse():
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "properties", "hyper")
    for name in ("LatentMamba", "HMamba", "Mamba4Rec"):
        params = read_params_file(os.path.join(root, f"{name}.hyper"))
        assert any(p[0] == "learning_rate" for p in params)


def test_screen_spaces_name_real_config_keys():
    """benchmarks/tuning/*.hyper run on the GPU, where a misspelt key would silently screen the control again."""
    import recbole

    known = set()
    for path in (os.path.join(REPO_DIR, "properties", "model", "LatentMamba.yaml"),
                 os.path.join(os.path.dirname(recbole.__file__), "properties", "overall.yaml")):
        with open(path) as f:
            known |= set(yaml.safe_load(f))
    spaces = sorted(glob.glob(os.path.join(REPO_DIR, "benchmarks", "tuning", "*.hyper")))
    assert spaces
    for space in spaces:
        params = read_params_file(space)
        assert params, space
        assert {p[0] for p in params} <= known, space


def test_hyperopt_trials_report_best_model_curves_and_leave_no_checkpoints(tmp_path, params_file, monkeypatch):
    """Each trial's test metrics come from its best-validated model (as a single run's do), its valid curve lands in
    <model>-curves.csv, the tables are rewritten after every trial, and the trials' checkpoints are removed."""
    import recbole_mamba.quick_start as quick_start
    import recbole_mamba.tuning as tuning

    written, evaluated = [], []
    real_write, real_run = tuning.write_results, quick_start.run

    def counting_write(rows, *args, **kwargs):
        written.append(len(rows))
        return real_write(rows, *args, **kwargs)

    def spying_run(*args, **kwargs):
        evaluated.append(kwargs["saved"])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(tuning, "write_results", counting_write)
    monkeypatch.setattr(tuning, "run", spying_run)
    args = [a for a in tiny_args(tmp_path) if not a.startswith("--epochs")] + ["--epochs=2"]
    rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={params_file}", "--tool=hyperopt",
               "--algo=exhaustive"] + args)
    assert rc == 0
    assert written[:2] == [1, 2]  # after each trial, before the search ends
    assert evaluated == [True, True]  # saved=True: the test split is scored with the best model, not the last one
    out = tmp_path / "out"
    with open(out / "Mamba4Rec-curves.csv") as f:
        curves = list(csv.reader(f))
    assert curves[0] == ["trial", "learning_rate", "epoch", "valid ndcg@10"]
    assert sorted((int(r[0]), int(r[2])) for r in curves[1:]) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    with open(out / "Mamba4Rec-tuning.csv") as f:
        table = list(csv.DictReader(f))
    for row in table:
        trial_curve = [float(r[3]) for r in curves[1:] if r[0] == row["trial"]]
        assert float(row["valid ndcg@10"]) == max(trial_curve)  # the table's valid score is the curve's best
        assert row["epochs"] == "2" and int(row["best epoch"]) == trial_curve.index(max(trial_curve))
        assert int(row["params"]) > 0
    leftover = [f for _, _, files in os.walk(out / "checkpoints") for f in files]
    assert leftover == []

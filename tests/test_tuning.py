"""Tuning: 2-trial searches on the tiny dataset with hyperopt (RecBole's HyperTuning) and Ray Tune (local mode)."""
import csv
import os

import pytest
import yaml

from conftest import TINY
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

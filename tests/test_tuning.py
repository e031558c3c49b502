"""Tuning: 2-trial searches on the tiny dataset with hyperopt (RecBole's HyperTuning) and Ray Tune (local mode)."""
import csv
import glob
import json
import os
import time

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
    assert (tmp_path / "out" / f"{model}-tuning.md").read_text().startswith(f"# {model} tuning\n\n| learning_rate |")


@pytest.mark.parametrize("algo", ["exhaustive", "random"])
def test_hyperopt_two_trials(tmp_path, params_file, algo, capfd):
    rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={params_file}", "--tool=hyperopt",
               f"--algo={algo}", "--max_evals=2"] + tiny_args(tmp_path))
    assert rc == 0
    check_outputs(tmp_path, exhaustive=algo == "exhaustive")
    out = capfd.readouterr()
    lines = [line for line in (out.out + out.err).splitlines() if line.strip()]
    trials = [line for line in lines if line.startswith("[trial ")]  # one progress line per trial, nothing else
    assert [t.split("]")[0] for t in trials] == ["[trial 1/2", "[trial 2/2"] and "valid ndcg@10 0." in trials[0]
    assert not any("running parameters" in line or "trial/s" in line for line in lines)


def test_ray_two_trials_local_mode(tmp_path, params_file):
    import ray

    try:
        rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={params_file}", "--tool=ray", "--algo=grid",
                   "--ray_local_mode", "--cpus_per_trial=1"] + tiny_args(tmp_path))
    finally:
        ray.shutdown()
    assert rc == 0
    check_outputs(tmp_path)


def test_ray_reports_every_validation_and_asha_runs(tmp_path, params_file):
    import ray

    args = [a for a in tiny_args(tmp_path) if not a.startswith("--epochs=")] + ["--epochs=3"]
    try:
        rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={params_file}", "--tool=ray", "--algo=grid",
                   "--ray_local_mode", "--cpus_per_trial=1", "--ray_scheduler=asha", "--grace_period=1"] + args)
    finally:
        ray.shutdown()
    assert rc == 0
    progress = glob.glob(str(tmp_path / "out" / "ray_results" / "*" / "*" / "progress.csv"))
    assert len(progress) == 2
    for path in progress:
        with open(path) as f:
            reports = list(csv.DictReader(f))
        assert len(reports) >= 2 and all(r["best_valid_score"] for r in reports)  # one per validation, then the end
        best = [float(r["best_valid_score"]) for r in reports]
        assert best == sorted(best)  # the best so far never goes down


def test_ray_cluster_of_two_nodes_spreads_trials_and_chooses_on_valid(tmp_path, params_file, capsys, monkeypatch):
    """A real two-node Ray cluster on this machine (`ray start --head` + `ray start --address=...`, one CPU each):
    the two trials run one on each node, the best trial is the best on valid, and the nodes are shut down."""
    import shutil
    import socket
    import subprocess
    import sys
    import tempfile

    import ray

    ray_cli = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths live under it
    start = [[ray_cli, "start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
              f"--temp-dir={temp}", "--node-ip-address=127.0.0.1", "--disable-usage-stats"],
             [ray_cli, "start", f"--address={address}", "--num-cpus=1", "--node-ip-address=127.0.0.1",
              "--disable-usage-stats"]]
    try:
        for command in start:
            subprocess.run(command, check=True, env=env, capture_output=True, timeout=180)
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
        for _ in range(120):  # `ray start` returns before the second node has joined: wait for both CPUs
            if ray.cluster_resources().get("CPU", 0) >= 2:
                break
            time.sleep(0.5)
        assert ray.cluster_resources().get("CPU", 0) >= 2, ray.cluster_resources()
        ray.shutdown()  # the tuner connects on its own, with its worker set-up hook
        monkeypatch.setenv("RAY_DISABLE_USAGE_STATS", "1")
        rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={params_file}", "--tool=ray", "--algo=grid",
                   "--cpus_per_trial=1", f"--ray_address={address}"] + tiny_args(tmp_path))
        assert rc == 0
        assert len(ray.nodes()) == 2
    finally:
        ray.shutdown()
        subprocess.run([ray_cli, "stop", "--force"], env=env, capture_output=True, timeout=180)
        shutil.rmtree(temp, ignore_errors=True)
    check_outputs(tmp_path)
    nodes = set()
    for path in glob.glob(str(tmp_path / "out" / "ray_results" / "*" / "*" / "result.json")):
        with open(path) as f:
            nodes |= {json.loads(line).get("node") for line in f if line.strip()} - {None}
    assert len(nodes) == 2  # one trial on each node
    with open(tmp_path / "out" / "Mamba4Rec-tuning.csv") as f:
        best = list(csv.reader(f))[1]  # best valid first
    assert f"(chosen on valid ndcg@10 {float(best[1]):.4f})" in capsys.readouterr().out


def test_shipped_search_spaces_parse_and_name_real_config_keys():
    from recbole_mamba.config import PROPERTIES_DIR, _yaml_keys

    spaces = sorted(glob.glob(os.path.join(PROPERTIES_DIR, "hyper", "*.hyper")))
    assert len(spaces) == 4
    for space in spaces:
        params = read_params_file(space)
        assert any(p[0] == "learning_rate" for p in params)
        assert {p[0] for p in params} <= _yaml_keys(), space  # a misspelt key would tune nothing


def test_ray_grid_larger_than_max_evals_is_refused_before_any_trial(tmp_path, capsys):
    space = tmp_path / "grid.hyper"
    space.write_text("learning_rate choice [0.001,0.01]\ndropout_prob choice [0.1,0.2,0.3]\n")
    rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={space}", "--tool=ray", "--algo=grid",
               "--max_evals=2"] + tiny_args(tmp_path))
    err = capsys.readouterr().err
    assert rc == 2 and "6 combinations but --max_evals=2" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_bad_values_and_missing_data_fail_before_any_trial(tmp_path, params_file, capsys):
    rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={params_file}"]
              + [a for a in tiny_args(tmp_path) if not a.startswith("--epochs=")] + ["--epochs=0"])
    assert rc == 2 and "epochs must be at least 1" in capsys.readouterr().err
    rc = main(["--model=Mamba4Rec", "--dataset=nothing", f"--params_file={params_file}", f"--data_path={tmp_path}",
               f"--output_dir={tmp_path / 'out'}"])
    assert rc == 2 and "not found" in capsys.readouterr().err


def test_relative_data_path_is_made_absolute_for_trials(tmp_path, monkeypatch):
    import shutil

    from recbole_mamba.tuning import prepare_fixed

    shutil.copytree(os.path.join(REPO_DIR, "tests", "data", "tiny"), tmp_path / "mydata" / "tiny")
    monkeypatch.chdir(tmp_path)
    fixed = prepare_fixed("Mamba4Rec", "tiny", None, {"data_path": "mydata", "checkpoint_dir": "ck"})
    assert fixed["data_path"] == str(tmp_path / "mydata") and fixed["checkpoint_dir"] == str(tmp_path / "ck")


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


@pytest.mark.parametrize("tool,module", [("hyperopt", "hyperopt"), ("ray", "pyarrow")])
def test_a_missing_tool_is_named_in_one_line_before_any_trial(tool, module, tmp_path, params_file, capsys,
                                                              monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))
    rc = main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={params_file}", f"--tool={tool}"]
              + tiny_args(tmp_path))
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert f"--tool={tool} needs {module}" in err and "recbole-mamba[tune]" in err
    assert not (tmp_path / "out").exists()

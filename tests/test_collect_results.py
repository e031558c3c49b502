"""benchmarks/collect_results.py reads the logs our runs really write (RecBole's file logger)."""
import csv
import glob
import importlib.util
import os
import subprocess
import sys

from conftest import REPO_DIR, TINY, stopped_run

SCRIPT = os.path.join(REPO_DIR, "benchmarks", "collect_results.py")
spec = importlib.util.spec_from_file_location("collect_results", SCRIPT)
collect = importlib.util.module_from_spec(spec)
spec.loader.exec_module(collect)


def test_collector_matches_the_run_result(tmp_path):
    # a fresh process: under pytest RecBole's logging.basicConfig finds pytest's handler and writes no log file
    env = dict(os.environ, PYTHONPATH=REPO_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    args = [f"--{k}={v}" for k, v in TINY.items() if k not in ("state", "epochs")]
    r = subprocess.run([sys.executable, os.path.join(REPO_DIR, "run_recbole_mamba.py"), "--model_list=GRU4Rec",
                        "--dataset=tiny", "--epochs=2", "--topk=[10,20]", "--state=INFO", "--compare_dir=out", *args],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    logs = glob.glob(str(tmp_path / "log" / "**" / "*.log"), recursive=True)
    assert len(logs) == 1
    with open(tmp_path / "out" / "comparison.csv") as f:
        truth = next(csv.DictReader(f))
    row = collect.parse(logs[0])
    assert row["status"] == "finished (ran out of epochs)" and row["epochs"] == int(truth["epochs"]) == 2
    assert row["best_epoch"] == int(truth["best_epoch"]) and row["params"] == int(truth["params"])
    assert row["seed"] == "2020"
    for k in ("hit@10", "ndcg@10", "mrr@20", "ndcg@20"):
        assert row["test"][k] == round(float(truth[f"test {k}"]), 4)
        assert row["valid"][k] == round(float(truth[f"valid {k}"]), 4)
    assert "| GRU4Rec_2020 |" in collect.table([{**row, "run": "GRU4Rec_2020"}])


def test_collector_reads_early_stopping_and_unfinished_runs(tmp_path):
    log = tmp_path / "SASRec_2021.log"
    log.write_text("seed = 2021\n"
                   "24 Nov 00:00    INFO  epoch 0 training [time: 20.00s, train loss: 3.0]\n"
                   "24 Nov 00:00    INFO  epoch 0 evaluating [time: 0.20s, valid_score: 0.050000]\n"
                   "24 Nov 00:01    INFO  epoch 1 training [time: 22.00s, train loss: 2.0]\n"
                   "24 Nov 00:01    INFO  epoch 1 evaluating [time: 0.20s, valid_score: 0.040000]\n")
    row = collect.parse(str(log))
    assert row["status"] == "running or interrupted" and row["test"] == {} and row["best_epoch"] == 0
    assert row["s_per_epoch"] == 21.0 and row["seed"] == "2021" and row["best_valid_ndcg@10"] == 0.05
    with open(log, "a") as f:
        f.write("24 Nov 00:02    INFO  Finished training, best eval result in epoch 0\n"
                "24 Nov 00:02    INFO  test result: OrderedDict({'hit@10': np.float64(0.3), "
                "'ndcg@10': np.float64(0.17)})\n")
    row = collect.parse(str(log))
    assert row["status"] == "early-stopped" and row["test"] == {"hit@10": 0.3, "ndcg@10": 0.17}


def curve_run(tmp_path, name, scores):
    """A run's log holding only its valid NDCG@10 per epoch, parsed."""
    path = tmp_path / f"{name}.log"
    path.write_text("".join(f"24 Nov 00:00    INFO  epoch {e} evaluating [time: 0.20s, valid_score: {s:.6f}]\n"
                            for e, s in enumerate(scores)))
    return collect.parse(str(path))


def test_curves_line_up_epochs_and_measure_the_difference(tmp_path):
    a = curve_run(tmp_path, "A_2020", [0.10, 0.20, 0.40])
    b = curve_run(tmp_path, "A_2021", [0.11, 0.18])
    lines = collect.curves([a, b]).splitlines()
    assert lines[0] == "epoch\tA_2020\tA_2021"
    assert lines[3] == "2\t0.4000\t–"  # an epoch only one run reached
    # epochs 0 and 1 only: |diff| 0.01 and 0.02, relative 10% and 10%
    assert lines[-2] == "|difference| over 2 common epochs: mean 0.0150 (10.0%), max 0.0200 (10.0%)"
    assert lines[-1] == "A_2021 - A_2020 over epochs 0-1: ahead at 1, level at 0 [], behind at 1; mean -0.0050, " \
                        "range -0.0200 to +0.0100"


def test_curves_count_leads_and_ties_from_an_epoch_on(tmp_path):
    a = curve_run(tmp_path, "lr1", [0.05, 0.1286, 0.1300, 0.1310])
    b = curve_run(tmp_path, "lr3", [0.09, 0.1286, 0.1340, 0.1305])
    lines = collect.curves([a, b], from_epoch=1).splitlines()
    assert len(lines) == 1 + 4 + 2  # the per-epoch rows keep every epoch; only the comparison is limited
    assert lines[-2] == "|difference| over 3 common epochs: mean 0.0015 (1.2%), max 0.0040 (3.1%)"
    assert lines[-1] == "lr3 - lr1 over epochs 1-3: ahead at 1, level at 1 [1], behind at 1; mean +0.0012, " \
                        "range -0.0005 to +0.0040"


def test_tuner_curves_file_gives_one_run_per_trial_compared_with_the_first(tmp_path):
    """run_hyper.py's <model>-curves.csv (written by tuning.write_results) reads as one curve per trial; with three
    runs, each later one is compared with the first."""
    from recbole_mamba.tuning import write_results

    rows = [{"tuned": {"dropout_prob": 0.2}, "trial": 1, "best_valid_score": 0.2, "test_result": {},
             "valid_curve": [(0, 0.10), (1, 0.20)]},
            {"tuned": {"dropout_prob": 0.1}, "trial": 2, "best_valid_score": 0.25, "test_result": {},
             "valid_curve": [(0, 0.12), (1, 0.25)]}]
    write_results(rows, str(tmp_path / "screen"), "M", "NDCG@10")
    trials = collect.parse_tuning_curves(str(tmp_path / "screen" / "M-curves.csv"))
    assert [t["run"] for t in trials] == ["screen#1 dropout_prob=0.2", "screen#2 dropout_prob=0.1"]
    assert trials[1]["curve"] == {0: 0.12, 1: 0.25}
    log = curve_run(tmp_path, "base", [0.10, 0.19])
    lines = collect.curves([log] + trials).splitlines()
    assert lines[0] == "epoch\tbase\tscreen#1 dropout_prob=0.2\tscreen#2 dropout_prob=0.1"
    assert lines[-3] == "screen#1 dropout_prob=0.2 - base over epochs 0-1: ahead at 1, level at 1 [0], behind at 0; " \
                        "mean +0.0050, range +0.0000 to +0.0100"
    assert lines[-1] == "screen#2 dropout_prob=0.1 - base over epochs 0-1: ahead at 2, level at 0 [], behind at 0; " \
                        "mean +0.0400, range +0.0200 to +0.0600"



def test_a_tuner_trial_still_training_reads_from_its_wrapped_log(tmp_path):
    """run_hyper.py --verbose logs break each colored epoch line into pieces; a trial cut off before its curves.csv
    was written still gives its curve (session 19's screens ended with their machine)."""
    wrapped = "".join(
        f"29 Nov 03:37    INFO  \nepoch {e} training\n [\ntime\n: {t}s, \ntrain loss\n: 3109.7693]\n"
        f"29 Nov 03:37    INFO  \nepoch {e} evaluating\n [\ntime\n: 3.99s, \nvalid_score\n: {v}]\n"
        for e, t, v in ((0, "237.83", "0.085100"), (1, "220.23", "0.096900")))
    path = tmp_path / "dropout.log"
    path.write_text(wrapped)
    run = collect.parse(str(path))
    assert run["curve"] == {0: 0.0851, 1: 0.0969} and run["epochs"] == 2
    assert run["status"] == "running or interrupted" and run["test"] == {}
    # and the same patterns read the one-line epochs of an ordinary log
    assert curve_run(tmp_path, "base", [0.10, 0.19])["curve"] == {0: 0.10, 1: 0.19}


def test_by_config_averages_only_the_seeds_that_early_stopped(tmp_path):
    logs = [stopped_run(tmp_path, "s1", "M_2020", 0.10), stopped_run(tmp_path, "s1", "M_2021", 0.12),
            stopped_run(tmp_path, "s1", "M_2022", None, epochs=5),  # interrupted in session 1 ...
            stopped_run(tmp_path, "s1", "M_2020_hidden_size-128", 0.30),
            stopped_run(tmp_path, "s2", "M_2022", None, epochs=9),  # ... and further on, not stopped, in session 2
            stopped_run(tmp_path, "s1", "M_2023", 0.50, early_stop=False)]  # a test result, not converged
    rows = [collect.parse(path) for path in logs]
    lines = collect.by_config(rows).splitlines()
    assert len(lines) == 4
    plain = next(line for line in lines if line.startswith("| M |"))
    cells = [c.strip() for c in plain.strip("|").split("|")]
    assert cells[1:5] == ["2020 / 2021", "0.1000 / 0.1200", "0.1100", "0.2200"]
    assert cells[-1] == ("M_2022 (running or interrupted, 9 epochs), "  # the later log stands; neither counts
                         "M_2023 (finished (ran out of epochs), 1 epochs)")
    wide = next(line for line in lines if line.startswith("| M hidden_size-128 |"))
    assert "| 2020 | 0.3000 | 0.3000 | 0.6000 |" in wide

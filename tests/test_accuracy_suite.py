"""benchmarks/accuracy_suite.sh: which runs it starts, resumes and skips, and with which arguments.

A stub `python` first on PATH stands in for the trainer: it appends its arguments to a file and exits, so the test
sees every command line the suite builds without training anything.
"""
import os
import shutil
import subprocess

import pytest

from conftest import REPO_DIR

SUITE = os.path.join(REPO_DIR, "benchmarks", "accuracy_suite.sh")
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run_suite(tmp_path, runs, gpus="1", extra=""):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls.txt"
    stub = bin_dir / "python"
    stub.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n')
    stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", RUNS=runs, GPUS=gpus, EXTRA=extra)
    out = subprocess.run(["bash", SUITE, str(tmp_path / "acc")], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    lines = calls.read_text().splitlines() if calls.exists() else []
    return out, lines


def call_for(lines, tag):
    mine = [line for line in lines if f"/ck/{tag} " in line + " "]
    assert len(mine) == 1, (tag, lines)
    return mine[0].split()


def test_new_runs_get_protocol_seed_own_settings_and_round_robin_gpus(tmp_path):
    out, lines = run_suite(tmp_path, "LatentMamba:2021 HMamba-half:2020 LatentMamba:2020:learning_rate=0.003",
                           gpus="2", extra="--enable_amp=True")
    assert len(lines) == 3
    first = call_for(lines, "LatentMamba_2021")
    for arg in ("--model=LatentMamba", "--dataset=ml-1m", "--seed=2021", "--stopping_step=10", "--topk=[10,20]",
                "--gpu_id=0", "--enable_amp=True"):
        assert arg in first
    half = call_for(lines, "HMamba-half_2020")
    assert "--model=HMamba" in half and "--variant=half" in half and "--gpu_id=1" in half
    # per-run settings are passed through, and the run's name spells "=" as "-" (the device tool refuses "=")
    tuned = call_for(lines, "LatentMamba_2020_learning_rate-0.003")
    assert "--learning_rate=0.003" in tuned and "--gpu_id=0" in tuned
    assert "start LatentMamba_2020_learning_rate-0.003 on GPU 0" in out


def test_finished_runs_are_skipped_and_checkpointed_runs_resume(tmp_path):
    acc = tmp_path / "acc"
    (acc / "logs").mkdir(parents=True)
    (acc / "logs" / "SASRec_2020.log").write_text("... test result: OrderedDict(...)\n")
    ck = acc / "ck" / "Mamba4Rec_2020"
    ck.mkdir(parents=True)
    (ck / "Mamba4Rec-Nov-24-last.pth").write_bytes(b"x")
    (acc / "logs" / "Mamba4Rec_2020.log").write_text("epoch 0 ...\n")
    out, lines = run_suite(tmp_path, "SASRec:2020 Mamba4Rec:2020")
    assert "SASRec_2020 has finished: skipped" in out
    assert len(lines) == 1
    resumed = lines[0].split()
    assert f"--resume={ck}/Mamba4Rec-Nov-24-last.pth" in resumed and "--model=Mamba4Rec" not in resumed
    # the resumed run appends to its log instead of replacing it
    assert (acc / "logs" / "Mamba4Rec_2020.log").read_text().startswith("epoch 0 ...\n")


def test_a_log_without_checkpoint_is_kept_not_overwritten(tmp_path):
    acc = tmp_path / "acc"
    (acc / "logs").mkdir(parents=True)
    (acc / "logs" / "GRU4Rec_2020.log").write_text("17 epochs of a run whose checkpoint was lost\n")
    out, lines = run_suite(tmp_path, "GRU4Rec:2020")
    assert len(lines) == 1 and "--model=GRU4Rec" in lines[0]
    kept = [p for p in os.listdir(acc / "logs") if p.startswith("GRU4Rec_2020.log.") and p.endswith(".orphan")]
    assert len(kept) == 1 and "kept GRU4Rec_2020's earlier log" in out
    assert (acc / "logs" / kept[0]).read_text() == "17 epochs of a run whose checkpoint was lost\n"


def test_several_own_settings_become_several_arguments(tmp_path):
    _, lines = run_suite(tmp_path, "SASRec:2020:learning_rate=0.003,hidden_dropout_prob=0.2")
    args = call_for(lines, "SASRec_2020_learning_rate-0.003_hidden_dropout_prob-0.2")
    assert "--learning_rate=0.003" in args and "--hidden_dropout_prob=0.2" in args

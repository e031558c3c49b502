"""run_recbole_mamba.py: bad input gives one clear line and exit status 2; a good run exits 0."""
import os
import subprocess
import sys

from conftest import DATA_DIR, REPO_DIR

SCRIPT = os.path.join(REPO_DIR, "run_recbole_mamba.py")


def cli(*args):
    env = dict(os.environ, PYTHONPATH=REPO_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, timeout=600)


def test_unknown_model():
    r = cli("--model=Nope", "--dataset=tiny", f"--data_path={DATA_DIR}")
    assert r.returncode == 2
    assert "run_recbole_mamba: error: unknown model 'Nope'" in r.stderr and "LatentMamba" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_dataset_names_the_path(tmp_path):
    r = cli("--model=LatentMamba", "--dataset=nodata", f"--data_path={tmp_path}")
    assert r.returncode == 2
    assert os.path.join(str(tmp_path), "nodata", "nodata.inter") in r.stderr and "--data_path" in r.stderr
    assert "Traceback" not in r.stderr


def test_invalid_config_value():
    r = cli("--model=LatentMamba", "--dataset=tiny", f"--data_path={DATA_DIR}", "--n_heads=3")
    assert r.returncode == 2 and "divisible by n_heads" in r.stderr and "Traceback" not in r.stderr


def test_resume_from_a_missing_checkpoint(tmp_path):
    r = cli(f"--resume={tmp_path}/LatentMamba-x-last.pth")
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_malformed_argument():
    r = cli("--model=LatentMamba", "epochs=1")
    assert r.returncode == 2 and "--key=value" in r.stderr


def test_a_real_run_exits_zero_and_reports(tmp_path):
    r = cli("--model=Mamba4Rec", "--dataset=tiny", f"--data_path={DATA_DIR}", "--epochs=1", "--hidden_size=16",
            "--d_state=4", "--MAX_ITEM_LIST_LENGTH=20", "--show_progress=False", "--use_gpu=False",
            f"--checkpoint_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "test result" in r.stdout + r.stderr


def test_model_list_comparison_reports_failures_and_continues(tmp_path):
    out = tmp_path / "cmp"
    r = cli("--model_list=Mamba4Rec,NoSuchModel,GRU4Rec", "--dataset=tiny", f"--data_path={DATA_DIR}",
            "--epochs=1", "--hidden_size=16", "--d_state=4", "--MAX_ITEM_LIST_LENGTH=20", "--show_progress=False",
            "--use_gpu=False", f"--compare_dir={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    import csv

    rows = {row["model"]: row for row in csv.DictReader(open(out / "comparison.csv"))}
    assert rows["Mamba4Rec"]["status"] == "ok" and rows["GRU4Rec"]["status"] == "ok"
    assert rows["NoSuchModel"]["status"] == "failed" and "unknown model" in rows["NoSuchModel"]["error"]
    for model in ("Mamba4Rec", "GRU4Rec"):
        assert 0 <= float(rows[model]["test ndcg@10"]) <= 1 and int(rows[model]["epochs"]) == 1
        assert float(rows[model]["train_s_per_epoch"]) > 0 and rows[model]["best_epoch"] == "0"
    assert "| Mamba4Rec |" in (out / "comparison.md").read_text().replace("| tiny ", "")
    assert (out / "comparison.png").stat().st_size > 1000

"""run_recbole_mamba.py: bad input gives one clear line and exit status 2; a good run exits 0."""
import os
import subprocess
import sys

import pytest

from conftest import DATA_DIR, REPO_DIR

SCRIPT = os.path.join(REPO_DIR, "run_recbole_mamba.py")


def cli(*args):
    env = dict(os.environ, PYTHONPATH=REPO_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, timeout=600)


def test_unknown_model():
    r = cli("--model=Nope", "--dataset=tiny", f"--data_path={DATA_DIR}")
    assert r.returncode == 2
    assert "recbole-mamba: error: unknown model 'Nope'" in r.stderr and "LatentMamba" in r.stderr
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


@pytest.mark.parametrize("ssm", ["mamba2", "gla"])
def test_latentmamba_trains_with_the_new_heads_on_the_cpu(tmp_path, ssm):
    """--ssm=mamba2|gla through the entry point; on the CPU the heads run on the chunked PyTorch scan."""
    r = cli("--model=LatentMamba", f"--ssm={ssm}", "--dataset=tiny", f"--data_path={DATA_DIR}", "--epochs=2",
            "--show_progress=False", "--use_gpu=False", f"--checkpoint_dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    ndcg = [line.split() for line in r.stdout.splitlines() if line.strip().startswith("ndcg@10")]
    assert len(ndcg) == 1 and 0 < float(ndcg[0][2]) <= 1  # the test column of the summary


def test_model_list_comparison_reports_failures_and_continues(tmp_path):
    """--model_list is the leaderboard with one seed: a table per dataset, a failed model named under it."""
    out = tmp_path / "cmp"
    args = ["--model_list=Mamba4Rec,NoSuchModel,GRU4Rec", "--dataset=tiny", f"--data_path={DATA_DIR}", "--epochs=1",
            "--hidden_size=16", "--d_state=4", "--MAX_ITEM_LIST_LENGTH=20", "--use_gpu=False", "--seed=7",
            f"--compare_dir={out}"]
    r = cli(*args)
    assert r.returncode == 0, r.stderr[-2000:]
    import csv

    rows = {row["label"]: row for row in csv.DictReader(open(out / "runs.csv"))}
    assert set(rows) == {"Mamba4Rec", "GRU4Rec"} and {row["seed"] for row in rows.values()} == {"7"}
    for model in ("Mamba4Rec", "GRU4Rec"):
        assert 0 <= float(rows[model]["test ndcg@10"]) <= 1 and int(rows[model]["epochs"]) == 1
        assert float(rows[model]["train_s_per_epoch"]) > 0 and rows[model]["best_epoch"] == "0"
    table = (out / "tiny.md").read_text()
    assert "| Mamba4Rec | 7 |" in table and "| GRU4Rec | 7 |" in table
    failed = [line for line in table.splitlines() if line.startswith("failed: tiny__NoSuchModel__7")]
    assert len(failed) == 1 and "unknown model 'NoSuchModel'" in failed[0]
    assert (out / "tiny.png").stat().st_size > 1000
    assert f"[compare] tables: {out}/tiny.md; runs: {out}/runs.csv" in r.stdout
    r = cli(*args)  # the same command again: what is done is not run again, the failed model is tried again
    assert r.returncode == 0 and "2 of 3 runs already done; 1 to run" in r.stdout


def _one_line_error(r, *needles):
    """Exit 2, one line on stderr naming the problem, and no config dump or training before it."""
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("recbole-mamba: error: "), r.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in r.stderr and "General Hyper Parameters" not in r.stdout + r.stderr


TINY_ARGS = ("--dataset=tiny", f"--data_path={DATA_DIR}", "--use_gpu=False", "--show_progress=False")


def test_a_scan_backend_that_cannot_run_here_fails_before_the_data():
    _one_line_error(cli("--model=LatentMamba", "--scan_backend=cuda", *TINY_ARGS), "scan_backend='cuda'",
                    "scan_backend=auto")


def test_a_number_key_given_text():
    _one_line_error(cli("--model=LatentMamba", "--learning_rate=abc", *TINY_ARGS), "learning_rate must be a number")


def test_a_key_given_twice():
    _one_line_error(cli("--model=LatentMamba", "--epochs=2", "--epochs=4", *TINY_ARGS), "--epochs is given twice")


def test_a_file_where_recbole_writes_its_log_folder(tmp_path):
    (tmp_path / "log").write_text("a user's own file\n")
    env = dict(os.environ, PYTHONPATH=REPO_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, SCRIPT, "--model=LatentMamba", *TINY_ARGS], capture_output=True, text=True,
                       env=env, timeout=600, cwd=tmp_path)
    _one_line_error(r, "RecBole writes its logs into ./log/", f"{tmp_path / 'log'} is a file")
    assert (tmp_path / "log").read_text() == "a user's own file\n"


def test_epochs_below_one():
    for value in ("-1", "0"):
        _one_line_error(cli("--model=LatentMamba", f"--epochs={value}", *TINY_ARGS), "epochs must be at least 1")


def test_a_misspelt_key_is_named_with_the_likely_one(tmp_path):
    r = cli("--model=Mamba4Rec", "--epoch=1", "--epochs=1", "--hidden_size=16", "--d_state=4",
            "--MAX_ITEM_LIST_LENGTH=20", f"--checkpoint_dir={tmp_path}", *TINY_ARGS)
    assert r.returncode == 0, r.stderr[-2000:]
    warning = [line for line in r.stderr.splitlines() if "unknown config key 'epoch'" in line]
    assert len(warning) == 1 and "did you mean 'epochs'?" in warning[0]
    quiet = cli("--model=Mamba4Rec", "--epoch=1", "--check_unknown_keys=False", "--epochs=1", "--hidden_size=16",
                "--d_state=4", "--MAX_ITEM_LIST_LENGTH=20", f"--checkpoint_dir={tmp_path}", *TINY_ARGS)
    assert quiet.returncode == 0 and "unknown config key" not in quiet.stderr


def test_dataset_errors_come_before_the_config_dump(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    rows = "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t3\n1\t3\n"
    (folder / "bad.inter").write_text(rows)
    _one_line_error(cli("--model=LatentMamba", "--dataset=bad", f"--data_path={tmp_path}", "--use_gpu=False"),
                    "line 3 has 2 column(s), the header has 3")
    (folder / "bad.inter").write_text("")
    _one_line_error(cli("--model=LatentMamba", "--dataset=bad", f"--data_path={tmp_path}", "--use_gpu=False"),
                    "is empty")
    (folder / "bad.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n1\t2\tnoon\n")
    _one_line_error(cli("--model=LatentMamba", "--dataset=bad", f"--data_path={tmp_path}", "--use_gpu=False"),
                    "line 2: timestamp:float must be numeric")
    _one_line_error(cli("--model=LatentMamba", "--dataset=nothing", f"--data_path={tmp_path}", "--use_gpu=False"),
                    "not found")


def test_help_lists_a_models_keys_with_their_comments():
    r = cli("--model=LatentMamba", "--help")
    assert r.returncode == 0 and "../shared" not in r.stdout
    assert "n_heads" in r.stdout and "Number v of latent heads" in r.stdout and "valid_metric" in r.stdout
    bad = cli("--model=Nope", "--help")
    assert bad.returncode == 2 and "unknown model 'Nope'" in bad.stderr


def test_the_final_result_is_a_readable_table(tmp_path):
    r = cli("--model=Mamba4Rec", "--epochs=1", "--hidden_size=16", "--d_state=4", "--MAX_ITEM_LIST_LENGTH=20",
            f"--checkpoint_dir={tmp_path}", *TINY_ARGS)
    assert r.returncode == 0, r.stderr[-2000:]
    table = r.stdout[r.stdout.index("Mamba4Rec on tiny"):]
    assert "OrderedDict" not in table and "np.float64" not in table
    header, *rows = table.splitlines()[1:5]
    assert header.split() == ["metric", "valid", "test"]
    assert [row.split()[0] for row in rows[:3]] == ["hit@10", "ndcg@10", "mrr@10"]
    assert all(len(row.split()[1]) == 6 for row in rows[:3])  # 0.xxxx
    assert "parameters" in table and "s/epoch" in table and f"checkpoint: {tmp_path}" in table

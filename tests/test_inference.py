"""Top-K from a saved checkpoint: Python API and command line, token mapping both ways, clear errors."""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_DIR
from recbole_mamba.errors import RecBoleMambaError
from recbole_mamba.inference import Recommender
from recbole_mamba.quick_start import run


@pytest.fixture
def checkpoint(tiny_config, tmp_path):
    tiny_config.update(checkpoint_dir=str(tmp_path), epochs=2)
    return run("LatentMamba", "tiny", config_dict=tiny_config, cmd_args=[], saved=True)["saved_model_file"]


def test_recommend_history_and_users(checkpoint):
    rec = Recommender(checkpoint)
    top = rec.recommend_history(["5", "6", "7"], k=10)
    items = [t for t, _ in top]
    assert len(items) == 10 and not {"5", "6", "7"} & set(items)
    assert all(a[1] >= b[1] for a, b in zip(top, top[1:]))  # sorted by score
    assert "8" in items  # the tiny data's chains: 5, 6, 7 is mostly followed by 8
    users = rec.recommend_users(["1", "2"], k=5)
    assert set(users) == {"1", "2"} and all(len(v) == 5 for v in users.values())
    seen = {rec.dataset.id2token(rec.iid_field, i) for i in rec.histories[rec.dataset.token2id(rec.uid_field, "1")]}
    assert not seen & {t for t, _ in users["1"]}


def test_unknown_tokens_are_clear_errors(checkpoint):
    rec = Recommender(checkpoint)
    with pytest.raises(RecBoleMambaError, match=r"unknown item id\(s\) \['99999'\]"):
        rec.recommend_history(["5", "99999"])
    with pytest.raises(RecBoleMambaError, match="unknown user id"):
        rec.recommend_users(["nobody"])


def test_command_line(checkpoint):
    env = dict(os.environ, PYTHONPATH=REPO_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "recbole_mamba.inference", f"--checkpoint={checkpoint}"]
    ok = subprocess.run(cmd + ["--history=5,6,7", "--topk=3"], capture_output=True, text=True, env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr[-2000:]
    line = json.loads(ok.stdout.strip().splitlines()[-1])
    assert line["for"] == "history" and len(line["items"]) == 3
    # a fresh process loading the checkpoint predicts exactly what this process predicts
    here = Recommender(checkpoint).recommend_history(["5", "6", "7"], k=3)
    assert line["items"] == [t for t, _ in here] and line["scores"] == [round(s, 4) for _, s in here]
    bad = subprocess.run(cmd + ["--users=nobody"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "unknown user id" in bad.stderr and "Traceback" not in bad.stderr


def test_a_missing_checkpoint_is_named_as_missing(tmp_path, capsys):
    from recbole_mamba.inference import main

    assert main([f"--checkpoint={tmp_path}/nothing.pth", "--users=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("nothing.pth does not exist") and "weights_only" not in err[0]


def test_the_last_epoch_checkpoint_is_named_as_such(checkpoint, capsys):
    from recbole_mamba.trainer import last_checkpoint_file

    capsys.readouterr()
    Recommender(last_checkpoint_file(checkpoint))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds the last epoch's weights" in err[0] and checkpoint in err[0]
    Recommender(checkpoint)
    assert capsys.readouterr().err == ""

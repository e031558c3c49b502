"""benchmarks/accuracy_suite.sh: which runs it starts, resumes and skips, and with which arguments; and the other
shell scripts of issue 7 (pack_resume.sh, stop_runs.sh, poll_runs.sh, tuning_screen.sh).

A stub `python` first on PATH stands in for the trainer: it appends its arguments to a file and exits, so the test
sees every command line the suite builds without training anything.
"""
import os
import shutil
import subprocess
import time

import pytest

from conftest import REPO_DIR

SUITE = os.path.join(REPO_DIR, "benchmarks", "accuracy_suite.sh")
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def stub_trainer_env(tmp_path, seconds=0, **env):
    """An environment whose `python` appends the GPU it sees, its arguments and its OMP_NUM_THREADS to
    tmp_path/calls.txt, waits `seconds` and exits; with seconds > 0 it then also appends "end" and its arguments to
    tmp_path/ends.txt."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls.txt"
    stub = bin_dir / "python"
    body = f'echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES $@ threads=$OMP_NUM_THREADS" >> "{calls}"\n'
    if seconds:
        body += f'sleep {seconds}\necho "end $@" >> "{tmp_path / "ends.txt"}"\n'
    stub.write_text("#!/bin/sh\n" + body)
    stub.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env), calls


def run_suite(tmp_path, runs, gpus="1", extra=""):
    env, calls = stub_trainer_env(tmp_path, RUNS=runs, GPUS=gpus, EXTRA=extra)
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
    assert "CUDA_VISIBLE_DEVICES=1" in half and "CUDA_VISIBLE_DEVICES=0" in first  # set before CUDA can start
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


PACK = os.path.join(REPO_DIR, "benchmarks", "pack_resume.sh")


def make_run(base, name, log, ck_files):
    """A run as the suite leaves it: base/logs/NAME.log and base/ck/NAME/ with its checkpoint files."""
    (base / "logs").mkdir(parents=True, exist_ok=True)
    (base / "logs" / f"{name}.log").write_text(log)
    (base / "ck" / name).mkdir(parents=True, exist_ok=True)
    for f in ck_files:
        (base / "ck" / name / f).write_bytes(name.encode())


def test_pack_resume_files_tarballs_and_carries_only_resumable_checkpoints(tmp_path):
    store, carry, lease = tmp_path / "store", tmp_path / "carry", tmp_path / "lease"
    make_run(store, "SASRec_2020", "valid result\ntest result: OrderedDict(...)\n", ["S.pth", "S-last.pth"])
    make_run(store, "GRU4Rec_2020", "valid result\n", ["G-last.pth"])  # unfinished; the lease brings it further
    tarballs = []
    for name, log, ck_files in [("GRU4Rec_2020", "valid result\n" * 3, ["G-last.pth"]),
                                ("LatentMamba_2022", "valid result\n" * 2, ["L.pth", "L-last.pth"]),
                                ("HMamba_2020", "valid result\ntest result: OrderedDict(...)\n", ["H-last.pth"])]:
        make_run(lease / name, name, log, ck_files)
        tarballs.append(str(lease / f"acc_{name}.tgz"))
        subprocess.run(["tar", "czf", tarballs[-1], "-C", str(lease / name), f"logs/{name}.log", f"ck/{name}"],
                       check=True)
    (carry / "ck" / "stale_run").mkdir(parents=True)  # left from the last packing: must go
    (carry / "dev").mkdir()
    (carry / "dev" / "setup.sh").write_text("keep me")
    out = subprocess.run(["bash", PACK, str(store), str(carry), *tarballs], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert sorted(p.name for p in (carry / "ck").iterdir()) == ["GRU4Rec_2020", "LatentMamba_2022"]
    assert sorted(p.name for p in (carry / "logs").iterdir()) == [
        "GRU4Rec_2020.log", "HMamba_2020.log", "LatentMamba_2022.log", "SASRec_2020.log"]
    assert (carry / "logs" / "GRU4Rec_2020.log").read_text().count("valid result") == 3  # the lease's newer log
    assert sorted(p.name for p in (carry / "ck" / "LatentMamba_2022").iterdir()) == ["L-last.pth", "L.pth"]
    assert (carry / "dev" / "setup.sh").read_text() == "keep me"
    assert (store / "ck" / "HMamba_2020" / "H-last.pth").exists()  # filed in the store, not carried
    assert "finished: HMamba_2020" in out and "finished: SASRec_2020" in out
    assert "resumable, packed: GRU4Rec_2020 (3 epochs logged)" in out


def test_pack_resume_into_a_fresh_store_keeps_what_carry_held(tmp_path):
    """Session 16 packed into a new /tmp store and lost the finished runs' logs from benchmarks/resume/logs; a queued
    run that the lease never started would have lost its checkpoints the same way."""
    store, carry, lease = tmp_path / "store", tmp_path / "carry", tmp_path / "lease"
    make_run(carry, "SASRec_2020", "valid result\ntest result: OrderedDict(...)\n", [])
    make_run(carry, "HMamba-half_2021", "valid result\n" * 4, ["H.pth", "H-last.pth"])  # queued, not in this lease
    make_run(carry, "GRU4Rec_2020", "valid result\n", ["G-last.pth"])
    make_run(lease, "GRU4Rec_2020", "valid result\n" * 5, ["G-last.pth"])
    tarball = str(tmp_path / "acc_GRU4Rec_2020.tgz")
    subprocess.run(["tar", "czf", tarball, "-C", str(lease), "logs/GRU4Rec_2020.log", "ck/GRU4Rec_2020"], check=True)
    out = subprocess.run(["bash", PACK, str(store), str(carry), tarball], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert sorted(p.name for p in (carry / "logs").iterdir()) == [
        "GRU4Rec_2020.log", "HMamba-half_2021.log", "SASRec_2020.log"]
    assert sorted(p.name for p in (carry / "ck").iterdir()) == ["GRU4Rec_2020", "HMamba-half_2021"]
    assert sorted(p.name for p in (carry / "ck" / "HMamba-half_2021").iterdir()) == ["H-last.pth", "H.pth"]
    assert (carry / "logs" / "GRU4Rec_2020.log").read_text().count("valid result") == 5  # the tarball wins
    assert "resumable, packed: HMamba-half_2021 (4 epochs logged)" in out


def test_pack_resume_needs_both_folders(tmp_path):
    r = subprocess.run(["bash", PACK, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "usage" in r.stderr


def test_bert4rec_alone_masks_in_loader_workers(tmp_path, monkeypatch):
    _, lines = run_suite(tmp_path, "BERT4Rec:2020 SASRec:2020")
    assert "--worker=8" in call_for(lines, "BERT4Rec_2020")
    assert not any(arg.startswith("--worker") for arg in call_for(lines, "SASRec_2020"))
    monkeypatch.setenv("MASK_WORKERS", "3")
    (tmp_path / "again").mkdir()
    _, lines = run_suite(tmp_path / "again", "BERT4Rec:2021")
    assert "--worker=3" in call_for(lines, "BERT4Rec_2021")


def test_masking_benchmark_times_each_model_and_worker_count(capsys):
    import sys
    from conftest import DATA_DIR
    sys.path.insert(0, os.path.join(REPO_DIR, "benchmarks"))
    import bert4rec_masking
    bert4rec_masking.main(["--data_path", DATA_DIR, "--dataset", "tiny", "--workers", "0", "1", "--batches", "2",
                           "--config", "MAX_ITEM_LIST_LENGTH=20", "train_batch_size=64"])
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    rows = [[cell.strip() for cell in row] for row in rows if row[1].strip().isdigit()]
    assert [(r[0], r[1]) for r in rows] == [("BERT4Rec", "0"), ("BERT4Rec", "1"), ("SASRec", "0"), ("SASRec", "1")]
    for model, workers, timed, per_batch, per_epoch, data_s in rows:
        assert timed == "2" and float(per_batch) >= 0 and int(per_epoch) >= 2  # tiny batches can take < 0.00005 s


STOP = os.path.join(REPO_DIR, "benchmarks", "stop_runs.sh")


def test_stop_runs_stops_only_the_named_trainers_and_packs_every_run(tmp_path):
    import sys
    import tarfile
    acc = tmp_path / "acc"
    for tag in ("A_2020", "B_2020"):
        (acc / "ck" / tag).mkdir(parents=True)
        (acc / "ck" / tag / f"{tag}-last.pth").write_bytes(b"x")
    (acc / "ck" / "A_2020" / "A_2020.pth").write_bytes(b"best")
    (acc / "ck" / "A_2020" / "A_2020.pth.tmp").write_bytes(b"half-written")  # a save in progress: left out
    (acc / "logs").mkdir()
    (acc / "logs" / "A_2020.log").write_text("epoch 0\n")
    trainer = tmp_path / "run_recbole_mamba.py"  # stands in for ours: it only waits
    trainer.write_text("import time\ntime.sleep(120)\n")

    def start(*args):
        return subprocess.Popen(list(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    a = start(sys.executable, str(trainer), f"--checkpoint_dir={acc}/ck/A_2020")
    b = start(sys.executable, str(trainer), "--resume=x-last.pth", f"--checkpoint_dir={acc}/ck/B_2020")
    # a shell whose own command line names run A, as a device call that stops A does: it must survive
    caller = start("bash", "-c", f"sleep 120; echo python run_recbole_mamba.py --checkpoint_dir={acc}/ck/A_2020")
    try:
        time.sleep(0.5)
        env = dict(os.environ, STOP_WAIT="10")
        r = subprocess.run(["bash", STOP, str(acc), "-", "A_2020"], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and f"stopping: {a.pid}" in r.stdout, r.stdout + r.stderr
        assert a.wait(timeout=10) is not None and b.poll() is None and caller.poll() is None
        assert not list(tmp_path.glob("*.tgz"))  # OUT "-": nothing packed
        assert not (acc / "STOP").exists()  # one run stopped: a queue of the suite goes on

        snap = tmp_path / "snap"  # a poll's snapshot: everything packed, B left training
        r = subprocess.run(["bash", STOP, str(acc), str(snap)], env=dict(env, KEEP_RUNNING="1"),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and f"packing only: {b.pid}" in r.stdout, r.stdout + r.stderr
        assert b.poll() is None and (snap / "acc_A_2020.tgz").exists() and (snap / "acc_B_2020.tgz").exists()

        out = tmp_path / "out"
        r = subprocess.run(["bash", STOP, str(acc), str(out)], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and f"stopping: {b.pid}" in r.stdout, r.stdout + r.stderr
        assert b.wait(timeout=10) is not None and caller.poll() is None
        assert (acc / "STOP").exists()  # every run stopped: the suite's queue starts no more
        with tarfile.open(out / "acc_A_2020.tgz") as t:  # in the order read: -last first, the log last
            assert t.getnames() == ["ck/A_2020/A_2020-last.pth", "ck/A_2020/A_2020.pth", "logs/A_2020.log"]
        with tarfile.open(out / "acc_B_2020.tgz") as t:  # no log yet: the checkpoints alone
            assert t.getnames() == ["ck/B_2020/B_2020-last.pth"]
    finally:
        for p in (a, b, caller):
            p.kill()
            p.wait()


def test_poll_prints_the_runs_so_far_and_packs_them(tmp_path):
    import sys
    import tarfile
    acc, out, bin_dir = tmp_path / "acc", tmp_path / "out", tmp_path / "bin"
    (acc / "ck" / "A_2020").mkdir(parents=True)
    (acc / "ck" / "A_2020" / "A-last.pth").write_bytes(b"x")
    (acc / "logs").mkdir()
    (acc / "suite.log").write_text("2026-11-28T20:44:01Z resume A_2020 from ... on GPU 0\n")
    (acc / "logs" / "A_2020.log").write_text(
        "seed = 2020\n"
        "28 Nov 15:47    INFO  epoch 0 training [time: 38.10s, train loss: 3132.1341]\n"
        "28 Nov 15:47    INFO  epoch 0 evaluating [time: 1.20s, valid_score: 0.083500]\n")
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)  # the script runs `python`, as on the GPU machine
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    trainer = tmp_path / "run_recbole_mamba.py"  # stands in for ours: it only waits
    trainer.write_text("import time\ntime.sleep(120)\n")
    busy = subprocess.Popen([sys.executable, str(trainer), f"--checkpoint_dir={acc}/ck/A_2020"])
    try:
        time.sleep(0.5)
        r = subprocess.run(["bash", os.path.join(REPO_DIR, "benchmarks", "poll_runs.sh"), str(acc), str(out)],
                           env=env, capture_output=True, text=True, timeout=60)
    finally:
        busy.kill()
        busy.wait()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "load average " in r.stdout and "A_2020: " in r.stdout and " threads" in r.stdout
    row = next(line for line in r.stdout.splitlines() if line.startswith("| A_2020 "))
    assert "running or interrupted" in row and "0.0835" in row
    assert "packing only" in r.stdout
    with tarfile.open(out / "acc_A_2020.tgz") as t:
        assert t.getnames() == ["ck/A_2020/A-last.pth", "logs/A_2020.log"]
    assert (out / "suite.log").read_text() == (acc / "suite.log").read_text()


def test_tuning_screens_are_dealt_out_to_the_gpus(tmp_path):
    env, calls = stub_trainer_env(tmp_path, GPUS="2", SCREENS="dropout width depth nosuchspace")
    out = subprocess.run(["bash", os.path.join(REPO_DIR, "benchmarks", "tuning_screen.sh"), str(tmp_path / "tune")],
                         env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    gpu_of = {}
    for line in calls.read_text().splitlines():
        space = next(a for a in line.split() if a.startswith("--params_file=")).rsplit("/", 1)[1]
        visible = line.split()[0].split("=")[1]
        assert f"--gpu_id={visible}" in line.split() and "--epochs=20" in line.split()
        gpu_of[space] = visible
    assert gpu_of == {"dropout.hyper": "0", "width.hyper": "1", "depth.hyper": "0"}
    assert "nosuchspace.hyper: skipped" in out and "all screens ended" in out


def test_per_gpu_queue_starts_a_waiting_run_on_the_gpu_that_frees(tmp_path):
    env, calls = stub_trainer_env(tmp_path, seconds=2, RUNS="A:2020 B:2020 C:2020 D:2020", GPUS="2", PER_GPU="1",
                                  QUEUE_POLL="0.2")
    ends = tmp_path / "ends.txt"
    suite = subprocess.Popen(["bash", SUITE, str(tmp_path / "acc")], env=env, stdout=subprocess.PIPE, text=True)
    time.sleep(1)  # A and B train (2 s each); C and D wait
    first = calls.read_text().splitlines()
    assert [call_for(first, t)[0] for t in ("A_2020", "B_2020")] == ["CUDA_VISIBLE_DEVICES=0", "CUDA_VISIBLE_DEVICES=1"]
    assert len(first) == 2 and not ends.exists()
    out = suite.communicate(timeout=60)[0]
    lines = calls.read_text().splitlines()
    assert len(lines) == 4 and len(ends.read_text().splitlines()) == 4
    assert {call_for(lines, "C_2020")[0], call_for(lines, "D_2020")[0]} == {"CUDA_VISIBLE_DEVICES=0",
                                                                           "CUDA_VISIBLE_DEVICES=1"}
    assert "C_2020 waits for a GPU (1 run(s) on each)" in out and "all runs ended" in out


def test_a_stop_file_ends_the_queue(tmp_path):
    env, calls = stub_trainer_env(tmp_path, seconds=2, RUNS="A:2020 B:2020 C:2020", GPUS="1", PER_GPU="1",
                                  QUEUE_POLL="0.2")
    suite = subprocess.Popen(["bash", SUITE, str(tmp_path / "acc")], env=env, stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    (tmp_path / "acc" / "STOP").touch()  # as stop_runs.sh does when it stops every run
    out = suite.communicate(timeout=60)[0]
    assert len(calls.read_text().splitlines()) == 1  # A alone ran
    assert "STOP is there: B_2020 and the runs after it not started" in out
    assert not (tmp_path / "acc" / "ck" / "B_2020").exists()  # nothing to pack for runs never started


@pytest.mark.parametrize("threads", ["16", None])
def test_threads_caps_every_run_only_when_asked(tmp_path, threads):
    env, calls = stub_trainer_env(tmp_path, RUNS="A:2020 B:2020:learning_rate=0.003", GPUS="2")
    env.pop("OMP_NUM_THREADS", None)
    if threads:
        env["THREADS"] = threads
    subprocess.run(["bash", SUITE, str(tmp_path / "acc")], env=env, capture_output=True, timeout=60, check=True)
    lines = calls.read_text().splitlines()
    assert len(lines) == 2 and all(line.endswith(f"threads={threads or ''}") for line in lines)


def test_poll_on_a_fresh_machine_exits_at_once_without_waiting(tmp_path):
    # session 15: the machine went back between two calls and the next poll slept 540 s on an empty one
    started = time.monotonic()
    r = subprocess.run(["bash", os.path.join(REPO_DIR, "benchmarks", "poll_runs.sh"), str(tmp_path / "acc"),
                        str(tmp_path / "out"), "30"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 3
    assert "fresh one" in r.stderr and "benchmarks/resume/README.md" in r.stderr
    assert time.monotonic() - started < 10  # it did not sleep the 30 s asked for
    assert not (tmp_path / "out").exists()


def test_gpu_ids_give_the_suite_only_those_gpus(tmp_path):
    # round-robin over GPUs 2 and 3 (GPUS, had it been read, would have dealt out 0, 1, 2)
    env, calls = stub_trainer_env(tmp_path, RUNS="A:2020 B:2020 C:2020", GPUS="3", GPU_IDS="2,3")
    out = subprocess.run(["bash", SUITE, str(tmp_path / "acc")], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    lines = calls.read_text().splitlines()
    assert [call_for(lines, t)[0] for t in ("A_2020", "B_2020", "C_2020")] == [
        "CUDA_VISIBLE_DEVICES=2", "CUDA_VISIBLE_DEVICES=3", "CUDA_VISIBLE_DEVICES=2"]
    assert "--gpu_id=3" in call_for(lines, "B_2020") and "start C_2020 on GPU 2" in out


def test_gpu_ids_queue_uses_only_those_gpus(tmp_path):
    env, calls = stub_trainer_env(tmp_path, seconds=1, RUNS="A:2020 B:2020 C:2020", GPU_IDS="1", PER_GPU="1",
                                  QUEUE_POLL="0.2")
    out = subprocess.run(["bash", SUITE, str(tmp_path / "acc")], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    lines = calls.read_text().splitlines()
    assert len(lines) == 3 and all(line.startswith("CUDA_VISIBLE_DEVICES=1 ") for line in lines)
    assert len((tmp_path / "ends.txt").read_text().splitlines()) == 3  # one at a time on GPU 1, each waited for
    assert "B_2020 waits for a GPU (1 run(s) on each)" in out


def test_tuning_screens_take_the_gpu_ids_given(tmp_path):
    env, calls = stub_trainer_env(tmp_path, GPU_IDS="2,3", SCREENS="dropout width depth")
    subprocess.run(["bash", os.path.join(REPO_DIR, "benchmarks", "tuning_screen.sh"), str(tmp_path / "tune")],
                   env=env, capture_output=True, text=True, timeout=60, check=True)
    gpu_of = {next(a for a in line.split() if a.startswith("--params_file=")).rsplit("/", 1)[1]: line.split()[0]
              for line in calls.read_text().splitlines()}
    assert gpu_of == {"dropout.hyper": "CUDA_VISIBLE_DEVICES=2", "width.hyper": "CUDA_VISIBLE_DEVICES=3",
                      "depth.hyper": "CUDA_VISIBLE_DEVICES=2"}


def test_a_gpu_named_twice_runs_two_screens_on_it_at_once(tmp_path):
    # the one-GPU kind: GPU_IDS=0,0 deals the screens into two queues that both train on GPU 0, side by side
    env, calls = stub_trainer_env(tmp_path, seconds=2, GPU_IDS="0,0", SCREENS="dropout state heads")
    screens = subprocess.Popen(["bash", os.path.join(REPO_DIR, "benchmarks", "tuning_screen.sh"),
                                str(tmp_path / "tune")], env=env, stdout=subprocess.PIPE, text=True)
    time.sleep(1)  # dropout and state train (2 s each); heads waits behind dropout
    first = calls.read_text().splitlines()
    assert not (tmp_path / "ends.txt").exists()
    assert sorted(line.split("--params_file=")[1].split()[0].rsplit("/", 1)[1] for line in first) == [
        "dropout.hyper", "state.hyper"]
    assert "all screens ended" in screens.communicate(timeout=60)[0]
    lines = calls.read_text().splitlines()
    assert len(lines) == 3 and "heads.hyper" in lines[2]
    assert all(line.startswith("CUDA_VISIBLE_DEVICES=0 ") and "--gpu_id=0" in line for line in lines)


def test_poll_brings_back_the_screens_logs_and_tables_without_model_files(tmp_path):
    import sys
    import tarfile
    acc, out, tune, bin_dir = tmp_path / "acc", tmp_path / "out", tmp_path / "tune", tmp_path / "bin"
    (acc / "ck" / "A_2020").mkdir(parents=True)
    (acc / "ck" / "A_2020" / "A-last.pth").write_bytes(b"x")
    (acc / "logs").mkdir()
    (acc / "logs" / "A_2020.log").write_text("seed = 2020\n")
    (tune / "heads" / "saved").mkdir(parents=True)
    (tune / "heads.log").write_text("trial 1\n")
    (tune / "heads" / "LatentMamba-curves.csv").write_text("trial,epoch,ndcg@10\n")
    (tune / "heads" / "saved" / "LatentMamba-x.pth").write_bytes(b"model")
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", TUNE=str(tune))
    r = subprocess.run(["bash", os.path.join(REPO_DIR, "benchmarks", "poll_runs.sh"), str(acc), str(out)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    with tarfile.open(out / "tune.tgz") as t:
        assert sorted(t.getnames()) == ["./heads.log", "./heads/LatentMamba-curves.csv"]
    assert (out / "acc_A_2020.tgz").exists()


def test_poll_with_logs_only_packs_every_log_in_one_tarball(tmp_path):
    import sys
    import tarfile
    acc, out, bin_dir = tmp_path / "acc", tmp_path / "out", tmp_path / "bin"
    (acc / "logs").mkdir(parents=True)
    for tag in ("A_2020_dataset-x", "A_2021_dataset-x", "B_2020_dataset-y"):
        (acc / "ck" / tag).mkdir(parents=True)
        (acc / "ck" / tag / "A-last.pth").write_bytes(b"x")
        (acc / "logs" / f"{tag}.log").write_text("seed = 2020\n")
    (acc / "suite.log").write_text("start\n")
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", LOGS_ONLY="1")
    r = subprocess.run(["bash", os.path.join(REPO_DIR, "benchmarks", "poll_runs.sh"), str(acc), str(out)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["logs.tgz", "suite.log"]  # no checkpoint, no tarball per run
    with tarfile.open(out / "logs.tgz") as t:
        assert sorted(n for n in t.getnames() if n.endswith(".log")) == [
            "logs/A_2020_dataset-x.log", "logs/A_2021_dataset-x.log", "logs/B_2020_dataset-y.log"]


def test_a_runs_own_dataset_comes_after_the_suites_and_names_the_run(tmp_path, monkeypatch):
    # the tie-order runs (benchmarks/ties.yaml): NAME:SEED:dataset=ml-100k-file trains there, not on ml-1m
    out, lines = run_suite(tmp_path, "SASRec:2020:dataset=ml-100k-file")
    args = call_for(lines, "SASRec_2020_dataset-ml-100k-file")
    assert [a for a in args if a.startswith("--dataset=")] == ["--dataset=ml-1m", "--dataset=ml-100k-file"]
    import recbole_mamba.quick_start
    import run_recbole_mamba
    seen = {}
    monkeypatch.setattr(recbole_mamba.quick_start, "run", lambda **kw: seen.update(kw))
    assert run_recbole_mamba.main([a for a in args if a.startswith("--")]) == 0
    assert seen["dataset"] == "ml-100k-file" and seen["model"] == "SASRec"  # the last --dataset wins

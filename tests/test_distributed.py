"""Several processes with torch.distributed (gloo on the CPU): exact evaluation, training and resuming, failures."""
import glob
import time

import pytest
import torch

from conftest import TINY
from recbole_mamba import distributed
from recbole_mamba.quick_start import make_config, run

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not built in")


def settings(tmp_path, **extra):
    return {**TINY, "checkpoint_dir": str(tmp_path), "scan_backend": "torch", "epochs": 2, **extra}


def test_several_processes_report_the_metrics_of_one_for_the_same_weights(tmp_path):
    single = run("Mamba4Rec", "tiny", config_dict=settings(tmp_path), cmd_args=[])
    last = glob.glob(str(tmp_path / "*-last.pth"))[0]
    # the finished run resumed on ranks that share the test users unevenly (120 users over 7: 18 or 17 each, where
    # RecBole's sampler would pad with repeated users): nothing left to train, the best model evaluated
    several = run("Mamba4Rec", "tiny", config_dict=settings(tmp_path, nproc=7), cmd_args=[], resume=last)
    assert several["test_result"] == single["test_result"]
    assert several["best_valid_result"] == single["best_valid_result"]


def test_two_processes_train_and_resume(tmp_path):
    first = run("LatentMamba", "tiny", config_dict=settings(tmp_path, nproc=2, epochs=1, train_positions="all"),
                cmd_args=[])
    assert first["epochs"] == 1 and 0 <= first["test_result"]["ndcg@10"] <= 1
    last = glob.glob(str(tmp_path / "*-last.pth"))[0]
    resumed = run("LatentMamba", "tiny", config_dict=settings(tmp_path, nproc=2, epochs=2, train_positions="all"),
                  cmd_args=[], resume=last)
    assert resumed["epochs"] == 2 and 0 <= resumed["test_result"]["ndcg@10"] <= 1


def _fail_on_rank_one(local_rank, rank_settings, out):
    if local_rank == 1:
        raise ValueError("the data of rank 1 is unreadable")
    time.sleep(60)  # rank 0 would wait on rank 1 for ever: the launcher must stop it


def test_a_failing_rank_ends_the_run_with_one_line(tmp_path):
    config = make_config("Mamba4Rec", "tiny", config_dict=settings(tmp_path, nproc=2), cmd_args=[])
    start = time.perf_counter()
    with pytest.raises(distributed.DistributedRunError, match="rank 1 failed: ValueError: the data of rank 1"):
        distributed.launch(_fail_on_rank_one, config)
    assert time.perf_counter() - start < 30


def test_exact_reduction_weighs_users_not_batches():
    assert distributed.EXACT_DECIMALS > 4
    import os

    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo", rank=0, world_size=1,
                                             init_method=f"tcp://127.0.0.1:{distributed.free_port()}")
    try:
        assert distributed.reduce_exact({"ndcg@10": 0.123456789}, 7, torch.device("cpu"), 4) == {"ndcg@10": 0.1235}
    finally:
        torch.distributed.destroy_process_group()

"""Training on several processes with torch.distributed, under RecBole's keys (`nproc`, `world_size`, `ip`, `port`,
`offset`), for our models and RecBole's:

    recbole-mamba --model=LatentMamba --dataset=ml-1m --nproc=4                     # one node, GPUs 0-3
    recbole-mamba ... --nproc=4 --world_size=8 --ip=HEAD --port=29500 --offset=0    # node 0 of two (node 1: --offset=4)

Each process is one rank of DistributedDataParallel (nccl on GPUs, gloo on CPUs) and trains on its share of every
batch: the global batch stays `train_batch_size`. Rank 0 logs and writes the checkpoints. Evaluation is exact: each
rank ranks a disjoint share of the users (none twice, none padded, unlike RecBole's DistributedSampler) and the
metrics are reduced as sums over users, so N processes report what one process reports for the same weights.
A failure in any rank stops every rank and ends the run with one line naming the rank.
"""
import os
import pickle
import socket
import tempfile

import torch

from recbole_mamba.errors import RecBoleMambaError

EXACT_DECIMALS = 12  # ranks keep their metrics unrounded until the reduction


class DistributedRunError(RecBoleMambaError, RuntimeError):
    pass


def wanted(config):
    """True in the process a user started with nproc > 1 (the launcher), False in ranks and single runs."""
    return (config["nproc"] or 1) > 1 and config["single_spec"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_settings(config):
    """The settings every rank adds to the user's: RecBole's keys with their single-node defaults."""
    nproc = int(config["nproc"])
    settings = {"nproc": nproc, "world_size": int(config["world_size"] or nproc), "offset": int(config["offset"] or 0),
                "ip": config["ip"] or "127.0.0.1", "port": int(config["port"] or free_port())}
    if torch.cuda.is_available() and str(config["gpu_id"]) == "0" and nproc > 1:
        settings["gpu_id"] = ",".join(str(i) for i in range(nproc))  # RecBole's default '0' shows one GPU
    return settings


def launch(fn, config, *args):
    """Run fn(local_rank, settings, out_dir, *args) in config['nproc'] processes; return what rank 0 left in
    out_dir/result.pkl (None on a node other than the first)."""
    import torch.multiprocessing as mp

    settings = rank_settings(config)
    with tempfile.TemporaryDirectory() as out:
        try:
            mp.spawn(fn, args=(settings, out, *args), nprocs=settings["nproc"], join=True)
        except mp.ProcessRaisedException as exc:
            last = [line for line in str(exc).strip().splitlines() if line.strip()][-1]
            raise DistributedRunError(f"rank {exc.error_index + settings['offset']} failed: {last.strip()}") from None
        except mp.ProcessExitedException as exc:
            raise DistributedRunError(f"rank {exc.error_index + settings['offset']} exited with code "
                                      f"{exc.exit_code}") from None
        path = os.path.join(out, "result.pkl")
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return pickle.load(f)


def leave_result(out, rank, result):
    if rank == 0:
        with open(os.path.join(out, "result.pkl"), "wb") as f:
            pickle.dump(result, f)


class single_spec_loaders:
    """Within it, RecBole builds plain loaders (no DistributedSampler) from `config`."""

    def __init__(self, config):
        self.config = config

    def __enter__(self):
        self.before, self.config["single_spec"] = self.config["single_spec"], True

    def __exit__(self, *exc):
        self.config["single_spec"] = self.before


def init_process_group(config):
    """What RecBole's Config._init_device does for a rank, with gloo where there is no GPU per process."""
    d = config
    gpus = [g for g in str(d["gpu_id"]).split(",") if g.strip()]
    use_cuda = torch.cuda.is_available() and d["use_gpu"] is not False and len(gpus) >= d["nproc"]
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if use_cuda else "gloo",
                                             rank=d["local_rank"] + (d["offset"] or 0), world_size=d["world_size"],
                                             init_method=f"tcp://{d['ip']}:{d['port']}")
    if use_cuda:
        torch.cuda.set_device(d["local_rank"])
    return torch.device("cuda", d["local_rank"]) if use_cuda else torch.device("cpu")


def subset_loader(config, data, rows):
    """A full-ranking loader of the eval loader `data`'s `rows` (an index or a mask), a plain one in every process
    (RecBole gives every loader a padding DistributedSampler in a rank otherwise)."""
    from recbole.data.dataloader import FullSortEvalDataLoader

    part = data._dataset.copy(data._dataset.inter_feat[rows])
    with single_spec_loaders(config):
        return FullSortEvalDataLoader(config, part, data._sampler, shuffle=False)


def shard(config, data):
    """The eval loader `data` cut to this rank's users: rows rank, rank + world, ... (no padding)."""
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    return subset_loader(config, data, torch.arange(rank, len(data._dataset), world))


def reduce_exact(result, rows, device, decimals):
    """Per-rank means over `rows` users -> the mean over all users of all ranks, rounded to `decimals`."""
    keys = sorted(result)
    local = torch.tensor([float(result[k]) * rows for k in keys] + [float(rows)], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(local)
    total = local[-1].item()
    return {k: round(local[i].item() / total, decimals) for i, k in enumerate(keys)}


def same_on_every_rank(value):
    """Rank 0's `value` (e.g. the checkpoint file name, which RecBole derives from each process's clock)."""
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]

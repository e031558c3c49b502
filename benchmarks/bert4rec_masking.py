"""Time RecBole's training batches without a model: BERT4Rec's masking against SASRec's plain batches.

RecBole's BERT4Rec masks every training batch in a Python loop (`recbole.data.transform.MaskItemSequence`), on the
CPU, in the process that collates the batch. With `worker: 0` that is the training process itself, so the GPU
waits for it; with `worker: N` N loader processes mask batches ahead of the training step. This script measures
the data side alone: the seconds per batch each setting takes to hand over training batches, and what that makes
per epoch. It prints numbers measured in one run; the accuracy suite (benchmarks/accuracy_suite.sh) picks the
BERT4Rec worker count from them.

    python benchmarks/bert4rec_masking.py --data_path ../shared/datasets --workers 0 2 --batches 100
"""
import argparse
import os
import sys
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from recbole_mamba.quick_start import load_dataset, make_config  # noqa: E402  (after the path fix)
from recbole.data import data_preparation  # noqa: E402


def seconds_per_batch(train_data, batches):
    """Mean seconds per training batch over `batches` batches, from the loader's first request."""
    start, n = time.perf_counter(), 0
    for _ in train_data:
        n += 1
        if n == batches:
            break
    return (time.perf_counter() - start) / n, n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_path", default=os.path.join("..", "shared", "datasets"))
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--models", nargs="+", default=["BERT4Rec", "SASRec"])
    parser.add_argument("--workers", nargs="+", type=int, default=[0, 2])
    parser.add_argument("--batches", type=int, default=100, help="batches timed per setting")
    parser.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                        help="more settings, e.g. MAX_ITEM_LIST_LENGTH=50 (values are read as YAML)")
    args = parser.parse_args(argv)
    extra = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in args.config)}

    print(f"cpu cores: {os.cpu_count()}; {args.batches} batches per setting")
    print("| model | worker | batches timed | s/batch | batches/epoch | data s/epoch |")
    print("|---|---|---|---|---|---|")
    for model in args.models:
        config = make_config(model=model, dataset=args.dataset, cmd_args=[], config_dict={
            "data_path": args.data_path, "use_gpu": False, "show_progress": False, "state": "WARNING", **extra})
        built, _, _ = data_preparation(config, load_dataset(config))
        for workers in args.workers:
            config["worker"] = workers  # read when a loader is made: a new loader over the same split
            train_data = type(built)(config, built._dataset, built._sampler, shuffle=True)
            per_batch, n = seconds_per_batch(train_data, args.batches)
            per_epoch = per_batch * len(train_data)
            print(f"| {model} | {workers} | {n} | {per_batch:.4f} | {len(train_data)} | {per_epoch:.0f} |", flush=True)


if __name__ == "__main__":
    main()

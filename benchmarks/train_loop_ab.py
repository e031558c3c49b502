"""The two epoch loops of our trainers side by side: RecBole's (train_loop: recbole, a host sync per batch) and the
overlapped one (train_loop: overlapped), on the first batches of a real training epoch.

    python benchmarks/train_loop_ab.py [--model LatentMamba] [--dataset ml-1m] [--batches 100] [--rounds 2] \
        [--data_path=/tmp/datasets --enable_amp=True ...]

Each run starts from the same random states (model init, dropout, the loader's shuffle), so both loops see the same
batches and must end with the same summed loss and the same weights ("same_loss", "same_weights"); with two or more
rounds, "each_loop_repeats" says whether one loop run twice gives the same loss and weights, the control for those.
One warm-up run comes first (Triton compiles, TorchScript optimizes); then the loops alternate for --rounds rounds.
Prints one JSON line per timed run (seconds, ms per batch) and the ratio recbole / overlapped of the medians.
On a CPU both loops do the same work; the difference is meant for a GPU, where the host syncs leave it idle.
"""
import argparse
import json
import statistics
import tempfile
import time

import torch


class FirstBatches:
    """The first `n` batches of a RecBole loader, standing in for the whole loader in `_train_epoch`."""

    def __init__(self, loader, n):
        self.loader, self.n = loader, n

    def __len__(self):
        return min(self.n, len(self.loader))

    def __iter__(self):
        for i, batch in enumerate(self.loader):
            if i >= self.n:
                break
            yield batch

    def __getattr__(self, name):
        return getattr(self.loader, name)


def same_weights(x, y):
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="LatentMamba")
    p.add_argument("--dataset", default="ml-1m")
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--rounds", type=int, default=2)
    args, rest = p.parse_known_args()
    from recbole.data import data_preparation

    from recbole_mamba.quick_start import load_dataset, make_config
    from recbole_mamba.trainer import restore_rng_state, rng_state
    from recbole_mamba.utils import get_model, get_trainer

    config = make_config(args.model, args.dataset, config_dict={"show_progress": False,
                                                                "checkpoint_dir": tempfile.mkdtemp()}, cmd_args=rest)
    train_data, _, _ = data_preparation(config, load_dataset(config))
    batches = FirstBatches(train_data, args.batches)
    start = rng_state(train_data)
    sync = torch.cuda.synchronize if config["device"].type == "cuda" else (lambda: None)

    def run(loop):
        restore_rng_state(start, train_data)
        config["train_loop"] = loop
        model = get_model(args.model)(config, train_data._dataset).to(config["device"])
        trainer = get_trainer(config["MODEL_TYPE"], args.model)(config, model)
        sync()
        t0 = time.perf_counter()
        loss = trainer._train_epoch(batches, 0)
        sync()
        return time.perf_counter() - t0, loss, model.state_dict()

    run("overlapped")  # warm-up
    seconds = {"recbole": [], "overlapped": []}
    same_loss = equal_weights = repeats = True
    first = {}
    for r in range(args.rounds):
        ends = {}
        for loop in ("recbole", "overlapped") if r % 2 == 0 else ("overlapped", "recbole"):
            s, loss, weights = run(loop)
            seconds[loop].append(s)
            ends[loop] = (loss, weights)
            if loop in first:  # the same loop again: does this machine repeat a run to the bit at all?
                (a, wa), (b, wb) = first[loop], ends[loop]
                repeats &= a == b and same_weights(wa, wb)
            else:
                first[loop] = ends[loop]
            print(json.dumps({"round": r, "loop": loop, "batches": len(batches), "seconds": round(s, 3),
                              "ms_per_batch": round(1000 * s / len(batches), 2), "loss": loss}))
        (a, wa), (b, wb) = ends["recbole"], ends["overlapped"]
        same_loss &= a == b
        equal_weights &= same_weights(wa, wb)
    ratio = statistics.median(seconds["recbole"]) / statistics.median(seconds["overlapped"])
    print(json.dumps({"model": args.model, "dataset": args.dataset, "device": str(config["device"]),
                      "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                      "torch": torch.__version__, "batch": config["train_batch_size"],
                      "enable_amp": config["enable_amp"], "same_loss": same_loss, "same_weights": equal_weights,
                      "each_loop_repeats": repeats if args.rounds > 1 else None,
                      "recbole_over_overlapped": round(ratio, 3)}))


if __name__ == "__main__":
    main()

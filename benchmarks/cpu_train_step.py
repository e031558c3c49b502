"""Time one training step (forward, backward, Adam) of a model on the CPU, on a real batch of a RecBole dataset.

    python benchmarks/cpu_train_step.py [--model LatentMamba] [--dataset ml-100k] [--steps 3] [--profile 12]

The batch is the first of the training loader under the model's shipped config (for ml-100k: the dataset that
ships with the package, B=2048, L=50). Prints the median and every step's seconds after one warm-up step, then
the ops that took the most time in one more step (torch.profiler, self CPU time) when --profile > 0.
"""
import argparse
import json
import platform
import statistics
import time

import torch


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="LatentMamba")
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--profile", type=int, default=12, help="rows of the op profile (0: none)")
    args, rest = p.parse_known_args()
    from recbole.data import data_preparation

    from recbole_mamba.quick_start import load_dataset, make_config
    from recbole_mamba.utils import get_model

    config = make_config(args.model, args.dataset, config_dict={"show_progress": False, "use_gpu": False},
                         cmd_args=rest)
    train_data, _, _ = data_preparation(config, load_dataset(config))
    model = get_model(args.model)(config, train_data._dataset).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config["learning_rate"])
    batch = next(iter(train_data))

    def step():
        optimizer.zero_grad()
        model.calculate_loss(batch).backward()
        optimizer.step()

    step()  # warm-up
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"model": args.model, "dataset": args.dataset, "batch": len(batch),
                      "max_len": config["MAX_ITEM_LIST_LENGTH"], "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
                      "median_step_s": round(statistics.median(times), 3), "steps_s": [round(t, 3) for t in times]}))
    if args.profile > 0:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.profile))


if __name__ == "__main__":
    main()

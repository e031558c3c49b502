"""Every-position training step on a large synthetic catalog: full CE vs chunked CE vs sampled softmax.

    python benchmarks/bench_objective.py [--items 1000000] [--batch 128] [--length 100] [--reps 5]
    python benchmarks/bench_objective.py --write DIR [--items 1000000 --users 200000 --mean_len 100]

Sequences come from `synthetic_sequences`: item popularity is Zipf(1.1) over the catalog and, with probability
0.6, the next item follows the previous one by a learnable rule (a small Zipf-distributed step in a fixed random
permutation of the items), so a model can learn the structure. The step is LatentMamba's (width 64, shipped
defaults otherwise) with `train_positions: all`, bf16 autocast on a GPU: forward, loss, backward, Adam. For each loss
it prints positions/s and peak memory (torch.cuda.max_memory_allocated), or the out-of-memory error. `--write DIR`
writes the dataset as RecBole atomic files instead (DIR/synthetic/synthetic.inter) for end-to-end runs.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def synthetic_sequences(n_items, n_users, mean_len, seed=0, min_len=5):
    """[array of item ids 1..n_items] per user (Zipf popularity plus a learnable next-item rule)."""
    rng = np.random.default_rng(seed)
    ranks = rng.permutation(n_items) + 1  # item id of popularity rank r
    order = rng.permutation(n_items) + 1  # the learnable chain: item order[k] tends to be followed by order[k+s]
    where = np.empty(n_items + 1, dtype=np.int64)
    where[order] = np.arange(n_items)
    lengths = np.maximum(min_len, rng.geometric(1.0 / mean_len, n_users))
    seqs = []
    for n in lengths:
        popular = ranks[np.minimum(rng.zipf(1.1, n), n_items) - 1]
        follow = rng.random(n) < 0.6
        steps = np.minimum(rng.zipf(2.0, n), 50)
        seq = popular.copy()
        for t in range(1, n):
            if follow[t]:
                seq[t] = order[(where[seq[t - 1]] + steps[t]) % n_items]
        seqs.append(seq)
    return seqs


def write_atomic(seqs, folder):
    os.makedirs(os.path.join(folder, "synthetic"), exist_ok=True)
    path = os.path.join(folder, "synthetic", "synthetic.inter")
    with open(path, "w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for user, seq in enumerate(seqs, start=1):
            f.write("".join(f"{user}\t{item}\t{t}\n" for t, item in enumerate(seq)))
    return path


class _Data:
    """What RecBole's SequentialRecommender reads from a dataset: field names and the item count."""

    def __init__(self, n_items):
        self.n_items = n_items
        self.uid_field, self.iid_field = "user_id", "item_id"

    def num(self, field):
        return self.n_items


def make_model(n_items, length, loss):
    from recbole_mamba.quick_start import make_config
    from recbole_mamba.model.sequential_recommender.latentmamba import LatentMamba

    extra = {"full": {}, "chunked": {"ce_chunk_size": 1024}, "sampled": {"sampled_negatives": 256},
             "in_batch": {"sampled_negatives": 256, "negative_source": "in_batch"}}[loss]
    config = make_config("LatentMamba", "ml-100k", config_dict={
        "train_positions": "all", "MAX_ITEM_LIST_LENGTH": length, "use_gpu": torch.cuda.is_available(),
        "data_path": "/nonexistent", **extra}, cmd_args=[])
    return LatentMamba(config, _Data(n_items)).to(config["device"]), config["device"]


def batches(seqs, batch, length, device, n, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        rows = rng.integers(0, len(seqs), batch)
        seq = torch.zeros(batch, length, dtype=torch.long)
        lens = torch.zeros(batch, dtype=torch.long)
        target = torch.zeros(batch, dtype=torch.long)
        for i, r in enumerate(rows):
            s = seqs[r][-(length + 1):]
            seq[i, : len(s) - 1] = torch.as_tensor(s[:-1])
            lens[i], target[i] = len(s) - 1, int(s[-1])
        yield {"item_id_list": seq.to(device), "item_length": lens.to(device), "item_id": target.to(device)}


def bench(loss, seqs, n_items, batch, length, reps):
    from recbole.data.interaction import Interaction

    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    model, device = make_model(n_items, length, loss)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = list(batches(seqs, batch, length, device, reps + 2))
    positions = sum(int(b["item_length"].sum()) for b in data[2:])
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    try:
        for i, b in enumerate(data):
            if i == 2:
                torch.cuda.synchronize() if device.type == "cuda" else None
                start = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss_value = model.calculate_loss(Interaction(b))
            opt.zero_grad()
            loss_value.backward()
            opt.step()
        torch.cuda.synchronize() if device.type == "cuda" else None
        seconds = time.perf_counter() - start
    except torch.OutOfMemoryError as exc:
        return {"loss": loss, "error": f"out of memory: {str(exc).splitlines()[0][:120]}"}
    finally:
        del opt
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
    return {"loss": loss, "positions_per_s": positions / seconds, "sequences_per_s": reps * batch / seconds,
            "peak_gib": peak, "last_loss": float(loss_value)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=1_000_000)
    p.add_argument("--users", type=int, default=20_000, help="users generated (--write: all of them are written)")
    p.add_argument("--mean_len", type=int, default=100)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--length", type=int, default=100)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--losses", default="sampled,in_batch,chunked,full")
    p.add_argument("--write", default=None, help="write the dataset as RecBole atomic files into this folder")
    args = p.parse_args(argv)
    seqs = synthetic_sequences(args.items, args.users, args.mean_len)
    print(f"synthetic: {args.items:,} items, {len(seqs):,} users, mean length {np.mean([len(s) for s in seqs]):.1f}",
          flush=True)
    if args.write:
        print(f"wrote {write_atomic(seqs, args.write)}")
        return 0
    rows = []
    for loss in args.losses.split(","):
        rows.append(bench(loss, seqs, args.items, args.batch, args.length, args.reps))
        print(json.dumps(rows[-1]), flush=True)
    print("\n| loss | positions/s | peak GiB |\n|---|---|---|")
    for r in rows:
        print(f"| {r['loss']} | " + (f"{r['positions_per_s']:,.0f} | {r['peak_gib'] or 0:.1f} |" if "error" not in r
                                     else f"{r['error']} | – |"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

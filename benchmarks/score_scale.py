"""Score scale of trained checkpoints: how far apart the logits of one user's items can be, and what bounds them.

    python benchmarks/score_scale.py CHECKPOINT [CHECKPOINT ...] [--data_path=DIR] [--users=1024]

For each checkpoint (any of our models), on the last MAX_ITEM_LIST_LENGTH items of up to --users users: the logit
spread (max - median and max - min over all items, mean over users), the item and user vector norms, and for
HMamba full the curvature c, the tangent-norm cap R / sqrt(c), the fraction of clipped vectors and the bound of the
distance logits: with the user at geodesic radius a and items at radius <= r, -d spans at most 2r (triangle
inequality: |d(u, i) - d(u, j)| <= d(i, j) <= r_i + r_j).
"""
import argparse
import math
import sys

import torch

sys.path.insert(0, ".")
from recbole_mamba.inference import Recommender  # noqa: E402


def quantiles(x, qs=(0.5, 0.9, 1.0)):
    return " ".join(f"{float(torch.quantile(x.float(), q)):.3f}" for q in qs)


@torch.no_grad()
def report(path, data_path, n_users, device):
    rec = Recommender(path, data_path=data_path, device=device)
    model, L = rec.model, rec.max_len
    users = list(rec.histories)[:n_users]
    seqs = [torch.as_tensor(rec.histories[u][-L:]) for u in users]
    lengths = torch.tensor([len(s) for s in seqs])
    item_seq = torch.zeros(len(seqs), L, dtype=torch.long)
    for b, s in enumerate(seqs):
        item_seq[b, : len(s)] = s
    item_seq, lengths = item_seq.to(device), lengths.to(device)
    h = model.sequence_output(item_seq, lengths)  # [B L D]
    user = h[torch.arange(len(seqs), device=device), lengths - 1].float()  # [B D]
    items = model.item_embedding.weight.float()
    logits = model.all_scores(user, items)[:, 1:].float()  # [B I], padding left out
    top = logits.max(dim=1).values
    line = (f"{rec.config['model']}:{rec.config['variant'] or ''} "
            f"{rec.config['dataset']} | spread max-median {float((top - logits.median(dim=1).values).mean()):.2f}"
            f" max-min {float((top - logits.min(dim=1).values).mean()):.2f} | user |h| q50/q90/max "
            f"{quantiles(user.norm(dim=1))} | item |e| q50/q90/max {quantiles(items[1:].norm(dim=1))}")
    space = getattr(model, "space", None)
    if space is not None:
        c = float(space.c)
        cap = space.max_tangent_norm / math.sqrt(c) if space.max_tangent_norm else float("inf")
        radius = items[1:].norm(dim=1).clamp(max=cap)
        bound = 2 * float(radius.max())
        if model.squared:
            bound = float("nan")  # -d^2 has no such bound: it grows with the user's radius
        scale = float(model.log_scale.exp()) if model.log_scale is not None else 1.0
        line += (f" | c {c:.3f} cap {cap:.2f} users clipped {float((user.norm(dim=1) > cap).float().mean()):.2f}"
                 f" items clipped {float((items[1:].norm(dim=1) > cap).float().mean()):.3f}"
                 f" | logit scale {scale / model.temperature:.2f} bound of the distance spread 2r_max {bound:.2f}")
    print(line, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--data_path")
    parser.add_argument("--users", type=int, default=1024)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    for path in args.checkpoints:
        report(path, args.data_path, args.users, args.device)

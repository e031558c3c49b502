"""Test NDCG@10 split by whether the held-out item is a repeat (already in the user's input sequence) or new.

    python benchmarks/repeat_split.py CHECKPOINT [CHECKPOINT ...] [--data_path=DIR]

For each checkpoint (ours or RecBole's, written by our trainer), every user's test case as RecBole's leave-one-out
builds it: the input is the history without its last item (cut to MAX_ITEM_LIST_LENGTH), the target is the last item,
ranked among all items with nothing masked (RecBole's sequential full ranking). Prints the share of repeat targets
and NDCG@10 / HR@10 on the repeats, on the new items and on all users; a model that cannot copy an item from its
input loses the repeats. `filtered`: all users again with the input's items left out of the ranking (RecTools'
`filter_viewed`, our `eval_filter_seen`), where a repeat target is a miss; `input items in top 10`: how many of the
ten places of RecBole's ranking the model gives to items of the input (what the filtered ranking frees).
"""
import argparse
import math
import sys

import torch

sys.path.insert(0, ".")
from recbole_mamba.inference import Recommender  # noqa: E402

from recbole.data.interaction import Interaction  # noqa: E402


def ndcg_at_10(rank):
    """NDCG@10 of each user's one target from its 0-based rank."""
    return [1 / math.log2(r + 2) if r < 10 else 0.0 for r in rank.tolist()]


@torch.no_grad()
def report(path, data_path, batch_size=1024):
    rec = Recommender(path, data_path=data_path)
    L = rec.max_len
    histories = [h for h in rec.histories.values() if len(h) >= 3]
    ndcg, hit, repeat, ndcg_filtered, seen_top = [], [], [], [], []
    for start in range(0, len(histories), batch_size):
        chunk = histories[start:start + batch_size]
        seqs = [torch.as_tensor(h[:-1][-L:]) for h in chunk]
        item_seq = torch.zeros(len(seqs), L, dtype=torch.long)
        for b, s in enumerate(seqs):
            item_seq[b, : len(s)] = s
        lengths = torch.tensor([len(s) for s in seqs])
        target = torch.as_tensor([int(h[-1]) for h in chunk])
        batch = Interaction({rec.model.ITEM_SEQ: item_seq, rec.model.ITEM_SEQ_LEN: lengths})
        scores = rec.model.full_sort_predict(batch).view(len(seqs), -1).float()  # [B I]
        scores[:, 0] = -torch.inf
        rank = (scores > scores.gather(1, target[:, None])).sum(1)  # 0 = first
        ndcg += ndcg_at_10(rank)
        filtered = scores.scatter(1, item_seq, -torch.inf)  # the input's items (and padding, item 0) get no rank
        target_score = filtered.gather(1, target[:, None])
        rank_filtered = torch.where(target_score[:, 0] > -torch.inf, (filtered > target_score).sum(1), 10)
        ndcg_filtered += ndcg_at_10(rank_filtered)
        hit += [float(r < 10) for r in rank.tolist()]
        top = scores.topk(10, dim=1).indices  # [B 10]
        seen_top += (top[:, :, None] == item_seq[:, None, :]).any(2).sum(1).tolist()
        repeat += [bool((s == t).any()) for s, t in zip(seqs, target.tolist())]

    def mean(values, where):
        picked = [v for v, w in zip(values, repeat) if w == where or where is None]
        return sum(picked) / max(len(picked), 1)

    share = sum(repeat) / len(repeat)
    print(f"{rec.config['model']} {rec.config['dataset']} ({path}): {len(repeat)} users, repeat targets {share:.1%} | "
          f"NDCG@10 repeats {mean(ndcg, True):.4f} new {mean(ndcg, False):.4f} all {mean(ndcg, None):.4f} | "
          f"HR@10 repeats {mean(hit, True):.4f} new {mean(hit, False):.4f} all {mean(hit, None):.4f} | "
          f"NDCG@10 filtered {mean(ndcg_filtered, None):.4f} | input items in top 10 {mean(seen_top, None):.2f}",
          flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--data_path")
    args = parser.parse_args()
    for path in args.checkpoints:
        report(path, args.data_path)

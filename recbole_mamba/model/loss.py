"""Next-item losses over many positions at once: full softmax CE, the same CE in chunks, sampled softmax.

Each takes the model's scoring functions, `all_scores(h [P H], items [N H]) -> [P N]` and
`pair_scores(h [P H], rows [P H]) -> [P]` (inner product for most models, -distance/temperature for HMamba),
per-position outputs `h [P H]`, the item table `items [I H]` and target ids `targets [P]` (padding positions
already dropped), and returns the mean loss over the P positions.

- `full_ce`: the reference: cross-entropy of all_scores(h, items) against the targets; holds [P I] logits.
- `chunked_ce`: the same values and gradients, `chunk` positions at a time, each chunk's logits recomputed in the
  backward pass (activation checkpointing), so that [P I] never exists at once: peak [chunk I].
- `sampled_softmax`: CE over each target and N sampled items (eSASRec's objective for large catalogs).
  `uniform`: N ids drawn uniformly from 1..I-1, shared by the batch; log Q is the same for every item, so no
  correction is needed; N >= I uses every item, i.e. full CE. `position`: N uniform ids drawn anew for every
  position (RecTools' and the eSASRec benchmark's sampler): [P N] negatives, a gather of [P N H] item rows.
  `in_batch`: the batch's distinct targets (up to N of them) are the negatives; an item's sampling probability Q is
  its share of the batch's targets, and log Q is subtracted from every candidate's logit (the target's too), the
  logQ correction. Negatives that equal a
  position's own target are masked out.
"""
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

NEGATIVE_SOURCES = ("uniform", "position", "in_batch")


def wide(x):
    """Logits in float32 at least (bfloat16 under autocast; float64 kept, for tests)."""
    return x if x.dtype == torch.float64 else x.float()


def full_ce(all_scores, h, items, targets):
    """mean_p CE(all_scores(h, items)_p, t_p)."""
    return F.cross_entropy(wide(all_scores(h, items)), targets)


def chunked_ce(all_scores, h, items, targets, chunk):
    """`full_ce` computed `chunk` positions at a time (same values and gradients; peak logits [chunk I])."""
    def summed(h_part, t_part):
        return F.cross_entropy(wide(all_scores(h_part, items)), t_part, reduction="sum")

    total = sum(checkpoint(summed, h[start:start + chunk], targets[start:start + chunk], use_reentrant=False)
                for start in range(0, h.shape[0], chunk))
    return total / h.shape[0]


def sampled_softmax(pair_scores, all_scores, h, items, targets, n_negatives, source="uniform"):
    """mean_p CE over {t_p} and N negatives (see the module docstring)."""
    if source not in NEGATIVE_SOURCES:
        raise ValueError(f"unknown negative source {source!r}; choose one of {', '.join(NEGATIVE_SOURCES)}")
    n_items = items.shape[0]
    if source == "uniform" and n_negatives >= n_items:
        return full_ce(all_scores, h, items, targets)
    pos = wide(pair_scores(h, items[targets]))[:, None]  # [P 1]
    if source == "position":
        negatives = torch.randint(1, n_items, (h.shape[0], n_negatives), device=h.device)  # [P N]
        neg = wide(pair_scores(h[:, None, :], items[negatives]))  # [P N]
        neg = neg.masked_fill(negatives == targets[:, None], float("-inf"))  # accidental hits
        return F.cross_entropy(torch.cat([pos, neg], dim=1), torch.zeros_like(targets))
    if source == "uniform":
        negatives = torch.randint(1, n_items, (n_negatives,), device=h.device)  # [N]
        neg = wide(all_scores(h, items[negatives]))  # [P N]
    else:
        candidates, counts = torch.unique(targets, return_counts=True)
        if candidates.numel() > n_negatives:
            keep = torch.randperm(candidates.numel(), device=h.device)[:n_negatives]
            candidates, counts = candidates[keep], counts[keep]
        negatives = candidates
        share = torch.bincount(targets, minlength=n_items).to(pos.dtype) / targets.numel()  # Q of every item
        neg = wide(all_scores(h, items[negatives])) - share[negatives].log()
        pos = pos - share[targets].log()[:, None]
    neg = neg.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))  # accidental hits
    return F.cross_entropy(torch.cat([pos, neg], dim=1), torch.zeros_like(targets))  # the target is class 0

"""Top-K recommendations from a saved checkpoint, for known users or for a raw item-id history.

    from recbole_mamba.inference import Recommender
    rec = Recommender("saved/LatentMamba-....pth", data_path="DIR")
    rec.recommend_history(["1193", "661", "914"], k=10)   # [(item_token, score), ...]
    rec.recommend_users(["1", "2"], k=10)                  # {user_token: [(item_token, score), ...]}

Command line: recbole-mamba-recommend --checkpoint=PATH (--users=1,2 | --history=1193,661) [--topk=10]
External tokens (the ids in the atomic files) are mapped to internal ids and back; unknown ones are an error.
The checkpoint is loaded weights-only; the dataset is re-read and filtered with the checkpoint's own config,
so internal ids match the ones the model was trained with.
"""
import argparse
import json
import sys

import numpy as np
import torch

from recbole_mamba.config import checkpoint_settings
from recbole_mamba.errors import RecBoleMambaError
from recbole_mamba.quick_start import load_dataset, make_config
from recbole_mamba.trainer import safe_load
from recbole_mamba.utils import get_model, row_runs

from recbole.data.interaction import Interaction  # noqa: E402  (compat applied by quick_start)


class Recommender:
    def __init__(self, checkpoint, data_path=None, device="cpu"):
        state = safe_load(checkpoint, map_location="cpu")
        if "run_config" not in state:
            raise RecBoleMambaError(f"{checkpoint} has no run_config: it was not written by a recbole_mamba trainer")
        if "rng" in state:  # a resumable '-last.pth' file: the last epoch's weights, not the best model's
            print(f"recbole-mamba: warning: {checkpoint} holds the last epoch's weights (for --resume), not the "
                  f"best model's; the best is {state.get('best_model_file') or 'the run without -last'}",
                  file=sys.stderr)
        overrides = dict(checkpoint_settings(state), show_progress=False, state="WARNING", use_gpu=device != "cpu")
        if data_path is not None:
            overrides["data_path"] = data_path
        model_name, dataset_name = state["config"]["model"], state["config"]["dataset"]
        self.config = make_config(model_name, dataset_name, config_dict=overrides, cmd_args=[])
        self.dataset = load_dataset(self.config)
        self.model = get_model(model_name)(self.config, self.dataset)
        self.model.load_state_dict(state["state_dict"])
        self.model.to(device).eval()
        self.device = device
        self.uid_field, self.iid_field = self.dataset.uid_field, self.dataset.iid_field
        self.max_len = self.config["MAX_ITEM_LIST_LENGTH"]
        feat = self.dataset.inter_feat
        uids, iids = np.asarray(feat[self.uid_field]), np.asarray(feat[self.iid_field])  # a DataFrame before build()
        order = np.lexsort((np.asarray(feat[self.dataset.time_field]), uids))  # by user, then time
        uids, iids = uids[order], iids[order]
        start, end = row_runs(uids)
        self.histories = {int(uids[s]): iids[s:end[s] + 1] for s in np.flatnonzero(start == np.arange(len(uids)))}

    def _ids(self, field, tokens, what):
        known = self.dataset.field2token_id[field]
        unknown = [t for t in tokens if str(t) not in known]
        if unknown:
            raise RecBoleMambaError(f"unknown {what} id(s) {unknown[:10]} (not in {self.config['dataset']} after "
                                    f"filtering)")
        return [known[str(t)] for t in tokens]

    @torch.no_grad()
    def _topk(self, item_ids, k, exclude_seen):
        if len(item_ids) == 0:
            raise RecBoleMambaError("an empty history has no next item to predict")
        seq = list(item_ids)[-self.max_len:]
        padded = torch.zeros(1, self.max_len, dtype=torch.long)
        padded[0, : len(seq)] = torch.as_tensor(seq)
        batch = Interaction({self.model.ITEM_SEQ: padded, self.model.ITEM_SEQ_LEN: torch.tensor([len(seq)])})
        scores = self.model.full_sort_predict(batch.to(self.device)).view(-1).float().cpu()
        scores[0] = -torch.inf  # padding item
        if exclude_seen:
            scores[torch.as_tensor(list(item_ids))] = -torch.inf
        top = torch.topk(scores, min(k, int(torch.isfinite(scores).sum())))
        tokens = self.dataset.id2token(self.iid_field, top.indices.numpy())
        return [(str(t), float(s)) for t, s in zip(tokens, top.values)]

    def recommend_history(self, item_tokens, k=10, exclude_seen=True):
        """Top-k (item_token, score) after a history of external item ids, oldest first."""
        return self._topk(self._ids(self.iid_field, item_tokens, "item"), k, exclude_seen)

    def recommend_users(self, user_tokens, k=10, exclude_seen=True):
        """{user_token: top-k (item_token, score)} after each user's whole known history."""
        ids = self._ids(self.uid_field, user_tokens, "user")
        return {str(t): self._topk(self.histories[i], k, exclude_seen) for t, i in zip(user_tokens, ids)}


def main(argv=None):
    p = argparse.ArgumentParser(description="Top-K recommendations from a recbole_mamba checkpoint.")
    p.add_argument("--checkpoint", required=True)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--users", help="comma-separated external user ids")
    group.add_argument("--history", help="comma-separated external item ids, oldest first")
    p.add_argument("--topk", type=int, default=10)
    p.add_argument("--data_path", default=None)
    p.add_argument("--include_seen", action="store_true", help="allow items already in the history")
    a = p.parse_args(argv)
    try:
        rec = Recommender(a.checkpoint, data_path=a.data_path)
        if a.users:
            out = rec.recommend_users(a.users.split(","), a.topk, not a.include_seen)
        else:
            out = {"history": rec.recommend_history(a.history.split(","), a.topk, not a.include_seen)}
    except (RecBoleMambaError, FileNotFoundError) as exc:
        print(f"recbole-mamba-recommend: error: {exc}", file=sys.stderr)
        return 2
    for key, items in out.items():
        print(json.dumps({"for": key, "items": [t for t, _ in items], "scores": [round(s, 4) for _, s in items]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cold-start items: how well a model ranks test items it never saw in training, ID vs text item model.

    python benchmarks/cold_start.py [--dataset ml-100k] [--fraction 0.1] [--out /tmp/cold] [--key=value ...]

A random `fraction` of the items is made cold: every interaction with one is removed except where it is a user's last
(the leave-one-out test target), so training and validation never see it, and `exclude_unseen_items` keeps them out
of the training loss too (not even as negatives: a deployed model has never heard of a new item). LatentMamba is
trained with `item_model: id` and with `item_model: text` on that data (`--text_fields`, every other --key=value
passed on; both read the `.item` file, so both rank the same candidates), and each is scored on the test users
whose target is cold: HR@10 and NDCG@10 against chance (10 / candidate items).
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cold_dataset(source_folder, name, out_folder, fraction, seed=0):
    """Write <out_folder>/<name>-cold/ (atomic files) and return (its name, the cold item tokens)."""
    import pandas as pd

    inter = pd.read_csv(os.path.join(source_folder, f"{name}.inter"), sep="\t", dtype=str)
    user, item, time = (next(c for c in inter.columns if c.startswith(k)) for k in ("user_id", "item_id", "timestamp"))
    inter = inter.assign(_t=inter[time].astype(float)).sort_values([user, "_t"], kind="stable")
    last = ~inter[user].duplicated(keep="last")
    items = inter[item].unique()
    cold = set(np.random.default_rng(seed).choice(items, int(len(items) * fraction), replace=False))
    keep = last | ~inter[item].isin(cold)
    target = f"{name}-cold"
    os.makedirs(os.path.join(out_folder, target), exist_ok=True)
    inter[keep].drop(columns="_t").to_csv(os.path.join(out_folder, target, f"{target}.inter"), sep="\t", index=False)
    shutil.copy(os.path.join(source_folder, f"{name}.item"), os.path.join(out_folder, target, f"{target}.item"))
    return target, cold


@torch.no_grad()
def cold_metrics(checkpoint, data_path, cold):
    """HR@10, NDCG@10, users and candidates of the test users whose target item is cold."""
    from recbole_mamba.config import checkpoint_settings
    from recbole_mamba.quick_start import build_model, load_dataset, make_config, prepare_data
    from recbole_mamba.trainer import safe_load

    state = safe_load(checkpoint, map_location="cpu")
    config = make_config(state["config"]["model"], state["config"]["dataset"], cmd_args=[],
                         config_dict={**checkpoint_settings(state), "data_path": data_path, "state": "WARNING"})
    _, _, test = prepare_data(config, load_dataset(config))
    model = build_model(config, test._dataset)
    model.load_state_dict(state["state_dict"])
    model.eval()
    cold_ids = torch.tensor([test._dataset.field2token_id["item_id"][t] for t in cold
                             if t in test._dataset.field2token_id["item_id"]])
    hits, gains, users = 0.0, 0.0, 0
    for interaction, history, positive_u, positive_i in test:
        scores = model.full_sort_predict(interaction).view(len(interaction), -1).float()
        scores[:, 0] = -torch.inf
        if history is not None:
            scores[history[0], history[1]] = -torch.inf
        target = scores[positive_u, positive_i]
        rank = (scores[positive_u] > target[:, None]).sum(1)  # 0 = first
        is_cold = torch.isin(positive_i, cold_ids)
        hits += float((rank[is_cold] < 10).sum())
        gains += float((1 / torch.log2(rank[is_cold].float() + 2) * (rank[is_cold] < 10)).sum())
        users += int(is_cold.sum())
    return {"hr@10": hits / max(users, 1), "ndcg@10": gains / max(users, 1), "cold_test_users": users,
            "chance_hr@10": 10 / (test._dataset.item_num - 1)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--data_path", default=None, help="folder holding DATASET/ (default: RecBole's own ml-100k)")
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--out", default="cold")
    p.add_argument("--text_fields", default="movie_title,release_year,class")
    args, rest = p.parse_known_args(argv)
    from recbole_mamba.quick_start import run

    if args.data_path is None:
        import recbole

        args.data_path = os.path.join(os.path.dirname(recbole.__file__), "dataset_example")
    out = os.path.abspath(args.out)
    name, cold = cold_dataset(os.path.join(args.data_path, args.dataset), args.dataset, out, args.fraction)
    fields = args.text_fields.split(",")
    common = {"data_path": out, "MAX_ITEM_LIST_LENGTH": 50, "user_inter_num_interval": "[3,inf)",
              "show_progress": False, "text_fields": fields, "checkpoint_dir": out, "exclude_unseen_items": True,
              "load_col": {"inter": ["user_id", "item_id", "timestamp"], "item": ["item_id", *fields]}}
    fixed = dict(a[2:].split("=", 1) for a in rest)
    rows = {}
    for choice in ("id", "text"):
        result = run("LatentMamba", name, config_dict={**common, "item_model": choice}, cmd_args=[
            f"--{k}={v}" for k, v in fixed.items()])
        rows[choice] = {"all users test ndcg@10": result["test_result"]["ndcg@10"],
                        **cold_metrics(result["saved_model_file"], out, cold)}
        print(json.dumps({"item_model": choice, **rows[choice]}), flush=True)
    text, ids = rows["text"]["hr@10"], rows["id"]["hr@10"]
    ratio = f"text / id = {text / ids:.1f}" if ids else "the ID model ranks no cold item in its top 10"
    print(f"cold test items ({rows['text']['cold_test_users']} users): HR@10 text {text:.4f}, id {ids:.4f}, "
          f"chance {rows['id']['chance_hr@10']:.4f}; {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

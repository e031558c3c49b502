"""The peer: RecTools' own SASRec+SS and eSASRec (LiGR layers) trained as the eSASRec benchmark trains them
(blondered/transformer_benchmark), on our atomic files, split and ranked as our protocol splits them.

RecTools pins pytorch-lightning <= 2.5.2, pandas < 3 (and numpy < 2 below Python 3.13), so it runs from its own
environment, never ours (a GPU: its training gathers [batch, length, 257, width] item rows per step, minutes per
epoch on a CPU):

    python3.11 -m venv /tmp/rtvenv && . /tmp/rtvenv/bin/activate
    pip install torch==2.13.0 "rectools[torch]==0.19.0" "numpy<2" "pandas<3"
    python benchmarks/peer_rectools.py --dataset=Amazon_Toys --data_path=DIR --layers=sasrec --seed=2020

(On a machine without a registry: the wheels of rectools, pytorch-lightning 2.5.2, pandas 2.2, pytz, tzdata, pydantic,
pydantic-core, typeguard, attrs, fastrlock, pm-implicit installed with `pip install --no-deps --target DIR` and DIR
first on PYTHONPATH; benchmarks/results/2026-12-05_h100_recipe/launch.sh does so on the GPU image.)

Protocol, as ours (recbole_mamba, RecBole leave-one-out): each user's interactions in time order, ties in file
order (a stable sort); the last one is the test target, the one before it the validation target, the rest train.
The dataset yaml's 5-core filters are applied for ml-1m-half-real (the Amazon files are 5-core already; the counts
printed let one check them against ours). Training as the benchmark: validation Recall@10 on every user's
validation target with the user's input history filtered out, after every epoch; the best epoch's weights reloaded;
patience 50; up to 200 epochs (ml-1m configs: 100). Test: top-10 of the full catalogue with seen items filtered
(RecTools' `filter_viewed=True`), NDCG@10 and Recall@10 over every user (a test target the model cannot rank counts
as a miss, as in our protocol); RecTools' own split drops test targets absent from training, also reported.

Prints one JSON line with the metrics, epochs, best epoch and seconds.
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np
import pandas as pd

# (width, session length, blocks, heads, dropout, epochs, ff multiplier of LiGR) as the benchmark's configs set them:
# configs/paper/loo/s3_vanilla.yaml, s3_{sports,toys}_ligr.yaml, ml_1m.yaml
SETTINGS = {
    "amazon": dict(n_factors=256, session_max_len=50, n_blocks=1, n_heads=1, dropout_rate=0.2, epochs=200, ff=1),
    "ml-1m": dict(n_factors=64, session_max_len=200, n_blocks=2, n_heads=1, dropout_rate=0.1, epochs=100, ff=4),
}
PATIENCE = 50
K = 10


def read_interactions(path, dataset, core=0):
    """[user, item, order] of the dataset's .inter file in time order per user (stable: ties keep file order)."""
    table = pd.read_csv(os.path.join(path, dataset, f"{dataset}.inter"), sep="\t", dtype=str)
    table.columns = [c.split(":")[0] for c in table.columns]
    table["timestamp"] = table["timestamp"].astype(float)
    while core:  # RecBole's user/item interaction-count filters, repeated until stable
        users, items = table["user_id"].value_counts(), table["item_id"].value_counts()
        keep = table["user_id"].map(users).ge(core) & table["item_id"].map(items).ge(core)
        if keep.all():
            break
        table = table[keep]
    table = table.reset_index(drop=True)
    table["row"] = np.arange(len(table))
    table = table.sort_values(["user_id", "timestamp", "row"], kind="stable").reset_index(drop=True)
    table["rank_from_end"] = table.groupby("user_id").cumcount(ascending=False)
    return table


def make_trainer(epochs, patience=PATIENCE):
    """The benchmark's trainer: validation Recall@10 (seen items filtered) each epoch, early stopping on it with
    patience (50), the best checkpoint reloaded at the end."""
    import torch
    from pytorch_lightning import Callback, Trainer
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint

    class FilteredRecall(Callback):
        def __init__(self):
            self.hits = []

        def on_validation_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0):
            items = module.item_embs
            session = module.torch_model.encode_sessions(batch, items)[:, -1, :]  # [B H]
            scores = module.torch_model.similarity_module(session, items)  # [B I]
            seen = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, batch["x"], True)
            seen[:, 0] = True  # the padding id is never recommended
            top = scores.masked_fill(seen, float("-inf")).topk(K, dim=1).indices
            self.hits.append((top == batch["y"][:, -1:]).any(dim=1).float())

        def on_validation_epoch_end(self, trainer, module):
            recall = torch.cat(self.hits).mean()
            module.log("recall@10", recall, prog_bar=True)
            print(f"epoch {trainer.current_epoch} valid recall@10 {float(recall):.4f}", flush=True)
            self.hits.clear()

    class ReloadBest(Callback):
        def __init__(self, checkpoint):
            self.checkpoint = checkpoint

        def on_fit_end(self, trainer, module):
            state = torch.load(self.checkpoint.best_model_path, weights_only=False)
            module.load_state_dict(state["state_dict"])

    checkpoint = ModelCheckpoint(dirpath=tempfile.mkdtemp(prefix="peer_ckpt_"), monitor="recall@10", mode="max",
                                 filename="best")
    return Trainer(max_epochs=epochs, deterministic=True, accelerator="auto", devices=1, logger=False,
                   enable_progress_bar=False, enable_model_summary=False,
                   callbacks=[FilteredRecall(), checkpoint, ReloadBest(checkpoint),
                              EarlyStopping(monitor="recall@10", mode="max", patience=patience)])


def validation_mask(interactions):
    """Every user's last training interaction is its validation target (the benchmark's get_val_mask_func_all)."""
    order = interactions["datetime"].to_numpy()
    last = interactions.assign(o=order).groupby("user_id")["o"].transform("max")
    return (order == last.to_numpy())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--data_path", required=True)
    parser.add_argument("--layers", choices=("sasrec", "ligr"), default="sasrec")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--epochs", type=int, default=0, help="override the benchmark's maximum (0: keep it)")
    parser.add_argument("--patience", type=int, default=PATIENCE, help="early-stopping patience (the benchmark's: 50)")
    args = parser.parse_args()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

    import torch
    from pytorch_lightning import seed_everything
    from rectools import Columns
    from rectools.dataset import Dataset
    from rectools.models import SASRecModel

    is_ml = args.dataset.startswith("ml-")
    setting = SETTINGS["ml-1m" if is_ml else "amazon"]
    table = read_interactions(args.data_path, args.dataset, core=5 if is_ml else 0)
    n_users, n_items = table["user_id"].nunique(), table["item_id"].nunique()
    test = table[table["rank_from_end"] == 0]
    train = table[table["rank_from_end"] > 0].copy()
    # one strictly increasing time per user row (our order), so RecTools keeps exactly this order
    frame = pd.DataFrame({Columns.User: train["user_id"], Columns.Item: train["item_id"], Columns.Weight: 1.0,
                          Columns.Datetime: pd.to_datetime(np.arange(len(train)), unit="s")})

    torch.use_deterministic_algorithms(True)
    seed_everything(args.seed, workers=True)
    layers = {}
    if args.layers == "ligr":
        from rectools.models.nn.transformers.ligr import LiGRLayers
        layers = dict(transformer_layers_type=LiGRLayers, use_key_padding_mask=True,
                      transformer_layers_kwargs={"ff_factors_multiplier": setting["ff"]})
    epochs = args.epochs or setting["epochs"]
    model = SASRecModel(
        n_factors=setting["n_factors"], session_max_len=setting["session_max_len"], n_blocks=setting["n_blocks"],
        n_heads=setting["n_heads"], dropout_rate=setting["dropout_rate"], loss="sampled_softmax", n_negatives=256,
        epochs=epochs, deterministic=True, verbose=0,
        get_val_mask_func=validation_mask, get_trainer_func=lambda: make_trainer(epochs, args.patience), **layers)
    data = Dataset.construct(frame)
    start = time.time()
    model.fit(data)
    fit_s = time.time() - start
    trainer = model.fit_trainer
    recos = model.recommend(users=test["user_id"].unique(), dataset=data, k=K, filter_viewed=True,
                            on_unsupported_targets="warn")
    target = dict(zip(test["user_id"], test["item_id"]))
    recos = recos.assign(hit=recos[Columns.Item].to_numpy() == recos[Columns.User].map(target).to_numpy())
    gains = (recos["hit"] / np.log2(recos[Columns.Rank] + 1)).groupby(recos[Columns.User]).sum()
    hits = recos.groupby(Columns.User)["hit"].any()
    trained_items = set(train["item_id"])
    rankable = test["item_id"].isin(trained_items)
    print(json.dumps({
        "peer": f"rectools-{args.layers}", "dataset": args.dataset, "seed": args.seed, "users": n_users,
        "items": n_items, "interactions": len(table), "test_ndcg@10": float(gains.sum() / len(test)),
        "test_recall@10": float(hits.sum() / len(test)),
        "test_ndcg@10_rectools_users": float(gains.sum() / rankable.sum()), "test_users_rankable": int(rankable.sum()),
        "best_valid_recall@10": float(trainer.checkpoint_callback.best_model_score),
        "epochs": int(trainer.current_epoch), "best_epoch": int(trainer.checkpoint_callback.best_model_path and
                                                                 torch.load(trainer.checkpoint_callback.best_model_path,
                                                                            weights_only=False)["epoch"]),
        "fit_s": round(fit_s, 1), "params": int(sum(p.numel() for p in model.torch_model.parameters())),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
    }), flush=True)


if __name__ == "__main__":
    main()

"""Side-by-side comparison: several models on one or more datasets, one seed, one protocol.

    python run_recbole_mamba.py --model_list=LatentMamba,HMamba,Mamba4Rec,SASRec,GRU4Rec,BERT4Rec \
        --dataset=ml-1m --data_path=DIR [--compare_dir=compare] [--key=value ...]

Every model runs through `quick_start.run` with the same config overrides. A model that fails is reported in
the table (status and error) and the others still run. Writes <compare_dir>/comparison.md and .csv
(valid/test metrics, params, epochs run, best epoch, s/epoch, peak GPU memory) and, when matplotlib is
installed, comparison.png (test metric vs training time per model).
"""
import csv
import os
import sys
import traceback

from recbole_mamba.errors import RecBoleMambaError
from recbole_mamba.quick_start import run

COST_COLUMNS = ["params", "epochs", "best_epoch", "train_s_per_epoch", "peak_gpu_mem_gib"]


def compare(models, datasets, config_file_list=None, cmd_args=(), out_dir="compare", saved=False):
    rows = []
    for dataset in datasets:
        for model in models:
            row = {"dataset": dataset, "model": model}
            try:
                result = run(model, dataset, config_file_list=config_file_list, cmd_args=list(cmd_args), saved=saved)
            except Exception as exc:  # noqa: BLE001  one failure must not stop the others
                first_line = str(exc).splitlines()[0] if str(exc) else ""
                row.update(status="failed", error=f"{type(exc).__name__}: {first_line[:160]}")
                if not isinstance(exc, RecBoleMambaError):  # a bug, not bad input: show where
                    traceback.print_exc(file=sys.stderr)
            else:
                row.update(status="ok", error="")
                row.update({f"valid {k}": v for k, v in result["best_valid_result"].items()})
                row.update({f"test {k}": v for k, v in result["test_result"].items()})
                row.update({k: result[k] for k in COST_COLUMNS})
            rows.append(row)
            print(f"[compare] {dataset} {model}: {row['status']} {row.get('error', '')}", flush=True)
    written = write_outputs(rows, out_dir)
    with open(os.path.join(out_dir, "comparison.md")) as f:
        print(f.read(), end="", flush=True)  # the table on the terminal too
    print("[compare] wrote " + ", ".join(written), flush=True)
    return rows


def _fmt(value):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}" if value < 100 else f"{value:.1f}"
    return str(value)


def write_outputs(rows, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    metric_cols = sorted({k for r in rows for k in r if k.startswith(("valid ", "test "))})
    columns = ["dataset", "model", "status"] + metric_cols + COST_COLUMNS + ["error"]
    with open(os.path.join(out_dir, "comparison.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(out_dir, "comparison.md"), "w") as f:
        f.write("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
        for r in rows:
            f.write("| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |\n")
    written = [os.path.join(out_dir, f"comparison.{ext}") for ext in ("md", "csv")]
    if _plot(rows, metric_cols, os.path.join(out_dir, "comparison.png")):
        written.append(os.path.join(out_dir, "comparison.png"))
    return written


def _plot(rows, metric_cols, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("[compare] matplotlib is not installed: no comparison.png (pip install matplotlib)")
        return False
    test_cols = ([c for c in metric_cols if c.startswith("test ndcg")]
                 or [c for c in metric_cols if c.startswith("test ")])
    ok = [r for r in rows if r["status"] == "ok" and r.get("train_s_per_epoch") and test_cols]
    if not ok:
        return False
    metric = test_cols[0]
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in ok:
        total = r["train_s_per_epoch"] * r["epochs"]
        ax.scatter(total, r[metric])
        ax.annotate(f"{r['model']} ({r['dataset']})", (total, r[metric]), textcoords="offset points", xytext=(4, 4),
                    fontsize=8)
    ax.margins(x=0.25, y=0.15)  # room for the labels
    ax.set_xlabel("training time (s)")
    ax.set_ylabel(metric)
    ax.set_title("accuracy vs training time")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True

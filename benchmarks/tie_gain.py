"""What a learnable order of same-second ties is worth to trained models (issue 7): the tie-order runs, summed up.

    python benchmarks/tie_gain.py LOG [LOG ...]

The logs are accuracy-suite runs on benchmarks/tie_order.py's datasets, named MODEL_SEED_dataset-NAME-ORDER
(benchmarks/resume/README.md has the call). Only early-stopped runs count. For each model and order it prints the
seeds, test NDCG@10 per seed, the means of test NDCG@10, test Hit@10 and best valid NDCG@10, and each mean against
the same model's random-tie baseline: the runs on the orders in RANDOM pooled (file and shuffled: ties in no order a
model can learn, as in our ml-1m copy), with that baseline's lowest and highest run beside it, so that a gain can be
read against the seed-and-order noise.
"""
import argparse
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collect_results as collect  # noqa: E402

RANDOM = ("file", "shuffled")
RUN = re.compile(r"^(?P<model>.+?)_(?P<seed>\d{4})_dataset-.+-(?P<order>[a-z]+)$")


def group(rows):
    """{model: {order: [row, ...]}} over the early-stopped runs, a later log of a run replacing an earlier one."""
    out = {}
    for r in {r["run"]: r for r in rows}.values():
        m = RUN.match(r["run"])
        if m and r["status"] == "early-stopped" and "ndcg@10" in r["test"]:
            out.setdefault(m["model"], {}).setdefault(m["order"], []).append(r)
    return out


def summary(groups):
    lines = ["| model | order | seeds | test NDCG@10 per seed | mean test NDCG@10 | vs random ties | mean test Hit@10 |"
             " mean best valid NDCG@10 | vs random ties |", "|" + "---|" * 9]
    for model in sorted(groups):
        orders = groups[model]
        base = [r for o in RANDOM for r in orders.get(o, [])]
        if not base:
            continue
        base_test = statistics.mean(r["test"]["ndcg@10"] for r in base)
        base_valid = statistics.mean(r["valid"]["ndcg@10"] for r in base)
        lo, hi = (f(r["test"]["ndcg@10"] for r in base) for f in (min, max))
        for order in sorted(orders, key=lambda o: (o not in RANDOM, o)):
            runs = sorted(orders[order], key=lambda r: str(r["seed"]))
            test = statistics.mean(r["test"]["ndcg@10"] for r in runs)
            valid = statistics.mean(r["valid"]["ndcg@10"] for r in runs)
            hit = statistics.mean(r["test"]["hit@10"] for r in runs)
            per_seed = " / ".join(f"{r['test']['ndcg@10']:.4f}" for r in runs)
            lines.append(
                f"| {model} | {order} | {' / '.join(str(r['seed']) for r in runs)} | "
                f"{per_seed} | {test:.4f} | "
                f"{test / base_test - 1:+.1%} | {hit:.4f} | {valid:.4f} | {valid / base_valid - 1:+.1%} |")
        lines.append(f"| {model} | random ties ({' + '.join(RANDOM)}, {len(base)} runs) | | "
                     f"lowest {lo:.4f}, highest {hi:.4f} | {base_test:.4f} | | | {base_valid:.4f} | |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logs", nargs="+")
    args = p.parse_args()
    groups = group(collect.parse(path) for path in args.logs)
    if not groups:
        print("no early-stopped tie-order runs among the logs", file=sys.stderr)
        return 1
    print(summary(groups))
    return 0


if __name__ == "__main__":
    sys.exit(main())

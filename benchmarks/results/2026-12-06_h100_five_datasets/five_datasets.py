"""The five-dataset, three-seed table of docs/results.md ("How do we stand against the field's strongest
baselines?") from the runs' JSON files: test NDCG@10 mean +- std, valid Hit@10, parameters, best epochs, and the
ratios the bars are judged on. Run: python benchmarks/results/2026-12-06_h100_five_datasets/five_datasets.py"""
import glob
import json
import os
import statistics as st

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # benchmarks/results
N = '2026-12-06_h100_five_datasets/'
H = '2026-12-06_h200_filtered/'


def g(*patterns):
    """The runs' files matching the patterns, in order."""
    return [f for pattern in patterns for f in sorted(glob.glob(pattern))]


cells = {  # (dataset, model) -> its three runs
    ('Amazon_Toys', 'LM'): g('2026-12-05_cpu_toys_filtered/LatentMamba_Amazon_Toys_20*.json'),
    ('Amazon_Toys', 'SAS'): g('2026-12-05_cpu_toys_filtered/eSASRec_sasrec_fullce_Amazon_Toys_20*.json'),
    ('Amazon_Toys', 'M4R'): g(H + 'others/runs/Amazon_Toys__Mamba4Rec__2020.json', N + 'seeds/runs/Amazon_Toys__Mamba4Rec__*.json'),
    ('Amazon_Toys', 'HM'): g(H + 'others/runs/Amazon_Toys__HMamba__2020.json', N + 'seeds/runs/Amazon_Toys__HMamba__*.json'),
    ('Amazon_Sports', 'LM'): g('2026-12-05_cpu_sports_filtered/LatentMamba_Amazon_Sports_2020.json', H + 'sports/runs/Amazon_Sports__LatentMamba_ssm-mamba1__*.json'),
    ('Amazon_Sports', 'SAS'): g('2026-12-05_cpu_sports_filtered/eSASRec_sasrec_fullce_Amazon_Sports_2020.json', H + 'sports/runs/Amazon_Sports__eSASRec_block-sasrec_sampled_negatives-0__*.json'),
    ('Amazon_Sports', 'M4R'): g(H + 'others/runs/Amazon_Sports__Mamba4Rec__2020.json', N + 'seeds/runs/Amazon_Sports__Mamba4Rec__*.json'),
    ('Amazon_Sports', 'HM'): g(H + 'others/runs/Amazon_Sports__HMamba__2020.json', N + 'seeds/runs/Amazon_Sports__HMamba__*.json'),
    ('Yelp', 'LM'): g('2026-12-06_cpu_yelp_filtered/runs/Yelp__LatentMamba__2020.json', N + 'yelp/runs/Yelp__LatentMamba__*.json'),
    ('Yelp', 'SAS'): g('2026-12-06_cpu_yelp_filtered/runs/Yelp__eSASRec*.json', N + 'yelp/runs/Yelp__eSASRec*.json'),
    ('Yelp', 'M4R'): g(N + 'others/runs/Yelp__Mamba4Rec__2020.json', N + 'seeds/runs/Yelp__Mamba4Rec__*.json'),
    ('Yelp', 'HM'): g(N + 'others/runs/Yelp__HMamba__2020.json', N + 'seeds/runs/Yelp__HMamba__*.json'),
    ('ml-1m-half-real', 'LM'): g(H + 'ml/runs/ml-1m-half-real__LatentMamba_ssm-mamba1__*.json'),
    ('ml-1m-half-real', 'SAS'): g(H + 'ml/runs/ml-1m-half-real__eSASRec_block-sasrec_sampled_negatives-0*.json'),
    ('ml-1m-half-real', 'M4R'): g(H + 'others/runs/ml-1m-half-real__Mamba4Rec__2020.json', N + 'mlhr/runs/ml-1m-half-real__Mamba4Rec__*.json'),
    ('ml-1m-half-real', 'HM'): g(H + 'others/runs/ml-1m-half-real__HMamba__2020.json', N + 'mlhr/runs/ml-1m-half-real__HMamba__*.json'),
    ('ml-1m', 'LM'): g(N + 'ml1m/runs/ml-1m__LatentMamba__*.json'),
    ('ml-1m', 'SAS'): g(N + 'ml1m/runs/ml-1m__eSASRec*.json'),
    ('ml-1m', 'M4R'): g(N + 'others/runs/ml-1m__Mamba4Rec__2020.json', N + 'seeds/runs/ml-1m__Mamba4Rec__*.json'),
    ('ml-1m', 'HM'): g(N + 'others/runs/ml-1m__HMamba__2020.json', N + 'seeds/runs/ml-1m__HMamba__*.json'),
}
DATASETS = ["Amazon_Toys", "Amazon_Sports", "Yelp", "ml-1m-half-real", "ml-1m"]
MODELS = ["SAS", "M4R", "HM", "LM"]  # SASRec+SS (full CE), Mamba4Rec-style, HMamba full, LatentMamba


def summary(files):
    """Three runs of one model on one dataset -> test NDCG@10 (each, mean, std), valid Hit@10 mean, costs."""
    runs = [json.load(open(f)) for f in files]
    assert len(runs) == 3, files
    test = [r["test_result"]["ndcg@10"] for r in runs]
    return dict(t=test, m=st.mean(test), s=st.stdev(test), v=st.mean(r["best_valid_result"]["hit@10"] for r in runs),
                p=runs[0]["params"], be=[r["best_epoch"] for r in runs],
                tb=[round(r["train_s_to_best"]) for r in runs], spe=[round(r["train_s_per_epoch"], 1) for r in runs])


def ratio(a, b):
    return f"{a / b - 1:+.1%}"


res = {key: summary(files) for key, files in cells.items()}
mean = {key: r["m"] for key, r in res.items()}
for d in DATASETS:
    print(d)
    for m in MODELS:
        r = res[(d, m)]
        print(f"  {m:4s} {r['m']:.4f} ± {r['s']:.4f} {r['t']} valid {r['v']:.4f} params {r['p']:,} be {r['be']} "
              f"tb {r['tb']} spe {r['spe']}")
    best = max(("SAS", "M4R"), key=lambda m: mean[(d, m)])
    print("  LM vs best(SAS,M4R)", best, ratio(mean[(d, "LM")], mean[(d, best)]),
          "HM vs M4R", ratio(mean[(d, "HM")], mean[(d, "M4R")]), "HM vs SAS", ratio(mean[(d, "HM")], mean[(d, "SAS")]),
          "LM vs HM", ratio(mean[(d, "LM")], mean[(d, "HM")]))
for m in MODELS:
    print(m, "mean", round(st.mean(mean[(d, m)] for d in DATASETS), 4))
best = [max(mean[(d, "SAS")], mean[(d, "M4R")]) for d in DATASETS]
print("best-baseline mean", round(st.mean(best), 4),
      "LM mean-of-ratios", ratio(st.mean(mean[(d, "LM")] / b for d, b in zip(DATASETS, best)), 1))
print("HM mean of ratios vs M4R", ratio(st.mean(mean[(d, "HM")] / mean[(d, "M4R")] for d in DATASETS), 1))

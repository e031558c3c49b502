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


cells={
 ('Amazon_Toys','LM'):g('2026-12-05_cpu_toys_filtered/LatentMamba_Amazon_Toys_20*.json'),
 ('Amazon_Toys','SAS'):g('2026-12-05_cpu_toys_filtered/eSASRec_sasrec_fullce_Amazon_Toys_20*.json'),
 ('Amazon_Toys','M4R'):g(H+'others/runs/Amazon_Toys__Mamba4Rec__2020.json',N+'seeds/runs/Amazon_Toys__Mamba4Rec__*.json'),
 ('Amazon_Toys','HM'):g(H+'others/runs/Amazon_Toys__HMamba__2020.json',N+'seeds/runs/Amazon_Toys__HMamba__*.json'),
 ('Amazon_Sports','LM'):g('2026-12-05_cpu_sports_filtered/LatentMamba_Amazon_Sports_2020.json',H+'sports/runs/Amazon_Sports__LatentMamba_ssm-mamba1__*.json'),
 ('Amazon_Sports','SAS'):g('2026-12-05_cpu_sports_filtered/eSASRec_sasrec_fullce_Amazon_Sports_2020.json',H+'sports/runs/Amazon_Sports__eSASRec_block-sasrec_sampled_negatives-0__*.json'),
 ('Amazon_Sports','M4R'):g(H+'others/runs/Amazon_Sports__Mamba4Rec__2020.json',N+'seeds/runs/Amazon_Sports__Mamba4Rec__*.json'),
 ('Amazon_Sports','HM'):g(H+'others/runs/Amazon_Sports__HMamba__2020.json',N+'seeds/runs/Amazon_Sports__HMamba__*.json'),
 ('Yelp','LM'):g('2026-12-06_cpu_yelp_filtered/runs/Yelp__LatentMamba__2020.json',N+'yelp/runs/Yelp__LatentMamba__*.json'),
 ('Yelp','SAS'):g('2026-12-06_cpu_yelp_filtered/runs/Yelp__eSASRec*.json',N+'yelp/runs/Yelp__eSASRec*.json'),
 ('Yelp','M4R'):g(N+'others/runs/Yelp__Mamba4Rec__2020.json',N+'seeds/runs/Yelp__Mamba4Rec__*.json'),
 ('Yelp','HM'):g(N+'others/runs/Yelp__HMamba__2020.json',N+'seeds/runs/Yelp__HMamba__*.json'),
 ('ml-1m-half-real','LM'):g(H+'ml/runs/ml-1m-half-real__LatentMamba_ssm-mamba1__*.json'),
 ('ml-1m-half-real','SAS'):g(H+'ml/runs/ml-1m-half-real__eSASRec_block-sasrec_sampled_negatives-0*.json'),
 ('ml-1m-half-real','M4R'):g(H+'others/runs/ml-1m-half-real__Mamba4Rec__2020.json',N+'mlhr/runs/ml-1m-half-real__Mamba4Rec__*.json'),
 ('ml-1m-half-real','HM'):g(H+'others/runs/ml-1m-half-real__HMamba__2020.json',N+'mlhr/runs/ml-1m-half-real__HMamba__*.json'),
 ('ml-1m','LM'):g(N+'ml1m/runs/ml-1m__LatentMamba__*.json'),
 ('ml-1m','SAS'):g(N+'ml1m/runs/ml-1m__eSASRec*.json'),
 ('ml-1m','M4R'):g(N+'others/runs/ml-1m__Mamba4Rec__2020.json',N+'seeds/runs/ml-1m__Mamba4Rec__*.json'),
 ('ml-1m','HM'):g(N+'others/runs/ml-1m__HMamba__2020.json',N+'seeds/runs/ml-1m__HMamba__*.json'),
}
DS=['Amazon_Toys','Amazon_Sports','Yelp','ml-1m-half-real','ml-1m']
M=['SAS','M4R','HM','LM']
res={}
for k,fs in cells.items():
    rs=[json.load(open(f)) for f in fs]
    assert len(rs)==3,(k,fs)
    t=[r['test_result']['ndcg@10'] for r in rs]; v=[r['best_valid_result']['hit@10'] for r in rs]
    res[k]=dict(t=t,m=st.mean(t),s=st.stdev(t),v=st.mean(v),p=rs[0]['params'],be=[r['best_epoch'] for r in rs],
      tb=[round(r['train_s_to_best']) for r in rs], spe=[round(r['train_s_per_epoch'],1) for r in rs])
for d in DS:
    print(d)
    for m in M:
        r=res[(d,m)]; print(f"  {m:4s} {r['m']:.4f} ± {r['s']:.4f} {r['t']} valid {r['v']:.4f} params {r['p']:,} be {r['be']} tb {r['tb']} spe {r['spe']}")
    best=max(('SAS','M4R'),key=lambda m:res[(d,m)]['m']); bv=max(('SAS','M4R'),key=lambda m:res[(d,m)]['v'])
    print('  LM vs best(SAS,M4R)',best, f"{res[(d,'LM')]['m']/res[(d,best)]['m']-1:+.1%}", 'HM vs M4R', f"{res[(d,'HM')]['m']/res[(d,'M4R')]['m']-1:+.1%}", 'HM vs SAS', f"{res[(d,'HM')]['m']/res[(d,'SAS')]['m']-1:+.1%}", 'LM vs HM', f"{res[(d,'LM')]['m']/res[(d,'HM')]['m']-1:+.1%}")
for m in M: print(m, 'mean', round(st.mean(res[(d,m)]['m'] for d in DS),4))
b=[max(res[(d,'SAS')]['m'],res[(d,'M4R')]['m']) for d in DS]
print('best-baseline mean', round(st.mean(b),4), 'LM mean-of-ratios', f"{st.mean(res[(d,'LM')]['m']/x for d,x in zip(DS,b))-1:+.1%}")
print('HM mean of ratios vs M4R', f"{st.mean(res[(d,'HM')]['m']/res[(d,'M4R')]['m'] for d in DS)-1:+.1%}")

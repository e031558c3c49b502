"""The decision rules of docs/results.md, each written down before the runs it judges had stopped, applied to the logs.

    python benchmarks/apply_rules.py LOG [LOG ...]

Every rule compares a candidate config with a base config (collect_results.py's config names, NAME [key-value_...])
by the test NDCG@10 of their early-stopped runs at seeds 2020, 2021 and 2022; a run that has not early-stopped counts
nowhere. The bar is the test difference between two SASRec seeds, 2.4%. Two kinds of rule:

- seeds: the candidate wins if it is more than the bar above the base at the same seed at two seeds of the three
  (width, session 14: LatentMamba width 128 becomes the ml-1m default; variant, session 16: HMamba's default becomes
  `half`). Decided as soon as two seeds win or two cannot.
- means: "met" if the candidate's mean over the three seeds is at least the base's, "missed" if it is more than the bar
  below, "level" in between (hmamba, session 16: HMamba >= the Mamba4Rec-style model). Decided only on three seeds.

While a rule waits for seeds it prints what each missing run needs, so that a run's test number decides the rule by
arithmetic done here, not by hand. Where two logs have the same run name the one given later stands.
"""
import argparse
import importlib.util
import os
import sys

_spec = importlib.util.spec_from_file_location(
    "collect_results", os.path.join(os.path.dirname(os.path.abspath(__file__)), "collect_results.py"))
collect = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(collect)

SEEDS = ("2020", "2021", "2022")
BAR_PER_MILLE = 24  # the comparisons run on whole units of 0.0001 (the logs' digits), so that no float rounding decides
RULES = [
    {"name": "width", "kind": "seeds", "candidate": "LatentMamba hidden_size-128_inner_size-512",
     "base": "LatentMamba", "written": "session 14", "win": "ml-1m's LatentMamba default becomes width 128",
     "lose": "width 64 stays the default"},
    {"name": "hmamba", "kind": "means", "candidate": "HMamba", "base": "Mamba4Rec", "written": "session 16"},
    {"name": "variant", "kind": "seeds", "candidate": "HMamba-half", "base": "HMamba", "written": "session 16",
     "win": "HMamba's default variant becomes half", "lose": "full stays HMamba's default variant"},
]


def units(value):
    return round(value * 10000)


def converged(rows):
    """{config: {seed: test NDCG@10}} over the early-stopped runs."""
    latest = {r["run"]: r for r in rows}
    out = {}
    for r in latest.values():
        if r["status"] == "early-stopped" and "ndcg@10" in r["test"]:
            out.setdefault(collect.config_of(r["run"]), {})[str(r["seed"])] = r["test"]["ndcg@10"]
    return out


def seeds_rule(rule, cand, base):
    wins, losses, lines = 0, 0, []
    for seed in SEEDS:
        c, b = cand.get(seed), base.get(seed)
        if c is not None and b is not None:
            won = units(c) * 1000 > units(b) * (1000 + BAR_PER_MILLE)
            wins, losses = wins + won, losses + (not won)
            verdict = "over the bar" if won else "not over the bar"
            lines.append(f"  seed {seed}: {c:.4f} vs {b:.4f} ({c / b - 1:+.1%}): {verdict}")
        elif b is not None:
            need = units(b) * (1000 + BAR_PER_MILLE) // 1000 + 1  # the smallest value (in units) over the bar
            lines.append(f"  seed {seed}: {rule['candidate']} not early-stopped; "
                         f"over the bar needs >= {need / 1e4:.4f}")
        else:
            lines.append(f"  seed {seed}: {rule['base']} not early-stopped"
                         + (f" ({rule['candidate']} {c:.4f})" if c is not None else ""))
    if wins >= 2:
        verdict = f"decided: {rule['win']} ({wins} seeds over the bar)"
    elif losses > len(SEEDS) - 2:
        verdict = f"decided: {rule['lose']} ({losses} seeds not over the bar)"
    else:
        verdict = f"pending: {wins} over the bar, {losses} not, {len(SEEDS) - wins - losses} to come"
    return verdict, lines


def means_rule(rule, cand, base):
    lines = [f"  seed {s}: {cand[s]:.4f} vs {base[s]:.4f} ({cand[s] / base[s] - 1:+.1%})"
             for s in SEEDS if s in cand and s in base]
    missing_c = [s for s in SEEDS if s not in cand]
    if not missing_c and all(s in base for s in SEEDS):
        sc, sb = sum(units(cand[s]) for s in SEEDS), sum(units(base[s]) for s in SEEDS)
        verdict = "met" if sc >= sb else "missed" if sc * 1000 < sb * (1000 - BAR_PER_MILLE) else "level"
        mc, mb = sc / 3e4, sb / 3e4
        return f"decided: {verdict} (means {mc:.4f} vs {mb:.4f}, {mc / mb - 1:+.1%})", lines
    if len(missing_c) == 1 and all(s in base for s in SEEDS):
        sum_b, known = sum(units(base[s]) for s in SEEDS), sum(units(v) for v in cand.values())
        met = sum_b - known  # the smallest missing value (in units) that reaches the base's sum
        missed = -(-(sum_b * (1000 - BAR_PER_MILLE)) // 1000) - known  # the smallest that is not "missed"
        lines.append(f"  seed {missing_c[0]}: {rule['candidate']} not early-stopped; met needs >= {met / 1e4:.4f}, "
                     f"missed below {missed / 1e4:.4f}, level in between")
    else:
        lines.append(f"  {rule['candidate']} lacks seeds {', '.join(missing_c) or '-'}, {rule['base']} lacks "
                     f"{', '.join(s for s in SEEDS if s not in base) or '-'}")
    return f"pending: {len(SEEDS) - len(missing_c)} of 3 seeds of {rule['candidate']}", lines


def apply_rules(rows):
    table, out = converged(rows), []
    for rule in RULES:
        cand, base = table.get(rule["candidate"], {}), table.get(rule["base"], {})
        verdict, lines = (seeds_rule if rule["kind"] == "seeds" else means_rule)(rule, cand, base)
        out.append(f"{rule['name']} ({rule['candidate']} vs {rule['base']}, written in {rule['written']}): {verdict}")
        out += lines
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logs", nargs="+")
    args = p.parse_args()
    print(apply_rules([collect.parse(path) for path in args.logs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""benchmarks/apply_rules.py: the pre-registered rules of docs/results.md, applied to run logs."""
import glob
import importlib.util
import os

from conftest import REPO_DIR, stopped_run

SCRIPT = os.path.join(REPO_DIR, "benchmarks", "apply_rules.py")
spec = importlib.util.spec_from_file_location("apply_rules", SCRIPT)
rules = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rules)


def verdicts(tmp_path, runs):
    rows = [rules.collect.parse(stopped_run(tmp_path, "logs", name, ndcg)) for name, ndcg in runs.items()]
    return rules.apply_rules(rows)


BASE = {"Mamba4Rec_2020": 0.1343, "Mamba4Rec_2021": 0.1276, "Mamba4Rec_2022": 0.1330}  # sum 0.3949


def test_means_rule_prints_the_missing_seeds_thresholds_and_decides_at_its_edges(tmp_path):
    two = {**BASE, "HMamba_2020": 0.1341, "HMamba_2021": 0.1368, "HMamba_2022": None}
    out = verdicts(tmp_path, two)
    assert "hmamba (HMamba vs Mamba4Rec, written in session 16): pending: 2 of 3 seeds" in out
    assert "met needs >= 0.1240, missed below 0.1146, level in between" in out
    # the printed thresholds are the edges of the verdicts (whole units of 0.0001, no float rounding)
    for value, verdict in ((0.1240, "met"), (0.1239, "level"), (0.1146, "level"), (0.1145, "missed")):
        for f in tmp_path.glob("logs/*.log"):
            f.unlink()
        assert f"decided: {verdict} (" in verdicts(tmp_path, {**two, "HMamba_2022": value}), value


def test_seeds_rule_decides_on_two_seeds_and_names_what_a_missing_seed_needs(tmp_path):
    runs = {"HMamba_2020": 0.1341, "HMamba_2021": 0.1368, "HMamba-half_2020": 0.1365, "HMamba-half_2021": None}
    out = verdicts(tmp_path, runs)
    assert "variant (HMamba-half vs HMamba, written in session 16): pending: 0 over the bar, 1 not, 2 to come" in out
    assert "seed 2020: 0.1365 vs 0.1341 (+1.8%): not over the bar" in out
    assert "seed 2021: HMamba-half not early-stopped; over the bar needs >= 0.1401" in out
    assert "seed 2022: HMamba not early-stopped" in out
    for f in tmp_path.glob("logs/*.log"):
        f.unlink()
    # 0.1401 is over the bar at 0.1368 (1.024 x 0.1368 = 0.14008), 0.1400 is not
    out = verdicts(tmp_path, {**runs, "HMamba-half_2021": 0.1400, "HMamba_2022": 0.13, "HMamba-half_2022": 0.14})
    assert "decided: full stays HMamba's default variant (2 seeds not over the bar)" in out
    for f in tmp_path.glob("logs/*.log"):
        f.unlink()
    out = verdicts(tmp_path, {**runs, "HMamba-half_2021": 0.1401, "HMamba_2022": 0.13, "HMamba-half_2022": 0.14})
    assert "decided: HMamba's default variant becomes half (2 seeds over the bar)" in out


def test_runs_that_have_not_early_stopped_count_nowhere(tmp_path):
    out = verdicts(tmp_path, {**BASE, "HMamba_2020": None, "HMamba_2021": None, "HMamba_2022": None})
    assert "pending: 0 of 3 seeds of HMamba" in out and "HMamba lacks seeds 2020, 2021, 2022" in out


def test_the_width_rule_on_the_committed_logs_is_the_decision_results_md_records():
    results = os.path.join(REPO_DIR, "benchmarks", "results")
    logs = sorted(glob.glob(os.path.join(results, "2026-11-24_h100_session11", "accuracy", "LatentMamba_202?.log")))
    logs += sorted(glob.glob(os.path.join(results, "2026-11-28_h200x4_session15", "accuracy", "LatentMamba_202[01]_*")))
    logs += [os.path.join(results, "2026-11-28_h200x2_session16", "accuracy",
                          "LatentMamba_2022_hidden_size-128_inner_size-512.log")]
    out = rules.apply_rules([rules.collect.parse(p) for p in logs])
    assert "decided: ml-1m's LatentMamba default becomes width 128 (3 seeds over the bar)" in out
    assert "seed 2022: 0.1362 vs 0.1329 (+2.5%): over the bar" in out


def test_exactly_the_bar_is_not_over_it(tmp_path):
    # 1.024 x 0.1250 = 0.1280 exactly: "more than 2.4% above" needs 0.1281
    out = verdicts(tmp_path, {"HMamba_2020": 0.1250, "HMamba-half_2020": 0.1280, "HMamba_2021": 0.1250})
    assert "seed 2020: 0.1280 vs 0.1250 (+2.4%): not over the bar" in out
    assert "seed 2021: HMamba-half not early-stopped; over the bar needs >= 0.1281" in out


def test_a_run_that_ran_out_of_epochs_is_not_converged(tmp_path):
    rows = [rules.collect.parse(stopped_run(tmp_path, "logs", name, ndcg)) for name, ndcg in BASE.items()]
    rows += [rules.collect.parse(stopped_run(tmp_path, "logs", name, ndcg))
             for name, ndcg in (("HMamba_2020", 0.1341), ("HMamba_2021", 0.1368))]
    # a test result, but no early stop: the epochs ran out
    rows.append(rules.collect.parse(stopped_run(tmp_path, "logs", "HMamba_2022", 0.1300, early_stop=False)))
    assert rows[-1]["status"] == "finished (ran out of epochs)"
    out = rules.apply_rules(rows)
    assert "pending: 2 of 3 seeds of HMamba" in out and "seed 2022: HMamba not early-stopped" in out

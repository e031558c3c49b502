"""benchmarks/tie_order.py: the same interactions with their same-second ties in five orders."""
import importlib.util
import os
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO_DIR

SCRIPT = os.path.join(REPO_DIR, "benchmarks", "tie_order.py")
spec = importlib.util.spec_from_file_location("tie_order", SCRIPT)
ties = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ties)
sys.path.insert(0, os.path.join(REPO_DIR, "benchmarks"))
import tie_markov  # noqa: E402

# user 1: items 30 and 10 share second 5 (file order 30, 10), item 20 comes later; user 2: three items in one second
INTER = pd.DataFrame({"user_id": [1, 2, 1, 2, 1, 2], "item_id": [30, 9, 10, 7, 20, 8],
                      "timestamp": [5, 1, 5, 1, 9, 1]})


def sequences(df):
    return {u: list(g["item_id"]) for u, g in df.groupby("user_id", sort=True)}


def test_file_order_is_a_stable_time_sort_and_item_order_breaks_ties_by_id():
    assert sequences(ties.ordered(INTER, "file")) == {1: [30, 10, 20], 2: [9, 7, 8]}
    assert sequences(ties.ordered(INTER, "item")) == {1: [10, 30, 20], 2: [7, 8, 9]}


def test_shuffled_order_moves_items_only_within_their_second():
    seen = set()
    for seed in range(20):
        seq = sequences(ties.ordered(INTER, "shuffled", seed))
        assert seq[1][2] == 20 and sorted(seq[1][:2]) == [10, 30] and sorted(seq[2]) == [7, 8, 9]
        seen.add(tuple(seq[2]))
    assert len(seen) > 1  # the seed changes the order of a tie
    assert ties.ordered(INTER, "shuffled", 3).equals(ties.ordered(INTER, "shuffled", 3))


def test_written_dataset_has_positions_that_reproduce_the_order(tmp_path):
    seq = ties.ordered(INTER, "item")
    path = ties.write_atomic(ties.with_positions(seq), str(tmp_path), "toy-item")
    back = pd.read_csv(path, sep="\t")
    assert list(back.columns) == ["user_id:token", "item_id:token", "timestamp:float"]
    back.columns = ["user_id", "item_id", "timestamp"]
    assert sequences(back.sort_values(["user_id", "timestamp"], kind="stable")) == sequences(seq)
    assert list(back["timestamp"]) == [0.0, 1.0, 2.0, 0.0, 1.0, 2.0]
    assert ties.rising_share(seq) == pytest.approx(3 / 4)  # 10<30 yes, 30<20 no; 7<8 yes, 8<9 yes


def test_global_order_breaks_every_users_ties_by_one_item_ranking():
    inter = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2, 3, 3], "item_id": [5, 6, 7, 7, 6, 5, 6, 5],
                          "timestamp": [1, 1, 1, 4, 4, 4, 2, 2]})
    orders = set()
    for seed in range(10):
        seq = sequences(ties.ordered(inter, "global", seed))
        assert seq[1] == seq[2] and seq[3] == [i for i in seq[1] if i != 7]  # one ranking for all users
        orders.add(tuple(seq[1]))
    assert len(orders) > 1  # the seed picks the ranking


def test_an_unknown_order_is_refused():
    with pytest.raises(ValueError, match="unknown tie order 'time'"):
        ties.ordered(INTER, "time")


def test_transition_model_scores_a_predictable_successor_first():
    # three users walk up the items; the first two test transitions (4 -> 5, 6 -> 7) are in other users' training
    # parts, the third (8 -> 9) in none, so its target ties with three unseen items at the bottom of twelve
    seqs = [[0, 1, 2, 3, 4, 5], [2, 3, 4, 5, 6, 7], [4, 5, 6, 7, 8, 9]]
    r = tie_markov.evaluate(seqs, 12)
    assert r["test"] == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert tie_markov.ndcg_hr(np.array([0.0, 3.0, 1.0]), 2) == (pytest.approx(1 / np.log2(3)), 1.0)
    assert tie_markov.ndcg_hr(np.array([1.0, 1.0, 1.0]), 0, k=2) == (0.0, 0.0)  # ties count against the target


def test_k_core_drops_until_every_user_and_item_has_k():
    df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [7, 8, 7, 8, 9], "timestamp": [0, 1, 0, 1, 0]})
    kept = tie_markov.k_core(df, 2)
    assert sorted(kept["user_id"].unique()) == [1, 2] and sorted(kept["item_id"].unique()) == [7, 8]


def test_noisy_global_ranking_agreement_falls_from_one_towards_chance():
    rng = np.random.default_rng(0)
    # 30 users rating 12 of 40 items each, all in one second: every pair is a tie
    rows = [(u, i, 0) for u in range(30) for i in rng.choice(40, 12, replace=False)]
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    seq, keyed = tie_markov.noisy_global(df, 1, 0.0)
    assert tie_markov.agreement_on_ties(df, keyed) == 1.0  # no noise: one ranking for all
    assert all(list(g["item_id"]) == keyed[u] for u, g in seq.groupby("user_id"))  # ties follow it
    blurred = tie_markov.agreement_on_ties(df, tie_markov.noisy_global(df, 1, 10.0)[1])
    assert 0.4 < blurred < 0.6  # noise far above the ranking's scale: chance


def test_blurred_order_is_the_noisy_global_ranking_tie_markov_measures():
    df = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2], "item_id": [5, 6, 7, 7, 6, 5], "timestamp": [1, 1, 1, 2, 2, 2]})
    for seed in range(5):
        assert ties.ordered(df, "blurred", seed).equals(tie_markov.noisy_global(df, seed, ties.BLUR)[0])

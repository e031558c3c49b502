"""benchmarks/tie_source.py: numpy < 2's non-stable sort, emulated, and the comparison with RecBole's stable order."""
import os
import sys

import numpy as np
import pytest

from conftest import REPO_DIR

sys.path.insert(0, os.path.join(REPO_DIR, "benchmarks"))
import tie_source  # noqa: E402

# np.argsort(a, kind="quicksort") under numpy 1.24.4 (no AVX-512), the session-18 check of the emulation; the same
# emulation matched numpy 1.24.4 on 5,000 random arrays of 1-399 keys with many ties.
GOLDEN = [
    ([5, 3, 4, 5, 3, 4, 5, 1, 0, 1, 1, 5, 5, 0, 2, 4, 0, 4, 0, 2, 4, 1, 2, 1, 4, 1, 5, 2, 2, 3, 3, 3, 3, 5, 4, 4, 4, 3,
      2, 5],
     [16, 8, 18, 13, 25, 23, 21, 7, 9, 10, 28, 27, 22, 38, 19, 14, 4, 30, 29, 1, 37, 32, 31, 5, 20, 24, 35, 2, 34, 17,
      36, 15, 33, 0, 12, 11, 6, 3, 26, 39]),
    ([1, 0, 2, 0, 2, 1, 0, 0, 1, 0, 0, 1, 2, 1, 2, 2, 2, 1, 1, 1, 0, 1, 1, 0, 2],
     [1, 3, 20, 6, 7, 23, 9, 10, 0, 19, 13, 8, 18, 5, 21, 22, 11, 17, 12, 15, 14, 4, 2, 16, 24]),
]


@pytest.mark.parametrize("keys,expected", GOLDEN)
def test_emulation_gives_numpy_1_24s_order_of_ties(keys, expected):
    assert tie_source.legacy_quicksort_argsort(keys) == expected
    assert expected != list(np.argsort(np.asarray(keys), kind="stable"))  # ties do move


def test_emulation_sorts_and_is_stable_on_short_inputs():
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 16, 17, 100, 333):
        keys = rng.integers(0, 5, n).tolist()
        order = tie_source.legacy_quicksort_argsort(keys)
        assert sorted(order) == list(range(n))
        assert [keys[k] for k in order] == sorted(keys)
        if n <= 16:  # insertion sort alone: equal keys keep their order
            assert order == list(np.argsort(np.asarray(keys, dtype=np.int64), kind="stable"))


def test_report_names_the_sort_that_made_our_order(tmp_path, capsys):
    keys = GOLDEN[0][0]
    items = list(range(100, 100 + len(keys)))  # user 1: ties ordered as numpy < 2 would
    sample = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    sample += [f"1\t{i}\t4\t{t}" for i, t in zip(items, keys)]
    sample += [f"2\t{i}\t4\t{t}" for i, t in zip((7, 5, 9), (1, 1, 2))]  # user 2: ties kept in the file's order
    (tmp_path / "sample.tsv").write_text("\n".join(sample) + "\n")
    ours = ["user_id:token\titem_id:token\ttimestamp:float"]
    ours += [f"1\t{items[k]}\t{p}" for p, k in enumerate(tie_source.legacy_quicksort_argsort(keys))]
    ours += [f"2\t{i}\t{p}" for p, i in enumerate((7, 5, 9))]
    (tmp_path / "ours.inter").write_text("\n".join(ours) + "\n")
    assert tie_source.main([str(tmp_path / "sample.tsv"), "--ours", str(tmp_path / "ours.inter")]) == 0
    out = capsys.readouterr().out
    assert "user 1: 40 ratings, 6 tie groups, 0 in the file's order in ours" in out
    assert "numpy<2 quicksort of the file by time gives ours: True" in out
    assert "user 2: 3 ratings, 1 tie groups, 1 in the file's order in ours" in out
    assert "2 users, 43 ratings: ours respects time for 2; numpy<2 quicksort reproduces ours for 2" in out


def test_cross_user_agreement_tells_a_shared_item_order_from_independent_ones():
    shared = {1: [5, 6, 7, 8], 2: [6, 7, 8], 3: [5, 7, 8]}  # every user follows 5 < 6 < 7 < 8
    assert tie_source.cross_user_agreement(shared) == (14, 14)
    mixed = {1: [5, 6, 7], 2: [7, 6, 5]}  # opposite orders: no pair agrees
    assert tie_source.cross_user_agreement(mixed) == (0, 6)
    times = {1: {5: 1, 6: 1, 7: 2}, 2: {5: 3, 6: 4, 7: 4}}  # tied pairs: (5, 6) in user 1, (6, 7) in user 2
    assert tie_source.cross_user_agreement(mixed, times) == (0, 2)


def test_env_parity_slice_keeps_the_first_users(tmp_path):
    import env_parity
    (tmp_path / "ml-1m.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n"
                                          "1\t10\t0\n2\t11\t0\n3\t12\t0\n12\t13\t0\n")
    env_parity.write_slice(str(tmp_path), 2, str(tmp_path / "out"))
    assert (tmp_path / "out" / "ml-slice" / "ml-slice.inter").read_text() == (
        "user_id:token\titem_id:token\ttimestamp:float\n1\t10\t0\n2\t11\t0\n")

"""benchmarks/check_split_order.py: the leave-one-out split follows each user's order in the atomic file."""
import os
import sys

from conftest import DATA_DIR, REPO_DIR

sys.path.insert(0, os.path.join(REPO_DIR, "benchmarks"))
import check_split_order  # noqa: E402


def test_split_follows_file_order_with_truncated_histories(capsys):
    # histories longer than max_len (5) are cut to their most recent items: the check covers that path too
    assert check_split_order.main(["--dataset", "tiny", "--data_path", DATA_DIR, "--max_len", "5"]) == 0
    out = capsys.readouterr().out
    assert "mismatches: 0" in out and "of 120" in out


def test_a_mismatch_is_reported(monkeypatch, capsys):
    # the checker must be able to fail: make it expect user 1's last two items in the other order
    original = check_split_order.per_user_items

    def swapped(path):
        users = original(path)
        users["1"][-2], users["1"][-1] = users["1"][-1], users["1"][-2]
        return users

    monkeypatch.setattr(check_split_order, "per_user_items", swapped)
    assert check_split_order.main(["--dataset", "tiny", "--data_path", DATA_DIR]) == 1
    out = capsys.readouterr().out
    assert "mismatches: 1" in out and "'1'" in out


def test_tie_share_counts_targets_decided_by_the_order_of_ties(tmp_path):
    import tie_share
    rows = [(1, 1), (1, 2), (1, 3), (1, 3),  # test and validation targets tied with each other
            (2, 1), (2, 1), (2, 2), (2, 3),  # ties only in the training part
            (3, 5), (3, 6),  # too short for leave-one-out: left out
            (4, 9), (4, 2), (4, 2), (4, 1), (4, 2)]  # validation target in a group of 3; rows not in time order
    path = tmp_path / "t.inter"
    path.write_text("user_id:token\titem_id:token\ttimestamp:float\n"
                    + "".join(f"{u}\t{i}\t{t}\n" for i, (u, t) in enumerate(rows)))
    r = tie_share.tie_share(str(path))
    assert r["users"] == 3 and r["largest tie"] == 3
    assert r["test target tied"] == 1 / 3 and r["valid target tied"] == 2 / 3
    assert r["interactions in a tie"] == 7 / 13

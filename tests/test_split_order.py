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

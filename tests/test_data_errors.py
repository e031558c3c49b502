"""Malformed atomic files and unsplittable users: one clear error naming the file and line."""
import pytest

from recbole_mamba.errors import DatasetFormatError
from recbole_mamba.quick_start import run

HEADER = "user_id:token\titem_id:token\ttimestamp:float\n"


def good_rows(users=6, per_user=5):
    return "".join(f"{u}\t{(u + t) % 9 + 1}\t{t}\n" for u in range(1, users + 1) for t in range(per_user))


@pytest.mark.parametrize("content,message", [
    ("", "is empty"),
    ("user_id\titem_id:token\ttimestamp:float\n1\t2\t3\n", "header column 'user_id' must be name:type"),
    ("user_id:token\titem_id:int\ttimestamp:float\n1\t2\t3\n", "header column 'item_id:int'"),
    (HEADER, "has a header but no rows"),
    (HEADER + "1\t2\t3\n1\t3\t4\t5\n", "line 3 has 4 column\\(s\\), the header has 3"),
    (HEADER + "1\t2\t3\n1\t3\n", "line 3 has 2 column\\(s\\), the header has 3"),
    (HEADER + "1\t2\t3\n1\t3\tlate\n", "line 3: timestamp:float must be numeric, got 'late'"),
    (HEADER + "1\t2\t3\n\t3\t4\n", "line 3 has no value for user_id:token"),
])
def test_malformed_inter_file(tmp_path, tiny_config, content, message):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.inter").write_text(content)
    with pytest.raises(DatasetFormatError, match=message):
        run("LatentMamba", "bad", config_dict={**tiny_config, "data_path": str(tmp_path)}, cmd_args=[])


def test_users_too_short_for_leave_one_out(tmp_path, tiny_config):
    (tmp_path / "short").mkdir()
    (tmp_path / "short" / "short.inter").write_text(HEADER + good_rows() + "99\t1\t0\n")
    config = {**tiny_config, "data_path": str(tmp_path), "user_inter_num_interval": None,
              "item_inter_num_interval": None}
    with pytest.raises(DatasetFormatError, match="1 user\\(s\\) of short have fewer than 3 interactions"):
        run("LatentMamba", "short", config_dict=config, cmd_args=[])

"""The converter of public sequence files gives the atomic file RecBole reads, in the file's order per user."""
from recbole_mamba.convert import main, sequences_to_atomic


def test_sequence_file_becomes_atomic_file_in_user_order(tmp_path):
    src = tmp_path / "seq.txt"
    src.write_text("1 5 3 9\n2 3 3\n\n10 7 1 2 8\n")
    assert sequences_to_atomic(str(src), str(tmp_path / "data"), "toy") == (3, 9)
    lines = (tmp_path / "data" / "toy" / "toy.inter").read_text().splitlines()
    assert lines[0] == "user_id:token\titem_id:token\ttimestamp:float"
    assert lines[1:4] == ["1\t5\t0", "1\t3\t1", "1\t9\t2"] and lines[5] == "2\t3\t1"  # repeats kept


def test_a_line_without_items_is_one_error(tmp_path, capsys):
    src = tmp_path / "seq.txt"
    src.write_text("1 5 3\n2\n")
    assert main(["sequences", str(src), str(tmp_path), "bad"]) == 2
    assert capsys.readouterr().err.strip() == f"recbole-mamba convert: error: {src}: line 2 has a user but no items"

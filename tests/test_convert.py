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


RATINGS = "1::1193::5::978300760\n1::661::3::978302109\n1::914::3::978301968\n2::1193::4::978300760\n" \
          "2::661::5::978300760\n3::914::2::978300000\n"
MOVIES = "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::" \
         "Animation|Children's|Musical\n914::My Fair Lady (1964)::Musical|Romance\n"


def test_movielens_ratings_become_atomic_files_with_real_seconds_in_file_order(tmp_path):
    from recbole_mamba.convert import movielens_to_atomic

    (tmp_path / "ratings.dat").write_text(RATINGS)
    (tmp_path / "movies.dat").write_text(MOVIES, encoding="latin-1")
    summary = movielens_to_atomic(str(tmp_path / "ratings.dat"), str(tmp_path / "data"), "ml-half", max_user=2,
                                  movies=str(tmp_path / "movies.dat"))
    assert summary.endswith("5 ratings, 2 users, 3 movies; 3 movies described")
    inter = (tmp_path / "data" / "ml-half" / "ml-half.inter").read_text().splitlines()
    assert inter[0] == "user_id:token\titem_id:token\trating:float\ttimestamp:float"
    assert inter[4:] == ["2\t1193\t4\t978300760", "2\t661\t5\t978300760"]  # same second: the file's order, user 3 gone
    item = (tmp_path / "data" / "ml-half" / "ml-half.item").read_text().splitlines()
    assert item[0] == "item_id:token\tmovie_title:token_seq\trelease_year:token\tgenre:token_seq"
    assert item[2] == "661\tJames and the Giant Peach\t1996\tAnimation Children's Musical"


def test_a_malformed_ratings_line_is_one_error(tmp_path, capsys):
    (tmp_path / "ratings.dat").write_text("1::1193::5::978300760\n1,661,3,978302109\n")
    assert main(["movielens", str(tmp_path / "ratings.dat"), str(tmp_path), "bad"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"recbole-mamba convert: error: {tmp_path / 'ratings.dat'}: line 2 is not UserID::MovieID")

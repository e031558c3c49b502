"""benchmarks/tie_gain.py: the tie-order runs summed up against each model's random-tie baseline."""
import importlib.util
import os

from conftest import REPO_DIR

SCRIPT = os.path.join(REPO_DIR, "benchmarks", "tie_gain.py")
spec = importlib.util.spec_from_file_location("tie_gain", SCRIPT)
gain = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gain)


def tie_run(tmp_path, name, test, valid, early_stop=True):
    """A tie-order run's log with its best valid and test NDCG@10 (Hit@10 twice each)."""
    path = tmp_path / f"{name}.log"
    text = f"seed = {name.split('_')[1]}\n29 Nov 03:34    INFO  epoch 0 training [time: 1.00s, train loss: 1.0]\n"
    if early_stop:
        text += "29 Nov 03:34    INFO  Finished training, best eval result in epoch 0\n"
    metrics = "OrderedDict({{'hit@10': np.float64({h}), 'ndcg@10': np.float64({n})}})"
    text += f"29 Nov 03:34    INFO  best valid : {metrics.format(h=2 * valid, n=valid)}\n"
    text += f"29 Nov 03:34    INFO  test result: {metrics.format(h=2 * test, n=test)}\n"
    path.write_text(text)
    return gain.collect.parse(str(path))


def test_gains_are_against_the_pooled_random_orders_and_unstopped_runs_count_nowhere(tmp_path):
    rows = [tie_run(tmp_path, "SASRec_2020_dataset-ml-100k-file", 0.06, 0.07),
            tie_run(tmp_path, "SASRec_2021_dataset-ml-100k-shuffled", 0.04, 0.05),
            tie_run(tmp_path, "SASRec_2020_dataset-ml-100k-global", 0.075, 0.09),
            tie_run(tmp_path, "SASRec_2021_dataset-ml-100k-global", 0.1, 0.3, early_stop=False),
            tie_run(tmp_path, "SASRec_2020", 0.2, 0.2)]  # not a tie-order run
    groups = gain.group(rows)
    assert set(groups) == {"SASRec"} and sorted(groups["SASRec"]) == ["file", "global", "shuffled"]
    assert len(groups["SASRec"]["global"]) == 1
    lines = gain.summary(groups).splitlines()
    # random ties first, then the learnable orders; baseline = mean of file and shuffled (0.05 test, 0.06 valid)
    assert [line.split(" | ")[1] for line in lines[2:]] == ["file", "shuffled", "global",
                                                             "random ties (file + shuffled, 2 runs)"]
    assert lines[4] == ("| SASRec | global | 2020 | 0.0750 | 0.0750 | +50.0% | 0.1500 | 0.0900 | +50.0% |")
    assert "lowest 0.0400, highest 0.0600 | 0.0500 |" in lines[5]

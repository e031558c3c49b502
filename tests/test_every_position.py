"""train_positions: all — the every-position objective, its losses, its training split, and its runs."""
import csv

import numpy as np
import pytest
import torch

from conftest import DATA_DIR, TINY
from recbole_mamba.objective import inner_all_scores, inner_pair_scores
from recbole_mamba.model.loss import chunked_ce, full_ce, sampled_softmax
from recbole_mamba.quick_start import build_model, load_dataset, make_config, prepare_data, run

MODELS = [("LatentMamba", {}), ("HMamba", {}), ("HMamba", {"variant": "half"}), ("Mamba4Rec", {"n_layers": 2}),
          ("SASRec", {"hidden_dropout_prob": 0.0, "attn_dropout_prob": 0.0}), ("GRU4Rec", {})]


def setup(model, extra, positions="all", **more):
    config = make_config(model, "tiny", config_dict={**TINY, "dropout_prob": 0.0, "train_positions": positions,
                                                     "scan_backend": "torch", **extra, **more}, cmd_args=[])
    dataset = load_dataset(config)
    train, valid, test = prepare_data(config, dataset)
    torch.manual_seed(0)
    return config, build_model(config, train._dataset).double(), (train, valid, test)


HEADS = [("LatentMamba", {"ssm": "mamba2"}), ("LatentMamba", {"ssm": "gla"})]


@pytest.mark.parametrize("model,extra", MODELS + HEADS,
                         ids=[m + ("-half" if e.get("variant") else "") + ("-" + e["ssm"] if "ssm" in e else "")
                              for m, e in MODELS + HEADS])
def test_all_positions_loss_is_the_mean_of_the_prefix_losses(model, extra):
    """Causal model, no dropout: the every-position loss of a batch equals the mean CE of the prefix samples that
    RecBole's `last` objective would train on, in value and in every parameter's gradient."""
    _, net, (train, _, _) = setup(model, extra)
    net.eval()  # no dropout anywhere (GRU4Rec's embedding dropout included)
    batch = next(iter(train))
    item_seq, lengths = batch[net.ITEM_SEQ][:6], batch[net.ITEM_SEQ_LEN][:6]
    targets = net.position_targets(item_seq, lengths, batch[net.POS_ITEM_ID][:6])
    sub = type(batch)({net.ITEM_SEQ: item_seq, net.ITEM_SEQ_LEN: lengths, net.POS_ITEM_ID: batch[net.POS_ITEM_ID][:6]})
    all_loss = net.calculate_loss(sub)
    all_grads = torch.autograd.grad(all_loss, [p for p in net.parameters() if p.requires_grad], allow_unused=True)

    prefixes, prefix_len, prefix_target = [], [], []
    for b in range(item_seq.shape[0]):
        for p in range(int(lengths[b])):
            seq = torch.zeros_like(item_seq[b])
            seq[: p + 1] = item_seq[b, : p + 1]
            prefixes.append(seq)
            prefix_len.append(p + 1)
            prefix_target.append(int(targets[b, p]))
    last = type(batch)({net.ITEM_SEQ: torch.stack(prefixes), net.ITEM_SEQ_LEN: torch.tensor(prefix_len),
                        net.POS_ITEM_ID: torch.tensor(prefix_target)})
    net.train_positions = "last"
    last_loss = net.calculate_loss(last)
    last_grads = torch.autograd.grad(last_loss, [p for p in net.parameters() if p.requires_grad], allow_unused=True)
    assert len(prefixes) == int((targets > 0).sum()) > item_seq.shape[0]
    torch.testing.assert_close(all_loss, last_loss, rtol=1e-9, atol=1e-10)
    for a, b in zip(all_grads, last_grads):
        if a is None or b is None:
            assert a is None and b is None
            continue
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-10)


def test_position_targets_shift_and_pad():
    from recbole_mamba.objective import EveryPositionMixin

    seq = torch.tensor([[5, 6, 7, 0], [8, 0, 0, 0]])
    targets = EveryPositionMixin.position_targets(seq, torch.tensor([3, 1]), torch.tensor([9, 4]))
    assert targets.tolist() == [[6, 7, 9, 0], [4, 0, 0, 0]]


def _loss_inputs(seed=0, positions=37, items=23, hidden=8):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(positions, hidden, generator=g, dtype=torch.float64, requires_grad=True)
    table = torch.randn(items, hidden, generator=g, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(1, items, (positions,), generator=g)
    return h, table, targets


def _value_and_grads(loss_fn):
    h, table, targets = _loss_inputs()
    loss = loss_fn(h, table, targets)
    return (loss, *torch.autograd.grad(loss, (h, table)))


@pytest.mark.parametrize("chunk", [1, 5, 37, 100])
def test_chunked_ce_equals_full_ce(chunk):
    full = _value_and_grads(lambda h, t, y: full_ce(inner_all_scores, h, t, y))
    chunked = _value_and_grads(lambda h, t, y: chunked_ce(inner_all_scores, h, t, y, chunk))
    for a, b in zip(full, chunked):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_sampled_softmax_over_every_item_is_full_ce():
    full = _value_and_grads(lambda h, t, y: full_ce(inner_all_scores, h, t, y))
    sampled = _value_and_grads(lambda h, t, y: sampled_softmax(inner_pair_scores, inner_all_scores, h, t, y, 23))
    for a, b in zip(full, sampled):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_sampled_softmax_with_few_negatives_and_in_batch():
    h, table, targets = _loss_inputs()
    torch.manual_seed(0)
    for source in ("uniform", "in_batch"):
        loss = sampled_softmax(inner_pair_scores, inner_all_scores, h, table, targets, 5, source)
        assert torch.isfinite(loss) and 0 < float(loss) < float(full_ce(inner_all_scores, h, table, targets)) + 10
    # in-batch with one target repeated: log Q subtracted from the target's and the negatives' logits
    same = torch.full((4,), 3)
    hb = h[:4].detach()
    loss = sampled_softmax(inner_pair_scores, inner_all_scores, hb, table.detach(), same, 8, "in_batch")
    assert float(loss) == 0.0  # its only candidate is its own target, masked as a negative: nothing to contrast
    with pytest.raises(ValueError, match="negative source"):
        sampled_softmax(inner_pair_scores, inner_all_scores, h, table, targets, 5, "popular")


def test_sampled_softmax_with_negatives_per_position():
    h, table, targets = _loss_inputs()
    torch.manual_seed(0)
    loss = sampled_softmax(inner_pair_scores, inner_all_scores, h, table, targets, 5, "position")
    loss.backward()
    assert torch.isfinite(loss) and h.grad is not None and torch.isfinite(h.grad).all()
    # with a catalogue of one real item every negative is the target itself: all masked, nothing to contrast
    one = torch.ones(4, dtype=torch.long)
    loss = sampled_softmax(inner_pair_scores, inner_all_scores, h[:4].detach(), table[:2].detach(), one, 7, "position")
    assert float(loss) == 0.0


def test_evaluation_is_identical_between_last_and_all():
    _, _, (train_last, valid_last, test_last) = setup("Mamba4Rec", {}, positions="last")
    _, _, (train_all, valid_all, test_all) = setup("Mamba4Rec", {}, positions="all")
    for a, b in ((valid_last, valid_all), (test_last, test_all)):
        fa, fb = (d._dataset.inter_feat for d in (a, b))  # the same rows; users in another order (windowed)
        fa, fb = (f[torch.argsort(f["user_id"], stable=True)] for f in (fa, fb))
        for field in ("user_id", "item_id", "item_id_list", "item_length"):
            assert torch.equal(fa[field], fb[field]), field
    users = train_last._dataset.inter_feat["user_id"]
    assert len(train_all._dataset) == len(torch.unique(users)) < len(train_last._dataset)
    # each user's one sample is its last prefix sample: the most recent window of its training part
    feat_all = train_all._dataset.inter_feat
    last_rows = {int(u): i for i, u in enumerate(users.tolist())}
    feat_last = train_last._dataset.inter_feat
    for row in range(len(feat_all)):
        i = last_rows[int(feat_all["user_id"][row])]
        assert torch.equal(feat_all["item_id_list"][row], feat_last["item_id_list"][i])
        assert int(feat_all["item_id"][row]) == int(feat_last["item_id"][i])


def test_every_window_tiles_the_training_part():
    config, _, (train_last, _, _) = setup("Mamba4Rec", {}, positions="last", MAX_ITEM_LIST_LENGTH=5)
    _, _, (train_every, _, _) = setup("Mamba4Rec", {}, positions="all", MAX_ITEM_LIST_LENGTH=5,
                                      train_windows="every")
    last, every = train_last._dataset.inter_feat, train_every._dataset.inter_feat
    for user in torch.unique(last["user_id"]).tolist()[:20]:
        targets = last["item_id"][last["user_id"] == user]  # one per training position after the first
        windows = every["item_length"][every["user_id"] == user]
        covered = sum(int(n) for n in windows)  # positions that carry a loss
        assert covered == len(targets)


@pytest.mark.parametrize("windows,length", [("last", 3), ("last", 50), ("every", 3), ("every", 5)])
def test_windowed_dataset_makes_the_samples_recboles_augmentation_would_keep(windows, length, monkeypatch):
    """With leave-one-out, only the kept samples are made (users x 3 rows, not interactions x L): train, valid and
    test hold the same rows, column for column, as RecBole's full augmentation followed by every_position_samples."""
    from recbole.data.dataset import SequentialDataset

    from recbole_mamba import objective

    def splits(full):
        with monkeypatch.context() as m:
            if full:
                m.setattr(objective.WindowedSequentialDataset, "data_augmentation",
                          SequentialDataset.data_augmentation)
            config = make_config("LatentMamba", "tiny", config_dict={**TINY, "train_positions": "all",
                                 "train_windows": windows, "MAX_ITEM_LIST_LENGTH": length}, cmd_args=[])
            parts = prepare_data(config, load_dataset(config))
        assert parts[0]._dataset.windowed is not full
        feats = [part._dataset.inter_feat for part in parts]
        return [f[torch.as_tensor(np.lexsort((f["timestamp"].numpy(), f["user_id"].numpy())))] for f in feats]

    for lean, full in zip(splits(False), splits(True)):
        assert sorted(lean.columns) == sorted(full.columns) and len(lean) == len(full)
        for column in full.columns:
            assert torch.equal(lean[column], full[column]), column


@pytest.mark.parametrize("model", ["LatentMamba", "HMamba", "Mamba4Rec", "SASRec", "GRU4Rec"])
def test_one_epoch_through_the_entry_point(model, tmp_path):
    result = run(model, "tiny", config_dict={**TINY, "train_positions": "all", "checkpoint_dir": str(tmp_path),
                                             "ce_chunk_size": 16}, cmd_args=[])
    assert result["epochs"] == 1 and 0 <= result["test_result"]["ndcg@10"] <= 1


def test_a_bidirectional_model_is_refused():
    from recbole_mamba.errors import ConfigError

    with pytest.raises(ConfigError, match="BERT4Rec is not one of ours"):
        make_config("BERT4Rec", "tiny", config_dict={**TINY, "train_positions": "all"}, cmd_args=[])
    with pytest.raises(ConfigError, match="train_positions must be one of"):
        make_config("LatentMamba", "tiny", config_dict={**TINY, "train_positions": "every"}, cmd_args=[])


def test_comparison_and_tuner_accept_the_key(tmp_path):
    from recbole_mamba.leaderboard import board
    from recbole_mamba.tuning import main

    args = [f"--{k}={v}" for k, v in {**TINY, "train_positions": "all"}.items()] + ["--sampled_negatives=10"]
    tables, done = board(["LatentMamba", "SASRec"], ["tiny"], [2020], args, str(tmp_path / "cmp"))
    assert len(done) == 2 and "| SASRec | 2020 |" in tables["tiny"]
    space = tmp_path / "space.hyper"
    space.write_text("learning_rate choice [0.001,0.01]\n")
    assert main(["--model=Mamba4Rec", "--dataset=tiny", f"--params_file={space}", "--algo=exhaustive",
                 "--max_evals=2", f"--output_dir={tmp_path / 'hyp'}", f"--data_path={DATA_DIR}"]
                + [a for a in args if not a.startswith("--data_path")]) == 0
    with open(tmp_path / "hyp" / "Mamba4Rec-tuning.csv") as f:
        assert len(list(csv.reader(f))) == 3


@pytest.mark.parametrize("model,extra", MODELS[:4] + MODELS[5:], ids=["LatentMamba", "HMamba", "HMamba-half",
                                                                     "Mamba4Rec", "GRU4Rec"])
def test_trimmed_padding_gives_the_same_loss_and_scores(model, extra):
    from recbole_mamba.data import trim_padding

    config, net, (train, _, test) = setup(model, extra, MAX_ITEM_LIST_LENGTH=60, trim_padding=False)
    net.eval()
    batch = next(iter(train))  # the whole width: trim_padding is off
    trimmed = trim_padding(batch, net.ITEM_SEQ_LEN, config["LIST_SUFFIX"])
    assert trimmed[net.ITEM_SEQ].shape[1] == int(batch[net.ITEM_SEQ_LEN].max()) < batch[net.ITEM_SEQ].shape[1] == 60
    torch.testing.assert_close(net.calculate_loss(trimmed), net.calculate_loss(batch), rtol=1e-10, atol=1e-12)
    if hasattr(net, "_trimmed"):
        users = next(iter(test))[0]
        scores = net.full_sort_predict(users)
        net.trim_padding = True
        torch.testing.assert_close(scores, net.full_sort_predict(users), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("model,extra,trims", [("LatentMamba", {}, True), ("SASRec", {}, True),
                                               ("SASRec", {"train_positions": "last"}, False),
                                               ("eSASRec", {}, False)])
def test_training_batches_leave_the_loader_trimmed_where_the_model_allows_it(model, extra, trims):
    from recbole_mamba.data import TrimmedTrainDataLoader

    config, net, (train, _, _) = setup(model, {}, MAX_ITEM_LIST_LENGTH=60, **extra)
    assert config["trim_padding"] is trims and getattr(net, "trim_padding", False) is trims
    assert isinstance(train, TrimmedTrainDataLoader) is trims
    widths = {(b[net.ITEM_SEQ].shape[1], int(b[net.ITEM_SEQ_LEN].max())) for b in train}
    assert all(width == (longest if trims else 60) for width, longest in widths)


@pytest.mark.parametrize("positions", ["last", "all"])
def test_items_unseen_in_training_get_no_gradient(positions):
    """exclude_unseen_items: an item that no training sample shows is neither target nor negative."""
    _, net, (train, _, _) = setup("Mamba4Rec", {}, positions=positions, exclude_unseen_items=True)
    net.unseen_items[torch.tensor([5, 9, 13])] = True  # as if no training sample showed them
    batch = next(iter(train))
    keep = ~torch.isin(batch[net.POS_ITEM_ID], torch.tensor([5, 9, 13]))  # they are no targets either
    batch = type(batch)({k: v[keep] for k, v in batch.interaction.items()})
    batch[net.ITEM_SEQ][torch.isin(batch[net.ITEM_SEQ], torch.tensor([5, 9, 13]))] = 1
    net.calculate_loss(batch).backward()
    grad = net.item_embedding.weight.grad
    assert grad[[5, 9, 13]].abs().sum() == 0 and grad[1].abs().sum() > 0


def test_eval_filter_seen_leaves_out_the_input_history():
    from recbole_mamba.utils import get_trainer

    config, net, (_, _, test) = setup("Mamba4Rec", {}, positions="all", eval_filter_seen=True)
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, net.float())
    trainer.tot_item_num = test._dataset.item_num  # what RecBole's evaluate() sets before ranking
    batch = next(iter(test))
    interaction, scores, _, _ = trainer._full_sort_batch_eval(batch)
    seen = interaction[net.ITEM_SEQ]
    assert torch.isneginf(scores.gather(1, seen)).all()
    kept = torch.ones_like(scores, dtype=torch.bool).scatter(1, seen, False)
    kept[:, 0] = False  # the padding item, never ranked
    assert torch.isfinite(scores[kept]).all()  # every other item keeps its score
    trainer.config["eval_filter_seen"] = False
    _, plain_scores, _, _ = trainer._full_sort_batch_eval(batch)
    assert torch.isfinite(plain_scores[:, 1:]).all()


def test_trimmed_batches_keep_a_multiple_of_trim_multiple_columns_and_the_same_results():
    """trim_multiple=16: training batches keep their longest sequence rounded up to 16 columns (at most the whole
    width), evaluation trims alike, and loss and scores are those of the untrimmed batch."""
    from recbole_mamba.data import kept_width, trim_padding

    assert [kept_width(n, 60, 16) for n in (1, 16, 17, 45, 49, 60)] == [16, 16, 32, 48, 60, 60]
    config, net, (train, _, test) = setup("LatentMamba", {}, MAX_ITEM_LIST_LENGTH=60, trim_multiple=16)
    widths = {(b[net.ITEM_SEQ].shape[1], int(b[net.ITEM_SEQ_LEN].max())) for b in train}
    assert all(width == min(60, -(-longest // 16) * 16) for width, longest in widths)
    net.eval()
    _, _, (full_train, _, _) = setup("LatentMamba", {}, MAX_ITEM_LIST_LENGTH=60, trim_padding=False)
    batch = next(iter(full_train))
    trimmed = trim_padding(batch, net.ITEM_SEQ_LEN, config["LIST_SUFFIX"], 16)
    assert trimmed[net.ITEM_SEQ].shape[1] % 16 == 0 or trimmed[net.ITEM_SEQ].shape[1] == 60
    torch.testing.assert_close(net.calculate_loss(trimmed), net.calculate_loss(batch), rtol=1e-10, atol=1e-12)
    users = next(iter(test))[0]
    scores = net.full_sort_predict(users)  # trimmed to a multiple of 16
    net.trim_padding = False
    torch.testing.assert_close(scores, net.full_sort_predict(users), rtol=1e-10, atol=1e-12)

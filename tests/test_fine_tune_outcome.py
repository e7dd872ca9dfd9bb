"""What a fine-tune gives the user: the model it started from is scored on their validation
data as epoch 0, kept where no epoch beats it, and the printed summary, metrics.json and
card say which epoch the bundle is, the change from the start, and what to run next."""
import json
import warnings

import keras
import numpy as np
import pytest

import zoo
from zoo.cli import main
from zoo.errors import ZooWarning
from zoo_pipelines.ner import data

FAST = dict(steps_per_epoch=1, batch_size=8, monitor_gradients=False, jit_compile=False)


@pytest.fixture(scope="module")
def sentences(data_dir):
    return data.read(data_dir / "conll2003" / "valid.txt")[:40]


class _Ruin(keras.callbacks.Callback):
    """Zeroes every trained weight after each step: every epoch scores worse than the start."""

    def on_train_batch_end(self, batch, logs=None):
        for w in self.model.trainable_weights:
            w.assign(np.zeros(w.shape, w.dtype))


def test_no_epoch_better_than_the_start_keeps_the_start_and_says_so(sentences, tmp_path, capsys):
    """Every epoch worse than the model fine-tuned from wrote the best of the worse epochs,
    unsaid (the start was never scored). Now epoch 0 is scored, kept, and named."""
    m = zoo.load("ner-bilstm")
    before = m.keras_model.get_layer("encoder").get_weights()
    out = tmp_path / "tuned"
    tuned = m.fine_tune(sentences[:20], validation=sentences[20:], out=out, epochs=2,
                        callbacks=[_Ruin()], **FAST)
    said = capsys.readouterr().out
    assert "  epoch 0 (the model fine-tuned from): val_f1=" in said
    assert "fine_tune: no epoch of 2 improved on the model fine-tuned from (val_f1 " in said
    # a Python caller is told what it types, not the CLI's option
    assert "try a lower learning_rate=, or more data" in said and "--learning-rate" not in said
    # fit named its best epoch without "keeping epoch N" a line before the start was kept
    assert "keeping epoch" not in said and "the best epoch: " in said
    kept = json.loads((out / "metrics.json").read_text())["kept"]
    assert kept["epoch"] == 0 and kept["of"] == 2 and kept["val_f1"] == kept["start_val_f1"] > 0
    # the bundle holds the starting weights (not the zeroed epochs) and scores as the start
    assert tuned.metrics["valid"]["f1"] == pytest.approx(kept["start_val_f1"])
    for a, b in zip(before, tuned.keras_model.get_layer("encoder").get_weights()):
        np.testing.assert_array_equal(a, b)
    assert "against the model it started from (epoch 0): no epoch of 2 improved" in \
        (out / "card.md").read_text()


def test_cli_summary_says_the_epoch_the_change_and_the_next_commands(sentences, tmp_path,
                                                                      capsys):
    """The last line said where the bundle went and its selection number only: not whether
    fine-tuning helped, which epoch it is, or how to use it."""
    train, valid = tmp_path / "train.conll", tmp_path / "dev.conll"
    for path, part in ((train, sentences[:20]), (valid, sentences[20:])):
        path.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(s["tokens"], s["tags"]))
                                    for s in part) + "\n")
    out = tmp_path / "tuned"
    assert main(["fine-tune", "ner-bilstm", "--data", str(train), "--validation", str(valid),
                 "--out", str(out), "--epochs", "1", "--steps-per-epoch", "1",
                 "--batch-size", "8", "--hparam", "monitor_gradients=False"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    kept = json.loads((out / "metrics.json").read_text())["kept"]
    assert last.startswith(f"saved fine-tuned ner-bilstm to {out} (epoch {kept['epoch']} of 1); f1 ")
    if kept["epoch"]:
        assert (f"the fine-tune took val_f1 from {kept['start_val_f1']:.4f} to "
                f"{kept['val_f1']:.4f} ({kept['val_f1'] - kept['start_val_f1']:+.4f})") in last
    else:
        assert "no epoch beat the model it started from, whose weights it keeps" in last
    assert last.endswith(f"Next: measure it on data that chose nothing with `zoo evaluate {out} "
                         f"--data FILE`; use it with `zoo predict {out} INPUT`")


def test_a_tiny_validation_set_is_told_the_choice_is_noise(sentences, capsys):
    # one sentence, said in the singular ("only 1 validation examples: ... on them" before)
    with pytest.warns(ZooWarning, match="only 1 validation example: the epoch chosen on it, "
                                        "and the change from the model fine-tuned from, are "
                                        "mostly noise"):
        zoo.load("ner-bilstm").fine_tune(sentences[:20], validation=sentences[20:21], epochs=1,
                                         **FAST)


def test_one_example_is_said_in_the_singular(sentences, capsys):
    """It said "only 1 examples and no validation data". (Raised, so that nothing trains.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZooWarning)
        with pytest.raises(ZooWarning, match="only 1 example and no validation data: the epoch "
                                             "is chosen on the training data itself"):
            zoo.load("ner-bilstm").fine_tune(sentences[:1], epochs=1, **FAST)


def test_a_warning_about_the_validation_data_is_said_once_a_run(sentences, capsys):
    """A gold type the model does not know was warned of at epoch 0, at every epoch and
    again for the card: four times for a two-epoch fine-tune."""
    product = [{"tokens": ["Peter", "bought", "an", "iPhone"],
                "tags": ["B-PER", "O", "O", "B-PRODUCT"]}] * 10
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zoo.load("ner-bilstm").fine_tune(sentences[:20], validation=product, epochs=2, **FAST)
    said = [str(w.message) for w in caught if issubclass(w.category, ZooWarning)]
    assert sum("entity types PRODUCT that ner-bilstm does not know" in s for s in said) == 1, said


def test_data_that_never_tags_a_type_is_told_it_will_be_unlearnt(sentences, capsys):
    """A WikiANN fine-tune (PER, LOC, ORG; no MISC) taught CoNLL's model MISC is "O", unsaid."""
    no_misc = [{**s, "tags": [t if "MISC" not in t else "O" for t in s["tags"]]}
               for s in sentences[:20]]
    zoo.load("ner-bilstm").fine_tune(no_misc, validation=sentences[20:], epochs=1, **FAST)
    assert ("fine_tune: the new data never tags MISC: the model will unlearn it (--rehearse "
            "mixes its own training data in to keep it)") in capsys.readouterr().out


def test_validation_that_shares_examples_with_the_data_is_told(sentences, capsys):
    """--validation naming the --data file chose the epoch on what it trained on, and its
    number read as a validation score."""
    with pytest.warns(ZooWarning, match="10 of the 20 validation examples are also in the "
                                        "fine-tuning data"):
        tuned = zoo.load("ner-bilstm").fine_tune(sentences[:20], validation=sentences[10:30],
                                                 epochs=1, **FAST)
    kept = tuned.metrics["kept"]
    assert kept["also_trained_on"] == 10
    assert kept["why"].endswith("(on validation data of which 10 of 20 examples were also "
                                "trained on)")


# ---- a user's own small data: told before anything trains (helper FJ) --------------------
def test_a_series_too_short_to_validate_on_is_refused_as_a_fine_tune(tmp_path, capsys):
    """One ticker of 80 days, no --validation: the series is also the validation data, which
    needs 132 prices; it was refused as "no series to evaluate", unsaid that the fine-tune
    validates on it or what to pass."""
    import pandas as pd

    from zoo.errors import InputError, ZooWarning

    days = pd.bdate_range("2024-01-02", periods=80)
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 80)))
    path = tmp_path / "mine.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": closes}).to_csv(path, index=False)
    with pytest.warns(ZooWarning, match="80 prices, too short"), pytest.raises(
            InputError, match=r"^forecast-lstm fine_tune chooses the epoch on the fine-tuning "
                              r"data itself \(too few to hold out\), which cannot be scored: "
                              r"no series to evaluate: each needs at least 132 prices.*; pass "
                              r"validation= \(--validation FILE\) with data it can score$"):
        zoo.load("forecast-lstm").fine_tune(str(path), out=tmp_path / "out", **FAST)
    assert "epoch 0" not in capsys.readouterr().out and not (tmp_path / "out").exists()


def test_a_transcript_outside_the_alphabet_is_refused_before_the_start_is_scored(
        data_dir, tmp_path, capsys):
    """'five hello' for the digits model: scored at epoch 0 first ("counts as an error"),
    refused only as training began."""
    from zoo.errors import DataFormatError

    wav = data_dir / "fsdd" / "recordings" / "5_george_1.wav"
    (tmp_path / "transcripts.csv").write_text(f"path,text\n{wav},five hello\n{wav},five\n")
    with pytest.raises(DataFormatError, match=r"transcript 'five hello' does not fit the "
                                              r"'digits' alphabet \(token 'hello'\)"):
        zoo.load("speech-ctc").fine_tune(str(tmp_path), **FAST)
    assert "epoch 0" not in capsys.readouterr().out


def test_data_without_long_names_rehearses_nothing_for_their_types(capsys):
    """Data tagging PER, ORG, LOC, MISC (one-word names: no I- tags) and a new PRODUCT
    counted I-PER... as untagged: CoNLL rehearsed (12,769 sentences beside five) and the card
    said the data lacked them."""
    from zoo.training import default_rehearsal, new_labels

    old = ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER"]
    change = new_labels(old, ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "B-PRODUCT",
                              "I-PRODUCT"])
    assert change["how"] == "merged" and change["untagged"] == []
    assert default_rehearsal(zoo.registry.get("ner-bilstm"), change) is None
    assert new_labels(old, ["O", "B-ORG", "B-PRODUCT"])["untagged"] == [
        "B-LOC", "B-MISC", "B-PER", "I-LOC", "I-MISC", "I-PER"]
    assert capsys.readouterr().out == ""

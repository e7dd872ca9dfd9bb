"""music-lstm: the .npz and MIDI readers, the NADE's likelihood (Keras == numpy host), the
step export, generation to MIDI and the CLI. Small untrained models keep it fast."""
import json

import mido
import numpy as np
import pytest

import zoo_pipelines.music  # noqa: F401  (registers music-lstm)
from zoo_pipelines.music import data as D
from zoo_pipelines.music import model as M
from zoo_pipelines.music.midi import read_midi, write_midi
from zoo_pipelines.music.nade import nade_decode, sigmoid
from zoo.errors import DataFormatError, InputError, ZooWarning


@pytest.fixture(scope="module")
def jsb(data_dir):
    root = data_dir / "polyphonic"
    return D.read_split(root, "train"), D.read_split(root, "valid")


@pytest.fixture(scope="module")
def tiny(jsb):
    from zoo.model import ZooModel
    from zoo.registry import get

    train, valid = jsb
    prep, _ = D.fit_preprocessor(train, seq_len=32, steps_per_quarter=1)
    prep["examples"] = D.parity_examples(valid, n=4, steps=8)
    return ZooModel(get("music-lstm"), M.build(prep, units=16, nade_hidden=8), prep)


def test_npz_reader_matches_the_dataset_counts(jsb, data_dir):
    train, valid = jsb
    report = D.read_split(data_dir / "polyphonic", "report")      # carved from train by piece
    assert (len(train) + len(report), sum(len(e["roll"]) for e in train + report)) == (229, 13807)
    assert len(report) == 21
    assert (len(valid), sum(len(e["roll"]) for e in valid)) == (76, 4602)
    z = np.load(data_dir / "polyphonic" / "jsb_chorales.npz")
    first = z["valid_notes"][z["valid_step_offsets"][0]:z["valid_step_offsets"][1]]
    assert sorted(np.nonzero(valid[0]["roll"][0])[0] + 21) == sorted(first.tolist())
    with pytest.raises(DataFormatError, match="unknown split 'test'.*kept aside"):
        D.read_split(data_dir / "polyphonic" / "jsb_chorales.npz", "test")
    with pytest.raises(DataFormatError, match="pick one"):
        D.read(data_dir / "polyphonic" / "jsb_chorales.npz")
    with pytest.raises(DataFormatError, match="jsb.npz: no such file; expected a NumPy .npz"):
        D.read_split(data_dir / "polyphonic" / "jsb.npz", "valid")     # was "not readable"


def test_npz_with_only_a_test_split(tmp_path):
    path = tmp_path / "mine.npz"
    np.savez(path, test_notes=np.array([60, 64, 67, 62], np.int16),
             test_step_offsets=np.array([0, 3, 3, 4], np.int32),
             test_seq_offsets=np.array([0, 3], np.int32))
    (piece,) = D.read_split(path, "test")
    assert piece["roll"].shape == (3, 88) and piece["roll"].sum() == 4 and not piece["roll"][1].any()
    upper = tmp_path / "MINE.NPZ"                  # was "expected a .npz piano-roll file"
    path.rename(upper)
    assert [p["roll"].shape for p in D.read(upper)] == [(3, 88)]


def test_midi_folder_reports_unreadable_files_by_name(tmp_path):
    roll = np.zeros((6, 88), np.uint8)
    roll[:3, 60 - 21] = roll[3:, [64 - 21, 67 - 21]] = 1
    write_midi(roll, tmp_path / "good.mid", steps_per_quarter=2)
    (tmp_path / "corrupt.mid").write_bytes(b"MThd not really")
    drums = mido.MidiFile()
    drums.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=90),
                                        mido.Message("note_off", channel=9, note=36, time=240)]))
    drums.save(str(tmp_path / "drums.mid"))
    with pytest.warns(ZooWarning, match="skipped 2 of 3 MIDI files") as caught:
        pieces = D.read(tmp_path)
    assert [p["name"] for p in pieces] == ["good.mid"]
    assert (pieces[0]["roll"] == roll).all()
    out = str(caught[0].message)
    assert "corrupt.mid" in out and "drums.mid (drums only" in out
    assert read_midi(tmp_path / "good.mid", steps_per_quarter=1).shape[0] == 3   # quarter notes


def test_transposition_keeps_notes_on_the_keyboard(jsb):
    train, _ = jsb
    prep, _ = D.fit_preprocessor(train, seq_len=32, transpose=6, steps_per_quarter=1)
    ds = D.make_dataset(train[:20], prep, batch_size=64, shuffle=True, seed=1)
    x, y = next(iter(ds))
    frame, target = x["frame"].numpy(), y["logits"].numpy()
    real = target[..., 0] >= 0
    assert (frame[real] == target[real]).all()                       # same shift for both
    one = D.make_dataset(train[:1], {**prep, "seq_len": 200}, batch_size=1, shuffle=True)
    orig = train[0]["roll"].astype(np.float32)
    shifts = set()
    # One iterator over repeated passes: each pass draws a new shift. (A fresh iterator per
    # draw replays the same shift once an earlier test has set the global TF seed.)
    passes = iter(one.repeat())
    for _ in range(12):
        f = next(passes)[0]["frame"].numpy()[0, :len(orig)]
        shift = int(np.nonzero(f.any(0))[0][0] - np.nonzero(orig.any(0))[0][0])
        assert abs(shift) <= 6 and np.array_equal(np.roll(orig, shift, axis=1), f)
        shifts.add(shift)
    assert len(shifts) > 1


def test_host_likelihood_equals_the_keras_evaluator(tiny, jsb):
    _, valid = jsb
    metrics = tiny.evaluate(valid[:3])
    scored = tiny.predict([e["roll"] for e in valid[:3]])
    steps = [r["steps"] for r in scored]
    host_nll = sum(r["nll_per_step"] * n for r, n in zip(scored, steps)) / sum(steps)
    assert metrics["steps"] == sum(steps)
    assert abs(metrics["nll_per_step"] - host_nll) < 1e-3
    assert 0 <= metrics["frame_accuracy"] <= 1


def test_generate_writes_a_playable_midi_on_keras_and_tflite(tiny, tmp_path):
    import zoo

    song = tiny.generate(steps=6, primer=[[60, 64, 67]], seed=5, out=tmp_path / "a.mid",
                         png=tmp_path / "a.png")
    assert len(song["generated"]) == 6 and song["song_steps"] == 7
    assert mido.MidiFile(song["midi"]).length > 0 and (tmp_path / "a.png").exists()
    tiny.export(tmp_path / "m.tflite")
    rt = zoo.runtime.load(tmp_path / "m.tflite")
    assert rt.generate(steps=6, primer=[[60, 64, 67]], seed=5)["generated"] == song["generated"]
    assert tiny.generate(steps=6, seed=6)["generated"] != song["generated"]


def test_bad_pieces_are_refused_clearly(tiny):
    with pytest.raises(InputError, match="input 1, step 0: pitch 200"):
        tiny.predict([[[60]], [[200]]])
    with pytest.raises(InputError, match="no such MIDI file"):
        tiny.predict(["missing.mid"])
    with pytest.raises(InputError, match="temperature"):
        tiny.generate(steps=2, temperature=0)


def test_nade_sampler_follows_its_conditionals():
    """Key-by-key sampling matches the teacher-forced probabilities it is drawn from."""
    rng = np.random.default_rng(0)
    W, V = rng.normal(size=(88, 3)).astype(np.float32), rng.normal(size=(88, 3)).astype(np.float32)
    b = np.full((4000, 88), -2.0, np.float32)
    b[:, 40] = 1.0
    c = np.zeros((4000, 3), np.float32)
    v = nade_decode(b, c, W, V, rng.random((4000, 88)))
    p40 = 1 / (1 + np.exp(-(1.0 + sigmoid(np.sum(v[:, :40, None] * W[:40], 1)) @ V[40])))
    assert abs(v[:, 40].mean() - p40.mean()) < 0.03


def test_cli_evaluate_split_and_predict_options(tiny, tmp_path, data_dir, capsys):
    from zoo.cli import main

    tiny.save(tmp_path / "bundle")
    npz = str(data_dir / "polyphonic" / "jsb_chorales.npz")
    assert main(["evaluate", str(tmp_path / "bundle"), "--data", npz, "--split", "valid",
                 "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["steps"] == 4602 and metrics["nll_per_step"] > 0
    assert main(["predict", str(tmp_path / "bundle"), "--steps", "4", "--temperature", "0.8",
                 "--out", str(tmp_path / "song.mid")]) == 0
    assert "4 steps generated" in capsys.readouterr().out
    assert mido.MidiFile(tmp_path / "song.mid").length > 0


def test_tensorflow_nade_has_the_generic_values_and_gradients():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    v = tf.constant((rng.random((2, 5, 88)) < 0.1).astype("float32"))
    c, W, V = (tf.Variable(rng.normal(size=s).astype("float32"))
               for s in [(2, 5, 6), (88, 6), (88, 6)])
    results = []
    for fn in (M.nade_sum, M.nade_tensorflow):
        with tf.GradientTape() as tape:
            s = fn(c, v, W, V)
            loss = tf.reduce_sum(tf.sin(s))     # a loss with a different weight per key
        results.append([s, *tape.gradient(loss, [c, W, V])])
    for generic, fast in zip(*results):
        np.testing.assert_allclose(fast, generic, rtol=1e-5, atol=1e-5)


def test_the_time_step_note_is_said_once(shipped, caplog):
    """A fine-tune on data without a time step logged "the data does not say its time step"
    at every epoch's validation."""
    import logging

    from zoo_pipelines.music import evaluate as E

    E._SAID.clear()
    m = shipped("music-lstm")
    roll = np.zeros((16, 88), np.float32)
    roll[::2, 39] = roll[1::2, 43] = 1                  # C4 and E4 in turn
    piece = [{"roll": roll}]                            # no steps_per_quarter
    with caplog.at_level(logging.INFO):
        m.evaluate(piece)
        m.evaluate(piece)
    assert sum("does not say its time step" in r.message for r in caplog.records) == 1

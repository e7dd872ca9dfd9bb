"""predict() on inputs as people hold them (helper BN): a numpy array or a pandas Series of
sentences is a list; a stacked array of images or piano rolls is its rows; a Series of
closes indexed by date is one series; UTF-8 bytes are text for every text model; a
generator, an open file, a tf.data.Dataset or a path to a text model is refused in one
line saying what to pass; a long call shows a progress bar."""
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zoo.errors import InputError

S = "EU rejects German call to boycott British lamb ."
T = "Peter Blackburn visited Paris ."


def refused(call, *words):
    with pytest.raises(InputError) as e:
        call()
    message = str(e.value)
    assert "\n" not in message and all(w in message for w in words), message
    return message


def test_arrays_and_series_of_sentences_are_lists(shipped):
    m = shipped("ner-bilstm")
    expected = m.predict([S, T])
    for inputs in (np.array([S, T]), np.array([S, T], dtype=object), pd.Series([S, T]),
                   pd.DataFrame({"text": [S, T]})["text"], pd.Series([S, T], dtype="string"),
                   (S, T)):
        assert m.predict(inputs) == expected, type(inputs)
    # one input alone is a list of one, as documented
    assert m.predict(S) == m.predict([S]) == expected[:1]
    refused(lambda: m.predict(np.array([], dtype=str)), "got an empty ndarray")
    refused(lambda: m.predict(pd.Series([S, None])), "input 1")


def test_other_containers_are_refused_saying_what_to_pass(shipped, tmp_path):
    import tensorflow as tf

    m = shipped("ner-bilstm")
    sentences = (s for s in [S, T])
    refused(lambda: m.predict(sentences), "a generator", "list(...)")
    assert next(sentences) == S         # refused before any of it was read
    refused(lambda: m.predict(io.StringIO(S)), "an open file (StringIO)", "f.read()")
    refused(lambda: m.predict(tf.data.Dataset.from_tensor_slices([S, T])),
            "a tf.data.Dataset", "as_numpy_iterator")
    refused(lambda: m.predict(tf.constant([S, T])), "a TensorFlow tensor", ".numpy()")
    refused(lambda: m.predict(pd.DataFrame({"text": [S]})), "a DataFrame", "df['text']")
    refused(lambda: m.predict({S}), "a set", "no order")
    refused(lambda: m.predict(np.array([[S, T]])), "2-d numpy array of shape (1, 2)")
    (tmp_path / "s.txt").write_text(S)
    refused(lambda: m.predict(tmp_path / "s.txt"), "a path", "read_text()")
    # the suggested forms work
    data = tf.data.Dataset.from_tensor_slices([S, T])
    assert m.predict(list(data.as_numpy_iterator())) == m.predict([S, T])


def test_text_models_take_utf8_bytes(shipped):
    c = shipped("charlm-lstm")
    assert c.predict(b"To be", steps=3) == c.predict("To be", steps=3)
    assert c.predict(pd.Series(["To be"]), steps=3) == c.predict(["To be"], steps=3)
    refused(lambda: c.predict([b"\xff"], steps=3), "input 0: bytes are not valid UTF-8")


def test_a_series_of_closes_indexed_by_date_is_one_series(shipped, data_dir):
    f = shipped("forecast-lstm")
    df = pd.read_csv(data_dir / "stocks/sp500_5yr_train.csv.gz", nrows=1500)
    one = df[df.Name == df.Name.iloc[0]]
    as_dict = f.predict({"dates": one.date.tolist(), "close": one.close.tolist()}, horizon=2)
    closes = one.set_index("date")["close"]
    got = f.predict(closes, horizon=2)
    assert len(got) == 1 and got[0].equals(as_dict[0])
    assert len(f.predict([closes, closes], horizon=2)) == 2
    refused(lambda: f.predict(one.close, horizon=2), "numbered 0, 1", "set_index('date')")
    refused(lambda: f.predict(one.close.to_numpy(), horizon=2), "got ndarray")


def test_stacked_arrays_are_their_rows(shipped, data_dir):
    from zoo_pipelines.captioning.host import _is_image
    from zoo.options import as_batch

    music = shipped("music-lstm")
    rolls = np.zeros((2, 4, 88), np.float32)
    assert music.predict(rolls, steps=0) == music.predict(list(rolls), steps=0)
    images = np.zeros((2, 8, 8, 3), np.uint8)
    assert len(as_batch(images, _is_image, "images")) == 2
    image = images[0]
    assert as_batch(image, _is_image, "images")[0] is image      # one image stays one
    # an array of paths is several inputs, not one waveform of dtype <U
    speech = shipped("speech-ctc")
    wav = str(data_dir / "fsdd/recordings/0_george_0.wav")
    assert speech.predict(np.array([wav, wav])) == speech.predict([wav, wav])


def test_a_long_call_shows_a_progress_bar(shipped, monkeypatch):
    import sys

    import zoo.model

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    m = shipped("ner-bilstm")
    monkeypatch.setenv("ZOO_PROGRESS", "1")
    monkeypatch.setattr(zoo.model, "PROGRESS_FROM", 3)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert m.predict([S, T, S, T], batch_size=2) == m.predict([S, T] * 2)
    assert "ner-bilstm predict" in sys.stderr.getvalue()
    monkeypatch.setattr(sys, "stderr", Terminal())
    m.predict([S, T, S])                # not past PROGRESS_FROM: nothing
    assert sys.stderr.getvalue() == ""


def test_an_export_takes_the_same_inputs(exported, data_dir):
    import zoo.runtime

    path, _ = exported("forecast-lstm", "onnx")
    rt = zoo.runtime.load(path)
    df = pd.read_csv(data_dir / "stocks/sp500_5yr_train.csv.gz", nrows=1500)
    closes = df[df.Name == df.Name.iloc[0]].set_index("date")["close"]
    series = {"dates": list(closes.index), "close": closes.to_numpy()}
    got = rt.predict(np.array([series, series], dtype=object), horizon=2)
    assert len(got) == 2 and rt.predict(closes, horizon=2)[0].equals(got[0])
    refused(lambda: rt.predict(iter([closes]), horizon=2), "an iterator", "list(...)")

"""Input limits (issue 15): no single argument asks for unbounded work, no bad value is
read as a silently wrong answer, and every refusal is the project's own one-line error
naming what is wrong and what was expected.

1. option bounds (beam, max_len, min_len, alpha, temperature, steps, horizon, seed,
   batch_size) and `zoo predict --help` listing them;
2. forecast-lstm tables and series (no close column, inf / non-positive / text prices,
   header-only files, bad dates);
3. music piano rolls and .npz files (NaN rolls, object arrays, damaged members, empty
   arrays, endless MIDI notes);
4. output files in folders that do not exist, refused before the work.
"""
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import mido
import numpy as np
import pandas as pd
import pytest

from zoo.errors import DataFormatError, InputError

REPO = Path(__file__).resolve().parent.parent


# ---- 1. option bounds ------------------------------------------------------------------------
def summarization_host():
    from zoo_pipelines.summarization import host as H

    return H, H.Host({"vocab": H.RESERVED + ["a"], "max_source": 3, "max_target": 4,
                      "state": {"h": 1, "c": 1, "context": 1}})


@pytest.mark.parametrize("options,match", [
    ({"beam": 100_000}, r"beam must be an integer in 1\.\.64; got 100000"),
    ({"beam": 0}, r"beam must be an integer in 1\.\.64; got 0"),
    ({"max_len": -1}, r"max_len must be an integer in 1\.\.16; got -1"),
    ({"max_len": 17}, r"max_len must be an integer in 1\.\.16"),
    ({"min_len": 5, "max_len": 3}, r"min_len must be an integer in 0\.\.3; got 5"),
    ({"block_ngram": -1}, r"block_ngram must be an integer >= 0"),
    ({"alpha": float("nan")}, r"alpha must be a finite number in 0\.\.5; got nan"),
    ({"alpha": float("inf")}, r"alpha must be a finite number in 0\.\.5; got inf"),
    ({"alpha": 1e6}, r"alpha must be a finite number in 0\.\.5"),
    ({"end_bonus": float("nan")}, r"end_bonus must be a finite number in -10\.\.10; got nan"),
    ({"end_bonus": 11}, r"end_bonus must be a finite number in -10\.\.10; got 11"),
])
def test_summarization_options_are_bounded(options, match):
    H, host = summarization_host()
    assert H.MAX_BEAM == 64 and H.MAX_LEN_FACTOR == 4
    with pytest.raises(InputError, match=match):
        host.encode(["a a"], **options)
    assert host.encode(["a a"], beam=64, max_len=16, alpha=5.0).beam == 64     # the bounds themselves


def test_summarizer_refuses_a_document_of_unknown_words_only():
    """Emoji or another script only: every subword [UNK], and the shipped model wrote 96
    quotation marks."""
    H, host = summarization_host()
    with pytest.raises(InputError, match=r"input 1: no word of it is in the model's vocabulary"):
        host.encode(["a b", "\U0001F600\U0001F389 \x01"])
    assert len(host.encode(["a \U0001F600"]).units) == 1      # some known word: summarized


def test_summarizer_refuses_a_huge_beam_at_once(tiny):
    """`--beam 100000` grew to 23.6 GB; now it is refused before any decoding (any model:
    the harness's tiny one)."""
    with pytest.raises(InputError, match=r"beam must be an integer in 1\.\.64"):
        tiny("summarize-attn").predict(["A small text editor for the console."], beam=100_000)


def caption_host():
    from zoo_pipelines.captioning import host as H

    return H, H.Host({"image_size": 8, "vocab": H.SPECIALS + ["a"], "state": {"h": 1, "c": 1},
                      "grid": 2, "max_len": 16})


@pytest.mark.parametrize("options,match", [
    ({"beam": 10 ** 4}, r"beam must be an integer in 1\.\.64; got 10000"),     # ran 146 s
    ({"max_len": -1}, r"max_len must be an integer in 1\.\.100; got -1"),
    ({"max_len": 0}, r"max_len must be an integer in 1\.\.100; got 0"),        # was the default
    ({"max_len": 10 ** 6}, r"max_len must be an integer in 1\.\.100"),
    ({"alpha": float("nan")}, r"alpha must be a finite number in 0\.\.5; got nan"),
    ({"alpha": -1.0}, r"alpha must be a finite number in 0\.\.5"),
])
def test_captioning_options_are_bounded(options, match):
    H, host = caption_host()
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(InputError, match=match):
        host.encode([image], **options)
    enc = host.encode([image], beam=H.MAX_BEAM, max_len=H.MAX_LEN)
    assert (enc.beam, enc.max_len) == (64, 100)


def test_speech_beam_is_bounded(tiny):
    from zoo_pipelines.speech import host as H

    t = np.arange(4000) / 8000
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    m = tiny("speech-ctc")
    for beam, match in ((10 ** 5, r"beam must be an integer in 0\.\.64; got 100000"),
                        (-1, r"beam must be an integer in 0\.\.64; got -1")):   # was greedy
        with pytest.raises(InputError, match=match):
            m.predict([wave], beam=beam)
    assert H.MAX_BEAM == 64 and isinstance(m.predict([wave], beam=0)[0]["text"], str)


def test_speech_beam_search_over_long_audio_is_refused_before_the_work(tiny):
    """20 minutes at beam 64 took 140 s on 2 cores (the Python prefix search; greedy: 3 s):
    a beam over 1 covers at most MAX_BEAM_SECONDS of audio x beam."""
    from zoo_pipelines.speech import host as H

    m = tiny("speech-ctc")
    wave = np.random.default_rng(0).normal(0, 0.05, 10 * 60 * 8000).astype(np.float32)
    with pytest.raises(InputError, match=r"^input 0: 10\.0 minutes of audio at beam=64; expected "
                                         r"beam x seconds at most 32,000 \(beam <= 53 here"):
        m.predict([(wave, 8000)], beam=64)
    assert H.MAX_BEAM_SECONDS == 32_000


@pytest.mark.parametrize("options,match", [
    ({"steps": 10_001}, r"steps must be an integer in 0\.\.10000; got 10001"),
    ({"steps": -1}, r"steps must be an integer in 0\.\.10000"),
    ({"temperature": float("inf")}, r"temperature must be a finite number.*; got inf"),
    ({"temperature": float("nan")}, r"temperature must be a finite number.*; got nan"),
    ({"temperature": 1e3}, r"temperature must be a finite number > 0 and <= 100; got 1000"),
    ({"temperature": 0.0}, r"temperature must be a finite number > 0"),
    ({"temperature": -0.5}, r"temperature must be a finite number > 0"),
    ({"seed": -1}, r"seed must be an integer >= 0; got -1"),        # was numpy's ValueError
])
def test_music_options_are_bounded(options, match, tiny):
    m = tiny("music-lstm")
    with pytest.raises(InputError, match=match):
        m.generate(**{"steps": 2, **options})
    with pytest.raises(InputError, match=match):      # the host checks too (zoo.runtime, direct use)
        m.host().encode([[[60]]], **{"steps": 2, **options})


def test_forecast_horizon_that_is_not_a_number_is_an_input_error():
    from zoo_pipelines.forecasting import host as H

    host = H.Host({"window": 4, "horizon": 10, "quantiles": [0.1, 0.5, 0.9]})
    series = {"dates": pd.bdate_range("2020-01-01", periods=8).strftime("%Y-%m-%d").tolist(),
              "close": [1.0, 1.1, 1.2, 1.1, 1.0, 1.1, 1.2, 1.3]}
    for horizon in (float("nan"), 0, 11, True):
        with pytest.raises(InputError, match=r"horizon must be between 1 and 10"):
            host.encode([series], horizon=horizon)


@pytest.mark.parametrize("batch_size", [0, -3, 10 ** 9, 2.5, True])
def test_predict_batch_size_is_bounded(batch_size, tiny):
    m = tiny("forecast-lstm")
    with pytest.raises(InputError, match=r"batch_size must be an integer in 1\.\.1024"):
        m.predict(m.parity_examples()[:1], batch_size=batch_size)
    assert len(m.predict(m.parity_examples()[:1], batch_size=1024)) == 1


def test_predict_help_lists_every_models_options_and_bounds_without_tensorflow():
    script = ("import sys\nfrom zoo.cli import main\ntry:\n    main(['predict', '--help'])\n"
              "except SystemExit:\n    pass\nprint('tensorflow loaded:', 'tensorflow' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=REPO).stdout
    assert "tensorflow loaded: False" in out
    text = " ".join(out.split())                                  # undo the line wrapping
    assert "summarize-attn: --beam 1 [1..64]" in text
    assert "--alpha 0.8 [0..5]" in text and "--min-len 1 [0..max_len]" in text
    assert "caption-cnn-lstm: --beam 3 [1..64 (1: greedy)]" in text
    assert ("speech-ctc, speech-ctc-stream: --beam 0 [0..64 (0, 1: greedy; beam x seconds of "
            "audio <= 32,000)]") in text
    assert "music-lstm (no inputs: generate): --steps 128 [0..10000 per piece]" in text
    assert "--temperature 1.0 [> 0 and <= 100]" in text
    assert "forecast-lstm: --horizon [1..the model's horizon" in text
    assert "--batch-size 64 [1..1024]" in text and "ner-bilstm: no options" in text
    assert "(no inputs: score)" not in text      # only NO_INPUT_METHOD runs without inputs


def test_task_methods_without_inputs_and_with_wrong_arguments(tiny, capsys):
    """`zoo predict speech-ctc-stream` ran stream(), its first task method, then failed with a
    raw TypeError; m.stream(3) was a raw TypeError too."""
    from zoo.cli import main

    assert main(["predict", "speech-ctc-stream"]) == 2
    assert "error: speech-ctc-stream needs at least one input to predict on" in \
        capsys.readouterr().err
    with pytest.raises(InputError, match=r"^stream\(\): too many positional arguments; see "
                                         r"help\(m\.stream\)"):
        tiny("speech-ctc-stream").stream(3)


# ---- 2. forecast-lstm tables and series ------------------------------------------------------
def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def long_csv(tmp_path, rows=80, bad_line=None, bad_value=None, name="prices.csv"):
    """date,Name,close,volume for one ticker; line `bad_line` (1 = header) gets `bad_value`."""
    dates = pd.bdate_range("2020-01-01", periods=rows).strftime("%Y-%m-%d")
    lines = ["date,Name,close,volume"]
    for k, d in enumerate(dates):
        close = 50 + 0.1 * k if k + 2 != bad_line else bad_value
        lines.append(f"{d},AAA,{close},1000")
    return write_csv(tmp_path / name, "\n".join(lines) + "\n")


def test_ohlcv_table_without_close_is_refused_not_forecast_column_by_column(tmp_path):
    from zoo_pipelines.forecasting import data

    path = write_csv(tmp_path / "ohlcv.csv", "date,Name,open,high,low,volume\n"
                     "2020-01-01,AAA,1,2,0.5,100\n2020-01-02,AAA,1,2,0.5,100\n")
    with pytest.raises(DataFormatError, match=r"ohlcv\.csv: no close column \(columns: date, "
                       r"Name, open, high, low, volume\); expected 'close'"):
        data.read(path)
    no_name = pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=3),
                            "open": [1.0, 2, 3], "high": [1.0, 2, 3], "low": [1.0, 2, 3]})
    with pytest.raises(InputError, match="no close column"):
        from zoo_pipelines.forecasting import host as H
        H.series_from_table(no_name)


def test_wide_tables_still_work_even_with_a_ticker_named_like_a_column():
    from zoo_pipelines.forecasting import host as H

    wide = pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=3),
                         "AAPL": [1.0, 2, 3], "LOW": [4.0, 5, 6]})      # LOW: Lowe's
    assert [s["name"] for s in H.series_from_table(wide)] == ["AAPL", "LOW"]


@pytest.mark.parametrize("bad_value,match", [
    ("inf", r"prices\.csv: infinite price inf in line 7 \(column 'close', series prices\)"),
    ("-3", r"prices\.csv: non-positive price -3\.0 in line 7"),
    ("0", r"prices\.csv: non-positive price 0\.0 in line 7"),
    ("abc", r"prices\.csv: price 'abc' in line 7 \(column 'close'\) is not a number"),
])
def test_bad_prices_in_a_csv_name_the_file_and_line(tmp_path, bad_value, match):
    from zoo_pipelines.forecasting import data

    path = long_csv(tmp_path, bad_line=7, bad_value=bad_value)
    path.write_text(path.read_text().replace("date,Name,close,volume\n", "date,close,volume\n")
                    .replace(",AAA,", ","))
    with pytest.raises(DataFormatError, match=match):
        data.read(path)


def test_evaluate_refuses_an_infinite_price_instead_of_crashing(tiny, tmp_path):
    path = long_csv(tmp_path, rows=300, bad_line=250, bad_value="inf")
    with pytest.raises(DataFormatError, match=r"prices\.csv: infinite price inf in line 250"):
        tiny("forecast-lstm").evaluate(str(path))


@pytest.mark.parametrize("text,match", [
    ("date,close\n", r"empty\.csv: no rows of prices, only a header \(date, close\)"),
    (",".join(["date", "close"] + [f"c{i}" for i in range(3000)]) + "\n",   # was 20k chars
     r"only a header \(date, close, c0, .*, c9, \.\.\. \(3,002 columns\)\); expected"),
    ("", r"empty\.csv: empty file"),
    ("date,close\n2020-01-01,1\n2020-13-45,2\n",
     r"empty\.csv: cannot parse date '2020-13-45' in line 3 \(column 'date'\)"),
    ("date,close\n2020-01-01,1\n,2\n", r"empty\.csv: no date in line 3"),
    ("date,Name,close\n2020-01-01,A,1\n2020-01-02,,2\n", r"empty\.csv: no series name in line 3"),
])
def test_unreadable_tables_are_data_format_errors_with_file_and_line(tmp_path, text, match):
    from zoo_pipelines.forecasting import data

    with pytest.raises(DataFormatError, match=match):
        data.read(write_csv(tmp_path / "empty.csv", text))


def test_blank_lines_do_not_shift_line_numbers(tmp_path):
    from zoo_pipelines.forecasting import data

    path = write_csv(tmp_path / "p.csv", "date,close\n2020-01-01,1\n\n2020-01-03,oops\n")
    with pytest.raises(DataFormatError, match="p.csv: price 'oops' in line 4"):
        data.read(path)


def test_yyyymmdd_integer_dates_are_dates_not_nanoseconds():
    from zoo_pipelines.forecasting import host as H

    table = pd.DataFrame({"date": [20200102, 20200103, 20200106], "close": [1.0, 2, 3]})
    assert H.series_from_table(table)[0]["dates"] == ["2020-01-02", "2020-01-03", "2020-01-06"]


def series(n=80, **over):
    s = {"name": "X", "dates": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d").tolist(),
         "close": list(50 + 0.1 * np.arange(n))}
    s.update(over)
    return s


def with_value(values, k, v):
    values = list(values)
    values[k] = v
    return values


@pytest.mark.parametrize("item,match", [
    (series(close=with_value(series()["close"], 40, float("inf"))),
     r"input 0 \(X\): infinite price inf on 2020-02-26 \(position 40\)"),
    (series(close=with_value(series()["close"], 40, -1.0)), r"input 0 \(X\): non-positive price -1\.0"),
    (series(close=with_value(series()["close"], 40, "abc")),
     r"input 0 \(X\): close: value 'abc' at position 40 is not a number"),
    (series(close=None), r"close must be a list of numbers; got NoneType"),
    (series(close=[True] * 80), "true/false values; expected numbers"),
    (series(dates=with_value(series()["dates"], 3, "yesterday")),
     r"'yesterday' at position 3 is not a date"),
    (series(dates=with_value(series()["dates"], 3, None)), r"date at position 3 is missing"),
    (series(volume=[1.0] * 79 + [float("inf")]), r"volume inf on .*volumes must be finite and >= 0"),
    (series(volume=[1.0, 2.0]), r"2 volumes but 80 prices"),
])
def test_bad_series_dicts_are_input_errors(item, match, tiny):
    with pytest.raises(InputError, match=match):
        tiny("forecast-lstm").predict([item])


def test_text_price_in_a_dataframe_names_the_row(tiny):
    df = pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=80),
                       "close": [50.0] * 10 + ["n/a?"] + [50.0] * 69})
    with pytest.raises(InputError, match=r"price 'n/a\?' in row 12 \(column 'close'\) is not a number"):
        tiny("forecast-lstm").predict(df)


@pytest.mark.parametrize("options,match", [
    ({"horizon": "5"}, r"option horizon must be an integer; got '5'"),
    ({"last": 0}, r"last must be an integer >= 1; got 0"),          # was a raw IndexError
])
def test_forecast_evaluate_options_are_checked(options, match, tiny):
    m = tiny("forecast-lstm")
    with pytest.raises(InputError, match=match):
        m.evaluate(m.parity_examples()[:1], garch=False, **options)


def test_forecast_evaluate_with_only_short_series_says_so(tiny):
    """Every series skipped as too short was numpy's "need at least one array to concatenate"."""
    with pytest.warns(UserWarning, match="too short"), \
            pytest.raises(InputError, match=r"no series to evaluate: each needs at least .* prices"):
        tiny("forecast-lstm").evaluate([series(n=10)])


def test_unreadable_csv_error_is_one_line(tmp_path):
    from zoo_pipelines.forecasting.series import series_from_table

    path = tmp_path / "notes.csv"
    path.write_text("title\n\na, b, c, d\n")
    with pytest.raises(DataFormatError, match="not a readable CSV") as e:
        series_from_table(path)
    assert "\n" not in str(e.value)                   # pandas' message ends in a newline


@pytest.mark.parametrize("captions", ["a face", [], [""]])
def test_caption_evaluate_needs_lists_of_reference_captions(captions, shipped):
    """A string was scored letter by letter (BLEU 0, silently); [] was nltk's KeyError."""
    image = np.full((32, 32, 3), 200, np.uint8)
    with pytest.raises(InputError, match=r"example 0: 'captions' must be a non-empty list"):
        shipped("caption-cnn-lstm").evaluate([{"image": image, "captions": captions}],
                                             compare_beam=None, compare_retrieval=False, train=[])


@pytest.mark.parametrize("name,example", [
    ("caption-cnn-lstm", {"image": np.full((32, 32, 3), 200, np.uint8), "captions": ["a"]}),
    ("summarize-attn", {"document": "a b c", "summary": "a"}),
])
def test_evaluate_max_examples_below_one_is_refused(name, example, shipped):
    """-1 dropped the last example (here: all of them, then a ZeroDivisionError)."""
    with pytest.raises(InputError, match=r"max_examples must be an integer >= 1; got -1"):
        shipped(name).evaluate([example], max_examples=-1)


# ---- speech waveforms with their sample rate ---------------------------------------------------
def test_unreadable_bytes_are_named_without_the_servers_buffers_or_files(tiny):
    """The web page showed "Error opening <_io.BytesIO object at 0x7f...>" for a bad WAV and
    the server's temporary /tmp/.../input.mid for a bad MIDI upload."""
    from zoo_pipelines.speech.audio import load_waveform

    junk = bytes(range(256)) * 8
    with pytest.raises(InputError) as e:
        load_waveform(junk, 8000, "input 0")
    assert "not a readable audio file" in str(e.value) and "BytesIO" not in str(e.value)
    with pytest.raises(InputError, match=r"^input 0: the MIDI bytes: not a readable MIDI file"):
        tiny("music-lstm").host().from_json(0, junk)


@pytest.mark.parametrize("rate", [float("nan"), 8000.7, True, None, "abc", -1, 10 ** 9])
def test_speech_sample_rate_must_be_an_integer(rate):
    """int(rate) was a raw ValueError / TypeError, cut 8000.7 to 8000 and read True as 1 Hz."""
    from zoo_pipelines.speech.audio import load_waveform

    wave = np.sin(np.arange(4000) / 5).astype(np.float32) * 0.5
    with pytest.raises(InputError, match=r"input 0: the sample rate \(Hz\) must be an integer in 1\.\.384000"):
        load_waveform({"array": wave, "sampling_rate": rate}, 8000, "input 0")
    if not isinstance(rate, str) and rate is not None:
        with pytest.raises(InputError, match="sample rate"):
            load_waveform((wave, rate), 8000, "input 0")


def test_speech_waveform_and_rate_pair_is_one_input_and_complex_is_refused(tiny):
    m = tiny("speech-ctc")
    wave = np.sin(np.arange(8000) / 5).astype(np.float32) * 0.5
    assert len(m.predict((wave, 8000))) == 1             # was "input 1: ... got int"
    assert len(m.predict((wave, wave))) == 2             # a tuple of waveforms is still a batch
    with pytest.raises(InputError, match="expected a real-valued numeric waveform; got dtype complex64"):
        m.predict(wave.astype(np.complex64))


# ---- 3. music rolls and .npz files -----------------------------------------------------------
def test_nan_piano_roll_is_refused_not_read_as_silence(tiny):
    roll = np.zeros((8, 88), np.float32)
    roll[2, 39] = np.nan
    m = tiny("music-lstm")
    with pytest.raises(InputError, match=r"input 0: the piano roll holds nan at step 2, key 39"):
        m.predict([roll])
    with pytest.raises(InputError, match="piano roll holds nan"):
        m.generate(steps=2, primer=roll)


@pytest.mark.parametrize("roll,match", [
    (np.full((4, 88), None, dtype=object), "must hold numbers .* got dtype object"),
    (np.full((4, 88), "x"), "must hold numbers"),
    (np.full((4, 88), -1.0, np.float32), r"holds -1\.0 at step 0, key 0"),
    (np.zeros((0, 88)), r"must be \[T >= 1, 88\]"),
    (np.zeros((3, 4, 88)), "must be a 2-D array"),
])
def test_bad_piano_rolls_are_input_errors(roll, match, tiny):
    with pytest.raises(InputError, match=match):
        tiny("music-lstm").predict([roll])


def test_a_list_of_time_steps_alone_is_one_piece(tiny):
    """predict([[60, 64], [62]]) read the steps as pieces: "step 0: expected a list of MIDI
    pitches; got 60"."""
    m = tiny("music-lstm")
    assert [r["steps"] for r in m.predict([[60, 64], [62]])] == [2]
    assert [r["steps"] for r in m.predict([[[60]], [[62], [64]]])] == [1, 2]
    with pytest.raises(InputError, match=r"input 0, step 0: pitch 200 is not on the piano; "
                                         r"expected a MIDI pitch 21\.\.108"):
        m.predict([[200]])


def test_music_out_must_be_a_midi_file(tiny, tmp_path):
    with pytest.raises(InputError, match="out: .*song.png' has no MIDI suffix"):
        tiny("music-lstm").predict([[[60]]], steps=1, out=tmp_path / "song.png")


@pytest.mark.parametrize("example,options,match", [
    ({"roll": np.zeros((8, 128))}, {}, r"example 0: a piano roll must be \[T >= 1, 88\]"),
    ({"roll": np.zeros((0, 88))}, {}, r"example 0: a piano roll must be \[T >= 1, 88\]"),
    ({"roll": np.full((4, 88), np.nan)}, {}, "example 0: the piano roll holds nan"),
    ({"roll": np.zeros((4, 88))}, {"pad_to": 0}, r"pad_to must be an integer >= 1; got 0"),
    ({"roll": np.zeros((4, 88))}, {"batch_size": 0}, r"batch_size must be an integer >= 1"),
])
def test_music_evaluate_checks_rolls_and_options(example, options, match, tiny):
    """A wrong width or an empty roll was a raw Keras shape error; NaN scored as nan."""
    with pytest.raises(InputError, match=match):
        tiny("music-lstm").evaluate([example], **options)


def test_pieces_longer_than_the_limit_are_refused_before_the_work(tiny):
    from zoo_pipelines.music import host as H

    with pytest.raises(InputError, match=r"input 0: 20001 time steps; expected at most 20000"):
        tiny("music-lstm").predict([np.zeros((H.MAX_PIECE_STEPS + 1, 88), np.float32)])


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


GOOD = {"train_notes": np.array([60, 64, 62]), "train_step_offsets": np.array([0, 2, 3]),
        "train_seq_offsets": np.array([0, 2])}


def damaged_crc(raw: bytes, member: str) -> bytes:
    """`raw` with one byte of `member`'s data flipped (its CRC-32 no longer matches)."""
    info = zipfile.ZipFile(io.BytesIO(raw)).getinfo(member)
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 130
    out = bytearray(raw)
    out[offset] ^= 0xFF
    return bytes(out)


@pytest.mark.parametrize("content,match", [
    (damaged_crc(npz_bytes(**GOOD), "train_notes.npy"),
     r"member train_notes cannot be read \(BadZipFile: Bad CRC-32"),
    (npz_bytes(**{**GOOD, "train_notes": np.array([60, "x", None], dtype=object)}),
     "member train_notes cannot be read .*Object arrays"),
    (npz_bytes(train_notes=np.zeros(0, np.int64), train_step_offsets=np.zeros(0, np.int64),
               train_seq_offsets=np.zeros(0, np.int64)), "must be non-empty, start at 0"),
    (npz_bytes(train_notes=np.zeros(0, np.int64), train_step_offsets=np.array([0]),
               train_seq_offsets=np.array([0])), "split 'train' holds no sequences"),
    (npz_bytes(**{**GOOD, "train_notes": np.array([60.0, np.nan, 62.0])}),
     "train_notes holds values that are not whole numbers"),
    (npz_bytes(**{**GOOD, "train_step_offsets": np.array([0, 5, 3])}), "never decrease"),
    (npz_bytes(**{**GOOD, "steps_per_quarter": np.array([1, 2])}),
     r"steps_per_quarter is a int64 array of shape \(2,\); expected an integer"),
    (npz_bytes(**{**GOOD, "steps_per_quarter": np.array(0)}), "steps_per_quarter is 0"),
    (b"", r"not a readable \.npz file \(EOFError\)"),
    (b"hello", r"not a readable \.npz file"),
])
def test_damaged_or_odd_npz_files_are_data_format_errors(tmp_path, content, match):
    from zoo_pipelines.music import data

    path = tmp_path / "rolls.npz"
    path.write_bytes(content)
    for read in (data.read, lambda p: data.read_npz(p, "train")):
        with pytest.raises(DataFormatError, match=match):
            read(path)


def test_a_midi_note_that_never_ends_is_refused_not_allocated(tmp_path, tiny):
    """A few bytes of MIDI can hold a note 2**28 ticks long: tens of GB as a piano roll."""
    from zoo_pipelines.music import data
    from zoo_pipelines.music.midi import MAX_ROLL_STEPS

    mid = mido.MidiFile(ticks_per_beat=1)
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=80, time=0),
                                      mido.Message("note_off", note=60, time=MAX_ROLL_STEPS)]))
    path = tmp_path / "long.mid"
    mid.save(path)
    with pytest.raises(DataFormatError, match=r"long\.mid: the notes span 400,000 time steps"):
        data.read(path, steps_per_quarter=2)
    with pytest.raises(InputError, match=r"input 0: .*time steps.*expected at most"):
        tiny("music-lstm").predict([str(path)])


# ---- 4. output files in folders that do not exist --------------------------------------------
def test_music_output_folders_are_checked_before_generating(tiny, tmp_path):
    m = tiny("music-lstm")
    missing = tmp_path / "no" / "such"
    with pytest.raises(InputError, match=r"out: the folder '.*no/such' does not exist"):
        m.generate(steps=4, out=missing / "song.mid")
    with pytest.raises(InputError, match=r"png: the folder '.*no/such' does not exist"):
        m.generate(steps=4, png=str(missing / "roll.png"))
    with pytest.raises(InputError, match="png needs a file name"):
        m.generate(steps=4, png=True)                  # `--png` with no value
    with pytest.raises(InputError, match="expected a name ending in .png"):
        m.generate(steps=4, png=tmp_path / "roll")
    with pytest.raises(InputError, match="is a folder; expected a file name"):
        m.generate(steps=4, out=tmp_path)
    assert not missing.parent.exists()                 # nothing created on a typo


def test_cli_plot_into_a_missing_folder_fails_before_predicting(tmp_path, capsys, monkeypatch):
    from zoo.cli import main
    from zoo.model import ZooModel

    def no_work(*args, **kwargs):
        raise AssertionError("predict ran before the output folder was checked")

    monkeypatch.setattr(ZooModel, "predict", no_work)
    path = long_csv(tmp_path, rows=80)
    assert main(["predict", "forecast-lstm", str(path), "--plot",
                 str(tmp_path / "nope" / "fan.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --plot: the folder") and "nope' does not exist" in err
    assert len(err.splitlines()) == 1


def test_host_plot_refuses_a_missing_folder(tmp_path):
    _, host = summarization_host()
    result = {"summary": "a", "tokens": ["a"], "source_tokens": ["a"], "attention": [[1.0]]}
    with pytest.raises(InputError, match="plot: the folder .* does not exist"):
        host.plot([result], tmp_path / "missing" / "att.png")


# ---- 5. data files as users save them (fine-tune --data) -------------------------------------
BOM = b"\xef\xbb\xbf"


def user_files(tmp_path) -> dict:
    """A small file of each reader's documented format, as bytes, and the reader."""
    from zoo_pipelines.captioning import data as cap
    from zoo_pipelines.charlm import data as lm
    from zoo_pipelines.ner import data as ner
    from zoo_pipelines.speech import data as speech
    from zoo_pipelines.summarization import data as summ

    from PIL import Image

    Image.new("RGB", (2, 2)).save(tmp_path / "a.png")     # read() skips what is no image
    (tmp_path / "0_me_0.wav").write_bytes(b"")
    return {"train.conll": (ner.read, b"Paris B-LOC\r\nis O\r\n"),
            "pairs.csv": (summ.read, b"document,summary\r\nA long text .,Short\r\n"),
            "lm.txt": (lm.read, b"First passage .\r\n\r\nSecond one .\r\n"),
            "transcripts.csv": (speech.read, b"path,text\r\n0_me_0.wav,0\r\n"),
            "captions.csv": (cap.read, b"image,caption\r\na.png,a face\r\n")}


@pytest.mark.parametrize("name", ["train.conll", "pairs.csv", "lm.txt", "transcripts.csv",
                                  "captions.csv"])
def test_a_byte_order_mark_and_windows_line_ends_read_as_the_plain_file(tmp_path, name):
    """Excel and Notepad save UTF-8 with a BOM: it became part of the first token
    ('\\ufeffParis'), a character to learn, or a header column 'path' not found."""
    plain, windows = tmp_path / "plain", tmp_path / "windows"
    for folder, bom in ((plain, b""), (windows, BOM)):
        folder.mkdir()
        read, content = user_files(folder)[name]
        (folder / name).write_bytes(bom + (content if bom else content.replace(b"\r\n", b"\n")))
    names = ("audio", "image", "source")            # paths: the folders differ
    got, want = ([{k: v for k, v in e.items() if k not in names} for e in read(folder / name)]
                 for folder in (windows, plain))
    assert got == want and "\ufeff" not in repr(got)


@pytest.mark.parametrize("name", ["train.conll", "pairs.csv", "lm.txt", "transcripts.csv",
                                  "captions.csv"])
def test_latin1_files_are_refused_naming_the_line(tmp_path, name):
    read, content = user_files(tmp_path)[name]
    (tmp_path / name).write_bytes(content.replace(b"\r\n", b"\n") + "café .\n".encode("latin-1"))
    line = content.count(b"\r\n") + 1
    with pytest.raises(DataFormatError, match=rf"{name}(:|, line ){line}: not UTF-8"):
        read(tmp_path / name)


def test_a_forecast_csv_in_latin1_or_with_semicolons_says_so(tmp_path):
    """pandas' 'position 4' of a chunk, and 'no date column; got columns date;close'."""
    from zoo_pipelines.forecasting import data

    p = tmp_path / "prices.csv"
    p.write_bytes(b"date,close,Name\n2020-01-02,10,AAA\n2020-01-03,11,Soci\xe9t\xe9\n")
    with pytest.raises(DataFormatError, match=r"prices\.csv:3: not UTF-8 text"):
        data.read(p)
    p.write_text("date;close\n2020-01-02;10,5\n")
    with pytest.raises(DataFormatError, match=r"one column, 'date;close', separated by ';'; "
                                              r"expected comma-separated"):
        data.read(p)


def test_repeated_dates_in_a_forecast_csv_are_said(tmp_path):
    """A file pasted twice lost half its rows without a word."""
    from zoo_pipelines.forecasting import data

    rows = "".join(f"2020-01-{d:02d},{10 + d}\n" for d in range(1, 6))
    p = tmp_path / "prices.csv"
    p.write_text("date,close\n" + rows + rows)
    with pytest.warns(UserWarning, match=r"prices\.csv: 5 rows share their date "
                                         r"with a later row \(line 2 first\)"):
        assert len(data.read(p)[0]["close"]) == 5


def test_true_false_is_no_sample_nor_price_and_ragged_audio_is_named(shipped):
    """The Python API, as the JSON path (zoo serve): True was a sample of 1 or a price of
    1.0, given as fine, and ragged sample lists a raw numpy ValueError."""
    import pandas as pd

    speech = shipped("speech-ctc")
    with pytest.raises(InputError, match="rows of different lengths"):
        speech.predict([([[0.1, 0.2], [0.3]], 8000)])
    with pytest.raises(InputError, match="real-valued numeric waveform; got dtype bool"):
        speech.predict([(np.ones(800, bool), 8000)])
    prices = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=80).astype(str),
                           "close": [True] * 80})
    with pytest.raises(InputError, match="price True in row .* is true/false, not a number"):
        shipped("forecast-lstm").predict([prices])


def test_a_long_stream_decodes_each_step_once_and_as_a_whole_decode_would(shipped, data_dir):
    """A stream re-decoded every logit so far at each feed: 40 minutes fed in 0.2 s chunks
    took 121 s through the runtime (4.5 s in one chunk), each feed slower than the last.
    The transcript is now collapsed step by step; it equals greedy CTC over all the logits,
    also where a token's frames run across two steps (chunks of one step each here)."""
    from zoo.decoding import ctc_collapse
    from zoo_pipelines.speech import audio

    m = shipped("speech-ctc-stream")
    rate = m.host().rate
    fsdd = data_dir / "fsdd" / "recordings"
    wave = np.concatenate([audio.load_waveform(str(fsdd / f"{d}_jackson_0.wav"), rate)
                           for d in (3, 3, 0, 7)])
    s = m.stream()
    hop = rate * 8 // 100                       # 80 ms: one streaming step
    for start in range(0, wave.size, hop):
        partial = s.feed((wave[start:start + hop], rate))
    final = s.finish()
    whole = ctc_collapse(np.concatenate(s.logits).argmax(-1))
    assert final["tokens"] == [m.host().tokens[k - 1] for k in whole] and final["text"]
    assert len(partial["tokens"]) <= len(final["tokens"])
    assert final["text"] == m.predict([(wave, rate)])[0]["text"]


def test_music_predict_of_none_says_silence_is_a_list_of_none(tiny):
    """README: a piece may be None (silence: generate from nothing); predict(None, steps=64)
    was refused naming every other kind of piece."""
    m = tiny("music-lstm")
    with pytest.raises(InputError, match=r"or None to start from silence: \[None\]\); got NoneType"):
        m.predict(None, steps=4)
    assert len(m.predict([None], steps=4)[0]["generated"]) == 4


@pytest.mark.parametrize("target", ["model.tflite", "model.onnx"])
def test_the_runtime_refuses_over_the_caps_as_keras_does(tiny, tiny_exported, target):
    """zoo.runtime runs the same host checks: the same one-line refusal, the same limit."""
    import zoo.runtime
    from zoo_pipelines.music import host as H

    path, _ = tiny_exported("music-lstm", target)
    rt, km = zoo.runtime.load(path), tiny("music-lstm")
    for call in (lambda m: m.predict([[[60]] * (H.MAX_PIECE_STEPS + 1)]),
                 lambda m: m.predict([None], steps=H.MAX_STEPS + 1),
                 lambda m: m.generate(steps=H.MAX_STEPS + 1)):
        errors = []
        for m in (km, rt):
            with pytest.raises(InputError) as e:
                call(m)
            errors.append(str(e.value))
        assert errors[0] == errors[1] and "\n" not in errors[0]


# ---- 5. files crafted to cost much from little (a security reviewer's inputs) ---------------
DEEP = "[" * 100_000 + "]" * 100_000          # parses past Python's recursion limit


def test_deeply_nested_json_in_a_bundle_or_a_data_file_is_one_line(bundle_copy, tmp_path):
    """[[[[... in a bundle's preprocessor.json / manifest.json, a JSON Lines training file
    or a vocabulary was a raw RecursionError."""
    import hashlib
    import json

    import zoo
    from zoo.errors import BundleError
    from zoo_pipelines.ner import data as ner
    from zoo_pipelines.summarization import data as summ

    src = bundle_copy("forecast-lstm")
    (src / "preprocessor.json").write_text(DEEP)
    manifest = json.loads((src / "manifest.json").read_text())
    manifest["files"]["preprocessor.json"] = hashlib.sha256(DEEP.encode()).hexdigest()
    (src / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"preprocessor.json: its JSON nests lists or objects "
                                          r"too deeply to read"):
        zoo.load(src)
    (src / "manifest.json").write_text('{"model": ' + DEEP + "}")
    with pytest.raises(BundleError, match=r"manifest.json: its JSON nests .* too deeply"):
        zoo.load(src)
    line = '{"tokens": ' + DEEP + ', "tags": []}'
    with pytest.raises(DataFormatError, match=r"x.jsonl:2: its JSON nests lists too deeply"):
        ner._read_jsonl(Path("x.jsonl"), ["", line])
    with pytest.raises(DataFormatError, match=r"x.jsonl:1: its JSON nests .* too deeply"):
        list(summ._jsonl(Path("x.jsonl"), '{"text": ' + DEEP + "}"))


@pytest.mark.parametrize("text,match", [
    ("[[[" + "]]]", r"no \"vocab\" list of strings"),        # was TypeError
    ('{"x": 1}', r"no \"vocab\" list of strings"),            # was KeyError 'vocab'
    ('{"vocab": [', r"not readable JSON \(Expecting value"),  # was JSONDecodeError
    ('{"vocab": ' + DEEP + "}", r"not readable JSON \(maximum recursion"),
])
def test_a_vocabulary_file_that_is_no_vocabulary_is_named(tmp_path, text, match):
    from zoo_pipelines.summarization import data as summ

    path = tmp_path / "vocab.json"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=r"vocab.json: " + match) as e:
        summ.fit_preprocessor([], vocab_from=str(path))
    assert "\n" not in str(e.value)


def test_a_midi_file_of_a_million_events_is_refused_before_parsing(tmp_path):
    """3 MB of running-status notes took mido 43 s and 800 MB to parse (the server takes
    16 MB bodies): the file's size is checked first."""
    import struct

    from zoo_pipelines.music import midi

    body = b"\x00\x90\x3c\x40" + b"\x00\x3c\x40\x00\x3c\x00" * 500_000 + b"\x00\xff\x2f\x00"
    path = tmp_path / "million.mid"
    path.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk"
                     + struct.pack(">I", len(body)) + body)
    with pytest.raises(midi.MidiError, match=r"2.9 MB; expected a MIDI file of at most 2 MB"):
        midi.read_midi(path)


def test_flac_that_decodes_to_gigabytes_is_refused_from_its_header(tmp_path):
    """133 KB of 8-channel 384 kHz FLAC decoded to 570 MB of floats; 20 minutes of it (4 MB,
    under the server's body limit) would be 15 GB. Channels x frames are checked first."""
    import soundfile as sf

    from zoo_pipelines.speech import audio

    path = tmp_path / "bomb.flac"
    with sf.SoundFile(path, "w", samplerate=384_000, channels=8, format="FLAC",
                      subtype="PCM_16") as f:
        block = np.full((384_000, 8), 100, np.int16)
        for _ in range(38):
            f.write(block)
    match = r"8 channels at 384,000 Hz for 38.0 s is 116,736,000 samples; expected at most"
    with pytest.raises(InputError, match=match):
        audio.read_audio(path)
    with pytest.raises(InputError, match=r"input: " + match):
        audio.load_waveform(path.read_bytes(), 16_000)


@pytest.mark.parametrize("text,match", [
    ("date," + ",".join(f"c{i}" for i in range(15_000)) + "\n2020-01-01" + ",1" * 15_000,
     r"15,000 series in one table; expected at most 10,000 \(split the table\)"),  # 75 s
    ("date," + ",".join(f"c{i}" for i in range(200_000)),
     r"the header has at least [\d,]+ columns; expected at most 10,000 series"),  # was 30 s
    ("date,close\n2020-01-01,1" + ",1" * 200_000,                                # was 95 s
     r"the first row has at least 200,002 fields, the header 2; expected one value per column"),
    ("date,close\n2020-01-01,1,\n2020-01-02,2,\n",      # was "cannot parse date '1'"
     r"the first row has at least 3 fields, the header 2"),
    ("date,name,close\n" + "".join(f"2020-01-01,n{i},1\n" for i in range(10_001)),
     r"10,001 series in one table; expected at most 10,000 \(split the table\)"),
], ids=["wide", "header", "first-row", "stray-comma", "long"])
def test_price_tables_that_cost_minutes_are_refused_first(tmp_path, text, match):
    """A 400 KB CSV of 20,000 columns took 100 s of pandas before any price was checked; a
    first row of 200,000 fields became a MultiIndex (95 s). The file and the server's
    {"csv": ...} are read alike."""
    import time

    from zoo_pipelines.forecasting import data, host

    path = tmp_path / "prices.csv"
    path.write_text(text)
    start = time.monotonic()
    with pytest.raises(DataFormatError, match=match):
        data.read(path)
    with pytest.raises(InputError, match=match):
        host.Host({"window": 64, "horizon": 10, "quantiles": [0.5]}).from_json(0, {"csv": text})
    assert time.monotonic() - start < 20


def test_a_huge_column_name_is_not_echoed_whole():
    from zoo_pipelines.forecasting import host

    with pytest.raises(InputError, match=r"only a header \(AAA+\.\.\.\); expected") as e:
        host.Host({"window": 64, "horizon": 10, "quantiles": [0.5]}).from_json(
            0, {"csv": "A" * 100_000})
    assert len(str(e.value)) < 300

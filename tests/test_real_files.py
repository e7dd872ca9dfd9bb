"""Valid files as people have them, read as they mean them (helper AS, stop 71): MIDI with a
sustain pedal, notes off the piano or type-2 patterns; price CSVs with day/month dates,
UTC offsets that change with daylight saving, intraday rows, spreadsheet number formats or
an unadjusted split; text with typographic apostrophes, Unicode spaces or HTML. Each was a
silently wrong reading (or a refusal that named the wrong cause). No model is loaded."""
import io
import warnings

import mido
import numpy as np
import pytest

from zoo.errors import InputError, ZooWarning
from zoo_pipelines.forecasting.host import Host as ForecastHost
from zoo_pipelines.forecasting.series import read_csv, series_from_table
from zoo_pipelines.music.midi import MidiError, read_midi
from zoo_pipelines.ner.host import tokenize
from zoo_pipelines.summarization.host import pretokenize


# ---- MIDI ---------------------------------------------------------------------------------
def midi(path, messages, type=1):
    m = mido.MidiFile(type=type, ticks_per_beat=480)
    for track in messages:
        m.tracks.append(mido.MidiTrack(track))
    m.save(str(path))
    return path


def note(pitch, wait, length):
    return [mido.Message("note_on", note=pitch, velocity=80, time=wait),
            mido.Message("note_off", note=pitch, velocity=0, time=length)]


def sounding(roll):
    return [[21 + int(k) for k in np.nonzero(f)[0]] for f in roll]


def test_sustain_pedal_holds_released_keys_until_lifted(tmp_path):
    # a pedalled C major chord struck as 16th notes, pedal lifted after 4 quarters, then C5
    cc = lambda v, t: mido.Message("control_change", control=64, value=v, time=t)  # noqa: E731
    track = [cc(127, 0)] + note(60, 0, 120) + note(64, 0, 0) + note(67, 0, 0) + [cc(0, 1800)]
    roll = read_midi(midi(tmp_path / "pedal.mid", [track + note(72, 0, 480)]), 2)
    assert sounding(roll) == [[60, 64, 67]] * 8 + [[72]] * 2     # was 1 step, then 7 silent


def test_notes_off_the_piano_are_said_and_type_2_refused(tmp_path):
    with pytest.warns(ZooWarning, match=r"2 notes off the piano's range 21..108 .*10, 120"):
        roll = read_midi(midi(tmp_path / "range.mid", [note(10, 0, 480) + note(60, 0, 480)
                                                       + note(120, 0, 480)]), 2)
    assert sounding(roll) == [[60], [60]]
    path = midi(tmp_path / "t2.mid", [note(60, 0, 480), note(67, 0, 480)], type=2)
    with pytest.raises(MidiError, match="type-2 MIDI file"):
        read_midi(path, 2)


# ---- price CSVs ---------------------------------------------------------------------------
def dates_of(text):
    return series_from_table(read_csv(io.StringIO(text)), "prices")[0]["dates"]


@pytest.mark.parametrize("text, dates", [
    ("date,close\n31/01/2024,10\n01/02/2024,11\n", ["2024-01-31", "2024-02-01"]),
    ("date,close\n01/31/2024,10\n02/01/2024,11\n", ["2024-01-31", "2024-02-01"]),
    ("date,close\n03/04/2024,10\n13/04/2024,11\n", ["2024-04-03", "2024-04-13"]),  # was refused
    ("date,close\n31/01/24,10\n01/02/24,11\n", ["2024-01-31", "2024-02-01"]),  # was 01-02 Jan
    ("Date,Close\n1/31/2024 16:00:00,10\n2/1/2024 16:00:00,11\n", ["2024-01-31", "2024-02-01"]),
    # yfinance's to_csv of a New York index: the offset changes with daylight saving time
    ("Date,Close\n2024-03-08 00:00:00-05:00,10\n2024-03-11 00:00:00-04:00,11\n",
     ["2024-03-08", "2024-03-11"]),
])
def test_dates_are_read_as_written(text, dates):
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # pandas' "dayfirst" UserWarning too
        assert dates_of(text) == dates


def test_a_date_that_reads_both_ways_is_never_guessed():
    with pytest.raises(InputError, match=r"'03/04/2024' that read as day/month or as "
                                         r"month/day.*2024-04-03"):
        dates_of("date,close\n03/04/2024,10\n04/04/2024,11\n")        # was March 4th
    with pytest.raises(InputError, match="mixes day-first"):
        dates_of("date,close\n31/01/2024,10\n02/13/2024,11\n")


def test_intraday_rows_and_formatted_numbers_say_what_to_do():
    with pytest.raises(InputError, match="intraday prices; expected one close a day"):
        dates_of("date,close\n2024-01-31 10:00,10\n2024-01-31 11:00,11\n")
    for price in ('"1,234.50"', '"1234,50"', "$10.50", "10%"):
        with pytest.raises(InputError, match="no thousands separators, decimal commas"):
            dates_of(f"date,close\n2024-01-31,{price}\n2024-02-01,11\n")


def test_a_split_in_the_window_is_warned_of():
    host = ForecastHost({"window": 4, "horizon": 2, "quantiles": [0.1, 0.5, 0.9]})
    s = {"name": "X", "dates": [f"2024-01-0{d}" for d in range(1, 7)],
         "close": [100, 101, 100, 50.5, 51, 50]}
    with pytest.warns(ZooWarning, match=r"moved -50% on 2024-01-04 \(a 2:1 split\?\)"):
        host.encode([s])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        host.encode([{**s, "close": [100, 101, 100, 101, 102, 100]}])


# ---- text ---------------------------------------------------------------------------------
def test_typographic_apostrophes_and_unicode_spaces():
    # was isn ’ t; the tokens are the text as read (zoo.data.plain), the offsets the text's
    assert tokenize("it isn’t done") == (["it", "is", "n't", "done"],
                                        [(0, 2), (3, 5), (5, 8), (9, 13)])
    words = "a\u00a0library for\u200bparsing \ufeffxml"
    assert pretokenize(words) == ["a", "library", "for", "parsing", "xml"]   # each was [UNK]


def test_html_in_text_is_warned_of():
    from zoo_pipelines.ner.host import Host

    host = Host({"words": {}, "chars": {}, "labels": ["O"], "max_word_chars": 4,
                 "buckets": [8], "crf": None})
    with pytest.warns(ZooWarning, match=r"holds HTML \('&amp;'\)"):
        host.encode(["AT&amp;T said"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        host.encode(["AT&T said <3 & more"])


def test_ner_tokenizer_splits_unicode_spaces_as_its_saved_model_does():
    """Python's \\s is Unicode and RE2's (the SavedModel's tf-text tokenizer) ASCII: a
    sentence typed with a non-breaking space ("New York" from a web page) was two tokens
    in predict() and one in the exported graph; a zero-width space joined two words in both."""
    from zoo_pipelines.ner.model import graph_tokens

    text = "New\u00a0York\u200bTimes said\u3000it\ufeff isn’t so .\x85end"
    tokens = tokenize(text)[0]
    assert tokens == ["New", "York", "Times", "said", "it", "is", "n't", "so", ".", "end"]
    assert [t.decode() for t in graph_tokens([text]).to_list()[0]] == tokens

"""Thousands of inputs and files (helper BV): progress where an export predicts (no Keras),
during NER's CRF decoding, while a folder of MIDI files is read; a FIFO named .mid among
them; the names of unusable files capped. Small synthetic files only."""
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from zoo.errors import ZooWarning

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def plain_lines(monkeypatch):
    """The runtime's progress as plain lines at once (stderr is no terminal under pytest)."""
    import zoo.runtime

    monkeypatch.setattr(zoo.runtime, "PLAIN_AFTER_S", 0.0)
    monkeypatch.setattr(zoo.runtime, "PLAIN_EVERY_S", 0.0)


def test_runtime_progress_imports_no_keras():
    """zoo.monitor imports Keras; an export's predict must not, so its bar is the runtime's."""
    code = ("import sys, zoo.runtime as r\n"
            "for _ in r.progress(range(3), desc='x'): pass\n"
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_runtime_predict_units_shows_progress(plain_lines, capsys):
    from zoo.runtime import PROGRESS_FROM, RuntimeModel

    m = RuntimeModel.__new__(RuntimeModel)
    m.meta, m.buckets = {"model": "toy", "config": {}}, None
    m.backend = lambda bucket, batch: {"y": batch["x"] * 2}
    units = [{"x": np.ones(3, np.float32)} for _ in range(PROGRESS_FROM + 1)]
    out = m.predict_units(units)
    assert len(out) == len(units) and out[0]["y"].tolist() == [2, 2, 2]
    assert f"toy predict: {PROGRESS_FROM + 1}/{PROGRESS_FROM + 1} ex (100%)" in capsys.readouterr().err
    m.predict_units(units[:5])                        # a few: no bar
    assert capsys.readouterr().err == ""


def test_ner_crf_decoding_shows_progress(plain_lines, capsys):
    """20,000 sentences sat at the predict bar's 100 % while the CRF decoded them."""
    from zoo.runtime import PROGRESS_FROM
    from zoo_pipelines.ner.host import Encoded, Host

    labels = ["O", "B-PER", "I-PER"]
    crf = {"transitions": np.zeros((3, 3)), "start": np.zeros(3), "end": np.zeros(3)}
    host = Host({"labels": labels, "buckets": [8], "crf": crf})
    n = PROGRESS_FROM + 1
    enc = Encoded([None] * n, [("Ann", ["Ann"], [(0, 3)], [i]) for i in range(n)])
    emissions = np.array([[0.0, 5.0, 0.0]], np.float32)
    out = host.decode(enc, [{"emissions": emissions}] * n)
    assert len(out) == n and out[0]["tags"] == ["B-PER"]
    assert f"ner decoding: {n}/{n} sentence (100%)" in capsys.readouterr().err


def _midis(folder: Path, n: int) -> None:
    from zoo_pipelines.music.midi import write_midi

    roll = np.zeros((8, 88), np.uint8)
    roll[:4, 39] = roll[4:, 43] = 1
    for i in range(n):
        write_midi(roll, folder / f"{i}.mid")


def test_midi_folder_skips_fifo_and_caps_names(tmp_path):
    """A FIFO named .mid hung the whole read (open() waits for a writer); 30 bad files were
    30 reasons on one line."""
    from zoo_pipelines.music.data import SHOWN_BAD, read

    _midis(tmp_path, 2)
    os.mkfifo(tmp_path / "pipe.mid")
    (tmp_path / "folder.mid").mkdir()
    for i in range(30):
        (tmp_path / f"bad{i:02d}.mid").write_bytes(b"not midi")
    (tmp_path / "notes.txt").write_text("not a MIDI file, not counted")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)        # a symlink loop: not followed
    start = time.monotonic()
    with pytest.warns(ZooWarning, match="skipped 32 of 34 MIDI files") as caught:
        examples = read(tmp_path)
    assert time.monotonic() - start < 30 and len(examples) == 2
    assert str(caught[0].message).endswith(f"; and {32 - SHOWN_BAD} more")


def test_midi_reading_order_unchanged(tmp_path):
    """note_events sorts every track's messages by tick itself (mido.merge_tracks copied
    each twice): the same notes as before, pedal and several tracks included."""
    import mido

    from zoo_pipelines.music.midi import note_events

    m = mido.MidiFile(type=1)
    m.tracks.append(mido.MidiTrack([
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.Message("control_change", control=64, value=100, time=100),
        mido.Message("note_off", note=60, time=200),
        mido.Message("control_change", control=64, value=0, time=300),
        mido.MetaMessage("end_of_track", time=50)]))
    m.tracks.append(mido.MidiTrack([
        mido.Message("note_on", note=64, velocity=80, time=100),
        mido.Message("note_on", note=64, velocity=0, time=500),
        mido.Message("note_on", note=67, velocity=80, time=0)]))
    m.save(tmp_path / "two.mid")
    assert note_events(tmp_path / "two.mid") == [
        (60, 0.0, 600 / 480), (64, 100 / 480, 600 / 480), (67, 600 / 480, 650 / 480)]


def test_captions_skip_unreadable_images(tmp_path):
    """One text file named .png among thousands stopped a caption fine-tune after its first
    evaluation ("input 7: ... is not an image"); now skipped, counted and named up front."""
    from PIL import Image

    from zoo.errors import DataFormatError
    from zoo_pipelines.captioning.data import read

    (tmp_path / "img").mkdir()
    rows = ["image,caption"]
    for i in range(3):
        Image.new("RGB", (8, 8), (i * 60, 0, 0)).save(tmp_path / "img" / f"{i}.png")
        rows.append(f"img/{i}.png,a red square")
    (tmp_path / "img" / "notes.png").write_text("not an image")
    rows.append("img/notes.png,a text file")
    (tmp_path / "captions.csv").write_text("\n".join(rows) + "\n")
    with pytest.warns(ZooWarning, match="skipped 1 of 4 images .*: img/notes.png"):
        assert len(read(tmp_path)) == 3
    (tmp_path / "captions.csv").write_text("image,caption\nimg/notes.png,a text file\n")
    with pytest.raises(DataFormatError, match="none of the 1 images"):
        read(tmp_path)


def test_batch_predict_glob_skips_a_fifo(tmp_path):
    """`--input 'data/**'` over a folder holding a FIFO: the run waited on it for ever."""
    from zoo.batch_predict import match_inputs

    (tmp_path / "a.txt").write_text("EU rejects German call .\n")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)
    with pytest.warns(UserWarning, match="skipped 1 match.*pipe.txt"):
        files = match_inputs([str(tmp_path / "**")])
    assert [Path(f[2]).name for f in files] == ["a.txt"]


def test_captions_name_a_folder_or_looping_link_as_such(tmp_path):
    """An image cell naming a folder or a looping link was "not found"."""
    from zoo.errors import DataFormatError
    from zoo_pipelines.captioning.data import read

    (tmp_path / "dir.png").mkdir()
    (tmp_path / "self.png").symlink_to("self.png")
    for name in ("dir.png", "self.png"):
        (tmp_path / "captions.csv").write_text(f"image,caption\n{name},a picture\n")
        with pytest.raises(DataFormatError, match=f"{name} is not a readable file"):
            read(tmp_path)

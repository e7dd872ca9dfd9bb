"""Long commands other than training and batch-predict, stopped midway (Ctrl-C, SIGTERM,
kill -9) and run again: one line and status 130, nothing half-written where a later command
takes it as whole, and the same command works again. Fault injection stands for the long
runs (as ZOO_CRASH_AT does in test_training.py)."""
import os
import shutil
import signal
import sys
import time

import pytest

import zoo
from zoo import bundle as B
from zoo.errors import script

FORECAST = zoo.registry.get("forecast-lstm").bundle_path


def sigterm_midway(*args):             # stands for a command killed while it runs
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    return 0


@pytest.mark.parametrize("argv,said", [
    (["export", "forecast-lstm", "--format", "tflite", "--out", "f.tflite"],
     "zoo export: interrupted; --out is as it was"),
    (["evaluate", "forecast-lstm", "--data", "x.csv"], "zoo evaluate: interrupted"),
    (["compare", "a", "b"], "zoo compare: interrupted"),
])
def test_sigterm_stops_every_command_as_ctrl_c_does(argv, said, monkeypatch, capsys):
    """SIGTERM ended zoo export / evaluate / compare with no word and none of their clean-up
    (an export's staging folder, a whole unchecked model, stayed beside --out)."""
    from zoo import cli

    monkeypatch.setattr(cli, "run", sigterm_midway)
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(argv) == 130
    assert signal.getsignal(signal.SIGTERM) is before       # main() put it back
    err = capsys.readouterr().err
    assert err.startswith(said) and err.count("\n") == 1, err


def test_an_export_clears_what_a_killed_export_left(tmp_path):
    """kill -9 of `zoo export` left its staging folder beside --out for good (hidden, a
    model each); one killed between swap_in's renames left the earlier export aside."""
    from zoo.export import clear_staged

    path = tmp_path / "m.tflite"
    (tmp_path / ".m.tflite.tmp-0d2e6698").mkdir()
    (tmp_path / ".m.tflite.tmp-0d2e6698" / "m.tflite").write_bytes(b"half")
    (tmp_path / ".m.tflite.tmp-1a2b3c4d").mkdir()
    (tmp_path / "other.tflite").write_bytes(b"mine")
    clear_staged(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.tflite"]

    saved = tmp_path / "sm"                     # a SavedModel moved aside, none in its place
    (tmp_path / ".sm.old-123-456").mkdir()
    (tmp_path / ".sm.old-123-456" / "saved_model.pb").write_bytes(b"earlier")
    clear_staged(saved)
    assert (saved / "saved_model.pb").read_bytes() == b"earlier"


def test_a_bundle_write_clears_the_staging_of_killed_writers_only(tmp_path):
    """`python -m zoo.soup` killed (-9) left `.OUT.tmp-PID-N` with a whole bundle in it;
    the next write to OUT removes those whose process is gone, not a running writer's."""
    import subprocess

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "soup"
    dead = tmp_path / f".soup.tmp-{gone.pid}-1"
    alive = tmp_path / f".soup.tmp-{os.getppid()}-2"
    for d in (dead, alive):
        d.mkdir()
        (d / "model.keras").write_bytes(b"x")
    with B.replacing(out) as staging:
        (staging / "a.txt").write_text("whole")
    assert (out / "a.txt").read_text() == "whole"
    assert not dead.exists() and alive.exists()


def test_a_card_stopped_before_its_manifest_still_loads(tmp_path, monkeypatch):
    """`zoo compare` (write_card) stopped between the card and the manifest left a new card
    under the old manifest: "changed or corrupted", and the same command could not load
    the bundle to finish. The manifest is renamed with the files it lists."""
    folder = tmp_path / "f"
    shutil.copytree(FORECAST, folder)
    m = zoo.load(folder)
    m.metrics["note"] = "a new measurement"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(B, "write_manifest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        m.write_card(folder)
    monkeypatch.undo()
    assert zoo.load(folder).metrics["note"] == "a new measurement"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_write_whole_leaves_other_manifests_alone(tmp_path):
    """Only a bundle's manifest is kept in step: batch-predict's manifest.json is its own."""
    (tmp_path / "manifest.json").write_text('{"complete": false, "files": {"a.json": "x"}}')
    B.write_whole(tmp_path / "a.json", "{}")
    assert (tmp_path / "manifest.json").read_text() == '{"complete": false, "files": {"a.json": "x"}}'


def test_soup_stopped_is_one_line_and_out_as_it_was(monkeypatch, tmp_path, capsys):
    from zoo import soup as S

    monkeypatch.setattr(S, "soup", sigterm_midway)
    before = signal.getsignal(signal.SIGTERM)
    assert script(lambda: S.main([str(tmp_path / "soup"), "a", "b"]), "zoo.soup") == 130
    assert signal.getsignal(signal.SIGTERM) is before
    err = capsys.readouterr().err
    assert err.startswith("python -m zoo.soup: interrupted;") and err.count("\n") == 1, err


def fake_engine(monkeypatch, stop_after=None):
    """synth's engines replaced by a tone; with `stop_after`, Ctrl-C at that WAV's write."""
    import numpy as np

    from zoo_pipelines.speech import synth as S

    def waves(speaker, v, texts, tmp):
        import soundfile as sf

        paths = [tmp / f"{speaker}-{i}.wav" for i in range(len(texts))]
        for p in paths:
            sf.write(p, np.sin(np.arange(1600) / 3.0).astype(np.float32), 16000)
        return paths

    written = []
    real = S.write_wav

    def write_wav(path, wave):
        if stop_after is not None and len(written) == stop_after:
            raise KeyboardInterrupt
        written.append(path.name)
        real(path, wave)

    monkeypatch.setattr(S, "require", lambda engine: engine)
    monkeypatch.setattr(S, "version", lambda engine: f"{engine} 0")
    monkeypatch.setattr(S, "_engine_waves", waves)
    monkeypatch.setattr(S, "write_wav", write_wav)
    return S


def test_synth_killed_midway_is_done_again_not_taken_as_finished(monkeypatch, tmp_path):
    """A synthesis stopped midway over an earlier run's folder left that run's recipe.json,
    so re-running the earlier command took the mixed folder as finished; WAVs were written
    in place (a kill left one cut short under its name) and so was the manifest."""
    out = tmp_path / "syn"
    S = fake_engine(monkeypatch)
    S.synthesize(out, ["flite-kal"], n_variants=2, strings_per_variant=1)
    earlier = S.command(out, ["flite-kal"], 2, 1, 0)
    (out / "recordings" / "3_jackson_4.wav").write_bytes(b"the user's")
    monkeypatch.undo()
    S = fake_engine(monkeypatch, stop_after=13)
    with pytest.raises(KeyboardInterrupt):
        S.synthesize(out, ["flite-kal", "flite-awb"], n_variants=3, strings_per_variant=2)
    assert not (out / "recipe.json").exists()             # not finished: run() writes it again
    assert not [p for p in out.rglob(".*")]                # no temp file left
    assert (out / "recordings" / "3_jackson_4.wav").exists()
    monkeypatch.undo()
    S = fake_engine(monkeypatch)
    S.main(["--out", str(out), "--voices", "flite-kal", "--variants", "2", "--strings", "1"])
    assert __import__("json").loads((out / "recipe.json").read_text())["command"] == earlier
    assert sorted(p.name for p in (out / "recordings").iterdir()) == sorted(
        [f"{d}_flite-kal_{t}.wav" for d in range(10) for t in (50, 51)] + ["3_jackson_4.wav"])
    assert sorted(p.name for p in (out / "strings").iterdir()) == [
        "flite-kal_50_0.wav", "flite-kal_51_0.wav", "transcripts.csv"]


def test_synth_stopped_is_one_line(monkeypatch, tmp_path, capsys):
    from zoo_pipelines.speech import synth as S

    monkeypatch.setattr(S, "run", sigterm_midway)
    assert script(lambda: S.main(["--out", str(tmp_path / "syn")]), S.__name__) == 130
    err = capsys.readouterr().err
    assert "interrupted; re-run the same command" in err and err.count("\n") == 1, err


def test_a_benchmark_stopped_is_one_line(capsys):
    """Ctrl-C on `python -m benchmarks.X` (any script run through zoo.errors.script) was a
    traceback through it; SIGTERM, no word."""
    from benchmarks.harness import script as benchmark_script

    before = signal.getsignal(signal.SIGTERM)
    assert benchmark_script(sigterm_midway, "benchmarks.x") == 130
    assert signal.getsignal(signal.SIGTERM) is before
    err = capsys.readouterr().err
    assert err == "python -m benchmarks.x: interrupted\n", err

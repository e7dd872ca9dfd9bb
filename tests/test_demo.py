"""The newcomer's first hour: `zoo demo NAME` writes what a person opens and says what went
in, the reference and what came out; `--plot` for speech; the piano roll's axes; no
progress bar in `--json` output."""
import json

import numpy as np
import pytest

import zoo
from zoo.cli import main


@pytest.fixture
def one_load(shipped, monkeypatch):
    """The CLI's zoo.load through the session's cache: each shipped model loads once."""
    real = zoo.load

    def load(name):
        zoo.load = real                 # the fixture's own cache loads through zoo.load
        try:
            return shipped(name)
        finally:
            zoo.load = load

    monkeypatch.setattr(zoo, "load", load)


def test_demo_one_model_writes_its_files_and_prints_in_ref_out(one_load, tmp_path, capsys,
                                                                 data_dir):
    out = tmp_path / "demo"
    assert main(["demo", "speech-ctc", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert str(out.resolve()) in text and "== speech-ctc" in text
    assert "== ner-bilstm" not in text                 # one model only
    assert "fsdd/recordings/" in text and "ref:" in text and "out:" in text
    wavs = sorted(out.glob("speech-ctc-input-*.wav"))
    picture = out / "speech-ctc-alignment.png"
    assert len(wavs) == 3 and picture.stat().st_size > 20_000
    assert str(picture) in text


def test_demo_without_data_uses_the_bundle(one_load, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "nowhere"))
    assert main(["demo", "music-lstm", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "kept in the bundle" in text and "nats a step" in text
    assert (tmp_path / "music-lstm.mid").stat().st_size > 100
    assert (tmp_path / "music-lstm-piano-roll.png").stat().st_size > 10_000


def test_speech_plot_writes_a_png(one_load, tmp_path, capsys, data_dir):
    wav = data_dir / "fsdd" / "recordings" / "4_nicolas_0.wav"
    png = tmp_path / "s.png"
    assert main(["predict", "speech-ctc", str(wav), "--plot", str(png)]) == 0
    assert "plot written to" in capsys.readouterr().out
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20_000


def test_piano_roll_has_labelled_axes(tmp_path):
    from zoo_pipelines.music.plot import piano_roll, piano_roll_figure

    roll = np.zeros((24, 88))
    roll[:8, 60 - 21] = 1
    roll[8:, [64 - 21, 67 - 21]] = 1
    ax = piano_roll_figure(roll, steps_per_quarter=2, primer_steps=8).axes[0]
    assert "beats" in ax.get_xlabel() and ax.get_ylabel() == "pitch"
    assert "C4" in [t.get_text() for t in ax.get_yticklabels()]
    assert piano_roll(roll, tmp_path / "r.png", primer_steps=8).stat().st_size > 5_000
    # one bar collection a key and colour, not one a note (90,000 notes took minutes)
    roll = np.zeros((400, 88))
    roll[::2, 39] = 1                                   # 200 notes of one key
    ax = piano_roll_figure(roll, primer_steps=100).axes[0]
    assert len(ax.collections) == 2
    assert sorted(len(c.get_paths()) for c in ax.collections) == [50, 150]


def test_no_progress_bar_in_json_output(one_load, capsys, monkeypatch):
    """The bars write to stderr and only on a terminal: stdout of --json stays JSON."""
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert main(["predict", "ner-bilstm", "EU rejects German call .", "--json"]) == 0
    out = capsys.readouterr().out
    assert [json.loads(line) for line in out.splitlines()]
    from zoo.monitor import progress

    with progress(total=3, desc="x") as bar:
        bar.update(3)
    captured = capsys.readouterr()
    assert captured.out == ""


def test_gradient_flow_short_fine_tune_has_no_empty_panel(tmp_path):
    from zoo.monitor import plot_gradient_flow

    records = [{"epoch": e, "global_norm": 1.0 / (e + 1), "clipped_fraction": 0.0,
                "layer_norms": {"encoder": 0.5 / (e + 1)}} for e in range(2)]
    plot_gradient_flow(records, tmp_path / "g.png")          # no per-step curve: one panel
    records[0]["dloss_dx_by_distance"] = [0.0] * 5            # nothing a log axis can draw
    plot_gradient_flow(records, tmp_path / "h.png")
    assert (tmp_path / "g.png").stat().st_size > 5_000 and (tmp_path / "h.png").exists()


def test_demo_says_how_good_each_model_is_and_keeps_its_columns(one_load, shipped, tmp_path,
                                                                 capsys):
    """Demo showed what each model did but not how good it is: each model's block now opens
    with its headline metric on the report split (the README table's number) and where the
    rest is. charlm's generated text started at the terminal's left edge, below an empty
    `out:`; summarize's pictures said nothing of what they show."""
    assert main(["demo", "charlm-lstm", "summarize-attn", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    bpc = shipped("charlm-lstm").metrics["report"]["bits_per_char"]
    assert (f"  metric:  bits_per_char {bpc:.4f} on held-out data nothing was chosen on "
            f"(report split; lower is better); zoo info charlm-lstm has the rest") in text
    rouge = shipped("summarize-attn").metrics["report"]["rougeL"]
    assert f"  metric:  rougeL {rouge:.4f} on held-out data" in text        # README's table
    blocks = text.split("\n== ")[1:]
    for block in blocks:
        body = block.splitlines()[1:]
        assert all(not line or line.startswith("  ") or line.startswith("demo folder:")
                   for line in body), block
    assert "  out:     \n" not in text
    charlm = blocks[0].splitlines()
    out = next(i for i, line in enumerate(charlm) if line.startswith("  out:"))
    assert charlm[out + 1].startswith(" " * 11) and charlm[out + 1].strip()
    pictures = [line for line in text.splitlines() if line.startswith("  picture:")]
    assert len(pictures) == 3 and all("(" in line for line in pictures)


def test_demo_metric_of_a_bundle_without_a_report_split_says_it_is_optimistic():
    from types import SimpleNamespace as N

    from zoo.cli import measured_line

    evaluate = N(HEADLINE="wer", GREATER_IS_BETTER=False, PREDICT_METRIC=None)
    entry = N(name="speech-ctc", module=lambda role: evaluate)
    line = measured_line(N(metrics={"valid": {"wer": 0.008}}, entry=entry))
    assert line.startswith("wer 0.0080 on the data its settings were chosen on (selection "
                           "split, so optimistic; lower is better)")
    assert measured_line(N(metrics={}, entry=entry)) == ""


def test_demo_metric_of_caption_is_predicts_decoding_not_the_greedy_headline(shipped):
    """caption-cnn-lstm's HEADLINE, bleu4, is greedy decoding (0.5068); the demo's captions
    are predict()'s beam 3 + retrieval rerank, the README table's 0.5233."""
    from zoo.cli import measured_line

    assert measured_line(shipped("caption-cnn-lstm")).startswith(
        "retrieval_bleu4 0.5233 on held-out data nothing was chosen on")

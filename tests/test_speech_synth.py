"""Synthetic digit voices (zoo_pipelines/speech/synth.py): flite writes recordings the speech
readers read, reproducibly; the training mix keeps FSDD's splits and the held-out voices out.
flite and espeak-ng are installed by `make test`; festival by `make test-slow` (its test
skips without it)."""
import shutil

import numpy as np
import pytest
import soundfile as sf

from zoo_pipelines.speech import data as D
from zoo_pipelines.speech import synth as S
from zoo.errors import InputError

needs_flite = pytest.mark.skipif(shutil.which("flite") is None,
                                 reason="flite is not installed (make test installs it: apt-get install flite)")


@pytest.fixture(scope="module")
def voices(tmp_path_factory):
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (make test installs it: apt-get install flite)")
    out = tmp_path_factory.mktemp("synth")
    S.synthesize(out, ["flite-kal", "flite-awb"], n_variants=2, strings_per_variant=2, seed=3)
    return out


def test_variants_are_seeded_and_start_with_the_voice_itself():
    assert S.variants(5, seed=1) == S.variants(5, seed=1) != S.variants(5, seed=2)
    assert S.variants(5, seed=1)[0] == S.Variant(1.0, 1.0, 1.0)
    assert all(0.8 <= v.duration <= 1.35 and 0.88 <= v.tract <= 1.12 for v in S.variants(50))
    # rms ignores pitch: its pitch is what the vocal-tract resampling gives
    v = S.Variant(1.2, 0.9, 1.1)
    assert S.applied("flite-rms", v) == S.Variant(1.2, 1.1, 1.1)
    assert S.applied("flite-kal", v) == v


@needs_flite
def test_flite_digits_and_strings_read_back_as_fsdd_and_manifest(voices):
    singles = D.read(voices / "recordings")
    assert len(singles) == 2 * 2 * 10
    assert {e["speaker"] for e in singles} == {"flite-kal", "flite-awb"}
    assert {e["index"] for e in singles} == {S.FIRST_TAKE, S.FIRST_TAKE + 1}
    assert sorted({e["text"] for e in singles}) == [str(d) for d in range(10)]
    # take numbers past FSDD's 0-49: every synthetic recording is training data
    assert len(D.read_split(voices, "train")) == len(singles)
    assert D.read_split(voices, "valid") == D.read_split(voices, "report") == []
    strings = D.read_manifest(voices / "strings" / "transcripts.csv")
    assert len(strings) == 2 * 2 * 2
    assert all(1 <= len(e["text"].split()) <= 7 and e["text"].replace(" ", "").isdigit() for e in strings)
    wave, rate = sf.read(singles[0]["audio"])
    assert rate == S.RATE and 0.2 < len(wave) / rate < 2.0 and np.abs(wave).max() > 0.4
    recipe = (voices / "recipe.json").read_text()
    assert "flite-2" in recipe and '"holdout_people"' in recipe


@needs_flite
def test_the_same_seed_writes_the_same_audio_and_duration_follows_the_variant(voices, tmp_path):
    S.synthesize(tmp_path, ["flite-kal"], n_variants=2, strings_per_variant=2, seed=3)
    for name in ("3_flite-kal_51.wav", "strings/flite-kal_51_1.wav"):
        path = name if "/" in name else f"recordings/{name}"
        assert np.array_equal(sf.read(tmp_path / path)[0], sf.read(voices / path)[0])
    v = S.variants(2, seed=3 * 1000)[1]
    seconds = [sum(sf.info(tmp_path / f"recordings/{d}_flite-kal_{t}.wav").duration for d in range(10))
               for t in (S.FIRST_TAKE, S.FIRST_TAKE + 1)]
    assert seconds[1] / seconds[0] == pytest.approx(v.duration, rel=0.1)


@needs_flite
def test_mix_keeps_fsdd_splits_and_leaves_held_out_voices_out(voices, data_dir, tmp_path):
    fsdd = data_dir / "fsdd"
    n = S.mix(voices, fsdd, tmp_path / "mix", drop_speaker="jackson")
    assert "awb" in S.HOLDOUT
    names = lambda ex: sorted(e["audio"].rsplit("/", 1)[1] for e in ex)  # noqa: E731
    for split in ("valid", "report"):
        want = [e for e in D.read_split(fsdd, split) if e["speaker"] != "jackson"]
        assert names(D.read_split(tmp_path / "mix", split)) == names(want)
    train = D.read_split(tmp_path / "mix", "train")
    speakers = {e.get("speaker") for e in train}
    assert "flite-kal" in speakers and "flite-awb" not in speakers and "jackson" not in speakers
    strings = [e for e in train if "/strings/" in e["audio"]]
    assert len(strings) == 4 and all(e["speaker"] == "flite-kal" for e in strings)
    assert n == 20 + 4
    with pytest.raises(InputError, match="no speaker 'nobody'"):
        S.mix(voices, fsdd, tmp_path / "mix2", drop_speaker="nobody")


@needs_flite
def test_training_joins_single_digits_and_keeps_connected_strings_whole(voices):
    singles = D.read(voices / "recordings")[:16]
    strings = D.read_manifest(voices / "strings" / "transcripts.csv")
    prep, _ = D.fit_preprocessor(singles + strings, buckets=[200, 400, 800])
    ds = D.make_dataset(singles + strings, prep, batch_size=8, shuffle=True, seed=1)
    seen = set()
    for _, y in ds:
        for row in y["logits"].numpy():
            seen.add(tuple(int(t) - 1 for t in row[1:] if t > 0))
    assert {tuple(int(d) for d in e["text"].split()) for e in strings} <= seen
    assert any(len(s) > 1 for s in seen - {tuple(int(d) for d in e["text"].split()) for e in strings})


@pytest.mark.skipif(shutil.which("espeak-ng") is None,
                    reason="espeak-ng is not installed (make test installs it: apt-get install espeak-ng)")
def test_espeak_voices_speak_for_evaluation_and_never_go_into_a_mix(data_dir, tmp_path):
    """espeak-ng is reserved for independent evaluation: its voices are not made by default,
    read back like any synthetic voice, and `mix` refuses a folder holding only them."""
    assert not any(v.startswith("espeak-") for v in S.VOICES)
    S.synthesize(tmp_path / "e", ["espeak-en-gb-f2"], n_variants=1, strings_per_variant=2)
    singles = D.read(tmp_path / "e" / "recordings")
    assert len(singles) == 10 and {e["speaker"] for e in singles} == {"espeak-en-gb-f2"}
    assert len(D.read_manifest(tmp_path / "e" / "strings" / "transcripts.csv")) == 2
    assert not S.trainable("espeak-en-gb-f2") and '"espeak-ng"' in (tmp_path / "e" / "recipe.json").read_text()
    with pytest.raises(InputError, match="no synthetic recordings of a training voice"):
        S.mix(tmp_path / "e", data_dir / "fsdd", tmp_path / "mix")


def test_a_missing_engine_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(S.shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="apt-get install flite"):
        S.synthesize(tmp_path, ["flite-kal"], n_variants=1)
    with pytest.raises(InputError, match="unknown voice 'espeak-ng'"):
        S.synthesize(tmp_path, ["espeak-ng"], n_variants=1)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("festival") is None,
                    reason="festival is not installed (make test-slow installs it with its voices)")
def test_festival_voices_speak_digits(tmp_path):
    S.synthesize(tmp_path, ["festival-kal", "festival-ked", "festival-slt"], n_variants=2,
                 strings_per_variant=1)
    singles = D.read(tmp_path / "recordings")
    assert len(singles) == 3 * 2 * 10
    assert '"festival"' in (tmp_path / "recipe.json").read_text()


@needs_flite
def test_study_writes_its_tables_into_the_card(voices, data_dir, tmp_path):
    """study.py measures both bundles and writes metrics.json `studies` and the card; the
    leave-one-out table names every FSDD speaker, measured or not."""
    import json
    import shutil as sh

    import zoo
    from zoo.bundle import write_manifest
    from zoo_pipelines.speech import study

    bundle = tmp_path / "b"
    sh.copytree(zoo.registry.get("speech-ctc-stream").bundle_path, bundle)
    # from a bundle without studies: the shipped one's leave-one-out rows would be kept
    metrics = json.loads((bundle / "metrics.json").read_text())
    metrics.pop("studies", None)
    (bundle / "metrics.json").write_text(json.dumps(metrics))
    write_manifest(bundle, "speech-ctc-stream")
    with pytest.raises(InputError, match="no such speaker in .*expected one of george"):
        study.main([str(bundle), "--before", str(bundle), "--synth", str(voices),
                    "--loso", f"nobody={bundle}", "--fsdd", str(data_dir / "fsdd")])
    study.main([str(bundle), "--before", str(bundle), "--synth", str(voices),
                "--loso", f"nicolas={bundle}", "--fsdd", str(data_dir / "fsdd")])
    m = zoo.load(bundle)                    # the manifest was re-hashed: it still loads
    voices_rows = m.metrics["studies"]["synthetic_voices"]["rows"]
    assert {r["voice"] for r in voices_rows} == {"flite-kal", "flite-awb"}
    assert [r["held out"] for r in voices_rows if r["voice"] == "flite-awb"] == ["yes"]
    loso = m.metrics["studies"]["leave_one_speaker_out"]["rows"]
    mine = {r["held-out speaker"]: r for r in loso if r["recipe"] == "this bundle's"}
    assert len(mine) == 5 and mine["george"]["run"] == "not measured yet"
    assert 0.9 < mine["nicolas"]["digit acc."] <= 1.0      # trained on him: mechanics only
    card = (bundle / "card.md").read_text()
    assert "## Leave one FSDD speaker out" in card and "## Against the bundle it replaced" in card
    # A later study without that run keeps its row (the run's folder may be gone by then).
    study.main([str(bundle), "--before", str(bundle), "--synth", str(voices),
                "--fsdd", str(data_dir / "fsdd")])
    again = {r["held-out speaker"]: r for r in zoo.load(bundle).metrics["studies"][
        "leave_one_speaker_out"]["rows"] if r["recipe"] == "this bundle's"}
    assert again["nicolas"] == mine["nicolas"] and again["george"]["run"] == "not measured yet"


def test_the_leave_one_out_mean_waits_for_every_speaker():
    from zoo_pipelines.speech.study import NONE, mean_row

    rows = [{"held-out speaker": s, "recipe": "this bundle's", "digit acc.": a, "connected WER": w}
            for s, a, w in (("a", 0.9, 0.1), ("b", 0.7, 0.3), ("b", 0.1, 0.9), ("c", NONE, NONE))]
    assert mean_row(rows, ["a", "b"])[0]["digit acc."] == pytest.approx(0.8)   # b's first run
    assert mean_row(rows, ["a", "b", "c"]) == []                                # c not measured


@needs_flite
def test_score_adapts_a_speaker_norm_model_to_each_voice(voices, monkeypatch):
    """A speaker_norm model is scored on each voice adapted from that voice's own audio."""
    from zoo_pipelines.speech import evaluate as E

    class Model:                # what score() uses of a model: preprocessor and predict
        preprocessor = {"speaker_norm": True}

        def predict(self, audio, **options):
            return [{"text": "0"} for _ in audio]

    adapted_to = []
    monkeypatch.setattr(E, "adapted", lambda m, audio: adapted_to.append(len(audio)) or m)
    out = S.score(Model(), voices)
    assert sorted(out) == ["flite-awb", "flite-kal"] and adapted_to == [2 * 10 + 2 * 2] * 2
    assert out["flite-kal"]["digit_accuracy"] == 0.1          # "0" is right for one digit in ten


@needs_flite
def test_scores_go_into_the_card_with_every_voice_and_the_pooled_row(voices, tmp_path, capsys):
    """`synth --score BUNDLE --card` prints the table and writes it into that bundle's card;
    the bundle still loads (its manifest re-hashed)."""
    import shutil as sh

    import zoo

    bundle = tmp_path / "b"
    sh.copytree(zoo.registry.get("speech-ctc-stream").bundle_path, bundle)
    S.main(["--out", str(voices), "--score", str(bundle), "--card"])
    assert "| all 2 | predict() |" in capsys.readouterr().out
    study = zoo.load(bundle).metrics["studies"]["scored_voices"]
    assert [r["voice"] for r in study["rows"]] == ["flite-awb", "flite-kal", "all 2"]
    every = study["rows"][-1]
    assert every["digit acc."] == pytest.approx(np.mean([r["digit acc."] for r in study["rows"][:2]]))
    assert "## Synthetic voices" in (bundle / "card.md").read_text()


def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path, capsys):
    with pytest.raises(InputError, match="^unknown voice 'espeak-xx'; expected one of flite-kal"):
        S.main(["--out", str(tmp_path), "--voices", "espeak-xx"])
    with pytest.raises(SystemExit):
        S.main(["--out", str(tmp_path), "--card"])
    assert "expected --score too" in capsys.readouterr().err

"""The CLI's items the sweeps left (stop 73): `zoo evaluate NAME --option value` reaches the
model's evaluator (it was "unrecognized arguments"); `zoo list --json` and `zoo info NAME
--json`; a missing dataset folder named as such; music-lstm's `--plot`; batch-predict's
"working" line counts records; `zoo info` of a registered model with no weights."""
import json

import pytest

from zoo.cli import main


@pytest.fixture
def small_conll(data_dir, tmp_path):
    path = tmp_path / "small.conll"
    text = (data_dir / "conll2003" / "valid.txt").read_text(encoding="utf-8")
    path.write_text("\n".join(text.splitlines()[:60]) + "\n", encoding="utf-8")
    return path


def test_evaluate_passes_the_evaluators_options_and_refuses_unknown_ones(small_conll, capsys):
    assert main(["evaluate", "ner-bilstm", "--data", str(small_conll), "--batch-size", "8",
                 "--json"]) == 0
    default = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert main(["evaluate", "ner-bilstm", "--data", str(small_conll), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == default   # batch-invariant
    assert main(["evaluate", "ner-bilstm", "--data", str(small_conll), "--beam", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: ner-bilstm evaluate: unknown option 'beam'; it takes batch_size, lowercased"
    assert main(["evaluate", "ner-bilstm", "--data", str(small_conll), "--batch-size=2.5"]) == 2
    assert "option batch_size must be an integer; got 2.5" in capsys.readouterr().err
    with pytest.raises(SystemExit):        # a stray word is still the parser's error
        main(["evaluate", "ner-bilstm", "--data", str(small_conll), "extra"])
    assert "unrecognized arguments: extra" in capsys.readouterr().err


def test_evaluate_help_for_one_model_lists_its_evaluator_options(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "summarize-attn", "--help"])
    out = capsys.readouterr().out
    # the recipe's evaluate part (beam 1) over the signature's default (4)
    assert "summarize-attn's evaluator options" in out and "--beam 1, --lead-words 10" in out
    with pytest.raises(SystemExit):     # --data's value was taken for NAME: the general help
        main(["evaluate", "--data", "test.txt", "summarize-attn", "--help"])
    assert "summarize-attn's evaluator options" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = capsys.readouterr().out
    assert "zoo evaluate NAME --help" in out and "evaluator options (" not in out


def test_list_and_info_json_are_strict_json(capsys):
    assert main(["list", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    ner = next(m for m in models if m["name"] == "ner-bilstm")
    assert ner["task"] == "ner" and ner["shipped"] is True and ner["pulled"] is None
    assert "music-lstm-nottingham" in next(m for m in models if m["name"] == "music-lstm")["presets"]
    assert main(["info", "ner-bilstm", "--json"]) == 0
    info = json.loads(capsys.readouterr().out,
                      parse_constant=lambda c: pytest.fail(f"{c} is no JSON"))
    assert (info["name"], info["task"]) == ("ner-bilstm", "ner")
    assert info["metrics"]["valid"]["f1"] > 0.9 and "hparams" in info["metrics"]
    assert any(p.endswith("training_curve.png") for p in info["pictures"])


def test_a_missing_dataset_folder_is_named(tmp_path, capsys):
    missing = tmp_path / "conll2003"
    assert main(["evaluate", "ner-bilstm", "--data", str(missing), "--split", "report"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {missing}: no such folder; expected a dataset folder laid "
                          f"out like $ZOO_DATA/conll2003") and "train.txt" not in err


def test_music_takes_plot_as_its_png(tmp_path, capsys):
    import zoo

    m = zoo.load("music-lstm")
    r = m.predict([[[60], [64]]], steps=2, plot=tmp_path / "a.png")[0]
    assert r["png"] == str(tmp_path / "a.png") and (tmp_path / "a.png").is_file()
    from zoo.errors import InputError

    with pytest.raises(InputError, match="both name the piano-roll picture"):
        m.predict([[[60]]], steps=1, png=tmp_path / "b.png", plot=tmp_path / "c.png")
    assert main(["predict", "music-lstm", "--steps", "2", "--plot", str(tmp_path / "g.png"),
                 "--json"]) == 0
    assert (tmp_path / "g.png").is_file()


def test_batch_predict_counts_the_records_through_the_model(capsys):
    import time

    from zoo.batch_predict import RECORDS_DONE, RuntimeModelHandler
    from zoo.cli import working

    class Model:
        host = None         # text lines reach predict as they are; no host's from_json

        def predict(self, batch, **options):
            return [{"n": len(x)} for x in batch]

    RECORDS_DONE.n = 0
    # elements as batch-predict keys them: ((shard, (file, line), "FILE:LINE"), raw line)
    records = [((0, (0, n), f"f.txt:{n}"), raw) for n, raw in ((1, "a"), (2, "bc"))]
    assert len(list(RuntimeModelHandler("x.tflite").run_inference(records, Model()))) == 2
    assert RECORDS_DONE.n == 2
    with working("zoo batch-predict", after=0.0, every=0.05, count=lambda: RECORDS_DONE.n):
        time.sleep(0.1)
    assert capsys.readouterr().err.splitlines()[0].endswith(", 2 records through the model")


def test_info_of_a_model_with_no_weights_shows_what_is_known(monkeypatch, tmp_path, capsys):
    import zoo
    from zoo import registry

    from test_registry import MINIMAL

    zoo.list_models()
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "user_toy").mkdir()
    (tmp_path / "user_toy" / "__init__.py").write_text("")
    for role, source in MINIMAL.items():
        (tmp_path / "user_toy" / f"{role}.py").write_text(source)
    registry.register(name="user-toy", package="user_toy", task="toy", summary="a toy GRU",
                      default_data="", train_file="", valid_file="",
                      recipe={"model": {"units": 8}})
    assert main(["info", "user-toy"]) == 0
    out = capsys.readouterr().out
    assert "a toy GRU" in out and "weights: none yet" in out and '"units": 8' in out
    assert main(["info", "user-toy", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["recipe"] == {"model": {"units": 8}} and info["metrics"] is None

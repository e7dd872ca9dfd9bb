"""The contract every registered model passes (timm / keras-hub style): a new entry gets
all of it for free by registering. Checks that need *a* model run on the harness's tiny
model (tests/test_harness.py, zoo.testing); checks about what is shipped (the bundles,
their exports' parity, their cards) run on the shipped bundles."""
import json

import numpy as np
import pytest

import zoo
import zoo.data
from zoo.errors import BundleError, DataFormatError, UnknownModelError

MODELS = zoo.list_models()
SHIPPED = [n for n in MODELS if zoo.registry.get(n).shipped]     # with trained weights


def test_registry_is_not_empty():
    assert "ner-bilstm" in MODELS


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_bundle_loads_and_predicts(name, shipped):
    """The shipped bundle loads and answers its own examples (save/load round trips are
    the harness's: test_harness.py)."""
    m = shipped(name)
    examples = m.parity_examples()[:4]
    assert examples, "a bundle ships real examples for parity checks"
    assert len(m.predict(examples)) == len(examples)


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("fmt,quantize", [("tflite", None), ("tflite", "dynamic"), ("onnx", None)])
def test_export_parity(name, fmt, quantize, shipped, exported):
    from zoo.export import builtin_op_names

    m = shipped(name)
    path, report = exported(name, fmt, quantize)
    assert report["examples"] >= 16
    # The entry's own tolerances, the ones the exporter applied (zoo.export.check_parity).
    if quantize is None:
        assert report["agreement"] == 1.0
        assert report["max_abs_diff"] <= m.entry.parity_max_abs_diff
    else:
        assert report["agreement"] >= m.entry.quantized_agreement
    if fmt == "tflite":
        ops = builtin_op_names(path)
        assert ops and not [o for o in ops if o.startswith("Flex") or o == "CUSTOM"], ops
    if quantize is None:
        rt = zoo.runtime.load(path)
        few = m.parity_examples()[:3]
        assert m.host().agreement(rt.predict(few), m.predict(few)) == 1.0


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("backend", ["keras", "tflite", "onnx"])
def test_threads_get_the_answers_of_one_thread(name, backend, tiny, tiny_exported):
    """One model shared by 8 threads (a server's case): every answer equals the one a
    single thread gets, and nothing crashes (one LiteRT interpreter is not thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor

    m = tiny(name)
    model = m if backend == "keras" else zoo.runtime.load(tiny_exported(name, f"model.{backend}")[0])
    examples = m.parity_examples()[:8]
    single = [model.predict([x]) for x in examples]
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(model.predict, [examples[i % len(examples)]]) for i in range(32)]
        answers = [f.result(timeout=300) for f in futures]
    host = m.host()
    assert all(host.agreement(a, single[i % len(examples)]) == 1.0 for i, a in enumerate(answers))


@pytest.mark.parametrize("name", MODELS)
def test_fine_tune_few_steps_on_real_data(name, tiny, data_dir, tmp_path):
    m = tiny(name)
    entry = m.entry
    data = zoo.data.read_split(entry, data_dir / entry.default_data, "train")[:96]
    before = [w.copy() for w in m.keras_model.get_weights()]
    tuned = m.fine_tune(data, epochs=1, steps_per_epoch=2, batch_size=16, jit_compile=False,
                        monitor_gradients=False, out=tmp_path / "tuned")
    assert (tmp_path / "tuned" / "manifest.json").exists()
    assert (tmp_path / "tuned" / "training_curve.png").exists(), "the card's picture"
    assert np.isfinite(tuned.metrics["valid"][entry.module("evaluate").HEADLINE])
    assert len(zoo.load(tmp_path / "tuned").predict(m.parity_examples()[:2])) == 2
    assert all(np.array_equal(a, b) for a, b in zip(before, m.keras_model.get_weights())), \
        "fine_tune trains a copy; the loaded model is unchanged"
    # fine_tune(rehearse=True) can mix the entry's own training data back in
    from zoo.training import rehearsal_mix

    mix = rehearsal_mix(entry, data[:8], True, new_share=0.5)
    assert mix["old_examples"] > 8 and mix["repeats"] > 1
    assert all(a is b for a, b in zip(mix["examples"][-8:], data[:8]))


@pytest.mark.parametrize("name", SHIPPED)
def test_tampered_bundle_is_refused(name, bundle_copy):
    path = bundle_copy(name)
    meta = json.loads((path / "metrics.json").read_text())
    meta["tampered"] = True
    (path / "metrics.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="sha256"):
        zoo.load(path)


@pytest.mark.parametrize("name", SHIPPED)
def test_newer_bundle_format_is_refused(name, bundle_copy):
    path = bundle_copy(name)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="newer"):
        zoo.load(path)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownModelError, match="Did you mean 'ner-bilstm'"):
        zoo.load("ner-bilstmm")
    with pytest.raises(UnknownModelError, match="Did you mean 'music-lstm-nottingham'"):
        zoo.load("music-lstm-notingham")                  # presets are suggested too


def test_zoo_list_shows_presets_under_their_model(capsys):
    from zoo.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "music-lstm-nottingham: a preset of music-lstm" in out


@pytest.mark.parametrize("name", SHIPPED)
def test_card_and_metrics_come_from_a_run(name):
    card = zoo.info(name)
    metrics = json.loads((zoo.bundle.resolve(name) / "metrics.json").read_text())
    assert name in card and "zoo train" in card
    assert "valid" in metrics, "metrics.json is written by the evaluator after training"
    # every number says whether anything was chosen on it
    splits = metrics["splits"]
    assert splits["valid"]["selection"] is True and splits["valid"]["chose"]
    assert splits["report"]["selection"] is False
    assert f"## Selection split `{metrics['valid']['data']}`: chose {splits['valid']['chose']}" in card
    if "report" in metrics:
        assert card.index("## Report split") < card.index("## Selection split"), "headline first"
    else:
        assert "## No untouched split" in card


@pytest.mark.parametrize("name", MODELS)
def test_readers_carve_disjoint_train_selection_and_report_splits(name, data_dir):
    """Every entry declares its report split (a documented rule by group) and its reader
    returns train, selection and report sets that share no group."""
    entry = zoo.registry.get(name)
    data = entry.module("data")
    assert len(data.REPORT_RULE) > 20, "the rule is written down"
    folder = data_dir / entry.default_data
    train, valid, report = (zoo.data.read_split(entry, folder, s) for s in zoo.data.SPLITS)
    assert train and valid and report
    held = {data.report_group(x) for x in report}
    assert not held & {data.report_group(x) for x in train}
    assert not held & {data.report_group(x) for x in valid}


@pytest.mark.parametrize("name", MODELS)
def test_unknown_split_names_are_refused(name, tiny, data_dir):
    m = tiny(name)
    with pytest.raises(DataFormatError, match="unknown split 'NOPE'; expected train, valid"):
        m.evaluate(data_dir / m.entry.default_data, split="NOPE")


def test_measure_as_trained_writes_valid_report_and_parity(tiny, data_dir, tmp_path):
    from zoo.recipes import measure_as_trained

    m = tiny("music-lstm")
    m.save(tmp_path / "b")
    measure_as_trained(tmp_path / "b", data_dir / m.entry.default_data, "the epoch")
    again = zoo.load(str(tmp_path / "b"))                  # the manifest still verifies
    headline = m.entry.module("evaluate").HEADLINE
    assert np.isfinite(again.metrics["valid"][headline])
    splits = again.metrics["splits"]
    assert (splits["valid"]["selection"], splits["valid"]["chose"]) == (True, "the epoch")
    assert splits["report"]["selection"] is False
    assert {"tflite", "tflite-dynamic", "onnx"} <= set(again.metrics["parity"])

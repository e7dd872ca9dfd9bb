"""Training safety and visibility: kill -9 mid-run, re-run, resume; gradient monitor output;
`import zoo` stays TensorFlow-free."""
import inspect
import json
import os
import re
import signal
import subprocess
import sys

import pytest

import zoo
from zoo.errors import InputError
from zoo_pipelines.ner import data


@pytest.fixture
def tiny_conll(data_dir, tmp_path):
    """A real slice of CoNLL-2003 (train and valid files) in the layout `zoo train` expects."""
    root = tmp_path / "conll-slice"
    root.mkdir()
    for src, dst, n in (("train.txt", "train.txt", 300), ("valid.txt", "valid.txt", 60)):
        sents = data.read(data_dir / "conll2003" / src)[:n]
        (root / dst).write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(s["tokens"], s["tags"]))
                                            for s in sents) + "\n")
    return root


@pytest.fixture
def slice_glove(tiny_conll, data_dir):
    """The real GloVe rows of the slice's words only: the word embedding shrinks from 56k
    rows to a few hundred, so each `zoo train` below takes seconds, not a minute."""
    default = inspect.signature(data.fit_preprocessor).parameters["embeddings"].default
    words, vectors = data.load_vectors(data_dir / default)
    seen = {t.lower() for f in ("train.txt", "valid.txt") for s in data.read(tiny_conll / f)
            for t in s["tokens"]}
    path = tiny_conll.parent / "glove-slice.txt"
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in zip(words, vectors) if w in seen))
    return path


def _tiny_recipe(glove) -> dict:
    """ner-bilstm's tiny recipe (zoo.testing), on the slice's GloVe rows."""
    return {**zoo.registry.get("ner-bilstm").tiny, "embeddings": str(glove)}


def _train_cmd(data, out, glove):
    return [sys.executable, "-m", "zoo.cli", "train", "ner-bilstm", "--data", str(data), "--out",
            str(out), "--epochs", "3", "--steps-per-epoch", "4", "--batch-size", "8",
            "--hparam", "jit_compile=false",     # XLA compiling would take longer than the run
            *[a for k, v in _tiny_recipe(glove).items()
              for a in ("--hparam", f"{k}={v if isinstance(v, str) else json.dumps(v)}")]]


def test_cli_fine_tune_card_says_how_to_reproduce_it(tiny_conll, tmp_path):
    """`zoo fine-tune` writes a bundle whose recipe is the loaded model's command followed
    by the fine-tune command, and which names its data, its validation split and the data
    it rehearsed (--rehearse: the old train split mixed in so it is not forgotten)."""
    out = tmp_path / "tuned"
    cmd = [sys.executable, "-m", "zoo.cli", "fine-tune", "ner-bilstm", "--data",
           str(tiny_conll / "valid.txt"), "--validation", str(tiny_conll / "valid.txt"),
           "--rehearse", str(tiny_conll), "--new-share", "0.5",
           "--out", str(out), "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8",
           "--seeds", "3", "--hparam", "monitor_gradients=False"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    # the train split of the 300 training sentences (the report split carved out); the 60
    # new ones repeated to make them half of the mix
    old = len(zoo.data.read_split(zoo.registry.get("ner-bilstm"), tiny_conll, "train"))
    repeats = round(old / 60)
    assert 250 < old < 300 and f"rehearsing {old} examples" in done.stdout
    assert f"repeated {repeats}x" in done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["hparams"]["seed"] == 3         # --seeds N is the fine-tune's seed
    first, then = metrics["command"].splitlines()
    assert first.startswith("zoo train ner-bilstm") and then.startswith("zoo fine-tune ner-bilstm")
    # not under $ZOO_DATA: named by file name and content hash, not this machine's path
    valid_name = f"valid.txt (sha256 {zoo.bundle.sha256(tiny_conll / 'valid.txt')[:12]})"
    assert metrics["split"] == metrics["fine_tuned_on"] == valid_name
    assert metrics["splits"]["valid"] == {"data": valid_name, "selection": True, "chose": "the epoch"}
    assert metrics["rehearsal"]["old_examples"] == old and metrics["rehearsal"]["repeats"] == repeats
    # its last line says where the bundle is, its selection number and how to measure it
    # (it said only where the bundle went)
    # (and which epoch, the change from the start, how to use it: test_fine_tune_outcome)
    assert done.stdout.splitlines()[-1].startswith(
        f"saved fine-tuned ner-bilstm to {out} (epoch {metrics['kept']['epoch']} of 1); f1 "
        f"{metrics['valid']['f1']:.4f} on the data that chose the epoch ({valid_name}; 60 of "
        f"its examples also trained on)")     # --validation is --data here, for speed
    assert f"measure it on data that chose nothing with `zoo evaluate {out} --data FILE`" in \
        done.stdout.splitlines()[-1]
    assert metrics["rehearsal"]["data"].startswith("conll-slice/ (sha256 ")
    card = (out / "card.md").read_text()
    assert then in card and f"fine-tuned on `{valid_name}` with the train split of " \
        f"`{metrics['rehearsal']['data']}` mixed in ({old} examples beside the 60 new ones" in card
    # data is named without this machine's paths (the command keeps what the user typed)
    named = {k: metrics[k] for k in ("split", "fine_tuned_on", "rehearsal", "splits", "valid")}
    assert str(tmp_path) not in json.dumps(named)


def test_cli_new_share_needs_rehearse(tiny_conll, tmp_path):
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "fine-tune", "ner-bilstm", "--data",
                          str(tiny_conll / "valid.txt"), "--out", str(tmp_path / "t"),
                          "--new-share", "0.4"], capture_output=True, text=True)
    assert out.returncode == 2 and "add --rehearse" in out.stderr


def test_cli_refuses_options_it_would_ignore(tiny_conll, tmp_path):
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "fine-tune", "ner-bilstm", "--data",
                          str(tiny_conll / "valid.txt"), "--out", str(tmp_path / "t"),
                          "--seeds", "1,2"], capture_output=True, text=True)
    assert out.returncode == 2 and "fine-tune takes one seed (--seeds N), got 2" in out.stderr
    # train validates on its folder's valid split: a --validation file is refused, not ignored
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "train", "ner-bilstm", "--data",
                          str(tiny_conll), "--out", str(tmp_path / "t"), "--validation",
                          str(tiny_conll / "valid.txt")], capture_output=True, text=True)
    assert out.returncode == 2 and "unknown hyper-parameter 'validation'" in out.stderr


def test_fine_tune_refuses_preprocessor_settings_it_keeps(shipped, tmp_path):
    """speech-ctc's "use --alphabet chars for sentences", taken on a fine-tune, was accepted,
    ignored, and failed with the same advice; music's transpose and charlm's seq_len were
    ignored while the card recorded them. Refused before the data is read."""
    from zoo.errors import InputError

    for name, key, value in (("speech-ctc", "alphabet", "chars"), ("music-lstm", "transpose", 0)):
        with pytest.raises(InputError, match=rf"fine-tuning keeps the model's preprocessor: "
                                             rf"{key}={value!r} differs from its"):
            shipped(name).fine_tune(tmp_path / "not-read", out=tmp_path / "t", **{key: value})


def test_rehearsal_mix_rejects_a_share_outside_0_1_and_no_new_data(tiny_conll):
    from zoo.errors import InputError
    from zoo.training import rehearsal_mix

    entry = zoo.registry.get("ner-bilstm")
    new = data.read(tiny_conll / "valid.txt")[:10]
    mix = rehearsal_mix(entry, new, tiny_conll, new_share=0.2)       # ~270 old: 10 x 7 new
    old = mix["old_examples"]
    assert len(mix["examples"]) == old + 10 * mix["repeats"] and mix["examples"][-10:] == new
    assert mix["repeats"] == round(0.25 * old / 10)
    with pytest.raises(InputError, match="between 0 and 1, got 1.5"):
        rehearsal_mix(entry, new, tiny_conll, new_share=1.5)
    with pytest.raises(InputError, match="at least one new example"):
        rehearsal_mix(entry, [], tiny_conll, new_share=0.2)


def test_linear_schedule_warms_up_then_decays_over_every_epoch():
    import keras
    import numpy as np

    from zoo.training import LinearSchedule

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1.0), "mse")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: seen.append(float(model.optimizer.learning_rate.numpy())))
    x = np.zeros((20, 1), np.float32)
    for epoch in range(2):         # one fit an epoch, as zoo.training.fit runs them
        model.fit(x, x, batch_size=2, initial_epoch=epoch, epochs=epoch + 1, verbose=0,
                  callbacks=[LinearSchedule(1.0, epochs=2), record])
    # 20 steps: 2 warm up (0.5, 1.0), then (20 - step) / 18 down to 1/18 at the last
    np.testing.assert_allclose(seen, [0.5, 1.0] + [(20 - s) / 18 for s in range(2, 20)], rtol=1e-6)


def test_average_weights_are_what_each_epoch_ends_with_and_trains_on():
    """ema > 0: when the epoch's callbacks run, the weights already are the optimizer's
    moving average (so validation and checkpoints see them), and the next epoch starts
    from them."""
    import keras
    import numpy as np

    from zoo.training import AverageWeights

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), "mse")
    kernel, average = model.trainable_variables[0], []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: average.append(
        (kernel.numpy().item(), model.optimizer._model_variables_moving_average[0].numpy().item())))
    starts = []
    x, y = np.ones((4, 1), np.float32), np.full((4, 1), 2.0, np.float32)
    for epoch in range(2):
        starts.append(kernel.numpy().item())
        model.fit(x, y, batch_size=1, initial_epoch=epoch, epochs=epoch + 1, verbose=0,
                  shuffle=False, callbacks=[AverageWeights(), record])
    for weights, moving in average:
        assert weights == moving
    assert starts[1] == average[0][0]
    # SGD on (w - 2)^2 from w0 moves w toward 2; the average (momentum 0.5) lags behind it
    w, ema = starts[0], starts[0]
    for step in range(4):
        w -= 0.1 * 2 * (w - 2)
        ema = w if step == 0 else 0.5 * ema + 0.5 * w
    np.testing.assert_allclose(average[0][0], ema, rtol=1e-5)


def test_import_zoo_does_not_import_tensorflow():
    code = ("import sys, zoo; zoo.list_models(); zoo.registry.get('ner-bilstm');"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_killed_training_resumes_and_loses_nothing(tiny_conll, slice_glove, tmp_path):
    """kill -9 at each phase of `zoo train` (zoo.training.crash_point, ZOO_CRASH_AT): mid-
    epoch, after an epoch's validation but before its checkpoint, and during the export
    checks after training. Each re-run of the same command picks up where the last one
    stopped, trains no finished epoch twice, keeps the checkpoint until the bundle is
    verified, leaves no folder behind, and ends with the very weights of a run that was
    never interrupted."""
    out = tmp_path / "run"
    state_path = out / "train" / "train_state.json"

    def run(crash=None):
        env = {**os.environ, **({"ZOO_CRASH_AT": crash} if crash else {})}
        return subprocess.run(_train_cmd(tiny_conll, out, slice_glove), env=env, capture_output=True,
                              text=True, timeout=900)

    def epochs():
        return [h["epoch"] for h in json.loads(state_path.read_text())["history"]]

    assert run("batch:2:2").returncode == -signal.SIGKILL          # in the middle of epoch 2
    assert epochs() == [1]
    resumed = run("validated:3")
    # printed (not logged), so a Python API user sees it too
    assert resumed.returncode == -signal.SIGKILL and "resuming after epoch 1" in resumed.stdout
    assert epochs() == [1, 2, 3]
    assert run("exports").returncode == -signal.SIGKILL
    state = json.loads(state_path.read_text())
    # epoch 3 was trained and validated again (its checkpoint was never written), once
    assert epochs() == [1, 2, 3] and state["finished"]
    assert (out / "train" / "backup").exists(), "checkpoint kept until the bundle is safe"
    assert (out / "export-check").exists() and not (out / "manifest.json").exists()
    done = run()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "training already finished" in done.stdout, "nothing retrained"
    assert json.loads(state_path.read_text())["history"] == state["history"]
    assert not (out / "export-check").exists() and not (out / "train" / "backup").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["valid"]["f1"] == pytest.approx(state["best"])     # the best epoch shipped
    assert set(metrics["parity"]) == {"tflite", "tflite-dynamic", "tflite-float16", "onnx",
                                      "saved_model"}
    for f in ("model.keras", "manifest.json", "card.md", "training_curve.png", "gradient_flow.png"):
        assert (out / f).exists(), f
    grads = json.loads((out / "train" / "gradients.json").read_text())
    curve = grads[-1]["dloss_dx_by_distance"]
    assert curve and curve[0] > 0, "dL/dx_t measured at the last token"
    assert "zoo train ner-bilstm" in (out / "card.md").read_text()
    # The same recipe, never interrupted (in this process, no exports): the same result.
    whole = zoo.train("ner-bilstm", data=tiny_conll, out=tmp_path / "whole", epochs=3,
                      steps_per_epoch=4, batch_size=8, jit_compile=False, check_exports=False,
                      **_tiny_recipe(slice_glove))
    # The card names the folder it was trained from, not the entry's default data.
    assert whole.metrics["split"] == f"{tiny_conll}/valid.txt"
    again = zoo.load(out)
    assert json.loads((tmp_path / "whole" / "train" / "train_state.json").read_text())[
        "history"] == state["history"]
    assert all((a == b).all() for a, b in zip(whole.keras_model.get_weights(),
                                              again.keras_model.get_weights()))


def test_a_rerun_with_other_data_or_settings_does_not_reuse_the_earlier_run(tmp_path):
    """Re-running `zoo fine-tune --out DIR` with other data into a finished run's folder
    failed in Keras with a shape mismatch (the label set grew), and with the same labels
    silently shipped the earlier run's weights ("training already finished"). The run a
    folder holds is recorded; resuming it takes the same model, settings and data."""
    from zoo.errors import InputError
    from zoo.training import check_same_run, fit, run_record

    zm = zoo.load("ner-bilstm")
    old = [{"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]}]
    new = [{"tokens": ["BRCA1", "binds"], "tags": ["B-GENE", "O"]}]
    work = tmp_path / "train"
    work.mkdir()
    run = run_record(zm, old, old)
    (work / "train_state.json").write_text(json.dumps(
        {"best": 1.0, "best_epoch": 1, "wait": 0, "history": [], "finished": True, "run": run}))
    check_same_run(work, {"run": run}, run_record(zm, old, old))          # the same run
    with pytest.raises(InputError, match="differs in training data; validation data; "
                                         "re-run the command that started it"):
        fit(zm, new, new, work, epochs=1)
    zm.hparams = {**zm.hparams, "epochs": 7, "jit_compile": True}       # execution only: same
    with pytest.raises(InputError, match=r"differs in epochs \(\d+, now 7\); re-run"):
        fit(zm, old, old, work, epochs=7)
    assert sorted(p.name for p in work.iterdir()) == ["train_state.json"], "nothing trained"


def test_a_resume_rewinds_to_its_checkpoint_and_survives_a_cut_short_one(tmp_path, capsys):
    """kill -9 between an epoch's validation and its checkpoint: the re-run trains and
    validates that epoch again, and its score, counted twice, used up one epoch of patience
    (wait 2 where an uninterrupted run had 1). A checkpoint cut short by a kill while Keras
    wrote it, or an emptied train_state.json, was a raw h5py or JSON traceback at every
    re-run."""
    import types

    import h5py

    from zoo.errors import InputError
    from zoo.training import BestOnValidation, check_checkpoint, read_state

    work = tmp_path / "train"
    work.mkdir()
    rows = [{"epoch": 1, "val_f1": 0.5}, {"epoch": 2, "val_f1": 0.6}, {"epoch": 3, "val_f1": 0.55}]
    (work / "train_state.json").write_text(json.dumps(
        {"best": 0.6, "best_epoch": 2, "wait": 1, "history": rows}))
    best = BestOnValidation(types.SimpleNamespace(entry=zoo.registry.get("ner-bilstm")), [],
                            work, patience=6)
    best.rewind(3)                                  # the checkpoint holds every epoch
    assert best.state["wait"] == 1 and len(best.state["history"]) == 3
    best.rewind(2)                                  # epoch 3 was validated, not checkpointed
    assert (best.state["best"], best.state["best_epoch"], best.state["wait"]) == (0.6, 2, 0)
    assert [h["epoch"] for h in best.state["history"]] == [1, 2]
    # history.csv is written with the state, from its rows: a kill between an epoch's
    # checkpoint and Keras's CSVLogger lost that epoch's row for good
    best.save_state()
    assert (work / "history.csv").read_text() == "epoch,val_f1\n1,0.5\n2,0.6\n"

    backup = work / "backup"
    backup.mkdir()
    for name, epoch in (("latest.weights.h5.bkp", 1), ("latest.weights.h5", 2)):
        h5py.File(backup / name, "w").close()
        meta = "training_metadata.json" + name.removeprefix("latest.weights.h5")
        (backup / meta).write_text(json.dumps({"epoch": epoch, "batch": 0}))
    check_checkpoint(work)
    assert capsys.readouterr().out == "", "a whole checkpoint is left as it is"
    (backup / "latest.weights.h5").write_bytes((backup / "latest.weights.h5").read_bytes()[:100])
    check_checkpoint(work)
    assert "resuming from the one before it (epoch 1)" in capsys.readouterr().out
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 1
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        (backup / name).write_text('{"epoch": ')
    check_checkpoint(work)
    assert "training from the first epoch again" in capsys.readouterr().out
    assert not backup.exists() and read_state(work) == {}, "the run starts over"

    for text in ("", '{"best": 0.1, "best_ep', "[]"):
        (work / "train_state.json").write_text(text)
        with pytest.raises(InputError, match=r"train_state.json: not (JSON|a JSON object).*; it "
                                             r"is the state of the run being resumed"):
            read_state(work)


def test_train_names_each_split_it_used_and_says_its_numbers(data_dir, tmp_path, capsys):
    """A dataset file holding several splits (JSB's .npz; FSDD's recordings, the prices CSV
    and the captions TSV likewise) was named whole as the selection split, the file the
    model trained on; the bundle did not say what trained it; and `zoo train` ended with
    no number. A seed NumPy cannot take (-1) was a raw traceback after the data was read."""
    from zoo.errors import InputError

    with pytest.raises(InputError, match=r"seeds must be an integer in 0\.\.4294966; got -1"):
        zoo.train("music-lstm", data=tmp_path / "not-read", out=tmp_path / "x", seeds=[-1])
    m = zoo.train("music-lstm", out=tmp_path / "run", epochs=1, steps_per_epoch=1,
                  check_exports=False, **zoo.registry.get("music-lstm").tiny)
    splits = m.metrics["splits"]
    assert splits["train"]["data"] == "polyphonic/jsb_chorales.npz [train]"
    assert splits["train"]["examples"] > 0 and splits["train"]["selection"] is False
    valid = "polyphonic/jsb_chorales.npz [valid]"
    assert splits["valid"]["data"] == m.metrics["valid"]["data"] == valid
    assert m.metrics["split"] == "polyphonic/jsb_chorales.npz", "as the shipped one's, for compare"
    card = (tmp_path / "run" / "card.md").read_text()
    n = splits["train"]["examples"]
    assert f"Trained on `polyphonic/jsb_chorales.npz [train]` ({n:,} examples)" in card
    said = capsys.readouterr().out.splitlines()[-1]
    assert said.startswith("music-lstm: nll_per_step ")
    assert f"on the selection split {valid}" in said
    assert "on the report split polyphonic [report] (nothing chosen on it)" in said


def test_sigterm_stops_training_as_ctrl_c_does(monkeypatch, capsys):
    """`kill PID` (SIGTERM, a scheduler's stop) ended `zoo train` with no word; it now says,
    as Ctrl-C does, that the same command resumes it."""
    import signal
    import time

    from zoo import cli

    def training(argv):                  # stands for a run, killed while it trains
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        return 0

    monkeypatch.setattr(cli, "run", training)
    before = signal.getsignal(signal.SIGTERM)
    try:
        assert cli.main(["train", "forecast-lstm", "--out", "x"]) == 130
    finally:
        signal.signal(signal.SIGTERM, before)
    assert "interrupted; re-run the same command to resume training" in capsys.readouterr().err


def test_fine_tune_holds_its_out_until_the_bundle_is_written(tiny_conll, tmp_path, monkeypatch):
    """The lock on --out (zoo.bundle.writing) covered the fine-tune's training only: a
    second fine-tune into the same --out, started as the first finished training, wrote
    its bundle files over the first's while they were being written. The run's pictures
    go in with the bundle (save's pictures): copied into --out before save, they did not
    match the manifest of a bundle there until the swap, nor after a crash between."""
    out, seen = tmp_path / "tuned", []
    from zoo.model import ZooModel

    save = ZooModel.save

    def save_and_try_a_second_writer(self, directory, **kw):
        assert not list(out.glob("*.png")), "pictures copied into --out before the save"
        assert [p.name for p in kw["pictures"]] == ["training_curve.png"]
        try:            # as another process would (flock is per open file)
            with zoo.bundle.writing(out, out / "train" / ".lock"):
                seen.append("not locked")
        except zoo.errors.InputError as e:
            seen.append(str(e))
        return save(self, directory, **kw)

    monkeypatch.setattr(ZooModel, "save", save_and_try_a_second_writer)
    zoo.load("ner-bilstm").fine_tune(tiny_conll / "valid.txt", validation=tiny_conll / "valid.txt",
                                     out=out, epochs=1, steps_per_epoch=1, batch_size=8,
                                     monitor_gradients=False)
    assert seen == [f"{out} is being written by process {os.getpid()}; wait for it to finish "
                    f"or choose another --out"]
    zoo.load(out)
    assert "training_curve.png" in zoo.bundle.check(out)["files"]


@pytest.mark.parametrize("name, key, value, says", [
    ("ner-bilstm", "bidirectional", "abc", "bidirectional must be true or false; got 'abc'"),
    ("ner-bilstm", "units", None, "units needs a value; got null"),
    ("ner-bilstm", "cell", "lstmm", "cell must be one of 'lstm', 'gru', 'rnn'; got 'lstmm'"),
    ("ner-bilstm", "schedule", "cosine2", "schedule must be one of 'constant', 'linear'"),
    ("ner-bilstm", "embeddings", [], "embeddings must be a string; got []"),
    ("music-lstm", "head", "foo", "head must be one of 'nade', 'sigmoid'; got 'foo'"),
    ("speech-ctc", "alphabet", "xyz", "alphabet must be one of 'digits', 'chars'"),
    ("caption-cnn-lstm", "widths", 64, "widths must be a list of channel counts"),
    ("summarize-attn", "max_target", 1.5, "max_target must be an integer in 1..4096; got 1.5"),
    ("forecast-lstm", "horizon", 10**9, "horizon must be an integer in 1..4096"),
])
def test_a_hyper_parameter_value_that_cannot_work_is_refused_before_the_data_is_read(
        name, key, value, says, tmp_path):
    # the data folder does not exist: the value is refused before anything is read
    with pytest.raises(InputError, match=re.escape(f"{name}: {says}")):
        zoo.train(name, data=tmp_path / "not-read", out=tmp_path / "x", **{key: value})


class _Poison:
    """A Keras callback that makes every weight NaN after the first step of epoch 2, as a
    learning rate far too high does (made lazily: keras is imported by the tests only)."""

    def __new__(cls, on=True):
        import keras
        import numpy as np

        class Poison(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

            def on_train_batch_end(self, batch, logs=None):
                if on and self.epoch == 1 and batch == 0:
                    for v in self.model.trainable_variables:
                        v.assign(np.full(v.shape, np.nan, v.dtype))
        return Poison()


def test_a_loss_gone_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_conll, tmp_path):
    """A training loss gone NaN trained on to the end of the epoch: that epoch was validated,
    its NaN weights checkpointed (a resume restored them) and, where they scored best,
    written into the bundle, without a word. It now stops at once, naming the epoch and the
    step; the checkpoint and best weights of epoch 1 stay; the same command resumes."""
    import numpy as np

    from zoo.errors import ZooError

    out = tmp_path / "tuned"
    run = dict(validation=tiny_conll / "valid.txt", out=out, epochs=2, steps_per_epoch=2,
               batch_size=8, monitor_gradients=False, jit_compile=False)
    m = zoo.load("ner-bilstm")
    with pytest.raises(ZooError, match=r"ner-bilstm: the training loss became nan at epoch 2, "
                                       r"step 2; training stopped and no bundle was written; the "
                                       r"checkpoint of epoch 1 .* is kept .*learning_rate="):
        m.fine_tune(tiny_conll / "train.txt", callbacks=[_Poison()], **run)
    assert not (out / "model.keras").exists()
    assert json.loads((out / "train" / "backup" / "training_metadata.json").read_text())["epoch"] == 1
    state = json.loads((out / "train" / "train_state.json").read_text())
    assert [h["epoch"] for h in state["history"]] == [1] and state["best_epoch"] == 1
    tuned = m.fine_tune(tiny_conll / "train.txt", callbacks=[_Poison(on=False)], **run)
    assert [h["epoch"] for h in tuned.history] == [1, 2], "resumed after epoch 1"
    assert all(np.isfinite(w).all() for w in zoo.load(out).keras_model.get_weights())
    # history.csv numbers epochs as the rest of the run does (Keras's CSVLogger: from 0), the
    # NaN epoch not among them
    rows = (out / "train" / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["epoch", "1", "2"]


def test_stop_on_nan_names_the_step_and_weights_gone_non_finite(tmp_path):
    """The check itself: a NaN or infinite loss at a step, or weights gone non-finite at an
    epoch's last step (its loss was computed before the update), each one ZooError; a
    fine_tune without out= keeps nothing and says no more than what to try."""
    import keras
    import numpy as np

    from zoo.errors import ZooError
    from zoo.training import TEMP_PREFIX, StopOnNaN

    stop = StopOnNaN("ner-bilstm", tmp_path / "train", 0.5, 5.0)
    stop.on_epoch_begin(0)
    stop.on_train_batch_end(0, {"loss": 1.5})
    with pytest.raises(ZooError, match=r"loss became inf at epoch 1, step 3; .* no epoch had "
                                       r"finished, so no checkpoint was written\. Try a lower "
                                       r"learning rate \(learning_rate=0.5\)"):
        stop.on_train_batch_end(2, {"loss": float("inf")})
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="dense")], name="net")
    stop.set_model(model)
    stop.on_epoch_end(0)
    model.layers[0].kernel.assign(np.full((2, 1), np.nan, "float32"))
    with pytest.raises(ZooError, match=r"the weights went non-finite \(net/dense/kernel\) "
                                       r"at the end of epoch 1"):
        stop.on_epoch_end(0)
    stop = StopOnNaN("ner-bilstm", tmp_path / f"{TEMP_PREFIX}abc", 0.5, 5.0)
    stop.on_epoch_begin(0)
    with pytest.raises(ZooError, match=r"step 1; training stopped\. Try a lower") as e:
        stop.on_train_batch_end(0, {"loss": float("nan")})
    assert "checkpoint" not in str(e.value) and "--out" not in str(e.value)


def test_a_nan_validation_score_is_never_the_best(tmp_path):
    """A first epoch scored NaN was kept as the best for good (no number compares greater
    than NaN): every later epoch counted as no improvement and early stopping ended the run
    on the NaN epoch's weights."""
    import types

    from zoo.training import BestOnValidation

    work = tmp_path / "train"
    work.mkdir()
    rows = [{"epoch": 1, "val_f1": float("nan")}, {"epoch": 2, "val_f1": 0.4},
            {"epoch": 3, "val_f1": float("nan")}, {"epoch": 4, "val_f1": 0.3}]
    (work / "train_state.json").write_text(json.dumps({"history": rows + [{"epoch": 5}]}))
    best = BestOnValidation(types.SimpleNamespace(entry=zoo.registry.get("ner-bilstm")), [],
                            work, patience=6)
    best.rewind(4)
    assert (best.state["best"], best.state["best_epoch"], best.state["wait"]) == (0.4, 2, 2)
    assert not best.better(float("nan"), None) and best.better(0.1, float("nan"))
    # an undefined score (None: forecast's ratio where naive persistence made no error) is
    # NaN, never the best (it failed formatting the epoch's line)
    best.zm = types.SimpleNamespace(evaluate=lambda *a, **k: {"f1": None})
    best.set_model(types.SimpleNamespace(stop_training=False))
    best.on_epoch_end(4, {"loss": 0.5})
    assert best.state["best_epoch"] == 2 and best.state["history"][-1]["val_f1"] != 0.0
    # a run whose every score was NaN says it keeps its last weights; one stopped early says so
    from zoo.training import kept_epoch

    nan = {"best": None, "best_epoch": None, "wait": 0, "history": [{}, {}]}
    assert kept_epoch(nan, "f1", 5, 3).startswith("no epoch of 2 scored a number on the "
                                                  "validation data (val_f1 was NaN")
    early = {"best": 0.4, "best_epoch": 2, "wait": 2, "history": [{}] * 4}
    assert kept_epoch(early, "f1", 2, 9).startswith("stopped early after 4 of 9 epochs: ")
    assert kept_epoch(early, "f1", 2, 4) == "keeping epoch 2, the best of 4 (val_f1 0.4000)"


def test_the_progress_written_to_a_file_is_one_plain_line_an_epoch(capsys, monkeypatch):
    """`zoo train ... > log` (or | tee): Keras drew its bar with carriage returns, backspaces
    and colour codes into the file, as it takes any POSIX system for a terminal. On a
    terminal, ZOO_PROGRESS=0 (which turns the progress bars off) gives the same line."""
    import keras
    import numpy as np

    from zoo.training import EpochProgress

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.zeros((8, 2), "float32")
    model.fit(x, x[:, :1], batch_size=2, epochs=1, verbose="auto", callbacks=[EpochProgress()])
    out = capsys.readouterr().out
    assert not re.search("[\r\b\x1b]", out), repr(out)
    assert re.fullmatch(r"4/4 - \d+s - .*loss: .*\n", out), repr(out)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    progress = EpochProgress()
    progress.set_params({"verbose": "auto", "epochs": 1, "steps": 4})
    assert progress.verbose == 1, "a terminal has the bar"
    monkeypatch.setenv("ZOO_PROGRESS", "0")
    progress.set_params({"verbose": "auto", "epochs": 1, "steps": 4})
    assert progress.verbose == 2


def test_patience_zero_stops_at_the_first_epoch_without_gain_not_before_the_first(tiny_conll,
                                                                                  capsys):
    """patience=0 (Keras: stop at the first epoch that does not improve) trained no epoch at
    all: the check for a run stopped early took wait 0 >= patience 0 as stopped, and the
    bundle was the starting weights."""
    tuned = zoo.load("ner-bilstm").fine_tune(
        tiny_conll / "valid.txt", validation=tiny_conll / "valid.txt", epochs=1, patience=0,
        steps_per_epoch=1, batch_size=8, monitor_gradients=False, jit_compile=False)
    assert [h["epoch"] for h in tuned.history] == [1]
    assert "the best epoch: 1 of 1 (val_f1 " in capsys.readouterr().out


def test_a_full_disk_while_an_epoch_is_saved_says_what_is_kept_and_resumes(tiny_conll, tmp_path,
                                                                            monkeypatch):
    """No room to write an epoch's files was a raw OSError (from h5py, ten lines naming no
    file) that said nothing of what was kept. It is one line saying the same command resumes
    from the last whole checkpoint; the best weights are written aside first, so a write
    cut short never replaces the earlier best."""
    import errno

    import keras

    from zoo.errors import ZooError

    out = tmp_path / "tuned"
    run = dict(validation=tiny_conll / "valid.txt", out=out, epochs=2, steps_per_epoch=1,
               batch_size=8, monitor_gradients=False, jit_compile=False)

    save = keras.callbacks.BackupAndRestore.on_epoch_end

    def full(self, epoch, logs=None):           # the disk fills up as epoch 2 is checkpointed
        if epoch == 1:
            raise OSError(errno.EFBIG, "h5py: file write failed\n(errno = 27, ...)")
        save(self, epoch, logs)

    m = zoo.load("ner-bilstm")
    monkeypatch.setattr(keras.callbacks.BackupAndRestore, "on_epoch_end", full)
    with pytest.raises(ZooError, match=r"^\S+/tuned/train: File too large: no room to save epoch "
                                       r"2 \(a full disk.*re-run the same command: it resumes "
                                       r"from the checkpoint of epoch 1$"):
        m.fine_tune(tiny_conll / "train.txt", **run)
    assert not list((out / "train").glob("*partial*"))
    monkeypatch.undo()
    tuned = m.fine_tune(tiny_conll / "train.txt", **run)
    assert [h["epoch"] for h in tuned.history] == [1, 2]


@pytest.mark.parametrize("callbacks, says", [
    ("EarlyStopping", r"keras.callbacks.EarlyStopping starts afresh every epoch here .* pass "
                      r"patience="),
    ("ReduceLROnPlateau", r"ReduceLROnPlateau starts afresh .* pass lr_decay="),
    ("a string", r"callbacks must be a list of keras.callbacks.Callback; got str"),
    ("a function", r"got a function in it"),
])
def test_callbacks_the_per_epoch_fit_would_disable_are_refused(callbacks, says, tmp_path):
    """fine_tune(callbacks=[keras.callbacks.EarlyStopping(...)]) never stopped anything: the
    zoo runs one `fit` an epoch and Keras's EarlyStopping (ReduceLROnPlateau too) starts
    afresh at each. A string or a function was a Keras traceback after the data was read."""
    import keras

    given = {"EarlyStopping": [keras.callbacks.EarlyStopping(patience=1)],
             "ReduceLROnPlateau": [keras.callbacks.ReduceLROnPlateau()],
             "a string": "EarlyStopping", "a function": [lambda: None]}[callbacks]
    with pytest.raises(InputError, match=says):
        zoo.load("ner-bilstm").fine_tune(tmp_path / "not-read.conll", callbacks=given)


def test_gradient_records_cut_short_do_not_stop_a_resume(tiny_conll, tmp_path, capsys):
    """gradients.json was written in place: a run killed (or out of disk) while writing it
    failed at every resume with a raw JSONDecodeError. It is written whole or not at all,
    and one cut short by an earlier version starts the records again."""
    from zoo.monitor import GradientMonitor

    zm = zoo.load("ner-bilstm")
    monitor = GradientMonitor(zm, data.read(tiny_conll / "valid.txt")[:8], tmp_path,
                              probe_batches=1, batch_size=4)
    (tmp_path / "gradients.json").write_text('[{"epoch": 0, "global_no')
    monitor.on_train_begin()
    assert "gradients.json: cut short; the gradient records start again" in capsys.readouterr().out
    assert [r["epoch"] for r in json.loads((tmp_path / "gradients.json").read_text())] == [0]
    assert not list(tmp_path.glob("*.tmp"))

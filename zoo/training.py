"""One fit recipe for every application: Adam with gradient clipping, jit-compiled steps,
length-bucketed batches, early stopping on the application's validation metric,
checkpoints that let an interrupted run resume, TensorBoard logs and a curve PNG.

Re-running the same `zoo train ... --out DIR` after Ctrl-C or kill -9 resumes from the
last finished epoch (Keras BackupAndRestore) with the best-so-far weights and patience
counter intact (`train_state.json`). An epoch is validated before its checkpoint is
written, so no epoch is ever resumed past without its validation; a run whose training
finished skips straight to the final measurements and exports; checkpoints are deleted
only once the bundle is written and verified.

>>> import zoo
>>> m = zoo.train("ner-bilstm", out="runs/ner", epochs=1)     # doctest: +SKIP
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import statistics
from pathlib import Path

import keras

from . import bundle, registry
from .data import data_root, dataset_name, holdout, read_split
from .errors import InputError
from .model import ZooModel, copy_matching_weights, remove, temporary_dir

log = logging.getLogger("zoo")
HOLDOUT_MIN = 10        # fewer fine-tuning examples than this: nothing is held out
FINE_TUNE_REPORT_NOTE = ("not measured by fine_tune: run `zoo evaluate DIR --data FILE` on "
                         "data that chose nothing (neither the fine-tuning nor the "
                         "validation data)")
FIT_KEYS = ("epochs", "batch_size", "learning_rate", "clipnorm", "patience", "seed",
            "steps_per_epoch", "monitor_gradients", "lr_decay", "jit_compile")


class BestOnValidation(keras.callbacks.Callback):
    """Scores the validation set with the application's evaluator after every epoch, keeps
    the best weights, stops after `patience` epochs without improvement. Its state survives
    restarts, so a resumed run still knows its best epoch."""

    def __init__(self, zm: ZooModel, valid, work: Path, patience: int):
        super().__init__()
        self.zm, self.valid, self.patience = zm, valid, patience
        evaluator = zm.entry.module("evaluate")
        self.headline = evaluator.HEADLINE
        # EPOCH_OPTIONS: evaluate() keywords for this per-epoch check only (e.g. greedy
        # decoding, no baselines) where the full evaluation is too slow to run every epoch.
        self.options = getattr(evaluator, "EPOCH_OPTIONS", {})
        self.better = better_fn(zm.entry)
        self.state_path, self.best_path = work / "train_state.json", work / "best.weights.h5"
        self.state = {"best": None, "best_epoch": None, "wait": 0, "history": []}
        if self.state_path.exists():            # a run picking up where one stopped
            self.state = read_state(work)
            log.info("resuming: best %s=%.4f at epoch %s", self.headline,
                     self.state["best"] or 0, self.state["best_epoch"])

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        crash_point(f"batch:{self.epoch}:{batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        metrics = self.zm.evaluate(self.valid, **self.options)
        score = metrics[self.headline]
        logs[f"val_{self.headline}"] = score
        # An epoch validated but killed before its checkpoint is trained and validated
        # again on resume: its new row replaces the old one.
        self.state["history"] = [h for h in self.state["history"] if h["epoch"] != epoch + 1]
        self.state["history"].append({"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}})
        if self.state["best"] is None or self.better(score, self.state["best"]):
            self.state.update(best=score, best_epoch=epoch + 1, wait=0)
            self.zm.keras_model.save_weights(self.best_path)
        else:
            self.state["wait"] += 1
            if self.state["wait"] >= self.patience:
                self.model.stop_training = True
        self.save_state()
        print(f"  val_{self.headline}={score:.4f} (best {self.state['best']:.4f} at epoch "
              f"{self.state['best_epoch']})", flush=True)
        crash_point(f"validated:{epoch + 1}")

    def finish(self):
        """Training is over (all epochs, or stopped early): a re-run skips it."""
        self.state["finished"] = True
        self.save_state()

    def save_state(self):
        """Atomically: a kill mid-write leaves the previous state, never half a file."""
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.state_path)

    def restore_best(self):
        if self.best_path.exists():
            self.zm.keras_model.load_weights(self.best_path)


def read_state(work: Path) -> dict:
    """The training state a run in `work` left (best score and epoch, history, finished)."""
    path = work / "train_state.json"
    return json.loads(path.read_text()) if path.exists() else {}


def last_checkpoint(work: Path) -> int:
    """How many epochs the checkpoint in `work/backup` holds (0: none)."""
    meta = work / "backup" / "training_metadata.json"
    return int(json.loads(meta.read_text()).get("epoch", 0)) if meta.exists() else 0


def reseed(model, seed: int, epoch: int) -> None:
    """Python's, NumPy's and TensorFlow's generators, and every layer's Keras seed
    generator (dropout), drawn from (seed, epoch) alone: an epoch's randomness does not
    depend on how many epochs this process ran before it (a resumed run ran none)."""
    import numpy as np

    keras.utils.set_random_seed(seed * 1000 + epoch)
    states = [v for v in model.variables if "seed_generator_state" in v.path]
    for i, v in enumerate(states):
        v.assign(np.array([seed * 1000 + epoch, i + 1], dtype=v.dtype))


def crash_point(name: str) -> None:
    """Fault injection for the resume tests: with ZOO_CRASH_AT=name the process kills
    itself here, as kill -9 would (phases: "batch:N:B" after batch B of epoch N,
    "validated:N" after epoch N's validation and before its checkpoint, "exports" during
    the export checks)."""
    if os.environ.get("ZOO_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def greater_is_better(entry) -> bool:
    """Whether the entry's headline metric improves upward (F1) or downward (NLL, MASE)."""
    return getattr(entry.module("evaluate"), "GREATER_IS_BETTER", True)


def better_fn(entry):
    return (lambda a, b: a > b) if greater_is_better(entry) else (lambda a, b: a < b)


def compile_for_training(zm: ZooModel, learning_rate: float = 1e-3, clipnorm: float = 5.0,
                         jit_compile: bool = True):
    """Adam with global-norm clipping, the application's loss, XLA-compiled steps (about
    1.5x faster on CPU for recurrent models; a recipe sets `jit_compile: False` where XLA is
    slower, e.g. depthwise convolutions on CPU)."""
    zm.keras_model.compile(optimizer=keras.optimizers.Adam(learning_rate, global_clipnorm=clipnorm),
                           loss=zm.entry.module("model").loss(zm.keras_model), jit_compile=jit_compile)


def fit(zm: ZooModel, train, valid, work: Path, epochs: int = 10, batch_size: int = 32,
        learning_rate: float = 1e-3, clipnorm: float = 5.0, patience: int = 5, seed: int = 0,
        steps_per_epoch: int | None = None, monitor_gradients: bool = True,
        lr_decay: float | None = None, jit_compile: bool = True) -> dict:
    """Train `zm` in place; `work` holds checkpoints, logs and plots. Returns the state.
    `lr_decay` multiplies the learning rate by that factor every epoch (a function of the
    epoch alone, so a resumed run continues the same schedule).

    Each epoch is one `model.fit` call on a dataset made for it, after `reseed`: its
    shuffling, augmentation and dropout draw from (seed, epoch) alone. A run killed and
    resumed from a checkpoint (weights and optimizer state) therefore trains the epochs it
    has left exactly as an uninterrupted run would."""
    from .monitor import GradientMonitor, plot_history

    work.mkdir(parents=True, exist_ok=True)
    state = read_state(work)
    if state.get("finished") and (work / "best.weights.h5").exists():
        print(f"{work}: training already finished; using its best weights (delete the "
              f"folder to train again)")
        zm.keras_model.load_weights(work / "best.weights.h5")
        return state
    data = zm.entry.module("data")
    model = zm.keras_model
    compile_for_training(zm, learning_rate, clipnorm, jit_compile)
    best = BestOnValidation(zm, valid, work, patience)
    # Validation runs before the checkpoint of its epoch (callbacks run in list order);
    # the checkpoint is kept after training until the bundle is safe (`train`).
    callbacks = [best, keras.callbacks.BackupAndRestore(str(work / "backup"), double_checkpoint=True,
                                                        delete_checkpoint=False),
                 keras.callbacks.CSVLogger(str(work / "history.csv"), append=True),
                 keras.callbacks.TensorBoard(str(work / "tensorboard"))]
    if monitor_gradients:
        callbacks.insert(2, GradientMonitor(zm, train, work, clipnorm=clipnorm))
    if lr_decay:
        callbacks.append(keras.callbacks.LearningRateScheduler(
            lambda epoch, _: learning_rate * lr_decay ** epoch))
    # A run stopped early but killed before it could say so does not train on.
    first = epochs if best.state["wait"] >= patience else last_checkpoint(work)
    for epoch in range(first, epochs):
        reseed(model, seed, epoch)
        # Remainder batches are kept: a small fine-tuning set may not fill one batch, and
        # they cost only one extra XLA compilation per length bucket.
        ds = data.make_dataset(train, zm.preprocessor, batch_size=batch_size, shuffle=True,
                               seed=seed * 1000 + epoch)
        if steps_per_epoch:
            ds = ds.repeat()
        print(f"epoch {epoch + 1} of {epochs}", flush=True)
        model.fit(ds, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=steps_per_epoch,
                  callbacks=callbacks, verbose="auto", shuffle=False)   # the dataset shuffles
        if model.stop_training:
            break
    best.finish()
    best.restore_best()
    plot_history(best.state["history"], work / "training_curve.png", best.headline)
    return best.state


def train(name: str, data: str | Path | None = None, out: str | Path | None = None,
          seeds: list[int] | None = None, command: str | None = None,
          check_exports: bool = True, **overrides) -> ZooModel:
    """Train `name` from scratch with its recipe (overrides win) and save a bundle to `out`.

    With several `seeds`, each run trains in `out/seed-N`; the card reports their mean and
    spread on the validation split and the best run is shipped. The epoch and the seed
    are chosen on the selection split ("valid"); the card's headline is the report split,
    measured once at the end, on which nothing is chosen (zoo.data.SPLITS)."""
    entry = registry.get(name)
    hp = {**entry.recipe, **overrides}
    data_dir = Path(data) if data else data_root() / entry.default_data
    out = Path(out or f"runs/{name}")
    train_ex = read_split(entry, data_dir, "train")
    valid_ex = read_split(entry, data_dir, "valid")
    # A dataset file holding every split (a .npz) is named with the split it was read for.
    valid_name = (dataset_name(data_dir / entry.valid_file) if data_dir.is_dir()
                  else f"{dataset_name(data_dir)} [valid]")
    command = command or f"zoo.train({name!r}, data={str(data_dir)!r}, seeds={seeds}, **{overrides})"
    runs = []
    for seed in seeds or [hp.get("seed", 0)]:
        work = out / f"seed-{seed}" if seeds and len(seeds) > 1 else out
        zm = train_on(entry, hp | {"seed": seed}, train_ex, valid_ex, work / "train")
        metrics = {**zm.evaluate(valid_ex), "data": valid_name}
        runs.append((metrics, zm, work))
        log.info("seed %s: %s", seed, {k: v for k, v in metrics.items() if isinstance(v, float)})
    headline = entry.module("evaluate").HEADLINE
    sign = 1 if greater_is_better(entry) else -1
    metrics, best, best_work = max(runs, key=lambda r: sign * r[0][headline])
    scores = [r[0][headline] for r in runs]
    chose = "the epoch" + (f" and the seed (best of {len(runs)})" if len(runs) > 1 else "")
    best.metrics = {"model": entry.name, "split": (f"{entry.default_data}/{entry.valid_file}"
                                                     if data_dir.is_dir() else valid_name),
                    "valid": metrics, "paper": entry.paper, "hparams": hp,
                    "seeds": {"values": scores, "mean": statistics.fmean(scores),
                              "stdev": statistics.stdev(scores) if len(scores) > 1 else 0.0,
                              "seeds": list(seeds or [hp.get("seed", 0)])},
                    **report_split(best, data_dir, valid_name, chose)}
    out.mkdir(parents=True, exist_ok=True)
    for plot in ("training_curve.png", "gradient_flow.png"):     # pictures beside the bundle
        if (best_work / "train" / plot).exists():
            shutil.copy(best_work / "train" / plot, out / plot)
    if check_exports:
        export_parity(best, out / "export-check")
    best.save(out, command=command)
    bundle.check(out)                       # written and verified: checkpoints can go
    for _, _, work in runs:
        remove(work / "train" / "backup")
    return best


def report_split(zm: ZooModel, data_dir: Path, valid_name: str, chose: str) -> dict:
    """metrics.json's "splits" (what each split is and whether anything was chosen on it)
    and "report": the evaluator on the report split, measured once, after every choice."""
    splits = {"valid": {"data": valid_name, "selection": True, "chose": chose},
              "report": {"data": f"{dataset_name(data_dir)} [report]", "selection": False,
                         "rule": zm.entry.module("data").REPORT_RULE}}
    examples = read_split(zm.entry, data_dir, "report")
    if not examples:
        splits["report"]["note"] = "empty: the data has too few groups to carve one"
        return {"splits": splits}
    print(f"measuring the report split ({len(examples)} examples; nothing is chosen on it)")
    return {"splits": splits,
            "report": {**zm.evaluate(examples), "data": splits["report"]["data"]}}


def export_parity(zm: ZooModel, work: Path) -> dict:
    """Export to every deployment format in `work` (emptied first: a killed run's leftovers
    go) and keep the parity reports for the card."""
    remove(work)
    work.mkdir(parents=True)
    try:
        for target, quantize in (("model.tflite", None), ("model-dynamic.tflite", "dynamic"),
                                 ("model-float16.tflite", "float16"), ("model.onnx", None),
                                 ("saved_model", None)):
            zm.export(work / target, quantize=quantize)
            crash_point("exports")
    finally:
        remove(work)
    return zm.metrics["parity"]


def train_on(entry, hp: dict, train_ex, valid_ex, work: Path) -> ZooModel:
    """Train one model of `entry` from scratch on already-read examples: fit the
    preprocessor on `train_ex`, build with `hp` (seeded), fit with early stopping on
    `valid_ex`; `work` holds the checkpoints (a re-run resumes). The harness in
    zoo.testing trains tiny models with it."""
    work.mkdir(parents=True, exist_ok=True)
    data, builder = entry.module("data"), entry.module("model")
    prep_path = work / "preprocessor.json"
    if prep_path.exists() and ((work / "backup").exists() or read_state(work).get("finished")):
        # A resumed run keeps its original vocabularies (re-learning them can take minutes)
        # and takes its weights from the backup, so no initialisation is needed.
        prep, init = json.loads(prep_path.read_text()), None
    else:
        prep, init = data.fit_preprocessor(train_ex, **hp)
        prep_path.write_text(json.dumps(prep))
    prep["examples"] = data.parity_examples(valid_ex)     # raw inputs, JSON, for export checks
    keras.utils.set_random_seed(hp.get("seed", 0))      # the same initial weights every run
    zm = ZooModel(entry, builder.build(prep, init=init, **hp), prep, hparams=hp)
    fit(zm, train_ex, valid_ex, work, **{k: hp[k] for k in FIT_KEYS if k in hp})
    return zm


def fine_tune(zm: ZooModel, data, validation=None, epochs: int = 3, out=None,
              command: str | None = None, rehearse=None, new_share: float = 0.2,
              **overrides) -> ZooModel:
    """Continue training `zm` on new data; rebuilds the head if the label set changed.

    `rehearse` keeps what the model knows: the train split of a dataset folder (True: the
    entry's default data under $ZOO_DATA) is mixed into training, and the new examples are
    repeated to make up `new_share` of the mix (see `rehearsal_mix`). Validation is on
    `validation` or else on a tenth of the new data held out from training (zoo.data.
    holdout); under HOLDOUT_MIN examples there is too little to hold out, and the epoch
    is chosen on the training data itself, with a warning and a note in the card.

    The new bundle's recipe is the loaded model's command followed by `command` (how this
    fine-tune was run), so a card of a fine-tuned model still says how to reproduce it."""
    entry, parent = zm.entry, zm.metrics
    reader = entry.module("data").read
    new_ex = reader(data) if isinstance(data, (str, Path)) else data
    named = isinstance(validation, (str, Path))
    valid_ex = reader(validation) if named else validation
    if valid_ex:
        valid_what = dataset_name(validation) if named else f"{len(valid_ex)} examples given"
    elif len(new_ex) >= HOLDOUT_MIN:
        n = len(new_ex)
        new_ex, valid_ex = holdout(new_ex)
        held = f"{len(valid_ex)} of the {n} fine-tuning examples"
        valid_what = f"{held}, held out (every tenth; not trained on)"
        print(f"fine_tune: no validation data given; holding out {held} to choose the epoch")
    else:
        valid_ex, valid_what = new_ex, "the fine-tuning data itself (too few to hold out)"
        log.warning("fine_tune: only %d examples and no validation data: the epoch is chosen "
                    "on the training data itself, so its score is not a measurement; pass "
                    "validation= (--validation FILE)", len(new_ex))
    rehearsal = rehearsal_mix(entry, new_ex, rehearse, new_share) if rehearse else None
    train_ex = rehearsal.pop("examples") if rehearsal else new_ex
    hp = {**entry.recipe, **zm.hparams, **overrides, "epochs": epochs}
    # An epoch is one pass over the user's data (or the rehearsal mix) unless they say
    # otherwise: the recipe's steps_per_epoch was sized for the original training set.
    hp["steps_per_epoch"] = overrides.get("steps_per_epoch")
    prep = dict(zm.preprocessor)
    data_mod = entry.module("data")
    labels = data_mod.labels_of(train_ex) if hasattr(data_mod, "labels_of") else None
    # Train a copy: the model the user loaded stays as it was.
    if labels is not None and not set(labels) <= set(prep["labels"]):
        prep["labels"] = labels
    # Optional hooks for vocabularies that grow (new words keep the old ids, so the old
    # rows of embeddings and output layers carry over): data.grow_preprocessor(prep,
    # examples) -> the added entries; model.transfer_weights(source, target).
    grow = getattr(data_mod, "grow_preprocessor", None)
    added = grow(prep, new_ex) if grow else []      # new data only: repeats would pass min_count
    if added:
        print(f"fine_tune: {len(added)} new vocabulary entries: {', '.join(map(str, added[:20]))}"
              + (" ..." if len(added) > 20 else ""))
    model_mod = entry.module("model")
    keras.utils.set_random_seed(hp.get("seed", 0))      # new layers start the same every run
    new = model_mod.build(prep, **hp)
    if hasattr(model_mod, "transfer_weights"):
        model_mod.transfer_weights(zm.keras_model, new)
        fresh = []
    else:
        fresh = copy_matching_weights(zm.keras_model, new)
    if fresh:
        log.warning("label set changed (%d -> %d labels: %s); kept the encoder, rebuilt %s",
                    len(zm.preprocessor["labels"]), len(prep["labels"]), ", ".join(prep["labels"]),
                    ", ".join(fresh))
        print(f"fine_tune: new label set {prep['labels']}; re-initialised output layers: "
              f"{', '.join(fresh)}")
    zm = ZooModel(entry, new, prep, hparams=hp)
    work = Path(out) / "train" if out else temporary_dir("zoo-finetune-")
    hp.setdefault("patience", epochs)
    fit(zm, train_ex, valid_ex, work, **{k: hp[k] for k in FIT_KEYS if k in hp})
    zm.metrics = {"model": entry.name, "hparams": hp, "paper": entry.paper,
                  "fine_tuned_on": (dataset_name(data) if isinstance(data, (str, Path))
                                    else f"{len(new_ex)} examples"),
                  **({"rehearsal": rehearsal} if rehearsal else {}),
                  "split": valid_what,
                  "valid": {**zm.evaluate(valid_ex), "data": valid_what},
                  "splits": {"valid": {"data": valid_what, "selection": True,
                                       "chose": "the epoch"},
                             "report": {"selection": False, "note": FINE_TUNE_REPORT_NOTE}}}
    if out:
        zm.save(out, command="\n".join(c for c in (parent.get("command"), command) if c))
        bundle.check(out)                   # written and verified: the checkpoint can go
        remove(work / "backup")
    else:
        remove(work)            # nowhere to resume to: no checkpoints left behind in /tmp
    return zm


def rehearsal_mix(entry, new: list, rehearse, new_share: float) -> dict:
    """Training examples for a fine-tune that should not forget: the train split of the
    folder `rehearse` (True: the entry's default data) plus the `new` examples repeated
    until they are about `new_share` of the mix. Fine-tuning on new data alone overwrites
    the old skills (catastrophic forgetting); replaying old data beside it is the simplest
    remedy (Robins 1995). Returns the mix under "examples" and what was mixed, for the card.

    >>> import zoo
    >>> mix = rehearsal_mix(zoo.registry.get("ner-bilstm"), [{"tokens": ["Hi"], "tags": ["O"]}],
    ...                     True, new_share=0.5)                       # doctest: +SKIP
    """
    if not 0 < new_share < 1:
        raise InputError(f"new_share is the fraction of new examples in the mix; expected a "
                         f"number between 0 and 1, got {new_share!r}")
    if not new:
        raise InputError("fine_tune needs at least one new example to mix with the rehearsal data")
    folder = data_root() / entry.default_data if rehearse is True else Path(rehearse)
    old = read_split(entry, folder, "train")
    repeats = max(1, round(new_share / (1 - new_share) * len(old) / len(new)))
    share = len(new) * repeats / (len(old) + len(new) * repeats)
    print(f"fine_tune: rehearsing {len(old)} examples of {dataset_name(folder)} beside "
          f"{len(new)} new ones, repeated {repeats}x ({share:.0%} of the mix)")
    return {"examples": old + list(new) * repeats, "data": dataset_name(folder),
            "old_examples": len(old), "new_examples": len(new), "repeats": repeats}

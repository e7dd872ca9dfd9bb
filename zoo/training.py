"""One fit loop for every application: Adam with gradient clipping, compiled steps,
length-bucketed batches, early stopping on the application's validation metric,
checkpoints that let an interrupted run resume, TensorBoard logs and a curve PNG.

Re-running the same `zoo train ... --out DIR` after Ctrl-C or kill -9 resumes from the
last finished epoch (Keras BackupAndRestore) with the best-so-far weights and patience
counter intact (`train_state.json`). An epoch is validated before its checkpoint is
written, so no epoch is ever resumed past without its validation; a run whose training
finished skips straight to the final measurements and exports; checkpoints are deleted
only once the bundle is written and verified.

Training from scratch (`zoo.train`) is zoo.recipes; fine-tuning a loaded model is
`fine_tune` here. This module sits below zoo.model: it takes a ZooModel and never imports
one (a fine-tuned copy is made with `type(zm)`).

>>> import zoo
>>> tuned = zoo.load("ner-bilstm").fine_tune("my.conll", epochs=2)     # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import keras

from . import bundle, distribute
from .contract import parameters
from .data import data_root, dataset_name, holdout, portable, read_split
from .errors import DataFormatError, InputError, ZooError, describe_os_error, said_once, warn
from .optimizers import FusedAdam
from .options import (HPARAMS, accepted, check_buckets, check_examples, check_hparam, check_int,
                      check_out_folder)

TEMP_PREFIX = "zoo-finetune-"  # fine_tune's work folder where no out= is given (removed after)
HOLDOUT_MIN = 10        # fewer fine-tuning examples than this: nothing is held out
# Hyper-parameters that shape the recurrent weights: a fine-tune keeps them, since weights
# of another shape would be copied in part (copy_matching_weights) and the rest left random.
ARCHITECTURE = ("cell", "units", "layers")
FINE_TUNE_REPORT_NOTE = ("not measured by fine_tune: run `zoo evaluate DIR --data FILE` on "
                         "data that chose nothing (neither the fine-tuning nor the "
                         "validation data)")


class BestOnValidation(keras.callbacks.Callback):
    """Scores the validation set with the application's evaluator after every epoch, keeps
    the best weights, stops after `patience` epochs without improvement. Its state survives
    restarts, so a resumed run still knows its best epoch.

    Under a multi-worker strategy every worker evaluates (the same weights, the same
    examples); the score is averaged over the workers (`zoo.distribute.agree`, one
    collective an epoch) so all take the same decisions, and each writes its files to
    `write` (the chief: `work`; the others: a private folder). The state is read from `work`,
    the chief's, which a restarted worker resumes from."""

    def __init__(self, zm, valid, work: Path, patience: int, write: Path | None = None):
        super().__init__()
        self.zm, self.valid, self.patience = zm, valid, patience
        evaluator = zm.entry.module("evaluate")
        self.headline = evaluator.HEADLINE
        # EPOCH_OPTIONS: evaluate() keywords for this per-epoch check only (e.g. greedy
        # decoding, no baselines) where the full evaluation is too slow to run every epoch.
        self.options = evaluator.EPOCH_OPTIONS
        up = evaluator.GREATER_IS_BETTER
        # A NaN score (a model gone to NaN, an undefined metric) is never the best, and any
        # number beats one: a first epoch scored NaN was kept as the best for good, as no
        # later score compares greater than NaN, and early stopping then ended the run.
        self.better = lambda a, b: (a == a) and (b is None or b != b or (a > b if up else a < b))
        write = write or work
        self.state_path, self.best_path = write / "train_state.json", write / "best.weights.h5"
        self.shared_best = work / "best.weights.h5"
        self.state = {"best": None, "best_epoch": None, "wait": 0, "history": []}
        if (work / "train_state.json").exists():        # a run picking up where one stopped
            self.state = read_state(work)

    def rewind(self, epoch: int) -> None:
        """The state as it was when the checkpoint of `epoch` was written. An epoch validated
        after it (killed before its checkpoint) is trained and validated again; its score,
        counted twice, was no improvement on itself and used up one epoch of patience, so a
        resumed run could stop earlier than an uninterrupted one."""
        rows = [h for h in self.state["history"] if h["epoch"] <= epoch]
        if len(rows) == len(self.state["history"]):
            return
        self.state.update(best=None, best_epoch=None, wait=0, history=rows)
        for row in rows:
            score = row[f"val_{self.headline}"]
            if self.better(score, self.state["best"]):
                self.state.update(best=score, best_epoch=row["epoch"], wait=0)
            else:
                self.state["wait"] += 1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        crash_point(f"batch:{self.epoch}:{batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        metrics = self.zm.evaluate(self.valid, **self.options)
        # None: a metric undefined on this data (forecast's ratio where naive persistence
        # made no error); as NaN it is never the best, where None failed the format below
        score = metrics[self.headline]
        score = distribute.agree(float("nan") if score is None else score)
        logs[f"val_{self.headline}"] = score
        # An epoch validated but killed before its checkpoint is trained and validated
        # again on resume: its new row replaces the old one.
        self.state["history"] = [h for h in self.state["history"] if h["epoch"] != epoch + 1]
        self.state["history"].append({"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}})
        if self.better(score, self.state["best"]):
            self.state.update(best=score, best_epoch=epoch + 1, wait=0)
            # written aside, then moved over: a full disk or a kill mid-write left the
            # best weights cut short, the earlier best lost with them
            partial = self.best_path.with_name("best.partial.weights.h5")
            try:
                self.zm.keras_model.save_weights(partial)
            except BaseException:
                partial.unlink(missing_ok=True)      # not left to fill a full disk further
                raise
            os.replace(partial, self.best_path)
        else:
            self.state["wait"] += 1
            if self.state["wait"] >= self.patience:
                self.model.stop_training = True
        self.save_state()
        best = self.state["best"]
        print(f"  val_{self.headline}={score:.4f} " + (
            f"(best {best:.4f} at epoch {self.state['best_epoch']})" if best is not None else
            "(no epoch scored a number yet: an empty or unscorable validation set?)"), flush=True)
        crash_point(f"validated:{epoch + 1}")

    def finish(self):
        """Training is over (all epochs, or stopped early): a re-run skips it."""
        self.state["finished"] = True
        self.save_state()

    def save_state(self):
        """Atomically: a kill mid-write leaves the previous state, never half a file. Also
        history.csv, a row an epoch numbered from 1, written from the state's history: so
        it always has the rows the state has (Keras's CSVLogger appended after the epoch's
        checkpoint, and a kill between the two lost that row for good)."""
        rows = self.state["history"]
        keys = ["epoch", *sorted({k for row in rows for k in row} - {"epoch"})]
        csv = "".join(",".join(str(row.get(k, "")) for k in keys) + "\n"
                      for row in [dict(zip(keys, keys)), *rows])
        bundle.write_whole(self.state_path, json.dumps(self.state, indent=1),
                           **{"history.csv": csv})

    def restore_best(self):
        # A restarted non-chief worker's own folder is new: the chief's file is the best.
        for path in (self.best_path, self.shared_best):
            if path.exists():
                self.zm.keras_model.load_weights(path)
                return


class StopOnNaN(keras.callbacks.Callback):
    """Keras's TerminateOnNaN for the zoo's runs: a training loss that is NaN or infinite
    (a learning rate too high, exploding gradients) or weights that went non-finite at an
    epoch's last step stop the run with a ZooError naming the epoch and the step. It raises
    rather than setting `stop_training`, which let Keras end the epoch: that epoch was then
    validated, its NaN weights checkpointed (a resume restored them) and, where they scored
    best, written into the bundle. Raised before any of it, the last good checkpoint and
    best weights stay as they were. Comes before the zoo's other callbacks."""

    def __init__(self, name: str, work: Path, learning_rate: float, clipnorm):
        super().__init__()
        self.name, self.work, self.rate = name, work, learning_rate
        self.clipnorm = f"{clipnorm:g}" if isinstance(clipnorm, (int, float)) else clipnorm

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.fail(f"the training loss became {float(loss)} at epoch {self.epoch}, "
                      f"step {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        import numpy as np

        bad = next((v.path for v in self.model.trainable_variables
                    if not np.isfinite(keras.ops.convert_to_numpy(v)).all()), None)
        if bad:
            self.fail(f"the weights went non-finite ({bad}) at the end of epoch {epoch + 1}")

    def fail(self, what: str):
        advice = (f"Try a lower learning rate (learning_rate={self.rate:g}) or stronger "
                  f"clipping (clipnorm={self.clipnorm})")
        data = "check the data for extreme values"
        if self.work.name.startswith(TEMP_PREFIX):  # fine_tune without out: nothing is kept
            raise ZooError(f"{self.name}: {what}; training stopped. {advice}, and {data}")
        done = last_checkpoint(self.work)
        kept = (f"the checkpoint of epoch {done} in {self.work / 'backup'} is kept (a re-run "
                f"of the same command resumes from it, and will diverge again)" if done else
                "no epoch had finished, so no checkpoint was written")
        raise ZooError(f"{self.name}: {what}; training stopped and no bundle was written; "
                       f"{kept}. {advice}, in a new --out folder (out=) or after deleting "
                       f"{self.work}, and {data}")


class AverageWeights(keras.callbacks.Callback):
    """At each epoch's end, the model's weights become the optimizer's moving average of
    them (Polyak averaging; `Adam(use_ema=True)`), before anything validates or saves
    them, and the next epoch trains on from the average. Keras's own `fit` does the same
    overwrite after its last epoch (`finalize_variable_values`), and the zoo runs one `fit`
    an epoch; doing it first keeps validation, the best weights and the checkpoint on the
    same weights, so a resumed run continues exactly. Must come first among the callbacks
    (`fit(..., ema=0.95)` puts it there)."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.optimizer.finalize_variable_values(self.model.trainable_variables)


class WorkerBackup(keras.callbacks.BackupAndRestore):
    """Keras's BackupAndRestore (weights, optimizer state and epoch, at every epoch's end)
    for one worker of a run: the first `fit` of this process restores from `shared` (the
    chief's `work/backup`, which a restarted cluster resumes from), and from then on it
    writes and reads `own` (the same folder on the chief; a private one on the others, as
    Keras 3's callback knows nothing of workers and all would write one file). Later
    epochs never read the chief's folder, which the chief may be writing at that moment."""

    def __init__(self, shared: Path, own: Path, **kwargs):
        super().__init__(str(shared), **kwargs)
        self.own = own

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.backup_dir != str(self.own):
            fresh = keras.callbacks.BackupAndRestore(str(self.own))
            for name in ("backup_dir", "_weights_path", "_training_metadata_path",
                         "_prev_weights_path", "_prev_training_metadata_path"):
                setattr(self, name, getattr(fresh, name))


class EpochProgress(keras.callbacks.ProgbarLogger):
    """Keras's progress bar for the zoo's one `fit` an epoch. Keras headed each epoch
    "Epoch 5/5" (every `fit` runs to its own last epoch) under the zoo's "epoch 5 of 40";
    that header goes. A dataset of unknown length (length-bucketed batches) showed
    "37/Unknown" and no ETA; from the second epoch on the bar is sized by the steps the
    epoch before took, so it shows how far the epoch is and an ETA.

    Where stdout is no terminal (`zoo train ... > log`, `| tee`, nohup) the bar is one
    line an epoch (Keras's verbose=2): Keras draws its bar with carriage returns,
    backspaces and colour codes even into a file (it takes any POSIX system for a
    terminal), which left a log of escape sequences. A notebook keeps the bar;
    ZOO_PROGRESS=0 (the README's switch for the progress bars) gives the line on a terminal."""

    def __init__(self):
        super().__init__()
        self.steps = None

    def set_params(self, params):
        super().set_params(params)
        self.epochs = 1                     # no "Epoch N/N" header
        bar = sys.stdout.isatty() or "ipykernel" in sys.modules
        if self.verbose == 1 and (not bar or os.environ.get("ZOO_PROGRESS", "").strip() == "0"):
            self.verbose = 2
        self.target = self.target or self.steps

    def on_epoch_end(self, epoch, logs=None):
        if self.progbar is not None and self.seen:
            self.target = self.progbar.target = self.seen      # the bar ends where it did
        super().on_epoch_end(epoch, logs)
        self.steps = self.seen or self.steps


class LinearSchedule(keras.callbacks.Callback):
    """Learning rate per step: a linear warm-up over the first WARMUP share of the run's
    steps, then a linear decay to zero at its last step (the schedule BERT fine-tunes
    with). It reads the optimizer's step counter, which checkpoints keep, so a resumed run
    continues the same schedule; the steps an epoch takes are the dataset's (Keras's
    `params["steps"]`), else `steps_per_epoch`."""

    WARMUP = 0.1

    def __init__(self, learning_rate: float, epochs: int, steps_per_epoch: int | None = None):
        super().__init__()
        self.peak, self.epochs, self.steps = learning_rate, epochs, steps_per_epoch

    def on_train_batch_begin(self, batch, logs=None):
        steps = self.params.get("steps") or self.steps
        if not steps:           # a dataset of unknown size: the rate stays as it is
            return
        opt = self.model.optimizer
        total = steps * self.epochs
        step = int(opt.iterations.numpy())
        warm = max(1, int(self.WARMUP * total))
        scale = (step + 1) / warm if step < warm else max(0.0, (total - step) / (total - warm))
        opt.learning_rate.assign(self.peak * scale)


def read_state(work: Path) -> dict:
    """The training state a run in `work` left (best score and epoch, history, finished).
    One that is no JSON object (emptied, edited) is an InputError naming it: resuming
    without it would forget the best epoch and the patience counter."""
    path = work / "train_state.json"
    if not path.exists():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        state = e
    if not isinstance(state, dict):
        reason = f"not JSON ({state})" if isinstance(state, Exception) else "not a JSON object"
        raise InputError(f"{path}: {reason}; it is the state of the run being resumed (best "
                         f"epoch, patience, history): delete {work} to train afresh")
    return state


def check_checkpoint(work: Path) -> None:
    """Makes `work/backup` a checkpoint a run can resume from. One cut short (a kill while
    Keras wrote it: its weights or epoch file half there) was a raw h5py or JSON traceback
    at every re-run; where the previous epoch's copy (Keras's double checkpoint, `.bkp`) is
    whole, the run resumes from it (that epoch is trained again), else the checkpoint and
    the state go and the run trains from its first epoch; either is said. Call it before the
    preprocessor is chosen (zoo.recipes.train_on): a run that starts over initialises its
    weights afresh."""
    backup = work / "backup"
    if not backup.exists() or not distribute.is_chief():
        return
    latest = (backup / "latest.weights.h5", backup / "training_metadata.json")
    if _whole(*latest):
        return
    previous = tuple(p.with_name(p.name + ".bkp") for p in latest)
    if _whole(*previous):
        for bkp, path in zip(previous, latest):
            shutil.copy(bkp, path)
        print(f"{backup}: the last checkpoint was cut short (killed while it was written); "
              f"resuming from the one before it (epoch {last_checkpoint(work)})", flush=True)
        return
    # Starting over: the epochs the state records are trained again, so it goes too.
    for path in (backup, work / "train_state.json", work / "best.weights.h5"):
        remove(path) if path.is_dir() else path.unlink(missing_ok=True)
    print(f"{backup}: the checkpoint was cut short (killed while it was written) and no "
          f"earlier one is whole; training from the first epoch again", flush=True)


def _whole(weights: Path, meta: Path) -> bool:
    """Whether a checkpoint's weights file opens as HDF5 and its epoch file holds an epoch."""
    import h5py

    try:
        with h5py.File(weights, "r"):
            pass
        return isinstance(json.loads(meta.read_text()).get("epoch"), int)
    except (OSError, ValueError, AttributeError):
        return False


# Hyper-parameters that change how a run executes, not what it computes: a resumed run may
# differ in them (a run killed because XLA compiled slowly is re-run with jit_compile=False).
EXECUTION_ONLY = ("jit_compile", "grappler", "monitor_gradients")


def run_record(zm, train, valid) -> dict:
    """What makes a training run the same run: the model, its hyper-parameters (less
    EXECUTION_ONLY), its preprocessor and the training and validation examples, the last
    three by a short sha256 (`digest`). Kept in train_state.json; a re-run that resumes
    must match it (check_same_run)."""
    hparams = {k: v for k, v in zm.hparams.items() if k not in EXECUTION_ONLY}
    return json.loads(json.dumps({"model": zm.entry.name, "hparams": hparams,
                                  "preprocessor": digest(zm.preprocessor),
                                  "training data": digest(train),
                                  "validation data": digest(valid)}, default=_plain))


def digest(obj) -> str:
    """A short sha256 of `obj` (examples, a preprocessor) as JSON: numpy arrays by their
    bytes, paths under $ZOO_DATA as $ZOO_DATA/..., so the same data hashes the same on
    every machine.

    >>> digest([{"tokens": ["EU"], "tags": ["B-ORG"]}]) == digest([{"tokens": ["EU"], "tags": ["B-ORG"]}])
    True
    """
    text = portable(json.dumps(obj, default=_plain, ensure_ascii=False))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _plain(x):
    """JSON for what examples hold besides plain types. Never an object's repr: it may
    hold a memory address, and the same data would then hash differently on a re-run."""
    if hasattr(x, "dtype") and hasattr(x, "tobytes"):      # numpy arrays and scalars
        if x.dtype == object:
            return x.tolist()
        return [str(x.dtype), list(getattr(x, "shape", ())),
                hashlib.sha256(x.tobytes()).hexdigest()]
    if hasattr(x, "to_numpy"):                               # pandas
        return x.to_numpy()
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    if hasattr(x, "isoformat"):
        return x.isoformat()
    if isinstance(x, (set, frozenset)):
        return sorted(x, key=str)
    return type(x).__name__


def check_same_run(work: Path, state: dict, run: dict) -> None:
    """Refuse to resume (or to reuse the finished training of) a run in `work` that was
    started with other settings or data. Without this, re-running into an earlier --out
    with new data or hyper-parameters silently shipped the earlier run's weights ("training
    already finished"), or failed in Keras with a shape mismatch when the label set grew.
    A state written before runs were recorded is taken as the same run."""
    before = state.get("run")
    if not before or before == run or not distribute.is_chief():
        return
    hp_a, hp_b = before.get("hparams", {}), run["hparams"]
    diffs = [f"{k} ({hp_a.get(k)!r}, now {hp_b.get(k)!r})"
             for k in sorted(hp_a.keys() | hp_b.keys()) if hp_a.get(k) != hp_b.get(k)]
    diffs += [k for k in run if k != "hparams" and before.get(k) != run[k]]
    raise InputError(f"{work}: holds an earlier run that differs in {'; '.join(diffs)}; re-run "
                     f"the command that started it to resume it, or train afresh into a new "
                     f"--out folder (out=) or after deleting {work}")


def last_checkpoint(work: Path) -> int:
    """How many epochs the checkpoint in `work/backup` holds (0: none)."""
    meta = work / "backup" / "training_metadata.json"
    return int(json.loads(meta.read_text()).get("epoch", 0)) if meta.exists() else 0


# An epoch's randomness is drawn from seed * 1000 + epoch (epoch_seed), which NumPy takes
# below 2**32.
MAX_SEED = 2**32 // 1000 - 1


def epoch_seed(seed: int, epoch: int) -> int:
    """The one number an epoch's randomness (shuffling, dropout) is drawn from: seed * 1000
    + epoch for the first thousand epochs, as every shipped run drew it; from the 1,001st a
    hash of the pair, where seed * 1000 + epoch had been the next seed's epoch 0, 1, ...:
    two seeds of one `--seeds` run drew the same epochs (and past the 1,296th epoch of the
    largest seeds it passed NumPy's 2**32 - 1).

    >>> epoch_seed(2, 7), epoch_seed(0, 1000) == epoch_seed(1, 0)
    (2007, False)
    """
    if epoch < 1000:
        return seed * 1000 + epoch
    import numpy as np

    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def check_seed(seed, what: str = "seed") -> int:
    """A seed the run can use, checked before any work: -1 was a raw NumPy traceback
    ("expected non-negative integer") once the data had been read.

    >>> check_seed(-1)
    Traceback (most recent call last):
    zoo.errors.InputError: seed must be an integer in 0..4294966; got -1
    """
    return check_int(seed, what, 0, MAX_SEED)


def reseed(model, seed: int, epoch: int) -> None:
    """Python's, NumPy's and TensorFlow's generators, and every layer's Keras seed
    generator (dropout), drawn from (seed, epoch) alone: an epoch's randomness does not
    depend on how many epochs this process ran before it (a resumed run ran none)."""
    import numpy as np

    drawn = epoch_seed(seed, epoch)
    keras.utils.set_random_seed(drawn)
    states = [v for v in model.variables if "seed_generator_state" in v.path]
    for i, v in enumerate(states):
        v.assign(np.array([drawn, i + 1], dtype=v.dtype))


def crash_point(name: str) -> None:
    """Fault injection for the resume tests: with ZOO_CRASH_AT=name the process kills
    itself here, as kill -9 would (phases: "batch:N:B" after batch B of epoch N,
    "validated:N" after epoch N's validation and before its checkpoint, "exports" during
    the export checks)."""
    if os.environ.get("ZOO_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def compile_for_training(zm, learning_rate: float = 1e-3, clipnorm: float = 5.0,
                         jit_compile: bool = False, ema: float = 0.0, layer_lr_decay: float = 1.0):
    """Adam (zoo.optimizers.FusedAdam: Keras's, one fused kernel a variable) with
    global-norm clipping (and, if `ema` > 0, Keras's moving average of the weights with
    that momentum: see AverageWeights; if `layer_lr_decay` < 1, lower layers' rates scaled
    down: layer_lr_scales), the application's loss; steps are
    tf.functions without XLA unless the recipe sets `jit_compile: True`. With TensorFlow 2.21 on CPU,
    XLA made training steps slower for every application that runs without it (measured
    on an idle 2-core machine, ms a step: ner-bilstm 143 vs 47, charlm-lstm 2,388 vs 623,
    speech-ctc 410 vs 302, music-lstm 191 vs 171, forecast-lstm 46 vs 38; docs/speed.md, "XLA");
    summarize-attn trains without XLA and without Grappler (`grappler: False`, see
    graph_optimizer), 1.8x faster than with XLA. Compiled under the strategy in use
    (zoo.distribute), in whose scope the model was built.

    Under multi_worker, XLA is off: TensorFlow 2.21 cannot compile the all-reduce into an
    XLA step on CPU (UnimplementedError at the first step). With several replicas the
    clipping norm is each replica's gradient's (Keras clips before the all-reduce), so a
    clipped step differs from the one-worker step; unclipped steps are the same."""
    if distribute.name() == "multi_worker":
        jit_compile = False
    with distribute.current().scope():
        compile_for_training_in_scope(zm, learning_rate, clipnorm, jit_compile, ema,
                                      layer_lr_decay)


def layer_lr_scales(model, decay: float) -> dict:
    """{variable path: decay ** k} for a functional model's trainable variables, k the
    rank of the variable's layer among the layers with weights, counted down from the
    output (0: the top ones; layers as far from the output share a rank): layer-wise
    learning-rate decay, the discriminative fine-tuning rates of ULMFiT (Howard & Ruder
    2018) and ELECTRA (Clark et al. 2020), so a fine-tune moves the features the old
    domain taught less than the layers that map them to the new labels. Empty at 1.

    >>> import keras
    >>> x = keras.Input((3,))
    >>> h = keras.layers.Dense(4, name="low")(x)
    >>> y = keras.layers.Dense(2, name="top")(keras.layers.Dropout(0.1)(h))
    >>> sorted(layer_lr_scales(keras.Model(x, y), 0.5).items())
    [('low/bias', 0.5), ('low/kernel', 0.5), ('top/bias', 1.0), ('top/kernel', 1.0)]
    """
    if decay == 1.0:
        return {}
    depths = getattr(model, "_operations_by_depth", None)
    if not depths:
        raise InputError(f"layer_lr_decay {decay}: expected a functional Keras model (its "
                         f"layers' order from the output); {type(model).__name__} has none")
    # Keras's depth is a layer's longest path to an output, counting every layer; the rank
    # counts only the depths where a layer with weights sits
    # (keras.ops operations in the graph, such as a mask's `any`, hold no weights)
    weights = {d: [v for o in ops for v in getattr(o, "trainable_weights", ())]
               for d, ops in depths.items()}
    weighted = sorted(d for d, vs in weights.items() if vs)
    return {v.path: decay ** weighted.index(d) for d, vs in weights.items() for v in vs}


@contextlib.contextmanager
def graph_optimizer(enabled: bool = True):
    """TensorFlow's graph optimizer (Grappler) on, or off for the functions first run
    inside this block (Keras instantiates its train step at the first batch of each shape).

    Off is for a training step it breaks. In TensorFlow 2.21 its memory optimizer rewrites
    a sum of three or more gradients inside a while loop's gradient (a value the loop body
    uses three times) into a temporary variable, which then clashes with itself:
    AlreadyExistsError on ".../while/gradients/AddN_9/tmp_var" (tensorflow/tensorflow
    #37740, #23780). summarize-attn's decoder loop hits it; XLA avoided it, at 1.8x the
    step time (docs/speed.md, "summarize-attn trains without XLA"). The toggle cannot name the
    memory optimizer alone.

    >>> with graph_optimizer(False):
    ...     pass
    """
    import tensorflow as tf

    if not enabled:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        if not enabled:
            tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False})


def compile_for_training_in_scope(zm, learning_rate, clipnorm, jit_compile, ema,
                                  layer_lr_decay=1.0):
    average = {"use_ema": True, "ema_momentum": ema} if ema else {}
    scales = layer_lr_scales(zm.keras_model, layer_lr_decay)
    zm.keras_model.compile(optimizer=FusedAdam(learning_rate, global_clipnorm=clipnorm,
                                               lr_scales=scales, **average),
                           loss=zm.entry.module("model").loss(zm.keras_model), jit_compile=jit_compile)


@said_once()     # a warning about the validation data: once a run, not once an epoch
def fit(zm, train, valid, work: Path, callbacks: list | None = None, epochs: int = 10,
        batch_size: int = 32, learning_rate: float = 1e-3, clipnorm: float = 5.0,
        patience: int = 5, seed: int = 0, steps_per_epoch: int | None = None,
        monitor_gradients: bool = True, lr_decay: float | None = None,
        schedule: str = "constant", jit_compile: bool = False, grappler: bool = True,
        ema: float = 0.0, layer_lr_decay: float = 1.0, keeps: bool = True) -> dict:
    """Train `zm` in place; `work` holds checkpoints, logs and plots; `callbacks` (Keras
    callbacks) run beside the zoo's own. Returns the state (its "history": one record an
    epoch, with the validation metric).
    `lr_decay` multiplies the learning rate by that factor every epoch (a function of the
    epoch alone, so a resumed run continues the same schedule); `schedule="linear"` warms
    the rate up and decays it to zero over the run's steps instead (LinearSchedule).
    `grappler=False` trains with TensorFlow's graph optimizer off (graph_optimizer).
    `keeps=False`: the last line names the best epoch without saying it is kept (kept_epoch).
    `ema` > 0 validates, keeps and trains on from a moving average of the weights with that
    momentum, taken over each epoch (AverageWeights); 0 (the default) is off.
    `layer_lr_decay` < 1 trains each layer with weights at that factor of the rate of the
    one above it (layer_lr_scales); 1 (the default) is off.

    Each epoch is one `model.fit` call on a dataset made for it, after `reseed`: its
    shuffling, augmentation and dropout draw from (seed, epoch) alone. A run killed and
    resumed from a checkpoint (weights and optimizer state) therefore trains the epochs it
    has left exactly as an uninterrupted run would."""
    from .monitor import GradientMonitor, plot_history

    if not 0 <= ema < 1:
        raise InputError(f"ema {ema}: expected a momentum in [0, 1) (0: off; 0.99 is Keras's default)")
    if schedule not in ("constant", "linear"):
        raise InputError(f"schedule {schedule!r}: expected 'constant' or 'linear'")
    check_callbacks(callbacks)
    work.mkdir(parents=True, exist_ok=True)
    own = distribute.worker_dir(work)       # where this worker writes (work on the chief)
    state = read_state(work)
    run = run_record(zm, train, valid)
    check_same_run(work, state, run)
    if state.get("finished") and (work / "best.weights.h5").exists():
        print(f"{work}: training already finished; using its best weights (delete the "
              f"folder to train again)")
        zm.keras_model.load_weights(work / "best.weights.h5")
        return state
    check_checkpoint(work)
    data = zm.entry.module("data")
    model = zm.keras_model
    compile_for_training(zm, learning_rate, clipnorm, jit_compile, ema, layer_lr_decay)
    if distribute.distributed():
        distribute.check_batch(batch_size)
    best = BestOnValidation(zm, valid, work, patience, write=own)
    best.state["run"] = run
    # Validation runs before the checkpoint of its epoch (callbacks run in list order);
    # the checkpoint is kept after training until the bundle is safe (`train`).
    zoo_callbacks = [best, WorkerBackup(work / "backup", own / "backup", double_checkpoint=True,
                                        delete_checkpoint=False),
                     keras.callbacks.TensorBoard(str(own / "tensorboard"))]
    if monitor_gradients:
        zoo_callbacks.insert(2, GradientMonitor(zm, train, own, clipnorm=clipnorm))
    # StopOnNaN after the weights are averaged (they are what is checkpointed) and before
    # anything validates or saves them
    callbacks = [*([AverageWeights()] if ema else []),
                 StopOnNaN(zm.entry.name, work, learning_rate, clipnorm), *zoo_callbacks,
                 *(callbacks or []), EpochProgress()]
    if schedule == "linear":
        callbacks.append(LinearSchedule(learning_rate, epochs, steps_per_epoch))
    elif lr_decay:
        callbacks.append(keras.callbacks.LearningRateScheduler(
            lambda epoch, _: learning_rate * lr_decay ** epoch))
    done = last_checkpoint(work)
    if distribute.name() == "multi_worker":     # workers that would train apart: refused
        distribute.check_same_start(done, work)
    best.rewind(done)
    if done:
        # printed like the epoch lines, so the Python API shows it as the CLI does
        print(f"resuming after epoch {done}: best {best.headline}="
              f"{best.state['best'] or 0:.4f} at epoch {best.state['best_epoch']}, "
              f"{best.state['wait']} of {patience} epochs of patience used", flush=True)
    # A run stopped early but killed before it could say so does not train on.
    # (wait is 1 at least once stopped: patience=0 stops at the first epoch without gain,
    # as in Keras, and trained no epoch at all where wait 0 >= patience 0 read as stopped)
    first = epochs if best.state["wait"] >= max(patience, 1) else done
    started = time.monotonic()
    for epoch in range(first, epochs):
        reseed(model, seed, epoch)
        # Remainder batches are kept: a small fine-tuning set may not fill one batch, and
        # they cost only one extra XLA compilation per length bucket.
        def make(epoch=epoch):
            ds = data.make_dataset(train, zm.preprocessor, batch_size=batch_size, shuffle=True,
                                   seed=epoch_seed(seed, epoch))
            return ds.repeat() if steps_per_epoch else ds

        # Under a strategy each replica takes its slice of every global batch (zoo.distribute)
        ds, steps = distribute.fit_dataset(model, make, steps_per_epoch)
        eta = run_eta(time.monotonic() - started, epoch - first, epochs - epoch)
        print(f"epoch {epoch + 1} of {epochs}{eta}", flush=True)
        try:
            with graph_optimizer(grappler):
                model.fit(ds, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=steps,
                          callbacks=callbacks, verbose="auto", shuffle=False)  # the dataset shuffles
        except distribute.peer_errors() as e:
            if distribute.name() != "multi_worker":
                raise
            raise distribute.lost(e, last_checkpoint(work)) from None
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise
            # a full disk while an epoch's files were written: a raw OSError naming one file
            # (Keras's checkpoint copy, say; h5py's, ten lines long, named none) said nothing
            # of what was kept or what to do
            what = describe_os_error(e) if e.filename else f"{work}: {os.strerror(e.errno)}"
            try:
                kept = f"resumes from the checkpoint of epoch {last_checkpoint(work)}"
            except ValueError:              # its epoch file is what was cut short
                kept = "resumes from the last whole checkpoint"
            if kept.endswith(" 0"):
                kept = "starts over: no epoch had been saved"
            raise ZooError(f"{what}: no room to save epoch {epoch + 1} (a full disk, a quota or "
                           f"a file size limit); training stopped and no bundle was written. "
                           f"Make room and re-run the same command: it {kept}") from None
        if model.stop_training:
            break
    best.finish()
    best.restore_best()
    print(kept_epoch(best.state, best.headline, patience, epochs, keeps), flush=True)
    plot_history(best.state["history"], own / "training_curve.png", best.headline,
                 best.state.get("best_epoch"))
    return best.state


# Keras callbacks that start afresh at every `fit` (on_train_begin), which the zoo calls once
# an epoch: given, they never acted, unsaid. What the zoo does in their place.
PER_FIT = {"EarlyStopping": "the zoo stops early on its own validation metric: pass "
                            "patience= (--hparam patience=N)",
           "ReduceLROnPlateau": "pass lr_decay= (a factor an epoch) or schedule='linear'"}


def check_callbacks(callbacks) -> None:
    """`callbacks` (fine_tune's, beside the zoo's own) are Keras callbacks in a list, and
    none that the zoo's one `fit` an epoch would silently disable (PER_FIT).

    >>> import keras
    >>> check_callbacks([keras.callbacks.EarlyStopping(patience=2)])
    Traceback (most recent call last):
    zoo.errors.InputError: callbacks: keras.callbacks.EarlyStopping starts afresh every epoch here (the zoo runs one fit an epoch), so it would never act; the zoo stops early on its own validation metric: pass patience= (--hparam patience=N)
    """
    if callbacks is None:
        return
    if not isinstance(callbacks, (list, tuple)):
        raise InputError(f"callbacks must be a list of keras.callbacks.Callback; got "
                         f"{type(callbacks).__name__}")
    for c in callbacks:
        if not isinstance(c, keras.callbacks.Callback):
            raise InputError(f"callbacks must be a list of keras.callbacks.Callback; got a "
                             f"{type(c).__name__} in it")
        for cls in type(c).__mro__:
            if cls.__module__.startswith("keras") and cls.__name__ in PER_FIT:
                raise InputError(f"callbacks: keras.callbacks.{cls.__name__} starts afresh "
                                 f"every epoch here (the zoo runs one fit an epoch), so it "
                                 f"would never act; {PER_FIT[cls.__name__]}")


def run_eta(spent: float, done: int, left: int) -> str:
    """How long the epochs left take at the pace of those this process trained (their
    training and validation), for the line that heads each epoch: the bar's ETA is the
    epoch's own, and a long run said nowhere when it would end (Keras neither).

    >>> run_eta(0.0, 0, 5), run_eta(600.0, 2, 3), run_eta(20.0, 2, 1)
    ('', ' (about 15 min left)', ' (about 10 s left)')
    """
    if not done:
        return ""
    eta = spent / done * left
    return f" (about {eta / 3600:.1f} h left)" if eta >= 5400 else (
        f" (about {eta / 60:.0f} min left)" if eta >= 90 else f" (about {eta:.0f} s left)")


def kept_epoch(state: dict, headline: str, patience: int, epochs: int,
               keeps: bool = True) -> str:
    """The line that ends training: which epoch's weights are kept and why the run ended
    there. A run stopped early ended after "epoch 4 of 40" without a word (Keras's
    EarlyStopping says so), and one whose every score was NaN kept its last weights unsaid.
    With `keeps` False (a fine-tune, which then weighs the best epoch against the model it
    started from and says what it keeps) the line names the best epoch without keeping it.

    >>> kept_epoch({"best": 0.8, "best_epoch": 2, "wait": 2, "history": [{}] * 4}, "f1", 2, 40)
    'stopped early after 4 of 40 epochs: val_f1 did not improve on 0.8000 (epoch 2) for 2 epochs (patience 2); keeping epoch 2'
    >>> kept_epoch({"best": 0.8, "best_epoch": 2, "wait": 0, "history": [{}] * 2}, "f1", 2, 2,
    ...            keeps=False)
    'the best epoch: 2 of 2 (val_f1 0.8000)'
    """
    done, best = len(state["history"]), state.get("best_epoch")
    if best is None:
        return (f"no epoch of {done} scored a number on the validation data (val_{headline} "
                f"was NaN: empty or unscorable?)" +
                ("; keeping the last epoch's weights" if keeps else ""))
    if state["wait"] >= max(patience, 1) and done < epochs:
        return (f"stopped early after {done} of {epochs} epochs: val_{headline} did not improve "
                f"on {state['best']:.4f} (epoch {best}) for {state['wait']} "
                f"epoch{'s' if state['wait'] != 1 else ''} (patience "
                f"{patience})" + (f"; keeping epoch {best}" if keeps else ""))
    # (not "epoch 1 of 3": the line that heads each epoch reads so)
    if not keeps:
        return f"the best epoch: {best} of {done} (val_{headline} {state['best']:.4f})"
    return f"keeping epoch {best}, the best of {done} (val_{headline} {state['best']:.4f})"


def check_hparams(entry, hp: dict) -> None:
    """Every hyper-parameter value of `hp` (the recipe with the user's overrides), before
    any data is read: against its spec in zoo.options.HPARAMS or the application's HPARAMS
    (data.py for fit_preprocessor's, model.py for build's), else the type of its default.
    Without this, cell=lstmm, head=foo or dropout=2 trained (some silently: a NaN loss, the
    wrong head) or failed in Keras after the data was read; an InputError names the value.
    (Entry.hparams has already checked the training keys every recipe shares, epochs, batch
    size, rate and dropouts: zoo.options.check_training, which needs no application module.)"""
    data, model = entry.module("data"), entry.module("model")
    for fn, skip, own in ((data.fit_preprocessor, 1, data.HPARAMS),
                          (model.build, 2, model.HPARAMS), (fit, 5, {})):
        params = accepted(fn, skip) or {}
        for key in params.keys() & hp.keys():
            check_hparam(hp[key], f"{entry.name}: {key}", params[key],
                         own.get(key, HPARAMS.get(key)))


def build_model(entry, prep: dict, init=None, **hparams) -> keras.Model:
    """`entry`'s network for `prep` with its model hyper-parameters. A value the network
    cannot take (`units=0`, `layers=0`) is a one-line InputError naming them, not Keras's
    traceback from inside the build."""
    for key in ("units", "layers"):             # a recurrent network has one of each at least
        if key in hparams:
            check_int(hparams[key], f"{entry.name}: {key}", 1)
    try:
        return entry.module("model").build(prep, init=init, **hparams)
    except (ValueError, TypeError) as e:
        reason = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip().splitlines()[0]   # no ANSI bold
        raise InputError(f"{entry.name}: the model hyper-parameters {hparams} make no network: "
                         f"{reason.rstrip('.')}") from None


@said_once()     # epoch 0, each epoch and the card's scores: one warning
def fine_tune(zm, data, validation=None, epochs: int = 3, out=None,
              command: str | None = None, rehearse=None, new_share: float = 0.2,
              labels: list | None = None, replace_labels: bool = False,
              callbacks: list | None = None, strategy: str = "auto", **overrides):
    """Continue training `zm` on new data, with the entry's fine-tuning defaults
    (`Entry.fine_tune`) over the model's own hyper-parameters and `overrides` over both.

    Labels (tasks with a label set): new types in the data are appended to the model's
    (the old ones keep their ids and output weights, the new ones start fresh); where the
    data tags some old types and leaves others untagged, the model's training data is
    rehearsed unless `rehearse=False`, so those keep working (default_rehearsal). `replace_labels=True` takes the new
    data's label set instead, and `labels=[...]` names it; both re-initialise the
    label-dependent layers (named "head_*").

    `rehearse` keeps what the model knows: the train split of a dataset folder (True: the
    entry's default data under $ZOO_DATA) is mixed into training, and the new examples are
    repeated to make up `new_share` of the mix (see `rehearsal_mix`). Validation is on
    `validation` or else on a tenth of the new data held out from training (zoo.data.
    holdout); under HOLDOUT_MIN examples there is too little to hold out, and the epoch
    is chosen on the training data itself, with a warning and a note in the card. The model
    fine-tuned from is scored there first, as epoch 0: where no epoch beats it, its weights
    are kept (metrics.json's "kept" says which epoch and why; kept_over_start).

    The new bundle's recipe is the loaded model's command followed by `command` (how this
    fine-tune was run), so a card of a fine-tuned model still says how to reproduce it.
    `callbacks` (Keras callbacks) run beside the zoo's own; the returned model's `history`
    has one record an epoch (training loss, validation metric), as Keras `fit` returns.

    `strategy` (zoo.distribute: auto, default, mirrored, multi_worker) is what it trains
    under; multi_worker must be started before the model is loaded (the CLI does), and
    only the chief writes `out`."""
    distribute.use(strategy)
    if out is not None:
        check_out_folder(out)
        bundle.check_not_shipped(out)
        bundle.check_own_folder(out)
    entry, parent = zm.entry, zm.metrics
    for key in ARCHITECTURE:
        if key in overrides and key in zm.hparams and overrides[key] != zm.hparams[key]:
            raise InputError(f"fine-tuning keeps the model's architecture: {key}="
                             f"{overrides[key]!r} differs from its {zm.hparams[key]!r}; "
                             f"train a new model (zoo train) to change it")
    # Checked before the data is read: a typo in a hyper-parameter is told at once.
    hp = entry.hparams(zm.hparams, entry.fine_tune, **overrides, epochs=epochs)
    check_seed(hp.get("seed", 0))
    check_hparams(entry, hp)
    check_callbacks(callbacks)
    if not zm.keras_model.trainable_weights:    # the frozen layers stay frozen (below)
        raise InputError(f"{entry.name} fine_tune: every layer is frozen (keras_model."
                         f"trainable is False); expected at least one to train (freeze "
                         f"single layers with m.keras_model.get_layer(NAME).trainable = False)")
    data_mod = entry.module("data")
    check_kept_preprocessor(zm, overrides, data_mod)

    def examples(given, what):      # a file or folder, else examples in memory, checked
        if isinstance(given, (str, Path)):
            return data_mod.read(given)
        return check_examples(given, data_mod.EXAMPLE_KEYS, f"{entry.name} fine_tune() {what}")

    new_ex = examples(data, "data")
    named = isinstance(validation, (str, Path))
    valid_ex = None if validation is None else examples(validation, "validation")
    shared = 0                  # validation examples also trained on
    if valid_ex:
        valid_what = dataset_name(validation) if named else \
            f"{len(valid_ex)} example{'s' * (len(valid_ex) != 1)} given"
        # --validation the same file as --data (or sharing examples with it) chose the epoch
        # on what it trained on, and its number read as a validation one
        if shared := trained_on(new_ex, valid_ex, data_mod.EXAMPLE_KEYS):
            warn(f"fine_tune: {shared} of the {len(valid_ex)} validation examples are also in "
                 f"the fine-tuning data: the epoch is chosen, and scored, partly on what it "
                 f"trained on; give validation data it does not train on")
    elif len(new_ex) >= HOLDOUT_MIN:
        n = len(new_ex)
        new_ex, valid_ex = holdout(new_ex)
        held = f"{len(valid_ex)} of the {n} fine-tuning examples"
        valid_what = f"{held}, held out (every tenth; not trained on)"
        print(f"fine_tune: no validation data given; holding out {held} to choose the epoch")
    else:
        valid_ex, valid_what = new_ex, "the fine-tuning data itself (too few to hold out)"
        n = len(new_ex)
        warn(f"fine_tune: only {n} example{'s' * (n != 1)} and no validation data: the epoch "
             f"is chosen on the training data itself, so its score is not a measurement; pass "
             f"validation= (--validation FILE)")
    prep, model_mod = dict(zm.preprocessor), entry.module("model")
    label_change = new_labels(prep.get("labels"), data_mod.labels_of(new_ex), labels, replace_labels)
    if label_change and label_change["how"] == "merged" and rehearse is None:
        rehearse = default_rehearsal(entry, label_change)
    elif not label_change and rehearse is None:
        unlearnt_note(prep.get("labels"), data_mod.labels_of(new_ex))
    rehearsal = rehearsal_mix(entry, new_ex, rehearse, new_share) if rehearse else None
    train_ex = rehearsal.pop("examples") if rehearsal else new_ex
    # An epoch is one pass over the user's data (or the rehearsal mix) unless they say
    # otherwise: the recipe's steps_per_epoch was sized for the original training set.
    hp["steps_per_epoch"] = overrides.get("steps_per_epoch")
    # Batches pad to the preprocessor's length buckets (the model's own, unless `buckets`
    # names others, and speech's grown for a longer utterance); where buckets are a
    # hyper-parameter (ner-bilstm, speech-ctc), the new bundle records the ones it trained
    # with, not the first training's.
    if "buckets" in overrides:
        prep["buckets"] = check_buckets(overrides["buckets"])
    buckets = prep.get("buckets")
    # Train a copy: the model the user loaded stays as it was.
    if label_change:
        prep["labels"] = label_change["labels"]
        print(f"fine_tune: label set {label_change['how']}: {', '.join(prep['labels'])}")
    # Vocabularies that grow keep the old ids, so the old rows of embeddings and output
    # layers carry over (model.transfer_weights). New data only: repeats would pass min_count.
    # It takes the data recipe's keys it names (ner: min_word_count, lowercase), as
    # fit_preprocessor does.
    parts, grow = entry.parts(hp), data_mod.grow_preprocessor
    added = grow(prep, new_ex, **{k: v for k, v in parts["data"].items()
                                  if k in parameters(grow, 2)})
    if added:
        print(f"fine_tune: {len(added)} new vocabulary entries: {', '.join(map(str, added[:20]))}"
              + (" ..." if len(added) > 20 else ""))
    # speech adds a bucket for an utterance longer than the largest (fit_preprocessor's
    # rule): said here and in the card, since predict() splits long inputs there
    grown = ({"from": buckets, "to": prep["buckets"]}
             if buckets is not None and prep["buckets"] != buckets else None)
    if grown:
        print(f"fine_tune: length buckets {', '.join(map(str, grown['to']))} (a bucket added "
              f"for the longest example; the model fine-tuned from ended at {max(buckets)})")
    if "buckets" in hp and "buckets" in prep:
        hp["buckets"] = prep["buckets"]
        parts = entry.parts(hp)
    keras.utils.set_random_seed(hp.get("seed", 0))           # new layers start the same every run
    with distribute.current().scope():
        new = build_model(entry, prep, **parts["model"])
        # A replaced label set means other ids: its layers start fresh, not grown.
        heads = ({l.name: l.get_weights() for l in new.layers if l.name.startswith("head_")}
                 if label_change and label_change["how"] != "merged" else {})
        fresh = model_mod.transfer_weights(zm.keras_model, new)
        # the layers the user froze (m.keras_model.get_layer(NAME).trainable = False) stay
        # frozen: the rebuilt network trained them all again, silently
        for layer in zm.keras_model.layers:
            if not layer.trainable and layer.name not in fresh and layer.name in {
                    l.name for l in new.layers}:
                new.get_layer(layer.name).trainable = False
        for name, weights in heads.items():
            new.get_layer(name).set_weights(weights)
    if label_change:
        fresh = sorted({*fresh, *heads})
        print(f"fine_tune: {'re-initialised' if heads else 'grown'} output layers: "
              f"{', '.join(fresh)}")
    zm = type(zm)(entry, new, prep, hparams=hp)
    # one writer of --out at a time, as zoo train (zoo.bundle.writing), held until the
    # bundle is written: a second fine-tune into the same --out started as the first
    # finished training overwrote its bundle files while they were being written
    with (bundle.writing(out, Path(out) / "train" / ".lock") if out and distribute.is_chief()
          else contextlib.nullcontext()):
        work = Path(out) / "train" if out else Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        # Epoch 0: the model fine-tuned from (its grown rows and new layers in place), scored
        # as every epoch is, so the user sees whether fine-tuning helped; where no epoch
        # beats it, its weights are the ones kept (Keras's restore_best_weights knows only
        # trained epochs, and the bundle was the best of several worse ones, unsaid).
        # Early stopping does not count it: a run trains the epochs it trained before.
        evaluator = entry.module("evaluate")
        try:
            scores = zm.evaluate(valid_ex, **evaluator.EPOCH_OPTIONS)
        except (InputError, DataFormatError) as e:
            # before any training, naming the fine-tune and the data it validates on: an
            # 80-day series fine-tuned on without --validation was "no series to evaluate"
            fix = "; pass validation= (--validation FILE) with data it can score"
            raise type(e)(f"{entry.name} fine_tune chooses the epoch on {valid_what}, which "
                          f"cannot be scored: {e}{fix if validation is None else ''}") from None
        start = scores[evaluator.HEADLINE]
        start = float("nan") if start is None else float(start)
        # an epoch chosen on 3 sentences is a coin toss (a series of hundreds of forecasts
        # is one example, and its evaluator gives the headline's standard error instead)
        if validation is not None and len(valid_ex) < HOLDOUT_MIN and \
                f"{evaluator.HEADLINE}_se" not in scores:
            one = len(valid_ex) == 1
            warn(f"fine_tune: only {len(valid_ex)} validation example{'' if one else 's'}: the "
                 f"epoch chosen on {'it' if one else 'them'}, and the change from the model "
                 f"fine-tuned from, are mostly noise; give at least {HOLDOUT_MIN} (a few "
                 f"hundred to trust the number)")
        print(f"  epoch 0 (the model fine-tuned from): val_{evaluator.HEADLINE}={start:.4f}",
              flush=True)
        start_weights = zm.keras_model.get_weights()
        try:
            state = fit(zm, train_ex, valid_ex, work, callbacks, keeps=False, **parts["fit"])
        except BaseException:
            if not out:     # nowhere to resume to: a failed run leaves nothing in /tmp either
                remove(work)
            raise
        # the advice names --learning-rate to the CLI (which passes `command`), else learning_rate=
        kept = kept_over_start(state, start, evaluator, cli=command is not None)
        history = state["history"]
        if shared:      # in metrics.json, the card and the summary beside the choice
            kept.update(also_trained_on=shared, why=f"{kept['why']} (on validation data of which "
                        f"{shared} of {len(valid_ex)} examples were also trained on)")
        if kept["epoch"] == 0:
            zm.keras_model.set_weights(start_weights)
        del start_weights
        print(f"fine_tune: {kept['why']}", flush=True)
        if distribute.distributed():      # ordinary variables from here on (zoo.distribute)
            zm = type(zm)(entry, distribute.plain_copy(zm.keras_model), prep, hparams=hp)
        zm.history = history
        if not distribute.is_chief():
            print(f"{' '.join(map(str, distribute.task()))}: fine-tuning done; the chief writes "
                  f"the bundle")
            return zm
        # the card's full metrics (a caption model's beam search and nearest-neighbour
        # baseline over 1,000 images: minutes, silent after the line above)
        print(f"fine_tune: scoring the kept weights on the {len(valid_ex)} validation "
              f"examples for the card", flush=True)
        zm.metrics = {"model": entry.name, "hparams": hp, "paper": entry.paper,
                      "fine_tuned_on": (dataset_name(data) if isinstance(data, (str, Path))
                                        else f"{len(new_ex)} examples"),
                      **({"rehearsal": rehearsal} if rehearsal else {}),
                      **({"buckets_grown": grown} if grown else {}),
                      # a fine-tune of a fine-tune keeps saying which labels were added
                      **({"labels": {k: v for k, v in label_change.items() if k != "labels"}}
                         if label_change else
                         {"labels": parent["labels"]} if parent.get("labels") else {}),
                      "distribution": distribute.describe(parts["fit"].get("batch_size", 32)),
                      "split": valid_what,
                      "kept": kept,
                      "valid": {**zm.evaluate(valid_ex), "data": valid_what},
                      "splits": {"valid": {"data": valid_what, "selection": True,
                                           "chose": "the epoch"},
                                 "report": {"selection": False, "note": FINE_TUNE_REPORT_NOTE}}}
        if out:
            zm.save(out, command="\n".join(c for c in (parent.get("command"), command) if c),
                    pictures=run_pictures(work))
            bundle.check(out)                   # written and verified: the checkpoint can go
            remove(work / "backup")
        else:
            remove(work)            # nowhere to resume to: no checkpoints left behind in /tmp
        return zm


def trained_on(train: list, valid: list, keys) -> int:
    """How many of the `valid` examples are also in `train`, compared by the task's
    EXAMPLE_KEYS (not what a reader adds beside them, e.g. NER's document id).

    >>> trained_on([{"tokens": ["a"], "doc": 1}], [{"tokens": ["a"], "doc": 2}, {"tokens": ["b"]}],
    ...            ["tokens"])
    1
    """
    seen = {digest([e.get(k) for k in keys]) for e in train}
    return sum(digest([e.get(k) for k in keys]) in seen for e in valid)


def kept_over_start(state: dict, start: float, evaluator, cli: bool = True) -> dict:
    """Which weights a fine-tune keeps: epoch 0, the model fine-tuned from, where `start`,
    its score, is better than every epoch's; else the best epoch (fit's state; a tie too:
    the score cannot tell them apart, and the epoch has learnt the new data's words and
    labels). metrics.json's "kept": the epoch, its score, the start's, and why; its advice
    names the option as the caller gives it (`cli`: --learning-rate, else learning_rate=).

    >>> ev = type("Ev", (), {"HEADLINE": "f1", "GREATER_IS_BETTER": True})
    >>> kept_over_start({"best": 0.5, "best_epoch": 2, "history": [{}] * 3}, 0.4, ev)["why"]
    'keeping epoch 2 of 3: val_f1 0.4000 before fine-tuning (epoch 0), 0.5000 after (+0.1000)'
    >>> kept_over_start({"best": 0.4, "best_epoch": 1, "history": [{}] * 3}, 0.4, ev)["epoch"]
    1
    >>> kept_over_start({"best": 0.3, "best_epoch": 1, "history": [{}] * 3}, 0.4, ev)["why"]
    'no epoch of 3 improved on the model fine-tuned from (val_f1 0.4000 at epoch 0; the best epoch, 1, 0.3000): the bundle keeps the weights it started from; try a lower --learning-rate, or more data'
    >>> kept_over_start({"best": 0.3, "best_epoch": 1, "history": [{}] * 3}, 0.4, ev,
    ...                 cli=False)["why"].rsplit(";", 1)[1]
    ' try a lower learning_rate=, or more data'
    """
    head, up = evaluator.HEADLINE, evaluator.GREATER_IS_BETTER
    best, epoch, done = state.get("best"), state.get("best_epoch"), len(state["history"])
    scored = best is not None and best == best
    beats = scored and (start != start or (best >= start if up else best <= start))
    kept = {"epoch": epoch if beats else 0, "of": done, f"val_{head}": best if beats else start,
            f"start_val_{head}": start if start == start else None}
    if beats:
        kept["why"] = (f"keeping epoch {epoch} of {done}: val_{head} {start:.4f} before "
                       f"fine-tuning (epoch 0), {best:.4f} after ({best - start:+.4f})"
                       if start == start else f"keeping epoch {epoch} of {done} (the model "
                       f"fine-tuned from scored no number on the validation data)")
    elif start != start:        # nothing scored a number: fit kept the last epoch, and said so
        kept.update({"epoch": done, f"val_{head}": None, "why": (
            f"neither the model fine-tuned from nor any epoch scored a number on the "
            f"validation data; keeping epoch {done}")})
    else:
        kept["why"] = (f"no epoch of {done} improved on the model fine-tuned from (val_{head} "
                       f"{start:.4f} at epoch 0; the best epoch, " +
                       (f"{epoch}, {best:.4f}" if scored else "none scored a number") +
                       "): the bundle keeps the weights it started from; try a lower "
                       + ("--learning-rate" if cli else "learning_rate=") + ", or more data")
    return kept


def unlearnt_note(old: list | None, data: list | None) -> None:
    """A fine-tune whose data never tags some of the model's types (WikiANN has no MISC)
    teaches it that they are "O": said once, with --rehearse, which keeps them. (A label set
    that grows rehearses by default: default_rehearsal.) By type: B-ORG without I-ORG is
    only data without a long name.

    >>> unlearnt_note(["O", "B-MISC", "B-ORG", "I-MISC", "I-ORG"], ["O", "B-ORG"])
    fine_tune: the new data never tags MISC: the model will unlearn it (--rehearse mixes its own training data in to keep it)
    """
    seen = {tag_type(t) for t in data or []}
    missing = list(dict.fromkeys(tag_type(t) for t in old or []
                                 if t != "O" and tag_type(t) not in seen))
    if data is not None and missing:
        them = "them" if len(missing) > 1 else "it"
        print(f"fine_tune: the new data never tags {', '.join(missing)}: the model will unlearn "
              f"{them} (--rehearse mixes its own training data in to keep {them})")


def tag_type(tag: str) -> str:
    """The type a tag marks: B-MISC, I-MISC and S-MISC are MISC; O is O."""
    return tag.split("-", 1)[-1]


def check_kept_preprocessor(zm, overrides: dict, data_mod) -> None:
    """An InputError for an override of a setting the bundle's preprocessor fixes (speech's
    `alphabet`, charlm's `seq_len`, music's `transpose`) that the fine-tune cannot change:
    fit_preprocessor takes it, but a fine-tune keeps the preprocessor and grows it only by
    the keys `grow_preprocessor` names (and `buckets`, see fine_tune). It was accepted and
    ignored: speech's "use --alphabet chars" advice, taken, gave the same error again.

    >>> import types, zoo
    >>> zm = types.SimpleNamespace(preprocessor={"seq_len": 128})
    >>> lm = zoo.registry.get("charlm-lstm").module("data")
    >>> check_kept_preprocessor(zm, {"seq_len": 128}, lm)         # the same: fine
    >>> check_kept_preprocessor(zm, {"seq_len": 64}, lm)
    Traceback (most recent call last):
    zoo.errors.InputError: fine-tuning keeps the model's preprocessor: seq_len=64 differs from its 128 and cannot change; train a new model (zoo train) to change it
    """
    prep, grown = zm.preprocessor, parameters(data_mod.grow_preprocessor, 2)
    taken = parameters(data_mod.fit_preprocessor, 1) - grown - {"buckets"}
    for key, value in overrides.items():
        if key in taken and key in prep and not _same(value, prep[key]):
            raise InputError(f"fine-tuning keeps the model's preprocessor: {key}={value!r} "
                             f"differs from its {prep[key]!r} and cannot change; train a new "
                             f"model (zoo train) to change it")


def _same(a, b) -> bool:
    """Equal as JSON holds them: [64, 128] is (64, 128), 64 is 64.0."""
    return a == b or json.dumps(a, default=str) == json.dumps(b, default=str)


def new_labels(old: list | None, data: list | None, labels: list | None = None,
               replace: bool = False) -> dict | None:
    """How a fine-tune changes the label set, or None where it keeps it (a task without
    labels, or data whose tags the model knows). "merged": the old labels, then the new
    data's others (old ids stay); "replaced": the data's own set (`replace`) or `labels`.

    >>> new_labels(["O", "B-PER"], ["O", "B-GENE"])["labels"]
    ['O', 'B-PER', 'B-GENE']
    >>> new_labels(["O", "B-PER"], ["O", "B-GENE"], replace=True)["labels"]
    ['O', 'B-GENE']
    >>> new_labels(["O", "B-PER", "B-LOC"], ["O", "B-PER"]) is None
    True

    "untagged" are the old tags of the types the data never tags: data without a long
    name (B-PER, no I-PER) still tags PER, and rehearses nothing for it.

    >>> old = ["O", "B-PER", "I-PER", "B-MISC", "I-MISC"]
    >>> new_labels(old, ["O", "B-PER", "B-GENE"])["untagged"]
    ['B-MISC', 'I-MISC']
    """
    if labels is not None:
        labels = list(labels)
        missing = sorted(set(data or []) - set(labels))
        if missing:
            raise InputError(f"labels= must name every tag of the data; missing {missing} "
                             f"(the data's tags: {', '.join(sorted(set(data)))})")
        return None if labels == old else {"how": "replaced", "labels": labels,
                                           "added": sorted(set(labels) - set(old or []))}
    if data is None or set(data) <= set(old):
        return None
    added = [t for t in data if t not in old]
    if replace:
        return {"how": "replaced", "labels": list(data), "added": added}
    return {"how": "merged", "labels": list(old) + added, "added": added,
            "shared": [t for t in old if t in data and t != "O"],
            # I-LOC missing from data that tags B-LOC was "untagged": 12,769 CoNLL sentences
            # rehearsed, and the card said the data lacked LOC, for data without a long name
            "untagged": [t for t in old if tag_type(t) not in {tag_type(d) for d in data}]}


def default_rehearsal(entry, change: dict):
    """rehearse's default where new label types were merged in. Data that tags some of the
    model's types beside new ones (ORG, LOC and a new PRODUCT) extends the model: its
    training data (the default dataset under $ZOO_DATA) is rehearsed, so the old types the
    new data leaves untagged are not unlearnt as "O". Data that tags none of them is a
    label set of its own (social-media "person", "corporation", ...), where rehearsing
    PER and ORG would compete with it: not rehearsed. Nothing (with a warning) where the
    training data is not here."""
    folder = data_root() / entry.default_data
    if not change["untagged"]:
        return None
    if not change["shared"]:
        print("fine_tune: the new data tags none of the model's types, so they are not "
              "rehearsed and will fade (--rehearse keeps them; --replace-labels drops them)")
        return None
    if not folder.exists():
        warn(f"fine_tune: the new data does not tag {', '.join(change['untagged'])} and "
             f"{folder} is not here to rehearse: the model may unlearn them; pass rehearse= "
             f"(--rehearse FOLDER)")
        return None
    print(f"fine_tune: new types {', '.join(change['added'])}; the new data does not tag "
          f"{', '.join(change['untagged'])}, so {dataset_name(folder)} is rehearsed beside it "
          f"(rehearse=False / --no-rehearse: don't; replace_labels / --replace-labels: drop them)")
    return True


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


def run_pictures(train_dir: Path) -> list[Path]:
    """The training run's pictures (fit's training curve, GradientMonitor's gradient flow)
    that ZooModel.save(pictures=) puts in the bundle, swapped in with its files."""
    return [train_dir / plot for plot in ("training_curve.png", "gradient_flow.png")
            if (train_dir / plot).is_file()]


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

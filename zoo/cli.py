"""The `zoo` command: list, info, predict, train, fine-tune, evaluate, export, bench, demo,
pull, serve, batch-predict.

    zoo list
    zoo predict ner-bilstm "EU rejects German call to boycott British lamb ."
    zoo evaluate ner-bilstm --data $ZOO_DATA/conll2003/valid.txt --json
    zoo export ner-bilstm --format tflite --out ner.tflite
    zoo pull ner-bilstm --from https://example.org/ner-bilstm.tar.gz   # your bundle's URL
    zoo serve ner-bilstm speech-ctc --port 8501
    zoo batch-predict ner-bilstm --input 'sentences/*.txt' --out preds/ --workers 2

Every example of `zoo COMMAND --help` and of the README's "Command line" parses with this
parser (tests/test_cli_examples.py); those that need no file of the user's also run there.

`zoo predict NAME [INPUT...] [--option value ...]` passes unknown options to predict()
(e.g. `--beam 4`); with no inputs it runs the task method its host names as
NO_INPUT_METHOD (e.g. `zoo predict music-lstm --steps 128 --out song.mid`).

Errors of the zoo's own type print as one line on stderr (exit 2), never a traceback.
TensorFlow's start-up messages are hidden; `--verbose` anywhere on the line shows them.
"""
from __future__ import annotations

import argparse
import codecs
import io
import json
import logging
import math
import os
import re
import shlex
import signal
import sys
import threading
import warnings
from pathlib import Path

from . import registry
from .errors import ZooError, ZooWarning, describe_os_error, interrupt
from .options import (WINDOWS_PATH, check_out_folder, check_output_file, not_found, user_path,
                      windows_path)



EPILOG = """examples:
  zoo demo            # every shipped model on a few examples; pictures in ./demo
  zoo list
  zoo predict ner-bilstm "EU rejects German call to boycott British lamb ."
  zoo evaluate ner-bilstm --data $ZOO_DATA/conll2003/valid.txt --json
  zoo export ner-bilstm --format tflite --out ner.tflite

NAME may always be a bundle folder; a command's options may stand before or after it
(not before the command). `zoo COMMAND --help` gives a command's options and defaults,
and examples; `zoo predict NAME --help` a model's predict options. --verbose (anywhere)
shows TensorFlow's own messages. In the examples $ZOO_DATA is the folder of the zoo's
datasets (README: Install), and the heading of a command's examples names the files that
stand for your own (test.conll, my_recordings/)."""


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers, e.g. 1,2,3; got {text!r}") from None


# predict's options that name a file: ~ expanded, not re-decoded as typed text (`typed`)
PATH_OPTIONS = ("input", "plot", "out", "png", "primer")


def _path(text: str) -> str:
    """A path argument: an empty one (`--out ""`, an unset shell variable) is refused, not
    read as the current folder (`zoo export --out ""` wrote into it). A leading ~ is the
    home folder, as the shell would have made it (`--out=~/x` made a folder named "~")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path; got an empty string")
    if windows_path(text):
        raise argparse.ArgumentTypeError(f"{text}: {WINDOWS_PATH}; expected / between "
                                         f"folders: {windows_path(text)}")
    return user_path(text)


def _parser(predict_help: bool | str = False,
            evaluate_help: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; `predict_help` adds the per-model options and their bounds to
    `zoo predict --help` (it imports every application's numpy host, so only on --help);
    a model's name there (`zoo predict NAME --help`) shows that model's alone.
    `evaluate_help`: a model's name, whose evaluator options `zoo evaluate NAME --help`
    lists (its evaluate module may import TensorFlow: only for that model, on --help)."""
    # Every command's help gives each argument what it takes and its default, and a few
    # examples where a user would otherwise guess (the README's "Command line" shows more).
    raw = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog="zoo", description="Recurrent-network model zoo.",
                                formatter_class=raw, epilog=EPILOG)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p.commands = sub.choices        # parse_command parses a command with its own parser
    s = sub.add_parser("list", help="registered models", description="The registered models: "
                       "name, task and summary; presets, and bundles `zoo pull` stored, below "
                       "their model. `zoo info NAME` shows one in full.", formatter_class=raw,
                       epilog="examples:\n  zoo list\n  zoo list --json     # for a script: "
                              "one JSON array")
    s.add_argument("--json", action="store_true", help="print one JSON array, an object a "
                   "model (name, task, summary, shipped, presets, pulled)")
    s = sub.add_parser("info", help="a model card", formatter_class=raw,
                       description="A model's card (markdown): measured metrics, recipe, limits;\n"
                                   "the pictures the bundle holds are named below it.",
                       epilog="examples:\n  zoo info ner-bilstm\n  zoo info runs/ner      "
                              "# a bundle folder (zoo train --out)")
    s.add_argument("name", metavar="NAME|DIR", help="registered name (zoo list) or bundle folder")
    s.add_argument("--json", action="store_true", help="print one JSON object instead: name, "
                   "task, summary, bundle, its metrics.json (measured metrics, hyper-parameters, "
                   "command) as metrics, pictures")
    s = sub.add_parser("predict", help="run a model on raw inputs",
                       description="Run a model on raw inputs. Options (--name value) go "
                                   "to the model's predict(),\nor to its task method when no "
                                   "inputs are given; values outside the bounds below\nare "
                                   "refused.",
                       # a model's own help (zoo predict NAME --help): its options alone
                       epilog=(predict_epilog(only=predict_help) if isinstance(predict_help, str)
                               else PREDICT_EXAMPLES + ("\n\n" + predict_epilog()
                                                        if predict_help else "")),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("name", metavar="NAME|DIR", help="registered name or bundle directory")
    s.add_argument("inputs", nargs="*", metavar="INPUT", help="sentences (or files, for file-based tasks; "
                   "@FILE passes a text file, e.g. a document to summarize; `--input FILE` "
                   "or `-` reads one example a line, JSON lines for structured inputs); "
                   "further --option value pairs go to the model's predict / task method")
    s.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    for cmd in ("train", "fine-tune"):
        s = sub.add_parser(cmd, help="train a model from scratch with its recipe" if cmd == "train"
                           else "fine-tune a model on your own data", formatter_class=raw, epilog=(
            "examples:\n  zoo train ner-bilstm --out runs/ner --epochs 1 --steps-per-epoch 20"
            "   # a quick try\n  zoo train ner-bilstm --data $ZOO_DATA/conll2003 --out runs/ner "
            "--seeds 1,2,3\n  zoo train music-lstm --out runs/m --hparam head=sigmoid"
            if cmd == "train" else
            "examples (train.conll, dev.conll, test.conll: your CoNLL files; my_recordings/: "
            "your WAVs):\n  zoo fine-tune ner-bilstm --data train.conll --validation dev.conll "
            "--out my-ner/\n  zoo fine-tune speech-ctc --data my_recordings/ --rehearse "
            "--out my-speech/\nthen: zoo evaluate my-ner/ --data test.conll"))
        s.add_argument("name", metavar="NAME" if cmd == "train" else "NAME|DIR",
                       help="registered name (zoo list)" if cmd == "train"
                       else "registered name or bundle folder to start from")
        s.add_argument("--data", required=cmd == "fine-tune", type=_path,
                       metavar="FOLDER" if cmd == "train" else "PATH",
                       help="a dataset folder laid out as the model's own (default: that one, "
                            "under $ZOO_DATA)" if cmd == "train" else
                            "your data: a file in the model's format (README: Data formats), or "
                            "a folder the model reads (audio, MIDI, images, texts)")
        if cmd == "fine-tune":     # train validates on the dataset folder's valid split
            s.add_argument("--validation", type=_path, metavar="FILE",
                           help="validation file (it chooses the epoch; default: every tenth "
                                "example of --data, held out)")
            s.add_argument("--rehearse", nargs="?", const=True, metavar="FOLDER",
                           help="mix the train split of FOLDER (default: the model's own "
                                "training data) into fine-tuning so it is not forgotten")
            s.add_argument("--no-rehearse", action="store_true",
                           help="never rehearse (the default rehearses the model's training "
                                "data when your data adds label types and leaves old ones "
                                "untagged)")
            s.add_argument("--new-share", type=float, metavar="FRACTION",
                           help="with --rehearse: fraction of the mix that is your data (0.2)")
            s.add_argument("--replace-labels", action="store_true",
                           help="use your data's label set instead of adding its new labels "
                                "to the model's (the old types are dropped)")
            s.add_argument("--labels", metavar="A,B,...", help="the label set, comma-separated (replaces the "
                                            "model's; must cover every tag of your data)")
        s.add_argument("--out", "--output", required=True, type=_path, metavar="DIR",
                       help="bundle folder to write (a run stopped there resumes with the same "
                            "command)")
        recipe = ("default: the model's recipe, shown by zoo info NAME" if cmd == "train" else
                  "default: the bundle's recipe, shown by zoo info NAME, with the model's "
                  "fine-tuning settings over it")
        s.add_argument("--epochs", type=int, metavar="N",
                       help=f"most epochs ({'default: 3' if cmd == 'fine-tune' else recipe}; "
                            f"early stopping may end sooner)")
        s.add_argument("--batch-size", type=int, metavar="N", help=f"examples a step ({recipe})")
        s.add_argument("--learning-rate", type=float, metavar="LR", help=f"peak learning rate ({recipe})")
        if cmd == "train":         # a fine-tune keeps the architecture (training.fine_tune)
            s.add_argument("--cell", choices=["lstm", "gru", "rnn"],
                           help=f"the recurrent cell ({recipe})")
            s.add_argument("--units", type=int, metavar="N", help=f"units a recurrent layer ({recipe})")
            s.add_argument("--layers", type=int, metavar="N", help=f"recurrent layers ({recipe})")
        s.add_argument("--seeds", type=_seeds, metavar="N[,N...]" if cmd == "train" else "N",
                       help="e.g. 1,2,3: train each, ship the best (default: the recipe's seed)"
                       if cmd == "train" else "the random seed (shuffling, dropout, the new "
                       "vocabulary rows); one value (default: the recipe's)")
        s.add_argument("--steps-per-epoch", type=int, metavar="N",
                       help="cut each epoch to N steps (default: all of the data; for a quick try)")
        # --distribute too: it read as an unknown hyper-parameter "distribute"
        s.add_argument("--strategy", "--distribute", default="auto",
                       choices=["auto", "default", "mirrored", "multi_worker"],
                       metavar="STRATEGY",
                       help="tf.distribute strategy, auto|default|mirrored|multi_worker: multi_worker across the processes "
                            "TF_CONFIG names, mirrored across local GPUs; auto (default): "
                            "multi_worker when TF_CONFIG names several workers")
        s.add_argument("--hparam", action="append", default=[], metavar="KEY=VALUE",
                       help="any other recipe hyper-parameter, e.g. --hparam head=sigmoid, or "
                            "as --head sigmoid (repeatable; values parse as JSON where they can)")
    s = sub.add_parser("evaluate", help="measure a model on a data file", formatter_class=raw,
                       description="Measure a model on a data file or folder. Other options "
                                   "(--name value, e.g. --beam 8)\ngo to the model's evaluator; "
                                   "`zoo evaluate NAME --help` lists those it takes.",
                       epilog="examples (test.conll: your CoNLL file; my_recordings/: your "
                              "WAVs):\n  zoo evaluate ner-bilstm --data test.conll\n"
                              "  zoo evaluate ner-bilstm --data $ZOO_DATA/conll2003 --split report "
                              "--json\n  zoo evaluate speech-ctc --data my_recordings/"
                              + (f"\n\n{evaluate_epilog(evaluate_help)}" if evaluate_help
                                 else ""))
    s.add_argument("name", metavar="NAME|DIR", help="registered name or bundle folder")
    s.add_argument("--data", required=True, type=_path, metavar="PATH",
                   help="your data in the model's format (README: Data formats): a file, or "
                        "a folder the model reads (audio, images, MIDI); a dataset of "
                        "$ZOO_DATA needs --split")
    s.add_argument("--split", metavar="SPLIT", help="one split of a file or folder that holds several "
                   "(e.g. train|valid|report|test; default: all of --data)")
    s.add_argument("--json", action="store_true", help="last line: one JSON object of metrics")
    s = sub.add_parser("compare", help="add other runs (an ablation, a baseline) to a bundle's card",
                       formatter_class=raw, epilog="examples (runs/m: a bundle zoo train wrote):"
                       "\n  zoo train music-lstm --out runs/m-gru --cell gru\n  zoo compare "
                       "runs/m runs/m-gru      # runs/m's card gets a table of both")
    s.add_argument("bundle", metavar="BUNDLE", help="the bundle directory whose card gets the table")
    s.add_argument("runs", nargs="+", metavar="RUN", help="bundle directories of the other runs (zoo train --out)")
    s = sub.add_parser("export", help="TFLite, ONNX or SavedModel, parity-checked",
                       formatter_class=raw, epilog="examples (my-ner/: a bundle zoo fine-tune "
                       "wrote):\n  zoo export ner-bilstm --format tflite --out ner.tflite "
                       "--quantize dynamic\n  zoo export my-ner/ --format saved_model --out "
                       "ner_savedmodel/\n  zoo export ner-bilstm --format onnx --out exports/"
                       "   # an existing folder: exports/ner-bilstm.onnx")
    s.add_argument("name", metavar="NAME|DIR", help="registered name or bundle folder")
    s.add_argument("--format", required=True, choices=["tflite", "onnx", "saved_model"],
                   help="the export's kind")
    s.add_argument("--out", "--output", required=True, type=_path, metavar="PATH",
                   help="the file (the suffix is added if missing), "
                   "a folder to write NAME.tflite / NAME.onnx into, or the SavedModel's folder")
    s.add_argument("--quantize", choices=["dynamic", "float16"],
                   help="smaller weights: dynamic (int8) or float16 (default: none, float32)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace --out even if it is a folder that is not an earlier export")
    s = sub.add_parser("bench", help="speed and size benchmark (needs `make bench` extras)",
                       formatter_class=raw, epilog="examples (in a checkout of rnn-zoo):\n"
                       "  zoo bench ner-bilstm --quick")
    s.add_argument("name", metavar="NAME", help="registered name with a benchmark")
    s.add_argument("options", nargs=argparse.REMAINDER, help="passed to the benchmark, e.g. --quick")
    s = sub.add_parser("demo", help="the shipped models on a few examples, with pictures",
                       formatter_class=raw, epilog="examples:\n  zoo demo ner-bilstm "
                       "speech-ctc --out demo/")
    s.add_argument("names", nargs="*", metavar="NAME", help="models to run (default: all)")
    s.add_argument("--out", "--output", default="demo", metavar="DIR", type=_path,
                   help="folder for the inputs, pictures and MIDI files it writes (./demo)")
    s = sub.add_parser("pull", help="store a bundle in the cache ($ZOO_HOME) as a model's weights",
                       formatter_class=raw, epilog="examples (my-ner/: a bundle zoo fine-tune "
                       "wrote):\n  zoo pull ner-bilstm --from my-ner/     # zoo.load(\"ner-bilstm\")"
                       " now loads it\n  zoo pull ner-bilstm --remove          # the shipped "
                       "weights again")
    s.add_argument("name", metavar="NAME", help="registered model name")
    source = s.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", metavar="URL|DIR|FILE.tar.gz",
                        help="a bundle folder, a .tar.gz of one, or its http(s) URL")
    source.add_argument("--remove", action="store_true",
                        help="delete the bundle stored for NAME: it loads its shipped weights again")
    s = sub.add_parser("serve", help="serve models over HTTP (TF Serving REST API, web page at /)",
                       formatter_class=raw, epilog="examples:\n  zoo serve ner-bilstm speech-ctc "
                       "--port 8501   # the web page: http://127.0.0.1:8501/\n  zoo serve "
                       "ner.tflite        # an export (zoo export), without TensorFlow")
    s.add_argument("models", nargs="*", metavar="NAME|DIR|FILE",
                   help="registered names, bundle folders or .tflite/.onnx exports "
                        "(default: every shipped model)")
    s.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                   help="address to listen on (127.0.0.1)")
    s.add_argument("--port", type=int, default=8501, metavar="N",
                   help="port (8501, as TF Serving's REST)")
    s.add_argument("--max-batch", type=int, default=32, metavar="N",
                   help="micro-batching: most instances run together (32; 1 turns it off)")
    s.add_argument("--max-wait-ms", type=float, default=0.0, metavar="MS",
                   help="micro-batching: longest a request waits for others to join (0: a "
                        "batch is what queued while the previous one ran)")
    s.add_argument("--max-instances", type=int, default=64, metavar="N",
                   help="most instances one request may send (64; 413 beyond)")
    s.add_argument("--max-body-mb", type=float, default=16.0, metavar="MB",
                   help="largest request body in MiB (16; 413 beyond)")
    s.add_argument("--request-timeout", type=float, default=120.0, metavar="S",
                   help="seconds a request may take, its body sent and its answer ready "
                        "(408 / 504 beyond; 120; 0: no limit)")
    s.add_argument("--max-queue", type=int, default=None, metavar="N",
                   help="requests that may wait for one model; beyond, a 503 with Retry-After "
                        "(default: 4 x --max-batch, at least 64; 0: no limit)")
    s.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="on a loopback --host, a further name the Host header may give (a "
                        "reverse proxy's; others are refused against DNS rebinding); repeatable")
    s = sub.add_parser("batch-predict", help="a model over many files with Apache Beam "
                       "(RunInference over a TFLite/ONNX export)",
                       description="Predict on every file the --input globs match (.txt/.jsonl: "
                       "one example a line; other files: one input each) with Apache Beam; "
                       "other --options are Beam pipeline options (e.g. --flink_master=HOST:PORT"
                       "). The README's \"Batch prediction\" describes the output folder.",
                       formatter_class=raw, epilog="examples (sentences/*.txt: your files, one "
                       "sentence a line):\n  zoo batch-predict ner-bilstm --input "
                       "'sentences/*.txt' --out preds/ --workers 2\n  zoo batch-predict "
                       "ner.tflite --input 'sentences/**.txt' --out preds/   # an export")
    s.add_argument("name", metavar="NAME|DIR|FILE",
                   help="registered name or bundle folder (exported once), or a .tflite/.onnx")
    s.add_argument("--input", action="append", required=True, metavar="GLOB",
                   help="files to predict on (repeatable; quote it; ** crosses folders: "
                        "'data/**.wav')")
    s.add_argument("--output", "--out", required=True, metavar="DIR", type=_path,
                   help="new or empty folder (or an earlier batch-predict's) for the results")
    s.add_argument("--runner", default="DirectRunner", metavar="RUNNER",
                   help="Beam runner: DirectRunner (here), FlinkRunner, SparkRunner, "
                        "DataflowRunner")
    s.add_argument("--workers", type=int, default=1, metavar="N",
                   help="DirectRunner: worker processes (1: in this process)")
    s.add_argument("--format", choices=["tflite", "onnx"], default="tflite",
                   help="the export NAME|DIR is turned into (tflite)")
    s.add_argument("--batch-size", type=int, default=64, metavar="N",
                   help="most inputs a model call (64)")
    s.add_argument("--whole-files", action="store_true",
                   help=".txt/.jsonl files too are one input each (documents to summarize)")
    return p


PREDICT_EXAMPLES = """examples (sents.txt, notes.txt: your files):
  zoo predict ner-bilstm "EU rejects German call to boycott British lamb ."
  zoo predict ner-bilstm --input sents.txt --json     # one sentence a line; - reads stdin
  zoo predict summarize-attn @notes.txt --beam 4      # @FILE: an input read from a file
  zoo predict music-lstm --steps 128 --out song.mid   # no inputs: the model generates"""


def predict_epilog(width: int = 88, only: str | None = None) -> str:
    """Every registered model's predict options (and task methods'), with their defaults
    from the host's signatures and their bounds from its OPTION_BOUNDS (numpy-only host
    modules: no TensorFlow is imported)."""
    import importlib
    import inspect
    import textwrap

    from .options import MAX_BATCH_SIZE, NOT_OPTIONS

    models: dict[str, list[str]] = {}
    for name in registry.names():
        if only in (None, name):
            models.setdefault(registry.get(name).host_module, []).append(name)
    out = ["options by model (default, then [allowed values]):"]
    for module_name, names in models.items():
        try:
            cls = importlib.import_module(module_name).Host
        except Exception as e:          # a host that cannot load says so; help still prints
            out.append(f"  {', '.join(names)}: (options unavailable: {type(e).__name__})")
            continue
        # What `zoo predict` reaches: predict's options, and the method it runs without inputs
        # (the other task methods are the Python API's: m.score(texts), m.stream()).
        method = cls.NO_INPUT_METHOD
        calls = [("predict", cls.encode)] + ([(method, getattr(cls, method))] if method else [])
        for label, fn in calls:
            parts = []
            for p in inspect.signature(fn).parameters.values():
                if p.name in NOT_OPTIONS or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    continue
                text = "--" + p.name.replace("_", "-")
                if p.default not in (None, inspect.Parameter.empty):
                    text += " " + json.dumps(p.default)
                if p.name in cls.OPTION_BOUNDS:
                    text += f" [{cls.OPTION_BOUNDS[p.name]}]"
                parts.append(text)
            if label == "predict" and cls.draws():
                parts.append("--plot FILE [a picture of the results, in an existing folder]")
            if not parts:
                if label == "predict":
                    out.append(f"  {', '.join(names)}: no options")
                continue
            head = f"  {', '.join(names)}" + (f" (no inputs: {label})" if label != "predict"
                                               else "") + ": "
            out.append(textwrap.fill(", ".join(parts), width, initial_indent=head,
                                     subsequent_indent=" " * 6, break_on_hyphens=False))
    out.append(textwrap.fill(f"every model: --batch-size 64 [1..{MAX_BATCH_SIZE}], --json",
                             width, initial_indent="  ", subsequent_indent=" " * 6))
    return "\n".join(out)


def _drawing_models() -> list[str]:
    """The models `zoo predict --plot` draws for: a host that draws, or takes --plot itself."""
    import importlib
    import inspect

    out = []
    for name in registry.names():
        try:
            host = importlib.import_module(registry.get(name).host_module).Host
            if host.draws() or "plot" in inspect.signature(host.encode).parameters:
                out.append(name)
        except Exception:       # noqa: BLE001 -- a host that cannot load draws nothing here
            pass
    return out


def evaluate_epilog(name: str, width: int = 88) -> str:
    """`zoo evaluate NAME --help`: the options NAME's evaluator takes (the keyword
    parameters of its evaluate(zoo_model, examples, ...)), with the defaults the recipe's
    evaluate part or the signature gives; Model.evaluate checks them as predict's are."""
    import inspect
    import textwrap

    entry = registry.preset(name) or registry.get(name)
    head = f"{name}'s evaluator options (default; --name value): "
    try:
        with stderr_hidden():      # speech's and summarize's import TensorFlow, which talks
            fn = entry.module("evaluate").evaluate
    except Exception as e:          # a module that cannot load says so; help still prints
        return head + f"(unavailable: {type(e).__name__})"
    declared = entry.recipe.get("evaluate", {})
    parts = []
    for p in list(inspect.signature(fn).parameters.values())[2:]:
        if p.kind is p.VAR_KEYWORD:      # summarize's: passed on to its predict
            parts.append(f"and predict's options (zoo predict {entry.name} --help)")
        elif p.kind is not p.VAR_POSITIONAL:
            default = declared.get(p.name, p.default)
            parts.append("--" + p.name.replace("_", "-") + (
                "" if default in (None, inspect.Parameter.empty) else f" {json.dumps(default)}"))
    return textwrap.fill(", ".join(parts) or "none", width, initial_indent=head,
                         subsequent_indent=" " * 6, break_on_hyphens=False)


def _overrides(args, options: dict | None = None) -> dict:
    """The recipe overrides of train / fine-tune: their own flags, then each --hparam, then
    other `--key value` pairs (`options`). One key given twice with different values
    (`--epochs 2 --hparam epochs=3`, `--seeds 1 --hparam seed=2`) is an error: silently
    taking one of them trained with a setting the user did not mean."""
    keys = ("epochs", "batch_size", "learning_rate", "cell", "units", "layers", "steps_per_epoch")
    out = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    given = {k: f"--{k.replace('_', '-')} {v}" for k, v in out.items()}
    if getattr(args, "seeds", None):
        given["seed"] = f"--seeds {','.join(map(str, args.seeds))}"
    pairs = []
    for item in getattr(args, "hparam", None) or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ZooError(f"--hparam expects KEY=VALUE; got {item!r}")
        pairs.append((key.replace("-", "_"), _value(value), f"--hparam {item}"))
    pairs += [(k, v, f"--{k.replace('_', '-')} {v}") for k, v in (options or {}).items()]
    for key, value, text in pairs:
        if key in given and (key == "seed" or out.get(key) != value):
            raise ZooError(f"{given[key]} and {text} both set {key}; give it once")
        out[key], given[key] = value, text
    return out


def info_json(name: str, folder: Path, pictures: list) -> dict:
    """`zoo info NAME --json`: the bundle's metrics.json (what the card's numbers come from:
    measured splits, hyper-parameters, the command that trained it) as `metrics`, with the
    model's name, task and summary, where the bundle is and its pictures; strict JSON (a
    NaN metric is null)."""
    from .bundle import read_json
    from .hub import pulled

    model = read_json(folder / "manifest.json").get("model")
    try:
        entry = registry.get(model)
    except ZooError:         # a bundle of an application not installed here
        entry = None
    metrics = folder / "metrics.json"
    return to_json({"name": name, "model": model, "task": entry and entry.task,
                    "summary": entry and entry.summary, "bundle": str(folder.resolve()),
                    "pulled": str(p) if name in registry.names() and (p := pulled(name))
                    else None,
                    "metrics": read_json(metrics) if metrics.is_file() else None,
                    "pictures": [str(p) for p in pictures]})


def info_untrained(entry, as_json: bool = False) -> int:
    """`zoo info NAME` of a registered model with no weights (an application of the user's
    own before `zoo train`): its task, summary and recipe, and that it has no weights; it
    was the error "has no shipped weights" though `zoo train --help` sends the user here."""
    how = f"zoo train {entry.name} --out DIR"
    if as_json:
        print(json.dumps(to_json({"name": entry.name, "model": entry.name, "task": entry.task,
                                  "summary": entry.summary, "bundle": None, "pulled": False,
                                  "metrics": None, "pictures": [], "recipe": entry.recipe,
                                  "weights": f"none: train them with {how}"})))
        return 0
    print("\n".join([f"# {entry.name}", "", entry.summary or "(no summary)", "",
                     f"- task: `{entry.task}`", f"- package: `{entry.package}`",
                     f"- default data: $ZOO_DATA/{entry.default_data}" if entry.default_data
                     else "- default data: none named (give --data)",
                     f"- weights: none yet; train them with `{how}`, then `zoo info DIR`",
                     "", "## Recipe", "", "```", json.dumps(entry.recipe, indent=1), "```"]))
    return 0


class working:
    """A sign of life on stderr while a command works with no progress bar of its own
    (`zoo evaluate` of a NER or forecasting file, `zoo pull` of a big archive, `zoo
    batch-predict` under Beam): after 10 s "zoo CMD: working, 12 s" as one updating line on
    a terminal, or after 30 s a plain line every 30 s where stderr is a log or a pipe;
    quiet while a zoo.monitor.progress bar shows (a speech evaluation's), never on stdout,
    off with ZOO_PROGRESS=0. Those commands said nothing for minutes. `count`: how many
    records are done so far (batch-predict's, its worker processes' too), said once above 0."""

    def __init__(self, what: str, after: float | None = None, every: float | None = None,
                 count=None):
        import threading

        self.what, self.tty, self.count = what, sys.stderr.isatty(), count
        # a log gets its first line later: a short run's stderr stays its error line alone
        self.after = after if after is not None else 10.0 if self.tty else 30.0
        self.every = every if every is not None else 1.0 if self.tty else 30.0
        self.done, self.shown = threading.Event(), False
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self):
        if os.environ.get("ZOO_PROGRESS", "1") != "0":
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()
        if self.shown and self.tty:
            sys.stderr.write("\r\x1b[K")      # the line cleared: the answer stands alone
            sys.stderr.flush()

    def _beat(self) -> None:
        import time

        start = time.monotonic()
        if self.done.wait(self.after):
            return
        while not self.done.is_set():
            tqdm = sys.modules.get("tqdm")
            bars = getattr(getattr(tqdm, "tqdm", None), "_instances", ())
            if not any(not getattr(b, "disable", True) for b in list(bars)):
                text = f"{self.what}: working, {time.monotonic() - start:.0f} s"
                done = self.count() if self.count else 0
                if done:
                    text += f", {done:,} records through the model"
                sys.stderr.write(f"\r{text}\x1b[K" if self.tty else text + "\n")
                sys.stderr.flush()
                self.shown = True
            self.done.wait(self.every)


def own_split(data: str, card: dict) -> str | None:
    """"valid" or "report" where `data` (metrics' `data`: "conll2003 [valid]",
    "conll2003/valid.txt") is the model's own selection or report split as its metrics.json
    names them ("conll2003/valid.txt", "polyphonic [report]"); else None.

    >>> card = {"valid": {"data": "conll2003/valid.txt"}, "report": {"data": "conll2003 [report]"}}
    >>> [own_split(d, card) for d in ("conll2003 [valid]", "conll2003/valid.txt",
    ...                                "conll2003 [report]", "conll2003 [train]", "x.conll")]
    ['valid', 'valid', 'report', None, None]
    """
    def parts(text: str) -> tuple[str, str | None]:
        base, bracket, rest = text.partition(" [")
        return base, rest.rstrip("]") if bracket else None

    def related(a: str, b: str) -> bool:        # one names the other or a folder of it
        return a == b or a.startswith(b + "/") or b.startswith(a + "/")

    base, split = parts(data)
    valid, report = (parts(str(card.get(k, {}).get("data", ""))) for k in ("valid", "report"))
    if split in ("valid", "report"):
        ref = valid if split == "valid" else report
        return split if ref[0] and related(base, ref[0]) else None
    # a file read whole: the selection split only where that is a file of its own
    # (valid.txt), not a file that holds every split (a .npz, a forecasting .csv.gz)
    if split is None and base == valid[0] and Path(base).stem in ("valid", "dev"):
        return "valid"
    return None


def print_metrics(metrics: dict, card: dict | None = None) -> None:
    """`zoo evaluate`'s summary: one aligned line a number (4 decimals, or 3 significant
    digits where 4 decimals say 0.0000 or hide the size) or note, then each per-class table
    (`per_type` was not printed at all), then which of the model's own splits this was:
    the selection split's numbers are optimistic, as its card says."""
    from .card import metric_tables, terminal_text

    def number(v):
        if isinstance(v, bool) or not isinstance(v, float):
            return str(v)
        return f"{v:.4f}" if v == 0 or 1e-3 <= abs(v) < 1e4 else f"{v:.3g}"

    flat = {k: v for k, v in metrics.items()
            if v is None or isinstance(v, (int, float, str))}
    width = max([12, *map(len, flat)])     # 12: as before, for scripts that read the lines
    for k, v in flat.items():
        print(f"{k:{width}s} {'n/a' if v is None else number(v)}")
    tables = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    if tables:
        print("\n" + terminal_text("\n".join(metric_tables(tables)),
                                   width=terminal_width()).replace("`", ""))
    card = card or {}
    split = own_split(str(metrics.get("data", "")), card)
    if split == "valid":
        print(f"note: {metrics['data']} is this model's selection split (it chose the epoch "
              f"and settings): these numbers are optimistic"
              + (f"; the report split ({card['report']['data']}) chose nothing"
                 if card.get("report", {}).get("data") else ""))
    elif split == "report":
        print(f"note: {metrics['data']} is this model's report split: nothing was chosen on it")


def terminal_width() -> int | None:
    """The terminal's columns where stdout is one ($COLUMNS first, as `ls` reads it), else
    None: a table piped or redirected is left as wide as it is."""
    import shutil

    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def zoo_warnoptions() -> None:
    """`python -W ignore::zoo.ZooWarning` (or PYTHONWARNINGS): Python reads -W before any
    package can be imported, says "Invalid -W option ignored: invalid module name: 'zoo'"
    and drops it, so no filter named the zoo's own category; those options are applied
    here, once zoo is importable, in their order (the later first, as Python's)."""
    for option in sys.warnoptions:
        parts = [p.strip() for p in option.split(":")]
        if len(parts) > 2 and parts[2].split(".")[0] in ("zoo", "zoo_pipelines"):
            try:
                warnings._setoption(option)
            except (warnings._OptionError, ImportError, AttributeError) as e:
                print(f"warning: -W {option} ignored: {e}", file=sys.stderr)


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    r"""Text for a terminal, its control characters written as escapes: an input or an
    entity holding ESC ("Paris\x1b[31m") was echoed raw, and the terminal obeyed it.

    >>> visible("Paris\x1b[31m ok")
    'Paris\\x1b[31m ok'
    """
    return _CONTROLS.sub(lambda c: c[0].encode("unicode_escape").decode(), text)


def _print_prediction(host, result, as_json: bool = False) -> None:
    """One line per result: JSON with --json, else the host's `describe`, else JSON."""
    text = None if as_json else host.describe(result)
    text = visible(text) if text is not None else None
    # JSON's \u escapes where stdout is not UTF-8 (LC_ALL=C): "Zo\xeb" would be no JSON
    plain = "utf" not in (getattr(sys.stdout, "encoding", None) or "utf-8").lower()
    print(text if text is not None else json.dumps(to_json(result), ensure_ascii=plain),
          flush=True)


def _terminal_errors(e: UnicodeEncodeError):
    """What a terminal cannot encode: a byte of a file name that was no UTF-8 ($'\\xff.txt',
    read by Python as '\\udcff.txt') goes out as that byte, as the name was given; any other
    character as a \\u escape. With a strict UTF-8 stdout (en_US.UTF-8) or an ASCII one
    (LC_ALL=C PYTHONUTF8=0, PYTHONIOENCODING=ascii) echoing such a name, an em dash in
    `zoo info` or a "ü" in an answer was a raw UnicodeEncodeError."""
    part = e.object[e.start:e.end]
    if all("\udc80" <= c <= "\udcff" for c in part):
        return bytes(ord(c) - 0xDC00 for c in part), e.end
    return codecs.backslashreplace_errors(e)


codecs.register_error("zoo.terminal", _terminal_errors)


def typed(text):
    """A text input as the user typed it: under an ASCII locale with Python's UTF-8 mode off
    (LC_ALL=C PYTHONUTF8=0) Python reads the terminal's UTF-8 bytes of "Zoë" as
    'Zo\\udcc3\\udcab', which a model refused as lone surrogates; those bytes are read
    as UTF-8 again. Paths are left as read (an input that names a file is kept, as is
    @FILE): the system opens a file by those bytes.

    >>> typed("Zo\\udcc3\\udcab") == ("Zo\\udcc3\\udcab" if sys.getfilesystemencoding() == "utf-8"
    ...                              else "Zoë")
    True
    """
    if (not isinstance(text, str) or sys.getfilesystemencoding().lower() in ("utf-8", "utf8")
            or not any("\udc80" <= c <= "\udcff" for c in text) or os.path.lexists(text)):
        return text
    try:
        return os.fsencode(text).decode("utf-8")
    except UnicodeError:        # bytes that are no UTF-8 either: the model names them
        return text


def file_input(arg: str):
    """The CLI's file syntax: `@notes.txt` is that file (a pathlib.Path, which the task
    reads), anything else the text itself; in the Python API a string is always text."""
    if not arg.startswith("@") or len(arg) == 1:
        return typed(arg)
    path = Path(user_path(arg[1:]))
    if not path.is_file():
        raise ZooError(f"{arg}: {not_found(path, 'file')}; expected @FILE, a file to read an "
                       f"input from")
    return path


def example_lines(source: str):
    """The examples of `--input FILE` (or `-`, standard input): one a line, blank lines
    skipped; a line that is a JSON object or list is that object (structured inputs)."""
    return (example for *_, example in numbered_lines(source))


def numbered_lines(source: str):
    """(FILE:LINE, line number, example) of each example of `--input FILE` (or `-`,
    named <stdin>), as example_lines gives them."""
    stream = sys.stdin if source == "-" else None
    if stream is None:
        path = Path(str(source))
        if not path.is_file():
            raise ZooError(f"--input {source}: {not_found(path, 'file')}; expected a file of one "
                           f"example a line")
        stream = path.open(encoding="utf-8", errors="strict")
    label = "<stdin>" if source == "-" else source
    try:
        for n, line in enumerate(stream, start=1):
            text = line.rstrip("\n")
            if n == 1:          # Notepad's byte-order mark is no part of the first example
                text = text.removeprefix("\ufeff")
            if text.strip():
                yield f"{label}:{n}", n, parse_example(text, f"{label}:{n}",
                                                       jsonl=json_lines(source))
    except UnicodeDecodeError as e:
        raise ZooError(f"{label}: not UTF-8 text ({e.reason}); expected UTF-8 (latin-1 and "
                       f"others: save it as UTF-8)") from None
    finally:
        if stream is not sys.stdin:
            stream.close()


def json_lines(path: str) -> bool:
    """A JSON Lines file (`.jsonl`, `.jsonl.gz`, ...), whose every line is a JSON value."""
    return ".jsonl" in str(path).lower()[-12:]


def parse_example(text: str, where: str, strict: bool = True, jsonl: bool = False):
    """One line of an examples file: a JSON object or list is that object (structured
    inputs), anything else the text itself; `where` (FILE:LINE) names it in the error.
    Not `strict`: a line that only looks like JSON is text ("[ CORRECTED 05:30 GMT ]").
    `jsonl` (a .jsonl file): a "quoted" line is a JSON string, the text it holds (it was
    read with its quotes and escapes), and `null` is None (music's silence, as the server
    reads the instance null; it was the file name "null").

    >>> parse_example('{"csv": "x"}', "f:1"), parse_example('"EU rejects"', "f:2", jsonl=True)
    ({'csv': 'x'}, 'EU rejects')
    """
    if jsonl and text.strip() == "null":
        return None
    if text.lstrip().startswith(("{", "[", '"') if jsonl else ("{", "[")):
        try:
            return json.loads(text)
        except ValueError as e:
            if strict:
                kinds = "object, list or string" if jsonl else "object or list"
                raise ZooError(f"{where}: not valid JSON ({e}); a line that starts with {{ or [ "
                               f"{'or a quote ' if jsonl else ''}is read as a JSON {kinds}, any "
                               f"other as text") from None
    return text


def predict_lines(m, host, source: str, as_json: bool, options: dict, chunk: int = 64) -> int:
    """`zoo predict NAME --input FILE` (or `-`): results stream out as examples are read,
    `chunk` at a time; with --json one JSON line each, in input order. A line that is JSON
    means what it means to the server (webio.local_input: its number, the line's); errors
    and warnings name the line (FILE:LINE), not its place in the chunk."""
    from .errors import inputs_named
    from .webio import local_input

    batch, names = [], []
    for where, n, example in [*numbered_lines(source), (None, 0, None)]:
        if n:
            with inputs_named({n: where}):
                batch.append(local_input(n, example, host))
            names.append(where)
        if batch and (not n or len(batch) == chunk):
            with inputs_named(names):
                results = m.predict(batch, **options)
            for r in results:
                _print_prediction(host, r, as_json)
            batch, names = [], []
    return 0


def jsonable(obj):
    """JSON for what results hold besides plain types: a DataFrame as records (a forecast),
    numpy arrays and scalars as lists and numbers (float32 ones at float32's own shortest
    digits: 0.0047786077, not 0.004778607748448849), dates as ISO strings."""
    if hasattr(obj, "to_dict") and hasattr(obj, "columns"):
        return obj.to_dict(orient="records")
    if getattr(obj, "dtype", None) == "float32":
        # astype(str) writes each float32's shortest round-tripping digits (the server's
        # strict path reaches only this hook: its answers get the digits `--json` writes)
        return obj.astype(str).astype(float).tolist()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "isoformat"):
        # a forecast's dates are days: "2013-06-05", not "2013-06-05T00:00:00"
        if hasattr(obj, "normalize") and obj.tzinfo is None and obj == obj.normalize():
            return obj.date().isoformat()
        return obj.isoformat()
    return str(obj)


def to_json(results):
    """Plain JSON types (what predict returns holds numpy arrays and scalars, DataFrames of
    forecasts with dates); NaN and infinities, which JSON has no words for, become None;
    a float that is a float32's value is written with the float32's own digits.

    >>> to_json({"ll": -8.270915985107422, "f1": 0.8116000000000001, "x": [1e400, 1e300]})
    {'ll': -8.270916, 'f1': 0.8116000000000001, 'x': [None, 1e+300]}
    """
    return _finite(json.loads(json.dumps(results, default=jsonable, ensure_ascii=False)))


def _finite(x):
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        import numpy as np      # loaded already: there are results

        # the models compute in float32, and a host's float(nll.mean()) wrote its error
        # digits: 5.515031814575195, -8.270915985107422 (a log-likelihood), 20-odd bytes per
        # attention weight. Only a value a float32 holds exactly is shortened (a float64
        # metric such as 0.8116000000000001 is kept), and to the float32 it came from.
        f = np.float32(x) if abs(x) < 3e38 else None      # (no overflow warning)
        return float(str(f)) if f is not None and float(f) == x else x
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    return [_finite(v) for v in x] if isinstance(x, list) else x


def _value(text: str):
    """A command-line option value as a number, boolean, None or JSON where it parses."""
    if text in ("True", "False", "None"):     # Python spellings, as a Keras user types them
        return {"True": True, "False": False, "None": None}[text]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _own(a: str, options: tuple) -> bool:
    """`a` (`--key` or `--key=value`) is one of `options`, or an abbreviation of one."""
    key = a.partition("=")[0]
    return len(key) > 2 and any(o.startswith(key) for o in options)


def _split_options(argv: list[str], known: tuple = ("--json",), valued: tuple = (),
                   maybe_valued: tuple = (), switches=frozenset,
                   raw: list | None = None) -> tuple[list[str], dict]:
    """A command's own arguments, and the other `--key value` pairs as options (predict's,
    the recipe's, the evaluator's). Its own flags (`known`: `--json`) may stand anywhere:
    they are moved after the inputs, where argparse takes them (`zoo predict NAME --json
    "text"`); its own options that take a value (`valued`: evaluate's `--data`; or may
    take one, `maybe_valued`: fine-tune's `--rehearse [FOLDER]`) stay with their value.
    An abbreviation of its own (`--epoch` for `--epochs`) is its own, as argparse reads it.
    `switches()`: the names of the other options that take no value (true or false): one
    of them takes the word after it only where that is true or false (`--same-speaker
    a.wav` took the file as its value, `--echo charlm-lstm` the model's name). `raw`: a
    list that gets the other options' tokens as given (batch-predict's, for Beam)."""
    rest, options, flags, i = [], {}, [], 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and _own(a, valued + maybe_valued):
            rest.append(a)
            nxt = argv[i + 1] if "=" not in a and i + 1 < len(argv) else None
            if nxt is not None and (_own(a, valued) or not nxt.startswith("-")):
                rest.append(nxt)        # its value, even one like "-1"
                i += 1
        elif a.startswith("--") and _own(a, known):
            flags.append(a)
        elif a.startswith("--") and a not in ("--", "--help"):
            key, eq, val = a[2:].partition("=")
            if raw is not None:
                raw.append(a)
            if not eq:
                nxt = argv[i + 1] if i + 1 < len(argv) else None
                if nxt is not None and not nxt.startswith("--") and (
                        nxt in BOOLEAN_WORDS or key.replace("-", "_") not in switches()):
                    val, i = nxt, i + 1
                    if raw is not None:
                        raw.append(nxt)
                else:
                    val = "true"
            options[key.replace("-", "_")] = _value(val)
        else:
            rest.append(a)
        i += 1
    return rest + flags, options


# Commands whose other `--key value` pairs pass on: predict's to the model's predict (or
# its task method), train's and fine-tune's to the recipe, evaluate's to the evaluator.
PASSED_ON = ("predict", "train", "fine-tune", "evaluate")
# the words a true-or-false option takes as its value (`--attention true`); _value reads them
BOOLEAN_WORDS = ("true", "false", "True", "False")


def boolean_options(command: str) -> set[str]:
    """The options `command` passes on that are true or false (`--same-speaker`,
    `--lowercased`, `--bidirectional`), across every registered model: NAME's own are not
    known before NAME is. predict's from the hosts' predict and task methods (numpy-only
    modules), evaluate's and the recipes' from the evaluators' and models' source, which
    import TensorFlow; batch-predict's are Beam's."""
    import importlib

    from .options import HPARAMS, _kind, accepted

    if command == "batch-predict":      # Beam's own parser knows them
        from apache_beam.options.pipeline_options import PipelineOptions

        parsers = []
        PipelineOptions([]).get_all_options(add_extra_args_fn=parsers.append)
        return {o[2:] for a in parsers[0]._actions if a.nargs == 0 for o in a.option_strings
                if o.startswith("--")}
    out = set()
    for name in registry.names():
        entry = registry.get(name)
        if command == "predict":
            try:
                host = importlib.import_module(entry.host_module).Host
            except Exception:       # noqa: BLE001 -- a host that cannot load: load() says why
                continue
            for method in filter(None, ("encode", host.NO_INPUT_METHOD)):
                out |= {n for n, p in (accepted(getattr(host, method)) or {}).items()
                        if _kind(p) is bool}
        elif command == "evaluate":
            out |= _bool_parameters(f"{entry.package}.evaluate", "evaluate")
        else:       # train, fine-tune: the recipe's
            out |= (_bool_parameters(f"{entry.package}.model", "build")
                    | _bool_parameters(f"{entry.package}.data", "fit_preprocessor")
                    | {k for part in entry.recipe.values() for k, v in part.items()
                       if isinstance(v, bool)})
    return out | ({k for k, spec in HPARAMS.items() if spec is bool}
                  if command in ("train", "fine-tune") else set())


def _bool_parameters(module: str, function: str) -> set[str]:
    """The parameters of `function` in `module` that default to True or False or are
    annotated bool, read from its source without importing it (it imports TensorFlow)."""
    import ast
    import importlib.util

    try:
        tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text("utf-8"))
    except Exception:       # noqa: BLE001 -- no such module or no source: none known
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            a = node.args
            defaults = [None] * (len(a.args) - len(a.defaults)) + a.defaults + a.kw_defaults
            out |= {arg.arg for arg, d in zip(a.args + a.kwonlyargs, defaults)
                    if isinstance(getattr(d, "value", None), bool)
                    or (arg.annotation is not None and ast.unparse(arg.annotation) == "bool")}
    return out


def _own_options(sub: argparse.ArgumentParser) -> dict:
    """A command's own options for _split_options: its flags, those that take a value, and
    those that may take one."""
    actions = sub._actions
    return {"known": tuple(o for a in actions if a.nargs == 0 for o in a.option_strings
                           if o.startswith("--")),
            "valued": tuple(o for a in actions if a.nargs not in (0, "?")
                            for o in a.option_strings),
            "maybe_valued": tuple(o for a in actions if a.nargs == "?"
                                  for o in a.option_strings)}


def parse_command(argv: list[str], parser: argparse.ArgumentParser | None = None
                  ) -> tuple[argparse.Namespace, dict]:
    """The parsed command line and the options it passes on (`PASSED_ON`; batch-predict's
    Beam options as `beam_args`). A command's options may stand before or after its
    NAME and between its inputs (`zoo predict --json NAME "text"`, `zoo evaluate --split
    report NAME --data DIR`, `zoo serve a --port 8080 b`), as git's and pip's do: an option
    before NAME that passes on (`--beam 8`) took NAME as its value, then "unknown model
    '8'". An option before the command is an error that says where it goes. Argparse's
    errors name the command (`zoo info: error: ...`, with its usage), not `zoo`'s."""
    parser = parser or _parser()
    commands = parser.commands
    at = next((i for i, a in enumerate(argv) if a in commands), None)
    if at and argv[0].startswith("-") and not {"-h", "--help"} & set(argv[:at]):
        before, cmd = " ".join(argv[:at]), argv[at]
        parser.error(f"{before} before the command: options go after it, e.g. "
                     f"zoo {cmd} {' '.join(map(shlex.quote, argv[at + 1:] + argv[:at]))}")
    if not argv:        # a bare `zoo`: what it can do, not "the arguments are required: COMMAND"
        parser.print_help(sys.stderr)
        parser.exit(2)
    if argv[0] not in commands or argv[0] == "bench":
        return parser.parse_args(argv), {}    # zoo --help; an unknown command; bench's own
    sub, own, options = commands[argv[0]], argv[1:], {}
    if argv[0] in PASSED_ON:
        own, options = _split_options(own, **_own_options(sub),
                                      switches=lambda: boolean_options(argv[0]))
    if argv[0] == "batch-predict":     # other --options are Beam's pipeline options
        # taken apart first, with their values: before NAME (`--direct_num_workers 2
        # ner-bilstm`) argparse read the value as NAME
        beam = []
        own = _split_options(own, **_own_options(sub), raw=beam,
                             switches=lambda: boolean_options("batch-predict"))[0]
        args, strays = sub.parse_known_args(own)      # strays: Beam says what they are
        options = {"beam_args": beam + strays} if beam or strays else {}
    else:
        args = sub.parse_intermixed_args(own)
    args.command = argv[0]
    return args, options


def help_name(argv: list[str]) -> str | None:
    """The NAME of `zoo COMMAND ... --help`: its first word that is no option's value."""
    own = _own_options(_parser().commands[argv[0]])
    words = iter(_split_options([a for a in argv[1:] if a not in ("-h", "--help")], **own,
                                switches=lambda: boolean_options(argv[0]))[0])
    for a in words:
        if not a.startswith("-"):
            return a
        if "=" not in a and _own(a, own["valued"]):
            next(words, None)       # its value
    return None


def run(argv: list[str]) -> int:
    helping = argv[:1] in (["predict"], ["evaluate"]) and ("-h" in argv or "--help" in argv)
    # the model a help is for: `zoo predict NAME --help`, `zoo predict --json NAME --help`,
    # `zoo evaluate --data X NAME --help` (X was taken for it: the general help)
    first = help_name(argv) if helping else None
    named = first if helping and first and (first in registry.names()
                                            or registry.preset(first)) else None
    parser = (_parser(evaluate_help=named) if argv[:1] == ["evaluate"]
              else _parser(predict_help=named or helping))
    args, options = parse_command(argv, parser)
    import zoo

    from . import distribute

    command = "zoo " + " ".join(shlex.quote(a) for a in argv)      # recorded in the card
    if args.command == "list":
        from .hub import pulled

        import shutil

        names = zoo.list_models()
        if args.json:       # for a script: one array, strict JSON (no table to parse)
            print(json.dumps([{"name": e.name, "task": e.task, "summary": e.summary,
                               "shipped": e.shipped, "presets": list(e.presets),
                               "pulled": str(p) if (p := pulled(e.name)) else None}
                              for e in map(registry.get, names)]))
            return 0
        # columns as wide as their longest entry ("text generation" overran a 10-wide task
        # column), under a header; on a terminal a summary is cut to its width (`zoo info
        # NAME` has it whole), piped it is kept whole for grep
        w_name = max(map(len, names + ["NAME"]))
        w_task = max([len(registry.get(n).task) for n in names] + [len("TASK")])
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        print(f"{'NAME':{w_name}s}  {'TASK':{w_task}s}  SUMMARY")
        for name in names:
            e = registry.get(name)
            # not shipped: said first, where a terminal's cut cannot drop it
            line = f"{name:{w_name}s}  {e.task:{w_task}s}  " + ("" if e.shipped else
                   f"(not shipped yet: zoo train {name}) ") + e.summary
            if width and len(line) > width >= w_name + w_task + 4 + 20:   # 20: a summary's start
                line = line[:width - 3] + "..."
            print(line)
            if mine := pulled(name):    # zoo.load(name) gives it, not the shipped weights
                print(f"  {name} loads the bundle zoo pull stored at {mine} (zoo pull {name} "
                      f"--remove for the shipped weights)")
            for preset in e.presets:
                print(f"  {preset}: a preset of {name}, the same model trained on other data")
    elif args.command == "info":
        from .hub import pulled

        from .bundle import resolve
        from .card import terminal_text

        registered = args.name in registry.names()
        if registered and not registry.get(args.name).shipped and not pulled(args.name):
            # an application of the user's own, not trained yet: what is known of it (zoo
            # train --help says its recipe is "shown by zoo info NAME"), not an error
            return info_untrained(registry.get(args.name), args.json)
        card = str(zoo.info(args.name))
        # a terminal shows no picture: name the bundle's own (its training curve, gradient
        # flow), which the card does not mention
        with warnings.catch_warnings():     # read_card said any warning of the name once
            warnings.simplefilter("ignore")
            folder = resolve(args.name)
        pictures = sorted(folder.glob("*.png"))
        if args.json:
            print(json.dumps(info_json(args.name, folder, pictures)))
            return 0
        print(terminal_text(card, width=terminal_width()) if sys.stdout.isatty() else card)
        if pictures:
            print("pictures: " + ", ".join(str(p) for p in pictures))
        # the card is the pulled bundle's: say so, as `zoo list` does, and how to go back
        if registered and (mine := pulled(args.name)):
            print(f"{args.name} loads the bundle zoo pull stored at {mine} (zoo pull "
                  f"{args.name} --remove for the shipped weights)")
    elif args.command == "predict":
        # the file options' ~ as the shell's (--plot=~/fan.png is not expanded by it)
        options = {k: user_path(v) if k in PATH_OPTIONS else typed(v) for k, v in options.items()}
        for k in PATH_OPTIONS:      # --plot out\fan.png wrote a file of that name here
            if windows_path(options.get(k)):
                raise ZooError(f"--{k} {options[k]}: {WINDOWS_PATH}; expected / between "
                               f"folders: {windows_path(options[k])}")
        m = zoo.load(args.name)
        host = m.host()
        if args.json and host.ECHO and options.get("echo") not in (None, False):
            from .errors import InputError

            # --echo wrote the text as it came and then no JSON at all (its result is
            # dropped once echoed): the server refuses it too
            raise InputError("--echo streams the text as it is written, which is no JSON; "
                             "drop --echo: with --json the answer holds the whole text")
        listed = options.pop("input", None)            # --input FILE: one example a line
        if listed is not None or args.inputs == ["-"]:
            return predict_lines(m, host, listed if listed is not None else "-", args.json,
                                 options)
        echo = host.ECHO and not args.json and len(args.inputs) <= 1
        if echo:                               # the output streams as it is produced
            options.setdefault("echo", True)
        if not args.inputs and host.NO_INPUT_METHOD:   # generation: no inputs, only options
            if args.json and host.NO_INPUT_ARG:
                # predict()'s keys, as with an input (generate's answer was charlm's bare
                # text, music's with an extra song_steps)
                inputs, options = host.no_input(**options)
                result = m.predict(inputs, **options)[0]
            else:
                result = getattr(m, host.NO_INPUT_METHOD)(**options)
            print() if options.get("echo") else _print_prediction(host, result, args.json)
            return 0
        if not args.inputs:
            from .errors import InputError

            raise InputError(f"{m.entry.name} needs at least one input to predict on; expected "
                             f"zoo predict {m.entry.name} TEXT ... (or @FILE)")
        # a host whose picture is an option of its own (music-lstm's --plot, an alias of
        # its --png) takes it in predict; the others' --plot is host.plot's, after it
        import inspect

        own = "plot" in inspect.signature(host.encode).parameters
        plot = None if own else options.pop("plot", None)
        if plot is not None:              # checked before the work, not after it
            if not host.draws():
                raise ZooError(f"{m.entry.name} has no plot for its predictions; expected one of "
                               f"the models --plot draws for: "
                               f"{', '.join(_drawing_models()) or 'none'}")
            check_output_file(plot, "--plot")
        results = m.predict([file_input(x) for x in args.inputs], **options)
        if options.get("echo"):
            print()
            return 0
        # One input may hold several results (a CSV of many series): label only 1:1 output.
        labels = args.inputs if len(results) == len(args.inputs) else [None] * len(results)
        for text, r in zip(labels, results):
            if text is not None and not args.json:
                print(f"> {visible(text)}")
            _print_prediction(host, r, args.json)
        if plot is not None:
            print(f"plot written to {host.plot(results, plot)}")
    elif args.command == "train":
        m = zoo.train(args.name, data=args.data, out=args.out, seeds=args.seeds, command=command,
                      strategy=args.strategy, **_overrides(args, options))
        if distribute.is_chief():
            print(f"saved {m.entry.name} to {args.out}")
    elif args.command == "fine-tune":
        if args.rehearse and args.no_rehearse:
            parser.error("--rehearse and --no-rehearse contradict each other; give one")
        how = ({"rehearse": args.rehearse} if args.rehearse
               else {"rehearse": False} if args.no_rehearse else {})
        if args.new_share is not None:
            if not args.rehearse:
                parser.error("--new-share is the share of your data in a --rehearse mix; "
                             "add --rehearse")
            how["new_share"] = args.new_share
        if args.labels is not None:
            how["labels"] = [t.strip() for t in args.labels.split(",") if t.strip()]
        if args.replace_labels:
            how["replace_labels"] = True
        if args.seeds is not None and len(args.seeds) != 1:
            parser.error(f"fine-tune takes one seed (--seeds N), got {len(args.seeds)}; "
                         f"run it once a seed to compare them")
        seed = {"seed": args.seeds[0]} if args.seeds else {}
        overrides = {"epochs": 3, **seed, **_overrides(args, options)}    # before the load
        distribute.use(args.strategy)     # before the model is loaded (zoo.distribute)
        from .hub import pulled

        if args.name in registry.names() and (mine := pulled(args.name)):
            # the card's recipe reads `zoo fine-tune NAME` either way: say which weights
            print(f"fine_tune: {args.name} is the bundle zoo pull stored at {mine}, not the "
                  f"shipped weights (zoo pull {args.name} --remove to fine-tune those)")
        m = zoo.load(args.name).fine_tune(args.data, validation=args.validation, out=args.out,
                                          command=command, strategy=args.strategy, **how,
                                          **overrides)
        if distribute.is_chief():
            # its selection number and where a measurement comes from, as zoo train ends
            # (it said only where the bundle went), and, from the epoch-0 score, whether the
            # fine-tune helped, and what to run next
            headline = m.entry.module("evaluate").HEADLINE
            score, valid = m.metrics["valid"].get(headline), m.metrics["valid"]["data"]
            kept = m.metrics["kept"]
            if kept.get("also_trained_on"):
                valid += f"; {kept['also_trained_on']} of its examples also trained on"
            start, after = kept[f"start_val_{headline}"], kept[f"val_{headline}"]
            change = ("" if start is None or after is None or after != after else
                      f"; the fine-tune took val_{headline} from {start:.4f} to {after:.4f} "
                      f"({after - start:+.4f})" if kept["epoch"] else
                      "; no epoch beat the model it started from, whose weights it keeps")
            print(f"saved fine-tuned {m.entry.name} to {args.out} (epoch {kept['epoch']} of "
                  f"{kept['of']}); {headline} {'n/a' if score is None else f'{score:.4f}'} on "
                  f"the data that chose the epoch ({valid}){change}. Next: measure it on data "
                  f"that chose nothing with `zoo evaluate {args.out} --data FILE`; use it with "
                  f"`zoo predict {args.out} INPUT`")
    elif args.command == "evaluate":
        m = zoo.load(args.name)
        with working(f"zoo evaluate {args.name}"):
            metrics = m.evaluate(args.data, split=args.split, **options)
        if args.json:
            print(json.dumps(to_json(metrics)))
        else:
            print_metrics(metrics, m.metrics)
    elif args.command == "compare":
        from .bundle import resolve
        from .card import render_variants, terminal_text

        # a registered name is the bundle zoo.load(NAME) reads (zoo pull's, else the
        # shipped one): the table was written into ./NAME, a folder that was no bundle
        # ("No such file or directory") or another one, with the registered model's metrics
        folder = resolve(args.bundle)
        m = zoo.load(folder)
        table = m.compare(folder, args.runs)
        text = "\n".join(render_variants(table, m.entry.module("evaluate").HEADLINE))
        print(terminal_text(text, width=terminal_width()) if sys.stdout.isatty() else text)
    elif args.command == "export":
        suffixes = {"tflite": ".tflite", "onnx": ".onnx", "saved_model": ""}
        suffix = suffixes[args.format]
        named = {s: f for f, s in suffixes.items() if s}.get(Path(args.out).suffix.lower())
        if named == args.format and Path(args.out).suffix != suffix:   # F.TFLITE: F.TFLITE.tflite
            raise ZooError(f"--out {args.out}: write the suffix in lower case ({suffix}); "
                           f"zoo predict, serve and the runtime know an export by it")
        if named and named != args.format:     # the file's kind follows its suffix
            raise ZooError(f"--out {args.out} names a {named} file but --format is "
                           f"{args.format}; expected --out "
                           + (f"ending in {suffix}" if suffix else "naming a folder"))
        if suffix and Path(args.out).is_dir():   # a folder: the file goes into it, as cp's would
            out = str(Path(args.out) / (Path(args.name).name + suffix))
        else:
            out = args.out if args.out.endswith(suffix) or not suffix else args.out + suffix
        folder = Path(out).parent
        if not folder.is_dir():     # as for --plot: a typo must not create a tree of folders
            raise ZooError(f"--out {args.out}: the folder {str(folder)!r} "
                           f"{'is not a folder' if folder.exists() else 'does not exist'}; "
                           f"expected a path in an existing folder (create it first)")
        with working(f"zoo export {args.name}"):      # the parity check takes a while
            report = zoo.load(args.name).export(out, quantize=args.quantize,
                                                overwrite=args.overwrite)
        print(json.dumps(to_json(report)))      # a SavedModel's max_abs_diff: None
    elif args.command == "bench":
        entry = registry.get(args.name)
        if not entry.benchmark:
            raise ZooError(f"{args.name} has no benchmark; expected one of "
                           f"{', '.join(n for n in registry.names() if registry.get(n).benchmark)}")
        import_benchmark(entry.benchmark).main(args.options)
    elif args.command == "demo":
        demo(args.names, args.out)
    elif args.command == "pull":
        from .hub import pull, remove

        if args.remove:
            print(f"removed the bundle stored for {args.name} from {remove(args.name)}; it "
                  f"loads its shipped weights again")
            return 0
        with working(f"zoo pull {args.name}"):
            stored = pull(args.name, args.source)
        print(f"stored {args.name} from {args.source} in {stored}")
    elif args.command == "serve":
        from .serve import serve

        serve(args.models, host=args.host, port=args.port, max_batch=args.max_batch,
              max_wait_ms=args.max_wait_ms, max_instances=args.max_instances,
              max_body_mb=args.max_body_mb, request_timeout=args.request_timeout,
              allow_hosts=tuple(args.allow_host), max_queue=args.max_queue)
    elif args.command == "batch-predict":
        for handler in logging.getLogger().handlers:    # Beam's notes (INFO, "no apitools"),
            handler.addFilter(lambda r: r.levelno >= logging.ERROR    # not an unknown option
                              or r.name == "apache_beam.options.pipeline_options"
                              or "apache_beam" not in f"{r.name} {r.pathname}")
            # nor Beam's 35-line ERROR of a Ctrl-C or a zoo error in a step: main() says it
            # in one line
            handler.addFilter(lambda r: not str(r.msg).startswith("KeyboardInterrupt") and not (
                r.exc_info and isinstance(r.exc_info[1], ZooError)))
        from .batch_predict import RECORDS_DONE, batch_predict

        with working("zoo batch-predict", count=RECORDS_DONE.total):
            m = batch_predict(args.name, args.input, args.output, runner=args.runner,
                              workers=args.workers, fmt=args.format,
                              whole_files=args.whole_files, batch_size=args.batch_size,
                              beam_args=options.get("beam_args", ()))
        print(f"{m['predictions']:,} predictions in {len(m['shards'])} shard(s), "
              f"{m['dead_letters']:,} dead letter(s) ({m['files']:,} files, {m['model']} "
              f"{m['format']}, {m['runner']}); written to {args.output} (manifest.json)")
        if m["dead_letters"]:       # which records, and why, were in a file never named
            print(f"dead letters (each refused record and why): "
                  f"{os.path.join(args.output, m['dead_letter_file'])}{first_dead(m, args.output)}",
                  file=sys.stderr)
    return 0


def first_dead(manifest: dict, output: str) -> str:
    """"; the first: KEY: why" from a local batch-predict's dead letters ("" elsewhere)."""
    path = Path(output) / manifest["dead_letter_file"]
    if "://" in output or not path.is_file():
        return ""
    from .contract import shorten

    with path.open(encoding="utf-8") as f:
        first = json.loads(f.readline())
    key, error = first["key"], first["error"]
    if not error.startswith(key):       # a reading error names its key, the model's refusal not
        error = f"{key}: {error}"
    return f"; the first: {shorten(error, 200)}"


def demo(names: list[str] | None = None, out: str | Path = "demo") -> None:
    """Shipped models (all, or `names`) on a few examples: per example what went in, the
    reference where there is one, and what came out, from the application's `demo` hook
    (zoo/contract.py), which also writes the files worth opening into the folder `out`."""
    import zoo
    from .data import data_root

    names = [registry.get(n).name for n in names] if names else zoo.list_models()
    folder = check_out_folder(out, "the demo's inputs and pictures")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"demo folder (inputs, pictures, MIDI): {folder.resolve()}")
    for name in names:
        entry = registry.get(name)
        if not entry.shipped:
            print(f"\n== {name}: no shipped weights yet (zoo train {name})")
            continue
        print(f"\n== {name}: {entry.summary}")
        data = data_root() / entry.default_data
        m = zoo.load(name)
        if how_good := measured_line(m):
            print(f"  {'metric:':8s} {how_good}")
        examples = entry.module("host").demo(m, folder, data if data.exists() else None)
        for i, example in enumerate(examples):
            print("\n".join([""] * (i > 0) + [f"  {k + ':':8s} {indented(v)}"
                                               for k, v in example.items()]), flush=True)
    print(f"demo folder: {folder.resolve()}")


def measured_line(m) -> str:
    """How good the model is, in one line: its headline metric (or the one of predict()'s
    own decoding, `PREDICT_METRIC`) from metrics.json on the report split (nothing chosen
    on it), else on the selection split, said to be optimistic.

    >>> from types import SimpleNamespace as N
    >>> evaluate = N(HEADLINE="f1", GREATER_IS_BETTER=True, PREDICT_METRIC=None)
    >>> m = N(metrics={"report": {"f1": 0.93481}, "valid": {"f1": 0.94}},
    ...       entry=N(name="ner-bilstm", module=lambda role: evaluate))
    >>> for part in measured_line(m).split("; "): print(part)
    f1 0.9348 on held-out data nothing was chosen on (report split
    higher is better)
    zoo info ner-bilstm has the rest
    """
    evaluate = m.entry.module("evaluate")
    metric = evaluate.PREDICT_METRIC or evaluate.HEADLINE     # what the demo's answers score
    for split, what in (("report", "on held-out data nothing was chosen on (report split"),
                        ("valid", "on the data its settings were chosen on (selection split, "
                                  "so optimistic")):
        value = (m.metrics.get(split) or {}).get(metric)
        if isinstance(value, (int, float)):
            better = "higher" if evaluate.GREATER_IS_BETTER else "lower"
            return (f"{metric} {value:.4f} {what}; {better} is better); "
                    f"zoo info {m.entry.name} has the rest")
    return ""


def indented(value) -> str:
    """A demo value of several lines (charlm's generated text) under its column, not at the
    terminal's left edge; the blank line a continuation starts with is dropped."""
    return str(value).strip("\n").replace("\n", "\n" + " " * 11)


class stderr_hidden:
    """File descriptor 2 pointed at /dev/null for a while (an import that makes TensorFlow
    write its C++ start-up lines)."""

    def __enter__(self):
        self.saved = os.dup(2)
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)


def import_tensorflow_quietly() -> None:
    """TensorFlow writes its C++ start-up lines (CUDA probes, oneDNN notes) to file
    descriptor 2 before its logging can be configured, so no setting hides them: import it
    with that descriptor pointed at /dev/null. Later C++ messages below ERROR are hidden
    by TF_CPP_MIN_LOG_LEVEL; `--verbose` (anywhere on the line) shows both."""
    with stderr_hidden():
        import tensorflow
    # Its Python-side notes too (e.g. "N calls triggered tf.function retracing" when
    # audio of many lengths goes through one model): not the user's concern.
    tensorflow.get_logger().setLevel(logging.ERROR)


def import_benchmark(module: str):
    """The benchmark module of a checkout: benchmarks/ is not part of the installed package.

    The `zoo` console script does not put the checkout on sys.path (only `python -m` from its
    root does), so an editable install finds the benchmarks beside the `zoo` package.
    """
    import importlib

    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "benchmarks").is_dir() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != "benchmarks":
            raise
        raise ZooError("zoo bench: the benchmarks are not installed with the package; expected a "
                       "checkout of rnn-zoo (git clone, then `make bench` or `zoo bench NAME` "
                       "there)") from None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="zoo.terminal")
    # `zoo serve` / `zoo batch-predict` of .tflite / .onnx exports alone run through
    # zoo.runtime, without TF (batch-predict of an export imported it all the same)
    served = []
    if argv[:1] in (["serve"], ["batch-predict"]):
        args = parse_command([a for a in argv if a != "--verbose"])[0]
        served = args.models if argv[0] == "serve" else [args.name]
    exports_only = bool(served) and all(m.endswith((".tflite", ".onnx")) for m in served)
    # The zoo command is a TensorFlow program: a keras.json or KERAS_BACKEND that picks jax
    # or torch for the user's own work ("No module named 'jax'") is not its concern.
    os.environ["KERAS_BACKEND"] = "tensorflow"
    formatwarning = warnings.formatwarning
    # signal handlers belong to the main thread (main() run in another: ValueError)
    on_sigterm = argv[:1] != ["serve"] and threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if on_sigterm else None
    # A zoo warning (an input cut to the model's length, missing prices carried forward)
    # reads as one line, as an error does, not as Python's file:line and source line.
    warnings.formatwarning = lambda message, *args, **kwargs: f"warning: {message}\n"
    zoo_warnoptions()
    try:
        if on_sigterm:                  # serve stops on SIGTERM its own way (zoo.serve)
            # SIGTERM (kill, a scheduler's stop) ended a command with no word and without
            # its clean-up: training now stops as Ctrl-C does, saying the same command
            # resumes it, and export / compare remove what they had staged (a
            # half-checked export was left in a hidden folder beside --out). Set before
            # TensorFlow's import, which takes seconds.
            signal.signal(signal.SIGTERM, interrupt)
        if "--verbose" in argv:
            argv.remove("--verbose")
        elif argv[:1] not in (["list"], ["info"], ["pull"]) and "-h" not in argv \
                and "--help" not in argv and not exports_only:
            # a wrong command line (a typo'd command, a missing NAME) says so at once, not
            # after TensorFlow's import (7 s)
            parse_command(argv)
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
            import_tensorflow_quietly()
        return run(argv)
    except (ZooError, ZooWarning) as e:    # a ZooWarning: raised by -W error::zoo.ZooWarning
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        # A package the command needs is not installed (TensorFlow where only an export's
        # runtime was, fastapi for serve): one line naming it, not a traceback.
        from .runtime import missing_package

        error = missing_package(e, f"zoo {argv[0] if argv else ''}".strip())
        if error is e:
            raise
        tf = e.name.split(".")[0] in ("tensorflow", "keras", "tensorflow_text", "tf2onnx")
        print(f"error: {error}" + ("; a .tflite or .onnx export runs without it (zoo serve FILE, "
                                   "zoo batch-predict FILE, zoo.runtime.load(FILE))" if tf else ""),
              file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `zoo list | head -1`: the reader stopped reading, which is no error of ours ("error:
        # : Broken pipe" was). Python would report it again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141                  # what a command killed by SIGPIPE reports (128 + 13)
    except OSError as e:         # a file the readers did not check (permissions, a full disk)
        print(f"error: {describe_os_error(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # only training resumes; `zoo serve` or `zoo predict` stopped by Ctrl-C said it did
        training = argv[:1] in (["train"], ["fine-tune"])
        # batch-predict: its manifest.json says "complete": false until the run ends
        print("interrupted; re-run the same command to resume training" if training
              else "zoo batch-predict: interrupted; the --output folder is incomplete (its "
                   "manifest.json says \"complete\": false); re-run the same command to "
                   "predict again" if argv[:1] == ["batch-predict"]
              else "zoo export: interrupted; --out is as it was (an export is moved there "
                   "only once written and checked)" if argv[:1] == ["export"]
              else f"zoo {argv[0]}: interrupted" if argv else "zoo: interrupted",
              file=sys.stderr)
        # TensorFlow logs an ERROR block for each tensor an interrupted trace left unused
        # ("Object was never used ... TensorArray") as the process exits: not the user's.
        logging.getLogger("tensorflow").setLevel(logging.CRITICAL)
        return 130
    finally:
        warnings.formatwarning = formatwarning
        if on_sigterm and sigterm is not None:      # main() called in a program: as it was
            signal.signal(signal.SIGTERM, sigterm)


if __name__ == "__main__":
    sys.exit(main())

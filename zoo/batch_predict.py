"""`zoo batch-predict`: a model over many files with Apache Beam's RunInference.

The model runs through zoo.runtime (a TFLite or ONNX export, numpy pre/post-processing by
its host), so Beam workers never import TensorFlow: a registered name or a bundle folder
is exported once, before the pipeline is built, into `OUTPUT/model/`; a `.tflite` /
`.onnx` file is used as it is. The same pipeline runs on the DirectRunner (in memory, or
`workers` processes) and, unchanged, on Flink, Spark or Dataflow (Beam pipeline options).

Inputs: every file the globs match. A `.txt` or `.jsonl` file holds one example a line
(a JSON object or list is that object, as `zoo predict --input FILE` reads it; in a .txt
file a line that only looks like JSON is text; in a .jsonl file a JSON string is the text
it holds), keyed `PATH:LINE`; any other file (a WAV, an image, a CSV) is one input, keyed
by its path, and read as `zoo predict NAME @FILE` reads it.

Output folder (deterministic: the same inputs give byte-identical files on any runner):

    predictions-GGGGG-CCCCC.jsonl  {"key": ..., "prediction": ...} a line, in input order
                                   (files sorted by path, lines in order); shards in name
                                   order are the whole output in order
    dead_letter.jsonl              {"key": ..., "error": "<the zoo's one-line message>"}
    manifest.json                  shards and their counts, predictions, dead letters,
                                   model, format, runner; the bundle that ran (path,
                                   model.keras's sha256), what it was fine-tuned on (or
                                   null), the export's sha256; "complete": false until the
                                   run ends (a killed run's folder says so)
    model/                         the export the workers ran (NAME or DIR given)

A record the model refuses (an empty line, a malformed WAV) goes to the dead letters and
the run goes on; a batch that fails is retried one record at a time, so one bad record
never takes its batch-mates with it.

>>> from zoo.batch_predict import batch_predict
>>> m = batch_predict("ner-bilstm", ["sentences/*.txt"], "out")     # doctest: +SKIP
>>> m["predictions"], m["dead_letters"], m["shards"][0]["file"]       # doctest: +SKIP
(1000, 2, 'predictions-00000-00000.jsonl')
"""
from __future__ import annotations

import contextlib
import difflib
import itertools
import json
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from .bundle import lock_file, writing
from .errors import InputError, ZooError, inputs_named, warn

LINE_SUFFIXES = (".txt", ".jsonl")      # one example a line; other files: one input each
COMPRESSED = re.compile(r"\.(gz|bz2|zst|deflate|lzma|xz)$")     # Beam decompresses these
MAX_RECORD_CHARS = 100_000              # one line (the server's limit for one text, too)
SHARD_RECORDS = 50_000                  # most predictions in one output shard
OURS = re.compile(r"(predictions-\d{5,}-\d{5,}\.jsonl|dead_letter\.jsonl|manifest\.json|model)$")
EXPORTS = (".tflite", ".onnx")


class _Done:
    """Records through the model so far, for `zoo batch-predict`'s "working" line (it said
    how long, never how far). The in-process DirectRunner counts in `n`; with worker
    processes (--workers N) each process writes its own count into `folder`, which
    `total()` sums: the line left the count out there. A cluster's workers keep theirs,
    and the line then leaves it out."""

    def __init__(self):
        import threading

        self.n, self.lock, self.folder = 0, threading.Lock(), None

    def add(self, k: int, folder: str | None = None) -> None:
        with self.lock:
            self.n += k
            if folder:       # this process's count, whole: written aside, then renamed
                part = Path(folder) / f"{os.getpid()}.part"
                part.write_text(str(self.n))
                os.replace(part, part.with_suffix(".count"))

    def total(self) -> int:
        if self.folder is None:
            return self.n
        try:
            return sum(int(f.read_text()) for f in Path(self.folder).glob("*.count"))
        except (OSError, ValueError):       # the run's end removed the folder
            return self.n

    @contextlib.contextmanager
    def across_processes(self):
        """While a run's worker processes count into a folder of their own; after it, `n`
        is their sum."""
        self.n, self.folder = 0, tempfile.mkdtemp(prefix="zoo-batch-count-")
        try:
            yield self.folder
        finally:
            self.n, folder, self.folder = self.total(), self.folder, None
            shutil.rmtree(folder, ignore_errors=True)


RECORDS_DONE = _Done()


def _fs():
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def _local(path: str) -> bool:
    return "://" not in path


# ---- on the driver: inputs, output folder, model ----------------------------------------------
def match_inputs(globs: list[str], whole_files: bool = False) -> list[tuple]:
    """(group, file index, path, one example a line?) of every matched file, sorted by path.
    Runs of files share a group (an output shard), SHARD_RECORDS records at most, so a shard
    never outgrows a worker: another file is one record, a text file at most one a byte (a
    line ends with one); a larger or compressed text file is a group of its own, cut into
    shards of SHARD_RECORDS lines as it is read. (Each text file had a group: 3,000 files of
    a line each wrote 3,000 shards of one line, and from 100,000 on the names outgrew
    their five digits and no longer sorted in input order.)"""
    paths: dict = {}
    for g in globs:
        if not g.strip():       # was the current folder, "no file matches /work/..."
            raise InputError("--input '': an empty pattern; expected a glob of files, e.g. "
                             "'data/*.txt'")
        g = os.path.abspath(os.path.expanduser(g)) if _local(g) else g
        try:
            found = {m.path: getattr(m, "size_in_bytes", None)
                     for r in _fs().match([g]) for m in r.metadata_list}
        except Exception as e:  # noqa: BLE001 -- BeamIOError: a bad pattern, an unreachable store
            raise InputError(f"--input {g}: cannot list it ({str(e)[:200]})") from None
        found = {p: n for p, n in found.items() if not (_local(p) and os.path.isdir(p))}
        if _local(g) and any(c in g for c in "*?["):
            # a FIFO or socket a glob swept up ('data/**') was opened and waited on for
            # ever (the run hung); one named on its own (a shell's <(zcat ...)) is read
            odd = sorted(p for p in found if os.path.exists(p) and not os.path.isfile(p))
            if odd:
                warn(f"--input {g}: skipped {len(odd)} match(es) that are not "
                     f"regular files (a pipe, socket or device): "
                     f"{', '.join(odd[:10])}{' ...' if len(odd) > 10 else ''}")
                found = {p: n for p, n in found.items() if p not in odd}
        if not found:
            hint = f"; it is a folder: give a glob of its files, e.g. '{g}/*'" \
                if _local(g) and os.path.isdir(g) else ""
            raise InputError(f"--input {g}: no file matches it"
                             f"{hint or '; expected a file or a glob of files'}")
        paths.update(found)
    files, group, run = [], -1, SHARD_RECORDS
    for i, path in enumerate(sorted(paths)):
        lines = not whole_files and COMPRESSED.sub("", path.lower()).endswith(LINE_SUFFIXES)
        size = paths[path]
        small = (isinstance(size, int) and size <= SHARD_RECORDS
                 and not COMPRESSED.search(path.lower()))
        records = (max(1, size) if small else SHARD_RECORDS) if lines else 1
        if run + records > SHARD_RECORDS:
            group, run = group + 1, 0
        run += records
        files.append((group, i, path, lines))
    return files


def prepare_output(output: str, inputs: list[str] = ()) -> None:
    """`output` new, empty, or an earlier batch-predict's (whose files are replaced);
    a folder that holds anything else, or any of the `inputs`, is refused before any work."""
    if not _local(output):
        return
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise InputError(f"--output {output}: is a file; expected a folder (new or empty)")
    if out.is_dir():
        names = sorted(p.name for p in out.iterdir())
        other = [n for n in names if not OURS.match(n)]
        if other or (set(names) - {"model"} and "manifest.json" not in names):
            shown = ", ".join((other or names)[:3]) + (", ..." if len(other or names) > 3 else "")
            raise InputError(f"--output {output}: holds other files ({shown}); give a new or "
                             f"empty folder, or the folder of an earlier zoo batch-predict")
        inside = [p for p in inputs if _local(p) and Path(p).is_relative_to(out)]
        if inside:   # they were deleted below, then the pipeline failed to read them
            raise InputError(f"--input matches {inside[0]}, in the --output folder (its files "
                             f"are replaced); give an --output folder apart from the inputs")
        for n in names:
            if n != "model":
                (out / n).unlink()
    out.mkdir(parents=True, exist_ok=True)


def model_export(model: str, output: str, fmt: str = "tflite") -> tuple[str, str]:
    """(path of the export the workers load, model name). A .tflite/.onnx file is used as
    it is; a name or bundle folder is exported into OUTPUT/model/ (through a local temporary
    folder when OUTPUT is remote)."""
    if model.endswith(EXPORTS):
        if _local(model):
            from .runtime import read_sidecar

            return os.path.abspath(model), read_sidecar(Path(model))["model"]
        return model, Path(model).stem
    import zoo

    m = zoo.load(model)
    name = m.entry.name
    if _local(output):
        path = Path(output) / "model" / f"{name}.{fmt}"
        path.parent.mkdir(exist_ok=True)
        m.export(path, overwrite=True)
        return str(path.resolve()), name
    local = Path(tempfile.mkdtemp(prefix="zoo-export-")) / f"{name}.{fmt}"
    try:            # a failed export or upload left its zoo-export-* folder in /tmp
        m.export(local)
        remote = _fs().join(output, "model", local.name)
        for f in export_files(str(local)):
            with open(f, "rb") as src, \
                    _fs().create(_fs().join(output, "model", Path(f).name)) as dst:
                dst.write(src.read())
    finally:
        shutil.rmtree(local.parent, ignore_errors=True)
    return remote, name


def export_files(path: str) -> list[str]:
    """The files of an export: the model (or its per-function ONNX files) and the sidecar."""
    fs = _fs()
    with fs.open(path + ".json") as f:
        meta = json.loads(f.read().decode("utf-8"))
    base = path.rsplit("/", 1)[0]
    functions = meta.get("functions") if isinstance(meta, dict) else None
    models = [fs.join(base, f) for f in functions.values()] if isinstance(functions, dict) \
        else [path]
    return models + [path + ".json"]


# ---- on the workers ---------------------------------------------------------------------------
def read_records(item, max_chars: int = MAX_RECORD_CHARS):
    """The records of one matched file: (shard, order, key, raw input), or, tagged
    "dead", (shard, order, key, error message) for a line that is no input."""
    from apache_beam import pvalue

    group, index, path, lines = item
    if not lines:        # one input: a local file as `zoo predict NAME @FILE` takes it
        # A Path, not the path string: a text task (NER, summaries) reads a string as the
        # text itself, and tagged or summarized the file's name.
        raw = Path(path)
        if not _local(path):
            with _fs().open(path) as f:
                raw = f.read()
        yield (group, 0), (index, 0), path, raw
        return
    n = 0
    try:
        with _fs().open(path) as f:       # .gz and friends are decompressed by Beam
            for n, line in enumerate(_lines(f, 4 * max_chars), start=1):
                yield from _record(group, index, path, n, line, max_chars)
            # Beam's reader ends a cut-short .gz quietly where its data stops (a download cut
            # at 30 kB gave 11,346 of 20,000 lines and no word): its decompressor knows.
            if not getattr(getattr(f, "_decompressor", None), "eof", True):
                raise EOFError("the compressed data ends before its end marker (cut short?)")
    except Exception as e:  # noqa: BLE001 -- a corrupt .gz (zlib.error), a file gone: that file's
        # dead letter, not the run's end (it was a traceback that lost every other file)
        key = f"{path}:{n + 1}" if n else path
        kind = type(e).__name__ if type(e).__name__ != "error" else f"{type(e).__module__}.error"
        yield pvalue.TaggedOutput("dead", ((group, n // SHARD_RECORDS), (index, n + 1), key,
                                           f"{key}: cannot read it ({kind}: "
                                           f"{str(e)[:200]})"))


def _lines(f, limit: int):
    """The lines of binary file `f`, each as bytes, or as its length (an int) when it is over
    `limit` bytes: such a line is skipped as it is read, never held (a file of one 100 MB
    line was read whole, then decoded: 1 GB of memory)."""
    pending, skipped = b"", None          # skipped: bytes so far of an over-long line
    while chunk := f.read(1 << 16):
        *done, pending = (pending + chunk).split(b"\n")
        for part in done:
            if skipped is None:
                yield part + b"\n"
            else:
                yield skipped + len(part) + 1
                skipped = None
        if skipped is not None or len(pending) > limit:
            skipped, pending = (skipped or 0) + len(pending), b""
    if skipped is not None:
        yield skipped + len(pending)
    elif pending:
        yield pending


def _record(group, index, path, n, line, max_chars):
    """The record of line `n` of a text file (as `_lines` gives it), or its dead letter."""
    from apache_beam import pvalue

    from .cli import json_lines, parse_example

    key, shard, order = f"{path}:{n}", (group, (n - 1) // SHARD_RECORDS), (index, n)
    try:
        if isinstance(line, int):       # over 4 bytes a character: over max_chars
            raise ZooError(f"{key}: a line of {line:,} bytes; batch-predict takes at most "
                           f"{max_chars:,} characters a line")
        text = line.decode("utf-8").rstrip("\r\n")
        if n == 1:      # a byte-order mark (Notepad's UTF-8): it was the first word's, and
            text = text.removeprefix("\ufeff")     # "\ufeffJohn" was tagged ORG, not PER
        if len(text) > max_chars:
            raise ZooError(f"{key}: a line of {len(text):,} characters; batch-predict takes "
                           f"at most {max_chars:,} a line")
        jsonl = json_lines(path)        # .txt: text unless JSON
        yield shard, order, key, parse_example(text, key, jsonl, jsonl)
    except UnicodeDecodeError as e:
        yield pvalue.TaggedOutput("dead", (shard, order, key,
                                           f"{key}: not UTF-8 text ({e.reason} at byte {e.start})"))
    except ZooError as e:
        yield pvalue.TaggedOutput("dead", (shard, order, key, str(e)))


def check_beam(runner: str, flags: list[str]) -> None:
    """Refuse an unknown runner or Beam option before any work: Beam raised the runner's
    ValueError as a traceback after the output folder was emptied, and dropped an unknown
    option (a typo, a predict option) with a warning."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.runner import create_runner

    try:
        create_runner(runner)
    except (ValueError, ImportError) as e:
        raise InputError(f"--runner {runner}: {str(e)[:400]}") from None
    except Exception as e:  # noqa: BLE001 -- InteractiveRunner's import fails on this pandas
        raise InputError(f"--runner {runner}: Beam cannot load it here ({type(e).__name__}: "
                         f"{str(e)[:200]}); expected DirectRunner, or a cluster's runner") from None
    known = PipelineOptions([]).get_all_options()
    with _discarded():
        unknown = sorted(set(PipelineOptions(flags).get_all_options(retain_unknown_options=True))
                         - set(known))
    if unknown:
        near = difflib.get_close_matches(unknown[0], known, n=1)
        raise InputError(f"unknown option(s) {', '.join('--' + u for u in unknown)}"
                         + (f" (did you mean --{near[0]}?)" if near else "")
                         + "; batch-predict takes its own (zoo batch-predict --help) and Beam "
                         "pipeline options (e.g. --flink_master=HOST:PORT)")
    with _discarded() as strays:        # every option is known here: what is left is no option
        options = PipelineOptions(flags).get_all_options()
    if strays:      # Beam dropped them with a warning: `--input data/*.txt` unquoted ran the
        # shell's first file alone, the other files "discarded" as Beam arguments
        shown = " ".join(strays[:3]) + (f" ... ({len(strays)} in all)" if len(strays) > 3 else "")
        raise InputError(f"unexpected argument(s) {shown}: a glob the shell expanded? quote "
                         f"it (--input 'data/*.txt'), or give --input once per file; Beam's "
                         f"options are --name=value")
    missing = _downloads(runner.lower().removesuffix("runner"), options)
    if missing:
        raise InputError(f"--runner {runner}: Beam would download {missing[0]} from the internet "
                         f"and start it here; batch-predict does not download: give "
                         f"--job_endpoint=HOST:PORT of a running Beam job server, or {missing[1]}")
    from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator

    errors = PipelineOptionsValidator(PipelineOptions(flags), create_runner(runner)).validate()
    if errors:        # DataflowRunner without --project, --region, --temp_location: a traceback
        raise InputError(f"--runner {runner}: {'; '.join(e.strip() for e in errors)[:400]}")


@contextlib.contextmanager
def _discarded():
    """The arguments Beam's option parser drops (a bare word, a single-dash flag) when it
    parses its known options, taken from its log, which is kept from the user: Beam alone
    knows which of its options take a value."""
    import logging

    found: list = []

    def keep(record) -> bool:
        if str(record.msg).startswith("Discarding unparseable args"):
            found.extend(record.args[0])
            return False
        return not str(record.msg).startswith("Discarding flag")   # said in the list

    logger = logging.getLogger("apache_beam.options.pipeline_options")
    logger.addFilter(keep)
    try:
        yield found
    finally:
        logger.removeFilter(keep)


def direct_workers(runner: str, flags: list[str], workers: int) -> int:
    """The DirectRunner's worker count, whether --workers or Beam's own options set it (the
    manifest said 1 for --direct_num_workers 2, and 2 for --workers 2 --direct_num_workers 3,
    which ran 3); the two saying different counts is an error. --direct_num_workers 0 is
    Beam's "one a CPU" (the FnApiRunner's multiprocessing.cpu_count()): it was recorded as 1.

    >>> import multiprocessing
    >>> direct_workers("DirectRunner", ["--direct_num_workers=0",
    ...                "--direct_running_mode=multi_processing"], 1) == multiprocessing.cpu_count()
    True
    """
    import multiprocessing

    from apache_beam.options.pipeline_options import PipelineOptions

    if runner.lower().removesuffix("runner") != "direct":
        return workers
    options = PipelineOptions(flags).get_all_options()
    given = options.get("direct_num_workers")
    beam = 1 if given is None else given or multiprocessing.cpu_count()
    if options.get("direct_running_mode") == "in_memory":
        beam = 1            # Beam runs the in-memory mode in this process whatever the count
    if workers > 1 and beam != workers:
        said = f"{given} (one a CPU: {beam})" if given == 0 else beam
        raise InputError(f"--workers {workers} and --direct_num_workers {said} (with "
                         f"--direct_running_mode) disagree; give one of them")
    return max(workers, beam)


def _runner(flags: list[str]):
    """Beam's FnApiRunner, its worker processes told the harness log options: it starts them
    with no pipeline options, so --default_sdk_harness_log_level never reached them and
    each printed some 20 INFO lines (its channels, its start and exit) on stderr; and two
    more before any option is read (zoo.beam_worker)."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner.fn_runner import (ExtendedProvisionInfo,
                                                                       FnApiRunner)
    from google.protobuf import struct_pb2

    from apache_beam.transforms.environments import SubprocessSDKEnvironment

    from . import beam_worker

    class QuietWorkers(FnApiRunner):
        """Worker processes run zoo.beam_worker (Beam's main, its start-up notes unsaid):
        the runner sets its multi_processing environment while it runs a pipeline."""

        @property
        def _default_environment(self):
            return self._environment

        @_default_environment.setter
        def _default_environment(self, environment):
            if isinstance(environment, SubprocessSDKEnvironment):
                environment = SubprocessSDKEnvironment.from_command_string(
                    environment.command_string.replace(beam_worker.BEAM_MAIN, beam_worker.__name__))
            self._environment = environment

    options = PipelineOptions(flags).get_all_options()
    logs = struct_pb2.Struct()
    logs.update({f"beam:option:{k}:v1": options[k] for k in (
        "default_sdk_harness_log_level", "sdk_harness_log_level_overrides") if options.get(k)})
    return QuietWorkers(provision_info=ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=logs)))


def _downloads(runner: str, options: dict):
    """(what, the option that names a local copy) when the runner would fetch its job server
    or binary from the internet (Maven, GitHub releases) before it runs: a traceback here,
    with no network, after Beam tried; else None."""
    if options.get("job_endpoint"):
        return None
    if runner == "portable":       # Beam's NotImplementedError, a traceback
        raise InputError("--runner PortableRunner needs --job_endpoint=HOST:PORT of a running "
                         "Beam job server (or name the cluster's runner: FlinkRunner, ...)")
    if runner == "prism":
        from apache_beam.runners.portability.prism_runner import PrismJobServer

        local = options.get("prism_location")
        if (local and _local(local)) or os.path.isdir(PrismJobServer.BIN_CACHE) and any(
                Path(PrismJobServer.BIN_CACHE).iterdir()):
            return None
        return "the Prism runner binary (GitHub releases)", "--prism_location=PATH of a local copy"
    option = {"flink": "flink_job_server_jar", "spark": "spark_job_server_jar"}.get(runner)
    if option is None:
        return None
    from apache_beam.utils.subprocess_server import JavaJarServer

    jar = options.get(option)
    if jar and "://" not in jar and not os.path.isfile(jar):
        raise InputError(f"--{option} {jar}: no such file; expected Beam's {runner.title()} "
                         f"job server jar")
    if (jar and os.path.exists(jar)) or any(Path(JavaJarServer.JAR_CACHE).glob(
            f"beam-runners-{runner}-*job-server*.jar")):
        return None
    return (f"Beam's {runner.title()} job server (a Java jar, from Maven)",
            f"--{option}=PATH of a local copy")


def message(e: Exception, key: str = "") -> str:
    """The zoo's one-line message for one record (its "input N: " or `key` dropped: the
    dead letter's key says which); anything else the host did not expect, with its type."""
    if isinstance(e, ZooError):
        return re.sub(rf"^(input \d+|{re.escape(key)}): ", "", str(e))
    return f"unexpected {type(e).__name__}: {str(e)[:300]}"


def predict_each(model, batch: list, options: dict, names: list | None = None
                 ) -> list[tuple[str, object]]:
    """("ok", JSON prediction) or ("error", message) per input: the batch at once, and one
    by one only when it fails. An input with several results (a CSV of many series) gets
    their list. `names`: each input's key, which its warnings name (not "input K" of the
    batch: a batch gathers lines of any file)."""
    from .webio import to_json

    names = names or []
    try:
        with inputs_named(names):
            results = to_json(model.predict(list(batch), **options))
        if len(results) == len(batch):
            return [("ok", r) for r in results]
    except Exception:   # noqa: BLE001, S110 -- which record failed is found below, one by one
        pass
    out = []
    for i, raw in enumerate(batch):
        try:
            with inputs_named(names[i:i + 1]):
                r = to_json(model.predict([raw], **options))
            out.append(("ok", r[0] if len(r) == 1 else r))
        except Exception as e:      # noqa: BLE001 -- a record must never stop the run
            out.append(("error", message(e, names[i] if i < len(names) else "")))
    return out


def local_copy(path: str) -> str:
    """A local path of the export (copied from a remote store for a worker)."""
    if _local(path):
        return path
    folder = Path(tempfile.mkdtemp(prefix="zoo-model-"))
    for f in export_files(path):
        with _fs().open(f) as src:
            (folder / f.rsplit("/", 1)[-1]).write_bytes(src.read())
    return str(folder / path.rsplit("/", 1)[-1])


class RuntimeModelHandler(ModelHandler):
    """A Beam ModelHandler over zoo.runtime: elements are (key, raw input), key (shard,
    order, PATH[:LINE]); each yields (key, PredictionResult) whose inference is ("ok", JSON
    prediction) or ("error", message). A line that is JSON means what it means to the
    server (webio.local_input, numbered by its line), as `zoo predict --input` reads it."""

    def __init__(self, export: str, options: dict | None = None, max_batch_size: int = 64,
                 count_into: str | None = None):
        super().__init__(max_batch_size=max_batch_size)
        self.export, self.options = export, dict(options or {})
        self.count_into = count_into        # RECORDS_DONE's folder, for worker processes

    def load_model(self):
        from . import runtime

        return runtime.load(local_copy(self.export))

    def run_inference(self, batch, model, inference_args=None):
        from .webio import local_input

        raws, outcomes = {}, {}
        for j, ((_, (_, line), _), raw) in enumerate(batch):
            try:        # a whole file (line 0) as `zoo predict @FILE` takes it
                raws[j] = local_input(line, raw, model.host) if line else raw
            except ZooError as e:       # "input 17: ..." is line 17's: its key says so
                outcomes[j] = ("error", message(e))
        done = predict_each(model, list(raws.values()), self.options,
                            [batch[j][0][2] for j in raws])
        outcomes.update(zip(raws, done))
        RECORDS_DONE.add(len(outcomes), self.count_into)
        for j, (key, raw) in enumerate(batch):
            yield key, PredictionResult(raw, outcomes[j])

    def get_metrics_namespace(self) -> str:
        return "zoo"


def _width(files: list) -> int:
    """Digits of a shard name's group and chunk numbers: 5, more for over 99,999 of them (a
    file of over 5 billion lines, 100,000 large files)."""
    most = max([0, *(g for g, *_ in files), *(os.path.getsize(p) // SHARD_RECORDS
                                               for _, _, p, lines in files
                                               if lines and _local(p) and os.path.isfile(p))])
    return max(5, len(str(most)))


def check_predict_options(model: str, options) -> None:
    """The predict options checked here, before any work, as the workers' predict checks
    them: an unknown one (beam_size for beam) made every record a dead letter, and the run
    ended "0 predictions, 10,000 dead letters" as if the inputs were bad. A remote export is
    checked by the workers."""
    import importlib

    from .options import check_options

    if options is None:
        return
    if not isinstance(options, dict):
        raise InputError(f"options must be a dict of predict options (e.g. {{'beam': 4}}); got "
                         f"{type(options).__name__}")
    if model.endswith(EXPORTS):
        if not _local(model):
            return
        from .runtime import read_sidecar

        name = read_sidecar(Path(model))["model"]
    else:
        from .bundle import read_json, resolve

        name = read_json(resolve(model) / "manifest.json")["model"]
    from . import registry

    entry = registry.get(name)
    host = importlib.import_module(entry.host_module).Host
    check_options(host.encode, options, f"{entry.name} predict")
    if host.ECHO and options.get("echo") not in (None, False):
        # charlm's echo wrote each text to the workers' consoles, beside the predictions
        # (zoo serve and `zoo predict --json` refuse it as well)
        raise InputError("option 'echo' writes to the workers' consoles and is not used by "
                         "batch-predict; drop it (each prediction holds the whole text)")


def check_option_values(export: str, files: list, options: dict | None) -> None:
    """The option values checked on the first readable record before the run: check_options
    knows names and types, not ranges, and beam 0 or horizon 0 made every record a dead
    letter ("0 predictions, N dead letters", as if the inputs were bad). The record is
    encoded with and without the options: only an error the options alone cause stops the run
    (a bad record stays a dead letter). A remote export is checked by the workers."""
    if not options or not _local(export):
        return
    from .runtime import load, plain_paths

    host = load(export).host
    records = itertools.islice((r for item in files for r in read_records(item)), 20)
    for _, _, _, raw in (r for r in records if isinstance(r, tuple)):     # not dead letters
        try:
            host.encode(plain_paths([raw]))
        except Exception:   # noqa: BLE001, S112 -- the record's own fault: its dead letter says it
            continue
        try:
            host.encode(plain_paths([raw]), **options)
        except ZooError as e:
            raise InputError(f"{message(e)} (predict options {json.dumps(options)[:200]}; no "
                             f"record was run)") from None
        return


def provenance(model: str, export: str) -> dict:
    """What the manifest says about the weights that ran: the bundle a name or folder
    resolved to (its path, model.keras's sha256, and what it was fine-tuned on, or null),
    and the export's sha256. A reader could not tell a fine-tune from the shipped model,
    nor which of two bundles of one name (shipped, pulled) answered."""
    from .bundle import read_json, resolve

    found: dict = {"bundle": None, "fine_tuned_on": None}
    if not model.endswith(EXPORTS):
        directory = resolve(model)
        files = read_json(directory / "manifest.json").get("files", {})    # checked by load
        metrics = read_json(directory / "metrics.json")
        found = {"bundle": {"path": str(Path(directory).resolve()),
                            "sha256": files.get("model.keras")},
                 "fine_tuned_on": metrics.get("fine_tuned_on")}
    if _local(export):       # a given .tflite/.onnx does not say which bundle it came from
        from .runtime import read_sidecar

        found["export_sha256"] = read_sidecar(Path(export)).get("sha256")
    return found


def write_shard(item, output: str, width: int = 5) -> dict:
    """One shard, named by its group and chunk, `width` digits each (the names of a run are
    one length, so that they sort in input order)."""
    (group, chunk), rows = item
    name = f"predictions-{group:0{width}d}-{chunk:0{width}d}.jsonl"
    with _fs().create(_fs().join(output, name)) as f:
        f.write("".join(line for _, line in sorted(rows)).encode("utf-8"))
    return {"file": name, "predictions": len(rows)}


def write_dead_letters(rows: list, output: str) -> dict:
    with _fs().create(_fs().join(output, "dead_letter.jsonl")) as f:
        f.write("".join(line for _, line in sorted(rows)).encode("utf-8"))
    return {"dead_letters": len(rows)}


def write_manifest(parts: list, output: str, meta: dict) -> None:
    shards = sorted((p for p in parts if "file" in p), key=lambda p: p["file"])
    dead = sum(p.get("dead_letters", 0) for p in parts)
    manifest = {**meta, "complete": True, "predictions": sum(s["predictions"] for s in shards),
                "dead_letters": dead, "shards": shards, "dead_letter_file": "dead_letter.jsonl"}
    with _fs().create(_fs().join(output, "manifest.json")) as f:
        f.write(json.dumps(manifest, indent=1).encode("utf-8"))


def _line(key: str, field: str, value) -> str:
    return json.dumps({"key": key, field: value}, ensure_ascii=False) + "\n"


# ---- the pipeline -----------------------------------------------------------------------------
@contextlib.contextmanager
def _interruptible():
    """Ctrl-C stays a KeyboardInterrupt: Beam re-raises it from the running step as
    `RuntimeError: KeyboardInterrupt [while running 'predict/...']`, which the CLI showed as
    a 40-line traceback and exit code 1."""
    try:
        yield
    except RuntimeError as e:
        if str(e).startswith("KeyboardInterrupt"):
            raise KeyboardInterrupt from None
        raise


def batch_predict(model: str, inputs: list[str] | str, output: str, runner: str = "DirectRunner",
                  workers: int = 1, fmt: str = "tflite", whole_files: bool = False,
                  batch_size: int = 64, beam_args: list[str] | tuple = (),
                  options: dict | None = None) -> dict:
    """Run `model` (name, bundle folder or .tflite/.onnx) over every file `inputs` match;
    write OUTPUT as the module docstring says and return its manifest."""
    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference
    from apache_beam.options.pipeline_options import PipelineOptions

    if fmt not in ("tflite", "onnx"):
        raise InputError(f"--format {fmt!r}; expected 'tflite' or 'onnx', the exports "
                         f"batch-predict runs")
    from .options import check_int

    # each checked as itself: int() passed workers="2" (then a TypeError), 2.5 (Beam's error)
    # and True, and one message named both options whichever was wrong
    workers = check_int(workers, "--workers", 1, 256)
    batch_size = check_int(batch_size, "--batch-size", 1, 1024)
    if not output.strip():     # was the current folder
        raise InputError("--output '': an empty path; expected a new or empty folder")
    # ~ as --input has it: "~/preds" (Python, or --output=~/preds, which no shell expands)
    # made a folder named "~" in the current one
    output = os.path.abspath(os.path.expanduser(output)) if _local(output) else output.rstrip("/")
    if _local(model) and (Path(model) / "saved_model.pb").is_file():  # was "no manifest.json"
        raise InputError(f"{model}: a SavedModel export; batch-predict runs a .tflite or .onnx "
                         f"export (zoo export NAME --format tflite), a model name or a bundle")
    if not model.endswith(EXPORTS):       # an unknown name fails before any work
        from .bundle import resolve

        resolve(model)
    elif _local(model) and not (Path(model).is_file() or Path(model + ".json").is_file()):
        # an ONNX export of an application with functions (music, caption, ...) is
        # NAME.onnx.json beside NAME.<function>.onnx, no NAME.onnx: zoo.runtime opens it
        raise InputError(f"{model}: no such exported model file; expected a .tflite or .onnx "
                         f"file that zoo export wrote, a model name or a bundle folder")
    elif _local(model):     # a changed export failed in the workers, after the output was emptied
        from .runtime import read_sidecar, verified_contents

        verified_contents(Path(model), read_sidecar(Path(model)))
    check_predict_options(model, options)
    files = match_inputs([inputs] if isinstance(inputs, str) else list(inputs), whole_files)
    flags = [f"--runner={runner}", *beam_args]
    # Beam takes the DirectRunner as "direct" or "directrunner" too: --workers 2 with them was
    # "--workers 2 and --direct_num_workers 1 disagree", an option the user never gave
    direct = runner.lower().removesuffix("runner") == "direct"
    if not direct and workers > 1:      # was ignored, and the manifest said it ran 2 workers
        raise InputError(f"--workers {workers}: the DirectRunner's worker processes; on "
                         f"{runner} the cluster's own options set how many run (e.g. "
                         f"--parallelism, --num_workers)")
    if direct and workers > 1:
        flags = [*flags[:1], "--direct_running_mode=multi_processing",
                 f"--direct_num_workers={workers}", "--default_sdk_harness_log_level=ERROR",
                 *flags[1:]]
    check_beam(runner, flags)
    workers = direct_workers(runner, flags, workers)
    if direct:
        # Beam's DirectRunner (2.68 on) first tries its Prism runner, whose binary it
        # downloads from GitHub releases (nothing may download at run time), and falls back
        # to the FnApiRunner without network; Beam's advice is to pin the FnApiRunner.
        flags[0] = "--runner=FnApiRunner"
    if workers > 1 and not any(f.startswith("--default_sdk_harness_log_level") for f in flags):
        flags.append("--default_sdk_harness_log_level=ERROR")   # each worker's INFO notes
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if direct and workers > (cpus or workers):
        # measured: 6 lines took 8 s with 2 workers on 2 CPUs and over 2 minutes with 64
        warn(f"--workers {workers} is more than this machine's {cpus} CPUs: each worker is a "
             f"process that starts Beam's harness and loads the model; beyond {cpus} they "
             f"wait for the CPUs and only slow the run (use --workers {cpus} or fewer)")
    # One run into a folder at a time: a second one emptied the first's output as it ran.
    # A file as --output is said by prepare_output.
    out = Path(output)
    with (writing(output, lock_file(output, "batch-predict"), "--output")
          if _local(output) and (out.is_dir() or not out.exists()) else contextlib.nullcontext()):
        prepare_output(output, [p for _, _, p, _ in files])
        # Marks the folder as batch-predict's until the real manifest replaces it: a run killed
        # after writing shards left a folder that the re-run refused as "other files".
        with _fs().create(_fs().join(output, "manifest.json")) as f:
            f.write(json.dumps({"command": "zoo batch-predict", "complete": False}).encode("utf-8"))
        export, name = model_export(model, output, fmt)
        check_option_values(export, files, options)
        meta = {"command": "zoo batch-predict", "model": name, "export": export,
                "format": export.rsplit(".", 1)[-1], "runner": runner, "workers": workers,
                "inputs": [inputs] if isinstance(inputs, str) else list(inputs),
                "files": len(files), **provenance(model, export)}
        # Beam's batch-size estimator fits a line to its timings with numpy: from a few thousand
        # records on it warned "Polyfit may be poorly conditioned" again and again (not the user's)
        warnings.filterwarnings("ignore", message="Polyfit may be poorly conditioned")
        RECORDS_DONE.n = 0          # this run's count (an earlier run's in this process)
        # worker processes count into a folder of their own (RECORDS_DONE.total)
        counting = (RECORDS_DONE.across_processes() if direct and workers > 1
                    else contextlib.nullcontext())
        with counting as count_into, _interruptible(), \
                beam.Pipeline(runner=_runner(flags) if direct else None,
                              options=PipelineOptions(flags)) as p:
            handler = RuntimeModelHandler(export, options, batch_size, count_into)
            read = (p | "files" >> beam.Create(files) | beam.Reshuffle()
                    | "read" >> beam.FlatMap(read_records).with_outputs("dead", main="records"))
            # Reshuffled: the records of one large file spread over every worker.
            results = (read.records
                       | "keyed" >> beam.Map(lambda r: ((r[0], r[1], r[2]), r[3]))
                       | "spread" >> beam.Reshuffle()
                       | "predict" >> RunInference(handler))
            ok = (results | "ok" >> beam.Filter(lambda kr: kr[1].inference[0] == "ok")
                  | "as line" >> beam.Map(lambda kr: (kr[0][0], (
                      kr[0][1], _line(kr[0][2], "prediction", kr[1].inference[1])))))
            refused = (results | "refused" >> beam.Filter(lambda kr: kr[1].inference[0] != "ok")
                       | beam.Map(lambda kr: (*kr[0], kr[1].inference[1])))
            dead = ((read.dead, refused) | "all dead" >> beam.Flatten()
                    | "dead line" >> beam.Map(lambda d: (d[1], _line(d[2], "error", d[3]))))
            shards = (ok | "by shard" >> beam.GroupByKey()
                      | "write shards" >> beam.Map(write_shard, output, _width(files)))
            dead_info = (dead | "dead list" >> beam.combiners.ToList()
                         | "write dead" >> beam.Map(write_dead_letters, output))
            _ = ((shards, dead_info) | "parts" >> beam.Flatten()
                 | "parts list" >> beam.combiners.ToList()
                 | "write manifest" >> beam.Map(write_manifest, output, meta))
        with _fs().open(_fs().join(output, "manifest.json")) as f:
            manifest = json.loads(f.read().decode("utf-8"))
    if not manifest["predictions"] + manifest["dead_letters"]:     # was a quiet success
        warn(f"the {len(files):,} file(s) that --input matched hold no record (empty files?): "
             f"nothing was predicted")
    return manifest

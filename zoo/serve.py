"""`zoo serve`: models over HTTP with TF Serving's REST API, and a web page at `/`.

    zoo serve ner-bilstm speech-ctc --port 8501
    curl -s localhost:8501/v1/models/ner-bilstm:predict \\
         -d '{"instances": ["EU rejects German call to boycott British lamb ."]}'
    {"predictions": [{"entities": [{"text": "EU", "type": "ORG", ...}, ...], ...}]}

Models are registered names, bundle folders or `.tflite` / `.onnx` exports; each is
served under its name (the file or folder name without suffix; `NAME=SPEC` chooses one).
Exports run through zoo.runtime: a server of exports alone never imports TensorFlow
(`zoo_tensorflow_loaded 0` on /metrics), started as `zoo serve FILE.tflite` or
`python -m zoo.serve FILE.tflite`.

    GET  /v1/models                         the loaded models (not in TF Serving)
    GET  /v1/models/NAME                    status, as TF Serving
    .../NAME/versions/1[:predict|/metadata] the same, by TF Serving's versioned paths
    GET  /v1/models/NAME/metadata           task, backend, options and their bounds
    POST /v1/models/NAME:predict            {"instances": [...], "parameters": {...}}
                                            -> {"predictions": [...]}
    POST /v1/models/NAME:plot               the same, plus the web page's picture
    GET  /healthz, /readyz, /metrics        alive; models loaded; Prometheus metrics
    GET  /                                  the web page (zoo/web/)

An instance is the task's raw input as JSON (its host's from_json: zoo/contract.py,
zoo/webio.py); `parameters` are predict()'s options (`{"beam": 4}`), checked as predict()
checks them. Bad input is a 4xx with the zoo's one-line message, `{"error": "..."}`: 400
bad JSON (or a key given twice), instance or option, 404 an unknown model, 405 a wrong
method (Allow names the right ones; OPTIONS is a 204 with them), 413 too many instances or
too large a body or text, 415 a Content-Encoding other than gzip or an unknown charset,
503 still loading, or --max-queue requests already waiting for the model (Retry-After:
4 full batches, at least 64, by default; 0: no limit); 408 a body not
sent, 504 an answer not ready, within --request-timeout (120 s; a generation past it stops,
freeing the model for the next request: zoo/cancel.py). SIGTERM stops the server
gracefully: no new connections, requests in flight answered (for up to 30 s), then one
line and the status a SIGTERM gives (143).
What the model warns of in a request's inputs (weekly closes read as daily ones, a
document cut to its length) comes as the X-Zoo-Warnings header, a JSON list, beside the JSON
TF Serving's clients read (and in the server's log with the request's id).
Concurrent requests are micro-batched (zoo/batching.py): their answers are those of
one-at-a-time predict(). With `--max-wait-ms 0` (the default) a batch is whatever queued
while the previous one ran: under load batches fill anyway, and a lone request never
waits (benchmarks/results/serve_load.md: waiting 5 ms cost a third of one client's
requests/s and was within noise at 4 and 16 clients).
"""
from __future__ import annotations

import asyncio
import codecs
import contextlib
import copy
import functools
import inspect
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
import warnings
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from . import cancel, registry, webio
from .batching import Batcher
from .contract import Host
from .errors import UnknownModelError, ZooError, ZooWarning
from .options import check_int, check_number, seeds

log = logging.getLogger("zoo.serve")
WEB = Path(__file__).resolve().parent / "web"
EXPORTS = (".tflite", ".onnx")
MAX_TEXT_CHARS = 100_000        # one text instance: NER splits it, summaries read its start
BODY_KEYS = ("instances", "parameters", "signature_name")
SIGNATURE = "serving_default"   # the one signature each model has (as TF Serving's default)
URL_NAME = re.compile(r"\w[\w.~-]*")    # a name that reads the same in a URL path
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")     # \ud800..\udfff in a JSON string
METHODS = ("predict", "plot")
LINGER_BYTES = 64 << 20         # of an over-long body, read and dropped before the 413
GRACE = 30                      # seconds SIGTERM / Ctrl-C wait for requests in flight
VERSION = "1"                   # each model is served as TF Serving's version 1
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
REQUEST_ID = re.compile(r"[\w.:/+=-]{1,128}")    # an X-Request-ID echoed as sent
CHARSET = re.compile(r";\s*charset=\"?([^\s;\"]+)", re.I)   # of a Content-Type
RETRY_AFTER = {"Retry-After": "5"}  # seconds, on a 503 while a model loads (RFC 9110)
QUEUE_PER_BATCH = 4             # --max-queue's default: this many full batches of requests,
QUEUE_LEAST = 64                # and at least this many (16 closed-loop clients at --max-batch 1)
WARNING_HEADER = "X-Zoo-Warnings"   # a JSON list of the warnings of the request's inputs
MAX_WARNINGS = 10               # of them a response carries (the log has every one)
# Static files (/, /web/*) are checked with the server on each use (ETag: a 304 when
# unchanged): with Last-Modified alone a browser reused them for days by heuristic, so a
# newer zoo's index.html ran beside an older app.js.
NO_CACHE = (b"cache-control", b"no-cache")


class ModelName(StringConvertor):
    """A path segment without ':' ({name:zoo_name}), so /v1/models/NAME (GET) and
    /v1/models/NAME:predict (POST) are different routes: a wrong method on either is a 405
    whose Allow header names the right one (GET /v1/models/NAME:predict said 'Allow: GET')."""
    regex = "[^/:]+"


class ModelCall(StringConvertor):
    """NAME:METHOD, one path segment ({target:zoo_call})."""
    regex = "[^/:]+:[^/]*"


register_url_convertor("zoo_name", ModelName())
register_url_convertor("zoo_call", ModelCall())


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers


@dataclass
class Served:
    """One model being served: `model.predict` is ZooModel's or zoo.runtime's."""

    name: str
    spec: str
    backend: str                # "keras", "tflite" or "onnx"
    entry: registry.Entry
    model: object = None
    batcher: Batcher | None = None
    error: str | None = None    # why it failed to load
    # the latest --request-timeout deadline (time.monotonic()) of a request sent to it so
    # far: a batch, of requests sent before it started, stops there (None: no limit)
    until: float | None = None
    queued: int = 0             # requests waiting for the model or running in it
    # id() of each input of a request waiting or running -> [(its request's warnings,
    # its place there)]: the warnings of a merged batch go to their own requests
    owners: dict = field(default_factory=dict)

    @property
    def host(self):
        return self.model.host() if self.backend == "keras" else self.model.host

    def guarded(self, fn):
        """`fn` run in the model's thread under the deadline of its requests: a
        generation whose every client was answered 504 stops (zoo.cancel) and frees the
        thread, where it held every later request for minutes."""
        def run(*args, **kwargs):
            with cancel.deadline(self.until):
                return fn(*args, **kwargs)
        return run

    def batched(self, instances: list, **options):
        """The model's predict over a batch, run in its thread: each request is told the
        warnings of its own inputs (a ZooWarning "input i ..." names the batch's input i,
        renamed as its request's), and those of the call as a whole (owners)."""
        heard: list[str] = []
        with hearing(heard):
            out = self.guarded(self.model.predict)(instances, **options)
        owners = [self.owners.get(id(x), []) for x in instances]
        for text in heard:
            at = INPUT_AT.match(text)
            if at and int(at[1]) < len(instances):
                # an input in two requests (one object: a JSON "a") is both requests'
                for record, i in owners[int(at[1])]:
                    record.append(f"input {i}{text[at.end():]}")
            else:       # of the call: with other requests' inputs in it, it may be theirs
                records = {id(r): r for o in owners for r, _ in o}.values()
                shared = " (of a batch this request shared with others)" if len(records) > 1 \
                    else ""
                for record in records:
                    record.append(text + shared)
        return out


INPUT_AT = re.compile(r"input (\d+)\b")
_hearers = threading.local()    # the list a thread's ZooWarnings go to while it has one
_showwarning = None


@contextlib.contextmanager
def hearing(record: list):
    """ZooWarnings this thread raises meanwhile go to `record`, not the server's stderr
    (for the request's X-Zoo-Warnings header; answer() logs them in one line each)."""
    _hearers.record = record
    try:
        yield record
    finally:
        _hearers.record = None


def _listen() -> None:
    """Route ZooWarnings of a thread in hearing() to its record; others as before. Every
    one is shown (not once per line of code, Python's default): each request is told.
    warnings._showwarnmsg is what warn() calls (its C part too), and what
    catch_warnings() leaves in place (it swaps showwarning: pytest's did)."""
    global _showwarning
    warnings.filterwarnings("always", category=ZooWarning)
    if _showwarning is not None:
        return
    _showwarning = warnings._showwarnmsg

    def show(msg):
        record = getattr(_hearers, "record", None)
        if record is not None and issubclass(msg.category, ZooWarning):
            record.append(" ".join(str(msg.message).split()))
        else:
            _showwarning(msg)
    warnings._showwarnmsg = show


# ---- which models ---------------------------------------------------------------------------
def resolve(specs: list[str]) -> list[Served]:
    """Name, backend and entry of each model spec, checked before anything loads (a typo
    fails at once, naming what is wrong); no specs: every shipped model."""
    from .bundle import check, resolve as bundle_dir
    from .runtime import read_sidecar

    specs = list(specs) or [n for n in registry.names() if registry.get(n).shipped]
    out: dict[str, Served] = {}
    for spec in specs:
        name, eq, path = spec.partition("=")
        if eq and not path:
            raise ZooError(f"{spec!r}: nothing after '='; expected NAME=MODEL (a registered "
                           f"name, a bundle folder or a .tflite/.onnx file)")
        if not eq:
            name, path = Path(spec.rstrip("/")).stem if spec.endswith(EXPORTS) or "/" in spec \
                else spec, spec
        if path.endswith(EXPORTS):
            meta = read_sidecar(Path(path))
            # an ONNX export with functions (music, caption, ...) has no NAME.onnx itself,
            # only its sidecar and a file a function, which the runtime checks
            if not (Path(path).is_file() or meta.get("functions")):
                raise ZooError(f"{path}: no such exported model file; expected a .tflite or .onnx file "
                               f"that zoo export wrote (beside its .json sidecar)")
            backend, entry = meta["format"], _entry_of(meta["model"], meta["host"])
        else:
            backend, entry = "keras", registry.get(check(bundle_dir(path))["model"])
        # "a?b" or "a#b" was served but never reachable: a URL ends its path there.
        if not URL_NAME.fullmatch(name):
            raise ZooError(f"{spec!r}: {name!r} cannot name a model in a URL (letters, digits "
                           f"and . _ ~ - only); use NAME=SPEC")
        if name in out:
            raise ZooError(f"two models named {name!r} ({out[name].spec}, {spec}); name one "
                           f"with NAME=SPEC")
        out[name] = Served(name, spec, backend, entry)
    return list(out.values())


def _entry_of(model: str, host: str) -> registry.Entry:
    if model in registry.names():
        return registry.get(model)
    return next(registry.get(n) for n in registry.names() if registry.get(n).host_module == host)


def load(served: Served, max_batch: int, max_wait_ms: float, metrics) -> None:
    """Open the model, warm it up on its example inputs (the first calls trace graphs),
    and give it a Batcher."""
    path = served.spec.partition("=")[2] or served.spec
    if served.backend == "keras":
        import zoo

        served.model = zoo.load(path)
    else:
        from . import runtime

        served.model = runtime.load(path)
    examples = list(served.entry.demo_inputs) or list(served.host.config.get("examples") or [])
    # Models run in batches of units (no loop of their own) meet new batch shapes under
    # load, and the first call of each shape is slow (a graph traced, kernels prepared:
    # 0.4 s stalls measured): run the batch sizes micro-batching makes most. Hosts with
    # their own loop call batch-1 functions, so one example warms them.
    unit_batched = type(served.host).run is Host.run
    sizes = sorted({1, 2, 4, 8, 16, max_batch} if unit_batched else {1}) if examples else []
    for n in sizes:
        if n <= max_batch:
            try:
                served.model.predict((examples * n)[:n])
            except ZooError as e:     # an example this model refuses is not a failure to load
                log.info("%s: warm-up skipped (%s)", served.name, e)
                break
    served.batcher = Batcher(served.batched, max_batch, max_wait_ms,
                             name=served.name,
                             on_batch=lambda n, r, s: metrics.batch(served.name, n, r, s),
                             per_input=served.host.PER_INPUT_OPTIONS)


# ---- metrics --------------------------------------------------------------------------------
class Metrics:
    """Prometheus metrics in the app's own registry (several apps in one process, e.g. in
    tests, do not collide)."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = r = CollectorRegistry()
        self.requests = Counter("zoo_requests", "HTTP requests", ["model", "method", "code"],
                                registry=r)
        self.latency = Histogram("zoo_request_seconds", "request latency", ["model", "method"],
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5,
                                          5, 10, 30), registry=r)
        self.batch_size = Histogram("zoo_batch_instances", "instances per predict call",
                                    ["model"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
                                    registry=r)
        self.batch_requests = Histogram("zoo_batch_requests", "requests merged per predict "
                                        "call", ["model"], buckets=(1, 2, 4, 8, 16, 32, 64),
                                        registry=r)
        self.predict_seconds = Histogram("zoo_predict_seconds", "seconds per predict call",
                                         ["model"], registry=r)
        Gauge("zoo_tensorflow_loaded", "1 if this process has imported TensorFlow",
              registry=r).set_function(lambda: float("tensorflow" in sys.modules))
        # which models answer: alerts had only /readyz, one bit for the whole server
        self.available = Gauge("zoo_model_available", "1 once a model answers, 0 while "
                               "loading or after it failed to load", ["model"], registry=r)

    def serving(self, served: dict, max_queue: int = 0) -> None:
        from prometheus_client import Gauge

        # how full each model's queue is, against the limit its 503s start at
        queued = Gauge("zoo_queued_requests", "requests waiting for a model or running in "
                       "it", ["model"], registry=self.registry)
        Gauge("zoo_max_queue", "--max-queue: queued requests a model takes before it "
              "answers 503 (0: no limit)", registry=self.registry).set(max_queue)
        for name, s in served.items():
            self.available.labels(name).set_function(lambda s=s: float(s.batcher is not None))
            queued.labels(name).set_function(lambda s=s: float(s.queued))

    def batch(self, model: str, instances: int, requests: int, seconds: float) -> None:
        self.batch_size.labels(model).observe(instances)
        self.batch_requests.labels(model).observe(requests)
        self.predict_seconds.labels(model).observe(seconds)

    def request(self, model: str, method: str, code: int, seconds: float) -> None:
        self.requests.labels(model, method, str(code)).inc()
        self.latency.labels(model, method).observe(seconds)


# ---- the app --------------------------------------------------------------------------------
def create_app(models: list[str], max_batch: int = 32, max_wait_ms: float = 0.0,
               max_instances: int = 64, max_body_mb: float = 16.0,
               request_timeout: float = 120.0, hosts: frozenset | None = None,
               max_queue: int | None = None):
    """The ASGI app; models load in a thread once it starts (/readyz says when). The
    limits are checked first: a bad one is an InputError before the server starts, not a
    model that fails to load behind a running server."""
    check_int(max_batch, "--max-batch", 1)
    check_number(max_wait_ms, "--max-wait-ms", 0)
    check_int(max_instances, "--max-instances", 1)
    check_number(max_body_mb, "--max-body-mb", above=0)
    check_number(request_timeout, "--request-timeout", 0, 86_400)
    max_queue = queue_limit(max_batch) if max_queue is None else max_queue
    check_int(max_queue, "--max-queue", 0)
    served = {s.name: s for s in resolve(models)}
    metrics = Metrics()
    metrics.serving(served, max_queue)
    _listen()
    max_body = int(max_body_mb * (1 << 20))

    def load_all():
        for s in served.values():
            try:
                load(s, max_batch, max_wait_ms, metrics)
                print(f"zoo serve: {s.name} ready ({s.backend})", flush=True)
            except Exception as e:                # kept for /readyz and the model's routes
                s.error = f"{type(e).__name__}: {e}" if not isinstance(e, ZooError) else str(e)
                log.error("%s failed to load: %s", s.name, s.error)

    @asynccontextmanager
    async def lifespan(app):
        app.state.loader = threading.Thread(target=load_all, name="zoo-load", daemon=True)
        app.state.loader.start()
        yield
        for s in served.values():
            if s.batcher:
                s.batcher.close()

    app = FastAPI(title="rnn-zoo", lifespan=lifespan, docs_url=None, redoc_url=None)

    def schema():       # /openapi.json as the server answers (openapi() below)
        if app.openapi_schema is None:
            app.openapi_schema = openapi(app, max_body, max_instances)
        return app.openapi_schema
    app.openapi = schema
    app.add_middleware(Guard, hosts=hosts)
    static = StaticFiles(directory=WEB, html=True)      # /web/ is the page too (was a 404)
    app.mount("/web", static, name="web")
    # every GET route answers HEAD (load balancers, curl -I, link checkers: /metrics,
    # /v1/models and the model routes were 405)
    get = functools.partial(app.api_route, methods=["GET", "HEAD"])

    def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
        # One line, whatever a library put in the message (pandas ends its with a newline),
        # and a short one: a message that quotes the client's input could echo 100 KB
        line = " ".join(message.split())
        return JSONResponse({"error": line if len(line) <= 1000 else line[:997] + "..."},
                            status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):          # unknown routes, wrong methods: TF's format
        where = f"{request.method} {request.url.path}"
        if exc.status_code != 405:
            return error(exc.status_code, f"{where}: {exc.detail}", exc.headers)
        # The methods the path takes, in the Allow header RFC 9110 requires (it was dropped)
        # and in the message; OPTIONS is answered with them, not refused.
        allowed = sorted(m.strip() for m in (exc.headers or {}).get("Allow", "").split(","))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": ", ".join([*allowed, "OPTIONS"])})
        takes = " or ".join(allowed) + (' of {"instances": [...]}' if allowed == ["POST"] else "")
        return error(405, f"{where}: this path takes a {takes}, not {request.method}",
                     {"Allow": ", ".join(allowed)})

    @app.exception_handler(Exception)
    async def bug(request, exc):
        # a bug outside :predict (which catches its own) was Starlette's text/plain
        # 'Internal Server Error', without the request's id: one JSON line, as :predict's.
        # This handler runs outside Guard, so it adds Guard's headers itself.
        rid = request.headers.get("x-request-id", "-")
        log.error("%s %s failed (X-Request-ID %s)", request.method, request.url.path, rid,
                  exc_info=exc)
        return error(500, f"internal error in {request.method} {request.url.path} "
                          f"({type(exc).__name__}); the server log has the traceback",
                     {"X-Request-ID": rid, "X-Content-Type-Options": "nosniff"})

    def model(name: str) -> Served:
        if name not in served:
            raise HTTPError(404, f"no model {name!r} is served here; loaded: "
                                 f"{', '.join(served)}")
        s = served[name]
        if s.error:
            raise HTTPError(503, f"{name} failed to load: {s.error}")
        if s.batcher is None:
            raise HTTPError(503, f"{name} is still loading; try again (GET /readyz)",
                            RETRY_AFTER)
        return s

    def summary(s: Served) -> str:
        """The registered model's summary, and for a bundle fine-tuned on other data what
        it was fine-tuned on (the web page described a WikiANN fine-tune as CoNLL's)."""
        from .card import fine_tuned_from

        tuned = fine_tuned_from(s.entry, getattr(s.model, "metrics", None) or {}) \
            if s.spec != s.entry.name else None       # the registered bundle is the recipe's
        return f"{s.entry.summary} ({tuned})" if tuned else s.entry.summary

    def describe(s: Served) -> dict:
        out = {"name": s.name, "task": s.entry.task, "backend": s.backend, "spec": s.spec,
               "summary": summary(s), "state": "AVAILABLE" if s.batcher else
               ("FAILED" if s.error else "LOADING")}
        if s.error:         # the web page says why, not only that it failed (as /readyz)
            out["error"] = s.error
        if s.batcher:
            from .options import accepted

            host = s.host
            params = accepted(host.encode) or {}
            # the options parse() refuses are not offered: charlm's echo was listed
            # ("true or false") and a request that set it true was a 400
            unserved = (*webio.FILE_OPTIONS, *(("echo",) if host.ECHO else ()))
            out.update(options={k: (None if p.default is p.empty else p.default)
                                for k, p in params.items() if k not in unserved},
                       option_bounds={k: v for k, v in host.OPTION_BOUNDS.items()
                                      if k not in unserved},
                       draws=host.draws() or type(host).web_view is not Host.web_view,
                       example=webio.example(host, s.entry.demo_inputs))
        return out

    @get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @get("/readyz")
    async def readyz():
        waiting = [n for n, s in served.items() if s.batcher is None]
        if waiting:
            failed = [f"{n}: {s.error}" for n, s in served.items() if s.error]
            return error(503, "; ".join(failed)) if failed else \
                error(503, f"loading {', '.join(waiting)}", RETRY_AFTER)
        return {"status": "ready", "models": list(served)}

    @get("/metrics")
    async def prometheus():
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @get("/")
    async def index(request: Request):
        # through StaticFiles, as /web/*: If-None-Match is a 304 (FileResponse sent it whole)
        return await static.get_response("index.html", request.scope)

    @get("/v1/models")
    async def list_models():
        # max_body_bytes: the web page refuses a file too large for it before reading it
        return {"models": [describe(s) for s in served.values()], "max_body_bytes": max_body}

    @get("/v1/models/{name:zoo_name}")
    async def status(name: str):
        try:
            model(name)
        except HTTPError as e:
            if name not in served:
                return error(e.status, str(e))
            # a model that failed to load said LOADING, and a client polling for AVAILABLE
            # waited forever: TF Serving gives a failed version END with the error
            state, code, message = ("END", "UNKNOWN", str(e)) if served[name].error \
                else ("LOADING", "UNAVAILABLE", str(e))
            return JSONResponse({"model_version_status": [{"version": "1", "state": state,
                                 "status": {"error_code": code, "error_message": message}}]},
                                status_code=503, headers=e.headers)
        return {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}

    def version(name: str, version: str) -> str | None:
        """TF Serving's /versions/N path: each model here is version 1 (a client pinned to
        it got a bare 'Not Found'); N is a number, as TF Serving reads it (01 is 1)."""
        if not (version.isascii() and version.isdigit() and int(version) == int(VERSION)):
            return (f"{name} has one version here, {VERSION}; got versions/{version[:40]} "
                    f"(serve another as NAME=SPEC under its own name)")

    @get("/v1/models/{name:zoo_name}/versions/{v:zoo_name}")
    async def version_status(name: str, v: str):
        wrong = version(name, v) if name in served else None
        return error(404, wrong) if wrong else await status(name)

    @app.post("/v1/models/{name:zoo_name}/versions/{target:zoo_call}")
    async def version_post(name: str, target: str, request: Request):
        v, colon, method = target.partition(":")
        wrong = version(name, v) if name in served else None
        return error(404, wrong) if wrong else await post(f"{name}{colon}{method}", request)

    @get("/v1/models/{name:zoo_name}/versions/{v:zoo_name}/metadata")   # TF Serving's too
    async def version_metadata(name: str, v: str):
        wrong = version(name, v) if name in served else None
        return error(404, wrong) if wrong else await metadata(name)

    @app.api_route("/v1/models/{name:zoo_name}/labels/{label:path}",
                   methods=["GET", "HEAD", "POST"], include_in_schema=False)
    async def labels(name: str, label: str):
        return error(404, f"/v1/models/{name}/labels/{label[:40]}: models here have no "
                          f"version labels; each is version {VERSION} (/v1/models/{name} or "
                          f".../versions/{VERSION})")

    @get("/v1/models/{name:zoo_name}/metadata")
    async def metadata(name: str):
        try:
            s = model(name)
        except HTTPError as e:
            return error(e.status, str(e), e.headers)
        return {"model_spec": {"name": name, "signature_name": SIGNATURE,
                               "version": "1"},
                "metadata": {**describe(s), "tensorflow_loaded": "tensorflow" in sys.modules}}

    async def answer(s: Served, method: str, request: Request, step: list,
                     until: float | None, heard: list) -> str:
        body = await read_json(request, max_body)
        step[0] = "answer"
        instances, options = parse(s, body, max_instances)
        with hearing(heard):    # this thread's, between awaits: this request's alone
            raw = [webio.raw_input(i, x, s.host) for i, x in enumerate(instances)]
        # No queue grows without end: past --max-queue requests waiting for this model, a
        # 503 with Retry-After (as TF Serving's full batching queue), not minutes of waiting
        # for a 504 while memory holds every body.
        if max_queue and s.queued >= max_queue:
            raise HTTPError(503, f"{s.name} has {s.queued} requests waiting (--max-queue "
                                 f"{max_queue}); try again shortly", {"Retry-After": "1"})
        if until is not None:
            s.until = max(s.until or until, until)
        s.queued += 1
        try:
            if method == "predict":
                alone = any(options.get(k) for k in s.host.WHOLE_REQUEST_OPTIONS)
                options = own_values(s.host, options, len(raw))
                for i, x in enumerate(raw):
                    s.owners.setdefault(id(x), []).append((heard, i))
                try:
                    return dumps({"predictions": await s.batcher.submit(raw, options, alone)})
                finally:
                    for i, x in enumerate(raw):
                        mine = [o for o in s.owners.get(id(x), []) if o[0] is not heard]
                        if mine:
                            s.owners[id(x)] = mine
                        else:
                            s.owners.pop(id(x), None)

            def picture(*args):
                with hearing(heard):
                    return s.guarded(webio.picture)(*args)
            return dumps(await s.batcher.call(picture, s.model, s.host, raw, options))
        finally:
            s.queued -= 1

    @app.post("/v1/models/{target:zoo_call}")
    async def post(target: str, request: Request):
        start = time.perf_counter()
        name, _, method = target.partition(":")
        code, step, heard = 200, ["body"], []
        try:
            if method not in METHODS:
                raise HTTPError(404, f"POST /v1/models/{target}: unknown method {method!r}; "
                                     f"expected NAME:predict (or NAME:plot)")
            s = model(name)
            # No request runs unbounded: a client that never ends its body held a task
            # forever, and a generation at its caps (charlm: 100,000 steps, minutes) held
            # its client as long. Past the limit, a job still queued is dropped (its
            # future cancelled: the Batcher skips it); one running stops at its next step
            # past the deadline (zoo.cancel; Served.guarded), freeing the model's thread.
            late = HTTPError(504, f"{name}:{method} did not answer within "
                                  f"{request_timeout:g} s (--request-timeout); send fewer "
                                  f"or smaller inputs, or ask the operator for a longer limit")
            until = time.monotonic() + request_timeout if request_timeout else None
            try:
                text = await asyncio.wait_for(answer(s, method, request, step, until,
                                                     heard), request_timeout or None)
            except asyncio.TimeoutError:
                raise HTTPError(408, f"the request body was not received within "
                                     f"{request_timeout:g} s (--request-timeout)") \
                    if step[0] == "body" else late from None
            except cancel.Cancelled:   # the model stopped at the deadline, just before it
                raise late from None
            response = Response(text, media_type="application/json")
            said = warned(heard, f"{name}:{method}", request)
            if said:
                response.headers[WARNING_HEADER] = json.dumps(said)    # ASCII: \uXXXX
            return response
        except HTTPError as e:
            code = e.status
            return error(code, str(e), e.headers)
        except ClientDisconnect:       # gone before its body was read: no one to answer,
            code = 499                 # and not a 500 with a traceback in the log (nginx's 499)
            log.info("%s:%s: the client disconnected before sending its whole body", name,
                     method)
            return Response(status_code=code)
        except UnknownModelError as e:
            code = 404
            return error(code, str(e))
        except ZooError as e:          # InputError, DataFormatError, ...: the client's input
            code = 400
            return error(code, str(e))
        except Exception as e:         # a bug of ours, never the client's fault: say so
            code = 500
            log.error("%s:%s failed (X-Request-ID %s):\n%s", name, method,
                      request.headers.get("x-request-id", "-"), traceback.format_exc())
            return error(code, f"internal error in {name}:{method} ({type(e).__name__}: "
                               f"{str(e)[:200]}); the server log has the traceback")
        finally:
            # labels from a fixed set: any method a client sent was a new time series
            metrics.request(name if name in served else "-",
                            method if method in METHODS else "-", code,
                            time.perf_counter() - start)

    app.state.served, app.state.max_queue = served, max_queue
    return app


ERRORS = {      # what each kind of route answers besides 200, all as {"error": "..."}
    "all": {"403": "another site's request (Origin), or a Host this server does not answer"},
    "model": {"404": "no such model or version", "503": "the model is loading, or has "
              "--max-queue requests waiting (Retry-After), or failed to load"},
    "POST": {"400": "bad JSON, instance or option", "405": "a wrong method (Allow names the "
             "right one)", "408": "the body was not sent within --request-timeout", "413":
             "too many instances, too large a body or text", "415": "a Content-Encoding other "
             "than gzip, or an unknown charset", "500": "a bug of the server (its log has the "
             "traceback)", "504": "no answer within --request-timeout"},
}


def openapi(app, max_body: int, max_instances: int) -> dict:
    """/openapi.json as the server answers: FastAPI's, less the 422 validation errors no
    route gives, plus the error answers each route does give ({"error": "..."}) and the
    predict body (it said nothing of either)."""
    from fastapi.openapi.utils import get_openapi

    # HEAD is each GET route's too; described once (FastAPI gave both one operation id)
    routes = [copy.copy(r) for r in app.routes]
    for r in routes:
        if {"GET", "HEAD"} <= (getattr(r, "methods", None) or set()):
            r.methods = r.methods - {"HEAD"}
    doc = get_openapi(title=app.title, version=VERSION, routes=routes,
                      description="TF Serving's REST API (README, 'Serving'). Every error is "
                      '{"error": "one line"} with Content-Type application/json.')
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = {"type": "object", "required": ["error"],
                        "properties": {"error": {"type": "string"}}}
    schemas["PredictRequest"] = {
        "type": "object", "required": ["instances"], "additionalProperties": False,
        "properties": {
            "instances": {"type": "array", "minItems": 1, "maxItems": max_instances,
                          "description": "each task's raw input as JSON; a file as "
                                         '{"b64": "..."}'},
            "parameters": {"type": "object", "description": "predict()'s options (GET "
                           "/v1/models/NAME/metadata lists them and their bounds)"},
            "signature_name": {"type": "string", "enum": [SIGNATURE]}}}
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            kinds = ["all"] + ["model"] * ("{name}" in path or "{target}" in path) \
                + ["POST"] * (method == "post")
            for kind in kinds:
                for code, what in ERRORS[kind].items():
                    responses[code] = {"description": what, "content": ref}
            if path == "/readyz":
                responses["503"] = {"description": "a model is loading or failed to load",
                                    "content": ref}
            if method == "post":
                op["requestBody"] = {"required": True, "description": f"at most "
                                     f"{max_body:,} bytes (--max-body-mb), gzip allowed",
                                     "content": {"application/json": {"schema": {
                                         "$ref": "#/components/schemas/PredictRequest"}}}}
    return doc


class Guard:
    """What every request and answer goes through. X-Request-ID, as proxies and tracing
    expect: the client's echoed (when it is a plain token), else a new one, on every
    response and in the server log's tracebacks; `X-Content-Type-Options: nosniff`, so a
    browser takes a JSON or PNG answer for what its Content-Type says.

    And two refusals (403) that keep other websites off a server a user runs on their own
    machine. A POST whose Origin is not this server's own: any page the user visits could
    send a "simple" cross-site POST (text/plain, no preflight) and run the models; curl and
    TF Serving's clients send no Origin and are not affected. And, with `hosts` (the names of
    a loopback address), a Host header naming anything else: a page whose domain was
    re-pointed at 127.0.0.1 (DNS rebinding) is same-origin to the browser."""

    def __init__(self, app, hosts: frozenset | None = None):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        if rid != given:        # the handler and its log see the one the client gets
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"]
                                          if k != b"x-request-id"]
                     + [(b"x-request-id", rid.encode())]}

        static = scope["path"] == "/" or scope["path"].startswith("/web/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", rid.encode()),
                                                  (b"x-content-type-options", b"nosniff"),
                                                  *([NO_CACHE] if static else [])]}
            await send(message)

        text = {k: headers.get(k, b"").decode("latin-1") for k in
                (b"host", b"origin", b"x-forwarded-host")}
        refused = self.refused(scope["method"], text[b"host"], text[b"origin"] or None,
                               text[b"x-forwarded-host"])
        if b"host" not in headers and scope.get("http_version") != "1.0":   # RFC 9112 3.2
            return await JSONResponse({"error": "an HTTP/1.1 request without a Host header; "
                                       "expected one (or HTTP/1.0)"}, status_code=400)(
                scope, receive, send_with_headers)
        if refused:
            return await JSONResponse({"error": refused}, status_code=403)(
                scope, receive, send_with_headers)
        await self.app(scope, receive, send_with_headers)

    def refused(self, method: str, host: str, origin: str | None,
                forwarded: str = "") -> str | None:
        """Why a request is refused, or None. An Origin is this server's own when it names
        the Host (the scheme aside: a proxy may take TLS) or a proxy's X-Forwarded-Host,
        which a browser never lets a cross-site page set without a preflight.

        >>> g = Guard(None, frozenset({"127.0.0.1", "localhost"}))
        >>> g.refused("POST", "127.0.0.1:8501", "http://127.0.0.1:8501"), g.refused("POST", "localhost:8501", None)
        (None, None)
        >>> g.refused("POST", "127.0.0.1:8501", "https://evil.example")[:56]
        "a cross-site request (Origin 'https://evil.example') is "
        >>> g.refused("GET", "evil.example:8501", None)[:43]
        "Host 'evil.example:8501' is refused: this s"
        """
        name = host if host.endswith("]") else host.rsplit(":", 1)[0]
        # No Host at all (HTTP/1.0: curl -0, old probes) is no browser, which always sends
        # one, so no rebinding: it was refused as "Host ''"
        if self.hosts is not None and host and name.lower() not in self.hosts:
            return (f"Host {host[:100]!r} is refused: this server listens on a loopback address "
                    f"and answers to {', '.join(sorted(self.hosts))} only (zoo serve "
                    f"--allow-host NAME adds a name, e.g. a reverse proxy's)")
        own = {host.lower(), forwarded.lower()} - {""}
        # Any method but GET and HEAD: a CORS preflight (OPTIONS) from another site gets
        # this answer too, not a 405 that said nothing of the policy (there is no CORS)
        if method not in ("GET", "HEAD") and origin is not None \
                and origin.partition("://")[2].rstrip("/").lower() not in own:
            return (f"a cross-site request (Origin {origin[:100]!r}) is refused: this server "
                    f"allows no CORS; it answers its own page and clients that send no Origin "
                    f"(curl, TF Serving clients)")
        return None


async def read_json(request, limit: int):
    """The request body as JSON, refused past `limit` bytes (413) before it is all read."""
    length = request.headers.get("content-length")
    over = (f"request body of {int(length):,} bytes; this server takes at most {limit:,} "
            f"(--max-body-mb)") if length and length.isdigit() and int(length) > limit else None
    # A client that waits for "100 Continue" (curl) sends nothing more: answer at once.
    # Others go on sending, and closing on them reset the connection before they read the
    # 413 (urllib, requests: "Connection reset by peer"), so the rest of an over-long body
    # is read and dropped first, up to LINGER_BYTES more (nginx's lingering close).
    if over and "100-continue" in request.headers.get("expect", "").lower():
        raise HTTPError(413, over)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if over is None and size > limit:
            over = (f"request body over {limit:,} bytes; this server takes at most {limit:,} "
                    f"(--max-body-mb)")
        if over is None:
            chunks.append(chunk)
        elif size > limit + LINGER_BYTES:
            break
    if over:
        raise HTTPError(413, over)
    body = b"".join(chunks)
    # A gzip body (Content-Encoding: gzip, as TF Serving takes) was read as JSON: "not valid
    # JSON ('utf-8' codec can't decode byte 0x8b...)"; another coding was ignored.
    coding = request.headers.get("content-encoding", "identity").strip().lower()
    if coding in ("gzip", "x-gzip"):
        body = gunzip(body, limit)
    elif coding != "identity":
        raise HTTPError(415, f"Content-Encoding {coding[:40]!r} is not accepted; send the body "
                             f"as it is or gzip-compressed (Content-Encoding: gzip)")
    if not body:        # HTTP/1.0 without Content-Length sends none: 'Expecting value'
        raise HTTPError(400, "the body is empty (sent without a Content-Length?); expected "
                             "{\"instances\": [...]}")
    text = decode(body, request.headers.get("content-type", ""))
    try:
        # a key given twice ({"parameters": ..., "parameters": ...}, a row's "close") kept
        # the last one without a word
        data = json.loads(text, object_pairs_hook=unique_keys)
    except UnicodeDecodeError as e:
        raise HTTPError(400, f"the body is not UTF-8 ({str(e)[:100]}); send JSON as UTF-8 or "
                             f"name its encoding (Content-Type: application/json; "
                             f"charset=...)") from None
    except ValueError as e:
        # a form upload (curl -F, an HTML form) is no JSON: say so, not only 'Expecting value'
        form = " (Content-Type multipart/form-data: send the JSON itself as the body)" if \
            "multipart/" in request.headers.get("content-type", "").lower() else ""
        raise HTTPError(400, f"the body is not valid JSON ({str(e)[:100]}){form}; expected "
                             f"{{\"instances\": [...]}}") from None
    except RecursionError:      # [[[[...: the parser's stack, not a bug of ours (was a 500)
        raise HTTPError(400, "the body's JSON nests lists or objects too deeply to read; "
                             "expected {\"instances\": [...]}") from None
    # A lone UTF-16 surrogate ("\ud800" without its pair) parses but is no character: an
    # answer that echoes it (NER's tokens) could not be written as UTF-8 (a 500). Only
    # bodies with such escapes pay for the check.
    if SURROGATE_ESCAPE.search(body) or isinstance(text, str):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as e:
            raise HTTPError(400, f"the body holds a lone UTF-16 surrogate "
                                 f"({e.object[e.start]!r} without its pair), which is no "
                                 f"character; expected text that encodes to UTF-8") from None
    return data


def decode(body: bytes, content_type: str) -> bytes | str:
    """The body as the charset its Content-Type names (latin-1 was read as UTF-8: 'not valid
    JSON (utf-8 codec can't decode...)'); without one, the bytes (json reads UTF-8, -16 and
    -32, with or without a BOM)."""
    charset = CHARSET.search(content_type)
    if not charset:
        return body
    try:
        codec = codecs.lookup(charset[1]).name
    except LookupError:
        raise HTTPError(415, f"charset {charset[1][:40]!r} is not an encoding this server "
                             f"knows; send JSON as UTF-8") from None
    try:
        return body.decode(codec).removeprefix("\ufeff")     # a BOM is no JSON
    except UnicodeDecodeError as e:
        raise HTTPError(400, f"the body is not {charset[1][:40]} as its Content-Type says "
                             f"({str(e)[:100]}); send JSON as UTF-8") from None


def unique_keys(pairs: list) -> dict:
    """A JSON object's pairs as a dict, refused (400) when a key comes twice."""
    out = dict(pairs)
    if len(out) < len(pairs):
        seen = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise HTTPError(400, f"the key {json.dumps(twice)[:60]} is given twice in one object; "
                             f"expected each key once")
    return out


def gunzip(body: bytes, limit: int) -> bytes:
    """A gzip body uncompressed, refused (413) once it passes `limit` bytes: a few KB of
    gzip can hold gigabytes."""
    import zlib

    inflate = zlib.decompressobj(wbits=31)      # 31: the gzip header and trailer
    try:
        data = inflate.decompress(body, limit + 1)
        whole = inflate.eof and not inflate.unused_data
    except zlib.error as e:
        raise HTTPError(400, f"the body is not valid gzip ({e}); expected it compressed as "
                             f"Content-Encoding: gzip says") from None
    if len(data) > limit:
        raise HTTPError(413, f"request body over {limit:,} bytes once uncompressed; this "
                             f"server takes at most {limit:,} (--max-body-mb)")
    if not whole:
        raise HTTPError(400, "the body's gzip stream is cut short or followed by other "
                             "bytes; expected one whole gzip stream")
    return data


def warned(heard: list, where: str, request) -> list[str]:
    """The X-Zoo-Warnings header's list of a request's warnings (weekly closes read as daily,
    a document cut to the model's length), each logged in one line with the request's id.
    They reached the server's log alone, and a client never knew its forecast was dated
    wrong. A header, not a key beside "predictions": TF Serving's envelope stays as it is
    (a strict client, or one comparing with `zoo predict --json`, reads the same body),
    and a client that knows the header reads it. One header, a JSON list (json.dumps: ASCII,
    as header values are kept): one header a warning was joined by fetch() with ", ", which
    the warnings hold too. Each cut to 500 characters, at most 10."""
    rid = request.headers.get("x-request-id", "-")
    out = []
    for text in dict.fromkeys(heard):       # once each, in order
        log.warning("%s: %s (X-Request-ID %s)", where, text, rid)
        out.append(text if len(text) <= 500 else text[:497] + "...")
    if len(out) > MAX_WARNINGS:
        out[MAX_WARNINGS - 1:] = [f"{len(out) - MAX_WARNINGS + 1} more warnings (the server "
                                  f"log has them)"]
    return out


def queue_limit(max_batch: int) -> int:
    """--max-queue's default: QUEUE_PER_BATCH full batches of one-input requests, at
    least QUEUE_LEAST (a 503 sooner than that turned away clients a batch would serve)."""
    return max(QUEUE_LEAST, QUEUE_PER_BATCH * max_batch) if isinstance(max_batch, int) \
        else QUEUE_LEAST


def dumps(answer) -> str:
    """A response's JSON: webio.to_json's, as `zoo predict --json` and batch-predict write it
    (NaN and infinities, which clients' parsers refuse, as null; a float32's value with its
    own digits). A strict json.dumps first skipped that for answers without NaN, so the
    Python floats hosts return (music's nll_per_step, caption's attention lists) came with
    float64 digits here and float32 digits there: 11.586785316467285 vs 11.586785."""
    return json.dumps(webio.to_json(answer), ensure_ascii=False, allow_nan=False)


def own_values(host, options: dict, n: int) -> dict:
    """`options` with each of the host's PER_INPUT_OPTIONS as one value per instance (its
    default too: a charlm request without a seed draws from 0, 1, ...), so a request merged
    into a larger call answers as it would alone (it drew from its place in the batch)."""
    for k in host.PER_INPUT_OPTIONS:
        given = options.get(k, inspect.signature(host.encode).parameters[k].default)
        options = {**options, k: seeds(given, n, k)}
    return options


def parse(s: Served, body, max_instances: int) -> tuple[list, dict]:
    """The instances and options of a predict body, checked (400 / 413)."""
    if not isinstance(body, dict):
        raise HTTPError(400, f"expected a JSON object {{\"instances\": [...]}}; got "
                             f"{type(body).__name__}")
    if "instances" not in body:
        hint = " (the columnar \"inputs\" format is not served)" if "inputs" in body else ""
        raise HTTPError(400, f"the body has no \"instances\"{hint}; expected "
                             f"{{\"instances\": [...], \"parameters\": {{...}}}}")
    unknown = sorted(set(body) - set(BODY_KEYS))
    if unknown:
        raise HTTPError(400, f"unknown field(s) {', '.join(unknown)}; a predict body has "
                             f"{', '.join(BODY_KEYS)}")
    signature = body.get("signature_name", SIGNATURE)
    if signature != SIGNATURE:      # was ignored: another signature's answer is not this one
        raise HTTPError(400, f"\"signature_name\" {json.dumps(signature)[:60]}: each model "
                             f"here has one signature, \"{SIGNATURE}\"")
    instances, options = body["instances"], body.get("parameters")
    options = {} if options is None else options     # [] or 0 is refused below, not ignored
    if not isinstance(instances, list) or not instances:
        raise HTTPError(400, f"\"instances\" must be a non-empty list of inputs; got "
                             f"{json.dumps(instances)[:60]}")
    if len(instances) > max_instances:
        raise HTTPError(413, f"{len(instances)} instances; this server takes at most "
                             f"{max_instances} a request (--max-instances)")
    if not isinstance(options, dict):
        raise HTTPError(400, f"\"parameters\" must be an object of options, e.g. "
                             f"{{\"beam\": 4}}; got {type(options).__name__}")
    for key in webio.FILE_OPTIONS:
        if key in options:
            raise HTTPError(400, f"option {key!r} writes a file on the server and is not "
                                 f"served; {s.name}:plot returns pictures and MIDI instead")
    if s.host.ECHO and options.get("echo") not in (None, False):
        # charlm's echo wrote the generated text to the server's console, not the client
        raise HTTPError(400, "option 'echo' writes to the server's console and is not served; "
                             "the answer holds the whole text")
    if webio.takes_text(s.host):
        for i, x in enumerate(instances):
            n = len(x) if isinstance(x, str) else sum(map(len, x)) if (
                isinstance(x, list) and all(isinstance(t, str) for t in x)) else 0
            if n > MAX_TEXT_CHARS:
                raise HTTPError(413, f"input {i}: {n:,} characters; this server takes at "
                                     f"most {MAX_TEXT_CHARS:,} a text")
    return instances, options


def serve(models: list[str], host: str = "127.0.0.1", port: int = 8501, max_batch: int = 32,
          max_wait_ms: float = 0.0, max_instances: int = 64, max_body_mb: float = 16.0,
          request_timeout: float = 120.0, allow_hosts: tuple = (),
          max_queue: int | None = None) -> None:
    """Run the server until interrupted (`zoo serve`). Port 0 picks a free one; the first
    line printed says which."""
    import uvicorn

    check_int(port, "--port", 0, 65535)             # before the models load, not after
    # on a loopback address, only its own names are answered (Guard: DNS rebinding)
    loopback = (LOOPBACK_NAMES | {h.lower() for h in allow_hosts}
                if host in LOOPBACK_NAMES else None)
    app = create_app(models, max_batch, max_wait_ms, max_instances, max_body_mb,
                     request_timeout, loopback, max_queue)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, so asyncio sets TCP_NODELAY on each connection (it checks the
    # protocol): with Nagle's algorithm a response's second write waits for the client's
    # delayed ACK, 40 ms a request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        raise ZooError(f"cannot listen on {host}:{port} ({e.strerror}); expected an address "
                       f"of this machine (--host) and a free port (--port)") from None
    port = sock.getsockname()[1]
    host = host or "0.0.0.0"        # '' binds every interface; http://:8501/ is no URL
    if host in ("0.0.0.0", "::"):
        print(f"zoo serve: warning: listening on every interface ({host}): any "
              f"machine that reaches this one can use it, and it has no authentication",
              file=sys.stderr, flush=True)
    # http://::1:8501/ is no URL (a client reads port 1 of host ':'): an IPv6 address is
    # written in brackets
    where = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"zoo serve: http://{where}:{port}/ loading {', '.join(app.state.served)} "
          f"(max batch {max_batch}, max wait {max_wait_ms:g} ms, max queue "
          f"{app.state.max_queue or 'unlimited'})", flush=True)
    # SIGTERM (kill, docker stop, Kubernetes): uvicorn stops accepting, lets requests in
    # flight finish (they were cut after 5 s; now each ends within --request-timeout,
    # answered or 504, up to Kubernetes' default grace of 30 s) and then raises the signal
    # again, which ended the process without a word.
    # Our handler then says so and leaves at once with SIGTERM's status (143 in a shell):
    # an interpreter's normal exit joins the model threads, so a generation still running
    # in one (its client answered 504) held the process until it was done.
    signal.signal(signal.SIGTERM, _terminated)
    # SIGHUP (its terminal closed, an ssh session gone; `kill -HUP` to reload, as nginx)
    # ended the process at once without a word, requests in flight cut: the server has
    # nothing to reload, so it stops as on SIGTERM, after them, and says which signal.
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _hung_up)
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=min(request_timeout or GRACE, GRACE) + 1,
                            http=header_deadline(request_timeout or None))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        # Ctrl-C while models load: the interpreter's exit with TensorFlow busy in the
        # loading thread aborted ('terminate called without an active exception', status
        # 134); after, it waited for a model thread still running a request. Nothing is
        # left to save: leave at once.
        loader = getattr(app.state, "loader", None)
        loading = loader is not None and loader.is_alive()
        print(f"zoo serve: interrupted{' while loading models' if loading else ''}",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)


def header_deadline(seconds: float | None):
    """uvicorn's HTTP protocol, with `seconds` for a request's headers to arrive: a
    connection that sent nothing, or headers a byte at a time that never ended, was held
    open for ever (uvicorn times a connection out only between requests), one socket each
    until the process ran out of them. Each connection waits at most that long for the
    next request's headers; then it is closed.

    And a request that is no HTTP (a malformed request line, Content-Length or chunk)
    gets the server's JSON error, as every other 4xx, not uvicorn's plain text."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class Protocol(AutoHTTPProtocol):
        def connection_made(self, transport):
            super().connection_made(transport)
            self._wait_for_headers()

        def on_response_complete(self):
            super().on_response_complete()
            self._wait_for_headers()

        def send_400_response(self, msg):      # the parser's: the app never saw the request
            body = json.dumps({"error": "the request is not valid HTTP/1.1 (its request line, "
                               "a header, Content-Length or a chunk size); expected e.g. POST "
                               "/v1/models/NAME:predict with a JSON body"}).encode()
            head = [*self.server_state.default_headers, (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(body)), (b"connection", b"close"),
                    (b"x-request-id", uuid.uuid4().hex.encode()),
                    (b"x-content-type-options", b"nosniff")]
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\n" + b"".join(
                k + b": " + v + b"\r\n" for k, v in head) + b"\r\n" + body)
            self.transport.close()

        def _wait_for_headers(self):
            if seconds is None:             # --request-timeout 0: no limit
                return
            # self.cycle is the request whose headers came last: unchanged, none came
            self.loop.call_later(seconds, self._headers_late, self.cycle)

        def _headers_late(self, cycle):
            if self.cycle is cycle and not self.transport.is_closing():
                self.transport.close()
    return Protocol


def _hung_up(signum, frame):
    print("zoo serve: SIGHUP (the terminal closed, or kill -HUP): stopping as on SIGTERM; "
          "nothing is reloaded (start zoo serve again for new models)", file=sys.stderr,
          flush=True)
    signal.raise_signal(signal.SIGTERM)


def _terminated(signum, frame):
    print("zoo serve: stopped by SIGTERM, after the requests in flight",
          file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(128 + signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """`python -m zoo.serve ...`: `zoo serve` without the CLI's TensorFlow import, for a
    server of exports alone (the small-container story)."""
    from .cli import _parser

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = _parser().parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    try:
        serve(args.models, host=args.host, port=args.port, max_batch=args.max_batch,
              max_wait_ms=args.max_wait_ms, max_instances=args.max_instances,
              max_body_mb=args.max_body_mb, request_timeout=args.request_timeout,
              allow_hosts=tuple(args.allow_host), max_queue=getattr(args, "max_queue", None))
    except ZooError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:   # Ctrl-C: uvicorn re-raises it once stopped (was a traceback)
        print("zoo serve: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

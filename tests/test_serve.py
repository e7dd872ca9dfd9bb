"""`zoo serve` (zoo/serve.py): the REST API against real servers on 127.0.0.1, each in its
own process: ner-bilstm through Keras, and forecast-lstm exported to .tflite through
zoo.runtime, in a process that must never import TensorFlow. Answers are compared with
in-process predict(); bad input must be a 4xx with a one-line message, never a 5xx."""
import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from zoo import webio
from zoo.batching import Batcher
from zoo.errors import InputError, UnknownModelError, ZooError

REPO = Path(__file__).resolve().parent.parent
# One worker of `make test -n 2` runs them all, so each server starts once.
pytestmark = pytest.mark.xdist_group("serve")

SENTENCES = [
    "EU rejects German call to boycott British lamb .",
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday .",
    "U.N. official Ekeus heads for Baghdad .",
    "Peter Blackburn",
    "Japan began the defence of their Asian Cup title with a lucky 2-1 win against Syria .",
    "Nadim Ladki",
    "AL-AIN , United Arab Emirates 1996-12-06",
    "But China saw their luck desert them in the second match of the group .",
]


class Server:
    """`python -m zoo.serve ARGS --port 0` (or another `module`) in a subprocess; the port
    is read from its first line. Stopped (and its log shown on failure) when the module's
    tests end."""

    def __init__(self, args: list[str], log: Path, timeout: float = 240, module="zoo.serve"):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args, "--port", "0"],
                                     cwd=REPO, env=env, stdout=log.open("w"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        self.url = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{log.read_text()}")
            text = log.read_text()
            if self.url is None and "http://127.0.0.1:" in text:
                port = text.split("http://127.0.0.1:")[1].split("/")[0]
                self.url = f"http://127.0.0.1:{port}"
            if self.url:
                try:
                    if httpx.get(self.url + "/readyz", timeout=5).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s:\n{log.read_text()}")

    def post(self, path: str, body=None, content=None, **kw) -> httpx.Response:
        return httpx.post(self.url + path, json=body, content=content, timeout=60, **kw)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def ner(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-ner") / "server.log"
    server = Server(["ner-bilstm", "--max-wait-ms", "20", "--max-batch", "16",
                     "--max-instances", "8", "--max-body-mb", "1"], log)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lite(exported, tmp_path_factory):
    path, _ = exported("forecast-lstm", "tflite")
    log = tmp_path_factory.mktemp("serve-lite") / "server.log"
    server = Server([f"forecast-lstm={path}"], log)
    server.path = path
    yield server
    server.stop()


def metric(server: Server, name: str, **labels) -> float:
    """The value of one Prometheus sample on /metrics (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(server.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_predict_answers_are_in_process_predict(ner, shipped):
    expected = webio.to_json(shipped("ner-bilstm").predict(SENTENCES))
    r = ner.post("/v1/models/ner-bilstm:predict", {"instances": SENTENCES})
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": expected}
    r = ner.post("/v1/models/ner-bilstm:predict", {"instances": [["EU", "rejects", "it"]]})
    assert r.json()["predictions"][0]["tags"][0] == "B-ORG"


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(ner, shipped):
    """48 requests at once, one sentence each: merged into batches (max wait 20 ms), and
    every answer is exactly what one-at-a-time predict() gives for that sentence."""
    sentences = [f"{s} ({i})" for i, s in enumerate(SENTENCES * 6)]
    m = shipped("ner-bilstm")
    expected = [webio.to_json(m.predict([s]))[0] for s in sentences]
    merged_before = metric(ner, "zoo_batch_requests_sum", model="ner-bilstm")
    calls_before = metric(ner, "zoo_batch_requests_count", model="ner-bilstm")

    async def clients():
        async with httpx.AsyncClient(base_url=ner.url, timeout=60) as client:
            return await asyncio.gather(*[
                client.post("/v1/models/ner-bilstm:predict", json={"instances": [s]})
                for s in sentences])

    answers = asyncio.run(clients())
    assert [a.status_code for a in answers] == [200] * len(sentences)
    assert [a.json()["predictions"][0] for a in answers] == expected
    merged = metric(ner, "zoo_batch_requests_sum", model="ner-bilstm") - merged_before
    calls = metric(ner, "zoo_batch_requests_count", model="ner-bilstm") - calls_before
    assert merged == len(sentences) and calls < len(sentences) / 2, (merged, calls)


BAD = [  # (body or raw bytes, status, words the message must hold)
    (b"[1", 400, "not valid JSON"),
    (b"\xff\xfe", 400, "not valid JSON"),
    ([], 400, "JSON object"),
    ({}, 400, "no \"instances\""),
    ({"inputs": ["x"]}, 400, "columnar"),
    ({"instances": "EU"}, 400, "non-empty list"),
    ({"instances": []}, 400, "non-empty list"),
    ({"instances": ["x"] * 9}, 413, "at most 8"),
    ({"instances": ["x"], "extra": 1}, 400, "unknown field"),
    ({"instances": [3]}, 400, "input 0"),
    ({"instances": ["ok", None]}, 400, "input 1"),
    ({"instances": [{"text": "x"}]}, 400, "input 0"),
    ({"instances": [[["nested"]]]}, 400, "input 0"),
    ({"instances": [""]}, 400, "empty sentence"),
    ({"instances": ["   "]}, 400, "empty sentence"),
    ({"instances": [[]]}, 400, "input 0"),
    ({"instances": [{"b64": "%%%"}]}, 400, "base64"),
    ({"instances": [{"b64": base64.b64encode(b"\xff\xfe").decode()}]}, 400, "UTF-8"),
    ({"instances": ["x"], "parameters": {"beam": 4}}, 400, "unknown option 'beam'"),
    ({"instances": ["x"], "parameters": {"out": "/tmp/x"}}, 400, "writes a file"),
    ({"instances": ["x"], "parameters": [1]}, 400, "parameters"),
    ({"instances": ["x"], "parameters": {"batch_size": 0}}, 400, "batch_size"),
    ({"instances": ["x" * 150_000]}, 413, "characters"),
    ({"instances": ["x" * (1 << 20)]}, 413, "body"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "nests"),                  # was a 500 (RecursionError)
    (b'{"instances": ["\\ud800 EU"]}', 400, "lone UTF-16 surrogate"),  # was a 500 (UTF-8 encode)
    ({"instances": ["x"], "signature_name": "classify"}, 400, "serving_default"),  # was ignored
    ({"instances": ["x"], "parameters": []}, 400, "parameters"),               # was ignored
]


@pytest.mark.parametrize("body,status,words", BAD, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD)])
def test_bad_input_is_a_4xx_with_a_one_line_message(ner, body, status, words):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = ner.post("/v1/models/ner-bilstm:predict", content=raw)
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert words in message and "\n" not in message and "Traceback" not in message


def test_a_gzip_body_is_read_and_other_codings_or_an_empty_body_refused(ner):
    """A gzip body (Content-Encoding: gzip, as TF Serving takes) was 'not valid JSON
    ('utf-8' codec can't decode byte 0x8b ...)'; another coding was ignored; an empty body
    (HTTP/1.0 without Content-Length) was 'Expecting value: line 1 column 1'."""
    import gzip

    path, body = "/v1/models/ner-bilstm:predict", json.dumps({"instances": SENTENCES[:2]}).encode()
    plain = ner.post(path, content=body)
    zipped = ner.post(path, content=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    assert zipped.status_code == plain.status_code == 200 and zipped.json() == plain.json()
    bomb = gzip.compress(b'{"instances": ["' + b"x" * (2 << 20) + b'"]}')     # 1 MB allowed
    for content, coding, status, words in (
            (bomb, "gzip", 413, "once uncompressed"), (body, "gzip", 400, "not valid gzip"),
            (gzip.compress(body)[:-9], "gzip", 400, "cut short"),
            (body, "br", 415, "Content-Encoding 'br'"), (b"", "identity", 400, "body is empty")):
        r = ner.post(path, content=content, headers={"Content-Encoding": coding})
        assert r.status_code == status and words in r.json()["error"], (coding, r.text)
        assert "\n" not in r.json()["error"]


def test_a_body_over_the_limit_is_a_413_that_clients_without_expect_can_read(ner):
    """The server answered 413 from Content-Length without reading the body and closed the
    connection: curl (Expect: 100-continue) read the answer, but urllib and requests, still
    sending, got 'Connection reset by peer' and never saw the one-line message."""
    import urllib.error
    import urllib.request

    body = b'{"instances": ["' + b"x" * (24 << 20) + b'"]}'          # 1 MB allowed
    for length in (True, False):            # declared, or found out while reading (chunked)
        data = body if length else iter([body[i:i + 65536] for i in range(0, len(body), 65536)])
        req = urllib.request.Request(ner.url + "/v1/models/ner-bilstm:predict", data=data,
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=60)
        assert e.value.code == 413 and "(--max-body-mb)" in json.loads(e.value.read())["error"]
    # one that waits for "100 Continue" (curl) is answered at once, without sending the body
    with socket.create_connection(("127.0.0.1", int(ner.url.rsplit(":", 1)[1])), 10) as s:
        s.sendall(b"POST /v1/models/ner-bilstm:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert s.recv(200).startswith(b"HTTP/1.1 413")
    assert ner.post("/v1/models/ner-bilstm:predict", {"instances": ["EU ."]}).status_code == 200


def test_a_client_gone_mid_body_is_no_internal_error(ner):
    """A client that disconnected before sending its whole body was counted as a 500 and
    left a ClientDisconnect traceback in the server log ('a bug of ours'); it is a 499
    (nginx's 'client closed request'), and the server goes on serving."""
    before = metric(ner, "zoo_requests_total", model="ner-bilstm", code="499")
    with socket.create_connection(("127.0.0.1", int(ner.url.rsplit(":", 1)[1]))) as s:
        s.sendall(b"POST /v1/models/ner-bilstm:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Length: 100\r\n\r\n{\"instances")
    deadline = time.monotonic() + 10
    while metric(ner, "zoo_requests_total", model="ner-bilstm", code="499") == before:
        assert time.monotonic() < deadline, ner.log.read_text()[-2000:]
        time.sleep(0.1)
    assert "ClientDisconnect" not in ner.log.read_text()
    assert ner.post("/v1/models/ner-bilstm:predict", {"instances": ["EU ."]}).status_code == 200


def test_unknown_model_route_and_method_are_404(ner):
    r = ner.post("/v1/models/nosuch:predict", {"instances": ["x"]})
    assert r.status_code == 404 and "loaded: ner-bilstm" in r.json()["error"]
    r = ner.post("/v1/models/ner-bilstm:classify", {"instances": ["x"]})
    assert r.status_code == 404 and ":predict" in r.json()["error"]
    assert ner.get("/v1/models/nosuch").status_code == 404
    assert "error" in ner.get("/nowhere").json()
    r = ner.get("/v1/models/ner-bilstm:predict")          # was 404 "no model 'ner-bilstm:predict'"
    assert r.status_code == 405 and "takes a POST" in r.json()["error"]


def test_status_metadata_health_and_metrics(ner):
    assert ner.get("/v1/models/ner-bilstm").json() == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    meta = ner.get("/v1/models/ner-bilstm/metadata").json()
    assert meta["model_spec"]["name"] == "ner-bilstm"
    assert meta["metadata"]["task"] == "ner" and meta["metadata"]["backend"] == "keras"
    assert ner.get("/healthz").json() == {"status": "ok"}
    assert ner.get("/readyz").json()["models"] == ["ner-bilstm"]
    for path in ("/healthz", "/readyz", "/"):       # load balancers probe with HEAD: was 405
        r = httpx.head(ner.url + path, timeout=30)
        assert (r.status_code, r.content) == (200, b""), path
    assert [m["name"] for m in ner.get("/v1/models").json()["models"]] == ["ner-bilstm"]
    ner.post("/v1/models/ner-bilstm:predict", {"instances": ["x"], "parameters": {"beam": 1}})
    # a batch of its own, so the histogram below does not depend on the tests run before
    assert ner.post("/v1/models/ner-bilstm:predict", {"instances": [SENTENCES[0]]}).status_code == 200
    text = ner.get("/metrics").text
    for sample in ('zoo_requests_total{code="400",method="predict",model="ner-bilstm"}',
                   'zoo_request_seconds_bucket{le="0.05",method="predict",model="ner-bilstm"}',
                   'zoo_batch_instances_bucket{le="1.0",model="ner-bilstm"}',
                   "zoo_tensorflow_loaded 1.0"):
        assert sample in text, sample


def test_plot_and_the_web_page(ner):
    r = ner.post("/v1/models/ner-bilstm:plot", {"instances": [SENTENCES[1]]})
    assert r.status_code == 200, r.text
    entities = r.json()["predictions"][0]["entities"]
    assert [e["type"] for e in entities][:2] == ["PER", "PER"]
    assert all(0 < e["confidence"] <= 1 for e in entities)     # the page shows them
    assert ner.get("/").status_code == 200 and "/web/app.js" in ner.get("/").text


def test_an_export_is_served_without_tensorflow(lite):
    """The small-container story: a .tflite through zoo.runtime, TensorFlow never imported
    in the server process; answers equal zoo.runtime's in-process predict."""
    from zoo import runtime

    meta = lite.get("/v1/models/forecast-lstm/metadata").json()["metadata"]
    assert meta["backend"] == "tflite" and meta["tensorflow_loaded"] is False
    example = meta["example"]
    series = webio.raw_input(0, example, bare_host("forecast-lstm"))
    expected = webio.to_json(runtime.load(lite.path).predict([series], horizon=5))
    r = lite.post("/v1/models/forecast-lstm:predict",
                  {"instances": [example], "parameters": {"horizon": 5}})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == expected
    r = lite.post("/v1/models/forecast-lstm:predict", {"instances": [series]})
    assert len(r.json()["predictions"][0]) == 10
    r = lite.post("/v1/models/forecast-lstm:plot", {"instances": [example]})
    assert r.json()["picture"].startswith("data:image/png;base64,")
    for body, words in (({"instances": [{"csv": "date,close\n2024-01-02,10\n"}]}, "at least"),
                        ({"instances": ["/etc/passwd"]}, "reads no files"),
                        ({"instances": [{"b64": "AAEC/w=="}]}, "UTF-8"),
                        ({"instances": [example], "parameters": {"horizon": 99}}, "horizon")):
        r = lite.post("/v1/models/forecast-lstm:predict", body)
        assert r.status_code == 400 and words in r.json()["error"], r.text
    assert metric(lite, "zoo_tensorflow_loaded") == 0.0


def test_answers_are_strict_json(lite):
    """A forecast of a price that jumps to 1e300 had infinite quantiles: the server wrote
    them as Infinity, which JSON parsers refuse. Such a forecast is now refused by the host
    (a 400 naming the jump); any NaN or infinity left in an answer is null, as in `zoo
    predict --json`."""
    from zoo.serve import dumps

    dates = [f"2024-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in range(1, 29)]
    body = {"instances": [{"dates": dates, "close": [1.0] * 83 + [1e300]}]}
    for method in ("predict", "plot"):
        r = lite.post(f"/v1/models/forecast-lstm:{method}", body)
        assert r.status_code == 400 and "not a finite number" in r.json()["error"], r.text
        json.loads(r.text, parse_constant=lambda word: pytest.fail(f"{method}: {word} in JSON"))
    assert dumps({"predictions": [{"q": float("inf"), "p": float("nan"), "x": 0.5}]}) == \
        '{"predictions": [{"q": null, "p": null, "x": 0.5}]}'


def test_zoo_serve_of_exports_alone_never_imports_tensorflow(lite, tmp_path):
    """`zoo serve FILE.tflite` (the CLI, not only `python -m zoo.serve`) skips TensorFlow."""
    server = Server(["serve", str(lite.path)], tmp_path / "server.log", module="zoo.cli")
    try:
        name = server.get("/v1/models").json()["models"][0]["name"]
        meta = server.get(f"/v1/models/{name}/metadata").json()["metadata"]
        assert meta["backend"] == "tflite" and meta["tensorflow_loaded"] is False
    finally:
        server.stop()


ODD = [None, True, 0, -1, 1.5, 10 ** 30, float("nan"), "", "x", [], [None], [[1]], {}, {"b64": 5},
       {"b64": ""}, {"csv": 5}, {"csv": ""}, {"csv": "date,close\n"}, {"rows": 5}, {"rows": [1]},
       {"rows": [{"date": "x", "close": "y"}]}, {"name": 1, "dates": 5, "close": "x"},
       {"dates": [], "close": []}, {"dates": ["2024-01-02"] * 80, "close": [float("nan")] * 80},
       {"array": [1, 2]}, "data:image/png;base64,AA=="]


def test_odd_json_never_makes_a_5xx(ner, lite):
    """Every odd instance and option value is the client's fault: a 4xx, never a 5xx."""
    example = lite.get("/v1/models/forecast-lstm/metadata").json()["metadata"]["example"]
    for server, name, good, option in ((ner, "ner-bilstm", "x", "batch_size"),
                                       (lite, "forecast-lstm", example, "horizon")):
        for value in ODD:
            for body in ({"instances": [value]}, {"instances": [good], "parameters": {option: value}}):
                raw = json.dumps(body).encode()          # NaN as JSON's NaN token
                r = server.post(f"/v1/models/{name}:predict", content=raw)
                assert 200 <= r.status_code < 500, (name, body, r.text)
                assert r.status_code == 200 or "\n" not in r.json()["error"]


# ---- in process: the batcher and the JSON conversions -----------------------------------------
def test_bad_server_limits_and_ports_are_refused_before_it_starts():
    """`zoo serve --max-batch 0` started a server whose every model failed to load; `--port
    99999` raised a raw OverflowError."""
    from zoo.serve import create_app, serve

    for limits, words in (({"max_batch": 0}, "--max-batch must be an integer >= 1"),
                          ({"max_wait_ms": -1}, "--max-wait-ms must be a finite number >= 0"),
                          ({"max_instances": 0}, "--max-instances must be an integer >= 1"),
                          ({"max_body_mb": 0}, "--max-body-mb must be a finite number > 0")):
        with pytest.raises(InputError, match=words):
            create_app(["forecast-lstm"], **limits)
    with pytest.raises(InputError, match="--port must be an integer in 0..65535; got 99999"):
        serve(["forecast-lstm"], port=99999)      # was a raw OverflowError from bind()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ZooError, match=r"cannot listen on 127.0.0.1:\d+ \(Address already "
                                           r"in use\); expected .* a free port \(--port\)"):
            serve(["forecast-lstm"], port=busy.getsockname()[1])


def test_a_model_that_fails_to_load_says_why_in_the_model_list(monkeypatch):
    """The web page said only "NAME failed to load": /v1/models did not carry the reason."""
    from fastapi.testclient import TestClient

    import zoo.serve

    def broken(s, *args):
        raise ZooError("model.keras: not what it seems")

    monkeypatch.setattr(zoo.serve, "load", broken)
    with TestClient(zoo.serve.create_app(["forecast-lstm"])) as client:
        for _ in range(100):              # loading runs in a thread once the app starts
            [model] = client.get("/v1/models").json()["models"]
            if model["state"] != "LOADING":
                break
            time.sleep(0.05)
    assert model["state"] == "FAILED" and model["error"] == "model.keras: not what it seems"


def test_merged_generator_requests_answer_as_they_would_alone(shipped):
    """charlm-lstm and music-lstm draw input i from seed + i: merged into one call, a
    request drew from its place in the batch and got another text than alone. Each request
    now brings its own seeds (PER_INPUT_OPTIONS), and the requests still merge."""
    from zoo.serve import own_values

    m = shipped("charlm-lstm")
    requests = [(["ROMEO:"], {"steps": 12}), (["JULIET:", "KING:"], {"steps": 12}),
                (["NURSE:"], {"steps": 12, "seed": 5})]
    alone = [m.predict(x, **o) for x, o in requests]
    b = Batcher(m.predict, max_batch=8, max_wait_ms=200, per_input=m.host().PER_INPUT_OPTIONS)

    async def clients():
        return await asyncio.gather(*[b.submit(x, own_values(m.host(), o, len(x)))
                                      for x, o in requests])

    assert asyncio.run(clients()) == alone
    assert list(b.batches) == [(4, 3)]          # one call for the three requests
    with pytest.raises(InputError, match=r"seed: 1 values for 2 inputs"):
        own_values(m.host(), {"seed": [3]}, 2)


def test_batcher_keeps_options_apart_and_isolates_a_bad_request():
    def predict(xs, scale=1):
        if "bad" in xs:
            raise InputError(f"input {xs.index('bad')}: bad")
        return [x * scale for x in xs]

    b = Batcher(predict, max_batch=8, max_wait_ms=50)

    async def clients():
        return await asyncio.gather(b.submit(["a"]), b.submit(["b"], {"scale": 2}),
                                    b.submit(["c", "d"]), b.submit(["x", "bad"]),
                                    return_exceptions=True)

    a, two, cd, bad = asyncio.run(clients())
    assert (a, two, cd) == (["a"], ["bb"], ["c", "d"])
    assert isinstance(bad, InputError) and str(bad) == "input 1: bad"   # its own numbering
    before = len(b.batches)

    async def one_speaker_each():       # speech's same_speaker: adapted to all the inputs
        return await asyncio.gather(b.submit(["e"], alone=True), b.submit(["f"], alone=True))

    assert asyncio.run(one_speaker_each()) == [["e"], ["f"]]
    assert list(b.batches)[before:] == [(1, 1), (1, 1)]
    b.close()


def test_whole_request_options_are_options_of_their_host():
    """What `zoo serve` never merges across requests (contract.Host.WHOLE_REQUEST_OPTIONS)
    names options each host's predict really takes."""
    from zoo import registry
    from zoo.options import accepted

    for name in registry.names():
        host = bare_host(name)
        assert set(host.WHOLE_REQUEST_OPTIONS) <= set(accepted(host.encode) or {}), name
    assert bare_host("speech-ctc").WHOLE_REQUEST_OPTIONS == ("same_speaker",)


def bare_host(name: str):
    """The host of registered model `name`, without its config (enough for from_json)."""
    from zoo import registry

    cls = registry.get(name).module("host").Host
    return cls.__new__(cls)


def test_json_instances_never_name_server_files():
    for name in ("speech-ctc", "caption-cnn-lstm", "music-lstm", "forecast-lstm"):
        with pytest.raises(InputError, match="reads no files"):
            webio.raw_input(0, "/etc/passwd", bare_host(name))
    speech, caption = bare_host("speech-ctc"), bare_host("caption-cnn-lstm")
    assert webio.raw_input(0, "data:audio/wav;base64,UklGRg==", speech) == b"RIFF"
    assert webio.raw_input(0, {"b64": "UklGRg=="}, speech) == b"RIFF"
    assert webio.raw_input(0, "data:image/png;base64,AA==", caption).startswith("data:")
    forecast = bare_host("forecast-lstm")
    series = webio.raw_input(3, {"rows": [{"date": "2024-01-02", "close": 10},
                                          {"date": "2024-01-03", "close": 11}]}, forecast)
    assert series["close"] == [10.0, 11.0] and series["name"] == "series 3"     # its place
    with pytest.raises(InputError, match="2 series"):
        webio.raw_input(0, {"csv": "date,A,B\n2024-01-02,1,2\n"}, forecast)
    text = bare_host("ner-bilstm")             # text: as it comes (the server caps its size)
    assert webio.takes_text(text) and not webio.takes_text(forecast)
    assert webio.raw_input(0, "/etc/passwd", text) == "/etc/passwd"


def test_a_music_file_in_and_the_page_view_out(tmp_path):
    """music's from_json reads a MIDI file sent as {"b64": ...}; its web_view gives the
    page a piano roll and the song as MIDI, sent as data URIs (webio.picture)."""
    from zoo_pipelines.music.midi import write_midi

    music = bare_host("music-lstm")
    music.spq = 2
    roll = music.roll([[60, 64], [62], [], [67]])
    midi = write_midi(roll, tmp_path / "in.mid", 2).read_bytes()
    got = webio.raw_input(0, {"b64": base64.b64encode(midi).decode()}, music)
    assert (got == roll).all()

    class Model:
        @staticmethod
        def predict(inputs, **options):
            return [{"steps": len(inputs[0]), "generated": [[72], [74]]}]

    view = webio.picture(Model, music, [[[60], [62]]], {})
    assert view["predictions"][0]["generated"] == [[72], [74]]
    assert view["picture"].startswith("data:image/png;base64,")
    assert view["midi"].startswith("data:audio/midi;base64,")


def test_model_specs_are_checked_before_anything_loads(tmp_path):
    from zoo.serve import resolve

    with pytest.raises(UnknownModelError, match="ner-bilstm"):
        resolve(["ner-bilstn"])
    with pytest.raises(ZooError, match="two models named"):
        resolve(["ner-bilstm", "ner-bilstm"])
    with pytest.raises(ZooError, match="sidecar"):
        resolve([str(tmp_path / "x.tflite")])
    assert [s.name for s in resolve(["ner=ner-bilstm", "ner-bilstm"])] == ["ner", "ner-bilstm"]
    for spec, words in (("a?b=ner-bilstm", "cannot name a model in a URL"),    # was served,
                        ("a#b=ner-bilstm", "cannot name a model in a URL"),    # unreachable
                        ("ner=", "nothing after '='"), ("a\nb=", "nothing after")):
        with pytest.raises(ZooError, match=words) as e:
            resolve([spec])
        assert "\n" not in str(e.value)      # a newline in the argument is shown as \n


@pytest.mark.parametrize("models,state,said", [([], 503, "interrupted while loading"),
                                                (["ner-bilstm"], 200, "interrupted")])
def test_ctrl_c_exits_130_not_an_abort_or_a_traceback(tmp_path, models, state, said):
    """Ctrl-C while the models loaded: the interpreter exited with TensorFlow busy in the
    loading thread and aborted ('terminate called without an active exception', status
    134 / -6); once they had loaded, `python -m zoo.serve` showed KeyboardInterrupt's
    traceback."""
    import signal

    log = tmp_path / "server.log"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    # SIGINT as a terminal leaves it: a test run in the background (nohup ... &) hands its
    # children SIGINT ignored, and then no Ctrl-C reaches the server at all
    proc = subprocess.Popen([sys.executable, "-m", "zoo.serve", *models, "--port", "0"], cwd=REPO,
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline, status = time.monotonic() + 120, None
        while status != state and time.monotonic() < deadline and proc.poll() is None:
            if "http://127.0.0.1:" in log.read_text():
                port = log.read_text().split("http://127.0.0.1:")[1].split("/")[0]
                try:
                    status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        assert status == state, log.read_text()    # 503: still loading all shipped models
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130, log.read_text()
        text = log.read_text()
        assert said in text and "terminate called" not in text and "Traceback" not in text
    finally:
        proc.kill()
        proc.wait()


# ---- the JSON layer in front of predict(): every host's from_json, fuzzed and by hand --------
HOSTS = ("ner-bilstm", "charlm-lstm", "summarize-attn", "speech-ctc", "caption-cnn-lstm",
         "music-lstm", "forecast-lstm")
WAV_B64 = base64.b64encode(b"RIFF").decode()


@pytest.mark.parametrize("name, item, words", [
    # unknown keys beside a file or a waveform were dropped, or the file was
    ("speech-ctc", {"b64": WAV_B64, "array": [0.1]}, "alone; got other keys too ('array')"),
    ("music-lstm", {"b64": WAV_B64, "x": 1}, "alone"),
    # a typo'd rate key: the audio was read at the model's rate, a wrong transcript as fine
    ("speech-ctc", {"array": [0.1, 0.2], "sample_rate": 16000}, "unknown key(s) 'sample_rate'"),
    ("speech-ctc", {"array": [True, False, True]}, "true/false"),
    ("speech-ctc", [0.1, True], "true/false"),
    ("speech-ctc", {"array": [[0.1, 0.2], [0.3]]}, "different lengths"),    # was a 500
    # a forecast's unknown keys and a JSON true read as the price 1.0
    ("forecast-lstm", {"csv": "date,close\n", "nmae": "x"}, "unknown key(s) 'nmae'"),
    ("forecast-lstm", {"dates": [], "close": [], "volumne": []}, "unknown key(s) 'volumne'"),
    ("forecast-lstm", {"csv": "date,close\n", "rows": []}, "unknown key(s) 'rows'"),
    ("forecast-lstm", {"csv": "date,close\n", "name": [1]}, '"name" must be a string'),
    ("forecast-lstm", {"rows": [{"date": "2024-01-02", "close": True}]}, "close=true"),
    # music: steps that are no lists made the whole batch one piece (one chord, as fine)
    ("music-lstm", [60, 62], "step 0: expected a list of MIDI pitches"),
    ("music-lstm", {"b64": ""}, "the MIDI bytes are empty"),
])
def test_json_instances_a_host_cannot_read_are_refused_naming_why(name, item, words):
    with pytest.raises(InputError) as e:
        webio.raw_input(0, item, bare_host(name))
    assert words in str(e.value) and "\n" not in str(e.value)


def test_base64_as_encoders_write_it_is_read():
    """`base64 FILE` wraps lines at 76 characters and a browser's FileReader gives a data
    URI: both were 'not valid base64'; other stray characters still are."""
    data = bytes(range(256)) * 2
    text = base64.b64encode(data).decode()
    wrapped = "\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + "\n"
    speech = bare_host("speech-ctc")
    assert webio.raw_input(0, {"b64": wrapped}, speech) == data
    assert webio.raw_input(0, {"b64": "data:audio/wav;base64," + text}, speech) == data
    with pytest.raises(InputError, match="not valid base64"):
        webio.raw_input(0, {"b64": text[:10] + "!" + text[10:]}, speech)
    music = bare_host("music-lstm")           # a list of steps read alone: the same piece
    assert webio.raw_input(0, [[60, 64], [], [62]], music).shape == (3, 88)


def test_serve_refuses_echo_and_options_past_floats_range():
    from types import SimpleNamespace

    from zoo import serve
    from zoo.options import check_number, check_options

    charlm = SimpleNamespace(name="charlm-lstm", host=bare_host("charlm-lstm"))
    with pytest.raises(serve.HTTPError, match="server's console"):
        serve.parse(charlm, {"instances": ["ROMEO:"], "parameters": {"echo": True}}, 64)
    assert serve.parse(charlm, {"instances": ["a"], "parameters": {"echo": False}}, 64)
    # JSON's 10**400 is a Python int: math.isfinite raised OverflowError (a 500)
    with pytest.raises(InputError, match=r"alpha must be a finite number in 0..5; got 1000.*\.\.\.$"):
        check_number(10**400, "alpha", 0, 5)
    with pytest.raises(InputError, match="option temperature must be a finite number"):
        check_options(lambda inputs, temperature=0.8: 0, {"temperature": 10**400}, "x")


def test_any_json_instance_is_read_or_refused_on_one_line():
    """Any JSON value (huge ints, NaN, odd keys, base64 or not) through every host's
    from_json: a raw input or the zoo's one-line error, never another exception."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    keys = st.sampled_from(["b64", "array", "sampling_rate", "csv", "rows", "name", "dates",
                            "close", "date", "x"])
    scalars = (st.none() | st.booleans() | st.integers() | st.just(10**400) | st.floats()
               | st.text(max_size=12) | st.sampled_from([WAV_B64, "data:x;base64,AA==", "=="]))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(keys, inner, max_size=3), max_leaves=12)

    hosts = {name: bare_host(name) for name in HOSTS}
    hosts["music-lstm"].spq = 2         # steps per quarter note, for MIDI bytes

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(HOSTS), item=values)
    def check(name, item):
        try:
            webio.raw_input(0, item, hosts[name])
        except ZooError as e:
            assert "\n" not in str(e), str(e)

    check()


# ---- what an operator expects: time limits, SIGTERM, status, request ids, metrics labels ---
class SlowModel:
    """A stand-in for a loaded model: 'slow' takes a second, anything else is echoed."""

    def __init__(self):
        self.seen = []

    def host(self):
        return bare_host("ner-bilstm")

    def predict(self, xs, **options):
        self.seen += xs
        if "boom" in xs:
            raise RuntimeError("a bug of ours")
        if "slow" in xs:
            time.sleep(1)
        return [{"text": x} for x in xs]


@pytest.fixture
def fake(monkeypatch):
    """create_app(...) over a SlowModel named ner-bilstm, loaded at once."""
    from fastapi.testclient import TestClient

    import zoo.serve

    model = SlowModel()

    def load(s, max_batch, max_wait_ms, metrics):
        s.model = model
        s.batcher = Batcher(model.predict, max_batch, max_wait_ms)

    monkeypatch.setattr(zoo.serve, "load", load)

    def client(**limits):
        c = TestClient(zoo.serve.create_app(["ner-bilstm"], **limits))
        c.model = model
        return c
    return client


def test_a_request_past_request_timeout_is_a_504_and_never_runs_if_still_queued(fake):
    """A request had no time limit: a generation at its caps (charlm, 100,000 steps) held
    its client for minutes, and one behind it in the queue as long."""
    with fake(request_timeout=0.3) as client:
        r = client.post("/v1/models/ner-bilstm:predict", json={"instances": ["slow"]})
        assert r.status_code == 504 and "within 0.3 s (--request-timeout)" in r.json()["error"]
        time.sleep(1)       # the slow call ends in its thread; the server answers again
        assert client.post("/v1/models/ner-bilstm:predict",
                           json={"instances": ["x"]}).json() == {"predictions": [{"text": "x"}]}
    with fake(request_timeout=0) as client:       # 0: no limit
        assert client.post("/v1/models/ner-bilstm:predict",
                           json={"instances": ["slow"]}).status_code == 200
    with pytest.raises(InputError, match="--request-timeout"):
        fake(request_timeout=-1)

    # a job whose client gave up while it was queued is dropped, not run after all
    async def two():
        b = Batcher(SlowModel().predict)
        first = asyncio.ensure_future(b.submit(["slow"]))
        await asyncio.sleep(0.1)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(b.submit(["queued"]), 0.1)
        await first
        return b.predict.__self__.seen
    assert asyncio.run(two()) == ["slow"]


def test_status_versions_request_ids_and_metric_labels(fake, monkeypatch, caplog):
    with fake() as client:
        url = "/v1/models/ner-bilstm"
        # TF Serving's /versions/N paths (a client pinned to version 1 got 'Not Found')
        assert client.post(f"{url}/versions/1:predict", json={"instances": ["x"]}).json() == \
            {"predictions": [{"text": "x"}]}
        assert client.get(f"{url}/versions/1").json() == client.get(url).json()
        r = client.post(f"{url}/versions/2:predict", json={"instances": ["x"]})
        assert r.status_code == 404 and "one version here, 1; got versions/2" in r.text
        # X-Request-ID echoed, or one made up, on every answer (errors too)
        r = client.post(f"{url}:predict", json={}, headers={"X-Request-ID": "req-42"})
        assert r.status_code == 400 and r.headers["x-request-id"] == "req-42"
        made = client.get("/healthz", headers={"X-Request-ID": "a b"}).headers["x-request-id"]
        assert len(made) == 32 and made != client.get("/healthz").headers["x-request-id"]
        # a bug: one line to the client, the traceback and the request's id in the log
        r = client.post(f"{url}:predict", json={"instances": ["boom"]},
                        headers={"X-Request-ID": "req-7"})
        assert r.status_code == 500 and "\n" not in r.text and "server log" in r.text
        assert "X-Request-ID req-7" in caplog.text and "Traceback" in caplog.text
        # a method a client made up was a new time series on /metrics each time
        for method in ("foo", "bar"):
            assert client.post(f"{url}:{method}", json={}).status_code == 404
        text = client.get("/metrics").text
        assert 'method="foo"' not in text
        assert 'zoo_requests_total{code="404",method="-",model="ner-bilstm"} 2.0' in text
        assert 'zoo_model_available{model="ner-bilstm"} 1.0' in text

    import zoo.serve

    def broken(s, *args):
        raise ZooError("model.keras: not what it seems")

    monkeypatch.setattr(zoo.serve, "load", broken)
    with fake() as client:        # a failed model said LOADING: a client polled forever
        for _ in range(100):
            status = client.get("/v1/models/ner-bilstm").json()["model_version_status"][0]
            if status["state"] != "LOADING":
                break
            time.sleep(0.05)
        assert 'zoo_model_available{model="ner-bilstm"} 0.0' in client.get("/metrics").text
    assert status["state"] == "END" and "not what it seems" in status["status"]["error_message"]


@pytest.mark.slow
def test_sigterm_answers_requests_in_flight_then_exits_143_and_a_stalled_body_is_408(tmp_path):
    """SIGTERM (docker stop, Kubernetes) ended the server with no word, cut requests in
    flight after 5 s and waited for a model thread still generating; a client that never
    sent the end of its body held its request forever."""
    import signal
    import threading

    host = "::1" if socket.has_ipv6 else "127.0.0.1"
    try:
        socket.create_server((host, 0), family=socket.AF_INET6).close()
    except (OSError, ValueError):
        host = "127.0.0.1"
    log = tmp_path / "server.log"
    proc = subprocess.Popen([sys.executable, "-m", "zoo.serve", "charlm-lstm", "--host", host,
                             "--port", "0", "--request-timeout", "4"], cwd=REPO,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline, url = time.monotonic() + 180, None
        while time.monotonic() < deadline and proc.poll() is None:
            text = log.read_text()
            if "http://" in text:
                url = "http://" + text.split("http://")[1].split("/")[0]
                # an IPv6 address in brackets (http://::1:PORT/ is no URL)
                assert host == "127.0.0.1" or url.startswith("http://[::1]:"), text
                if "ready" in text:
                    break
            time.sleep(0.2)
        assert "charlm-lstm ready" in log.read_text(), log.read_text()
        port = int(url.rsplit(":", 1)[1])
        stalled = socket.create_connection((host, port))
        stalled.sendall(b"POST /v1/models/charlm-lstm:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Content-Length: 100\r\n\r\n{\"instances")
        stalled.settimeout(30)
        assert stalled.recv(1000).startswith(b"HTTP/1.1 408")      # within the 4 s
        answers = {}

        def in_flight():
            answers["r"] = httpx.post(url + "/v1/models/charlm-lstm:predict", timeout=60, json={
                "instances": ["The "], "parameters": {"steps": 1200}})
        thread = threading.Thread(target=in_flight)
        thread.start()
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        thread.join(30)
        assert answers["r"].status_code == 200, answers["r"].text     # in flight: answered
        with pytest.raises(httpx.HTTPError):                            # new ones: refused
            httpx.get(url + "/healthz", timeout=5)
        assert proc.wait(30) == 143
        text = log.read_text()
        assert "stopped by SIGTERM" in text and "Traceback" not in text, text
    finally:
        proc.kill()
        proc.wait()


def test_a_connection_that_never_sends_its_headers_is_closed(fake):
    """uvicorn times a connection out only between requests: one that sent nothing, or
    headers a byte at a time that never ended, held a socket for ever."""
    import threading

    import uvicorn

    from zoo.serve import header_deadline

    sock = socket.create_server(("127.0.0.1", 0))
    app = fake().app
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", http=header_deadline(0.5)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        port = sock.getsockname()[1]
        silent, trickle = (socket.create_connection(("127.0.0.1", port)) for _ in range(2))
        trickle.sendall(b"POST /v1/models/ner-bilstm:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for conn in (silent, trickle):
            conn.settimeout(5)
            assert conn.recv(100) == b""                # closed by the server, not held
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:   # keep-alive
            for _ in range(2):      # each request on a connection has its own deadline
                assert client.post("/v1/models/ner-bilstm:predict",
                                   json={"instances": ["x"]}).status_code == 200
                time.sleep(0.3)
    finally:
        server.should_exit = True
        thread.join(10)


def test_other_websites_and_rebound_names_are_refused(fake):
    """Any page a user visited could POST to their local server as a 'simple' cross-site
    request (text/plain, no preflight) and run the models, and a domain re-pointed at
    127.0.0.1 (DNS rebinding) was answered as if it were the server's own; answers had no
    nosniff header, and an unknown option of 100 KB was echoed whole."""
    from fastapi.testclient import TestClient

    import zoo.serve

    path, body = "/v1/models/ner-bilstm:predict", '{"instances": ["x"]}'
    with fake() as client:      # TestClient's Host is "testserver"
        r = client.post(path, content=body, headers={"Content-Type": "text/plain",
                                                     "Origin": "https://evil.example"})
        assert r.status_code == 403 and "cross-site request" in r.json()["error"]
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-request-id"]
        for origin in ("http://testserver", "https://testserver"):     # its own page, a TLS proxy
            assert client.post(path, content=body, headers={"Origin": origin}).status_code == 200
        assert client.post(path, content=body, headers={
            "Origin": "https://zoo.example", "X-Forwarded-Host": "zoo.example"}).status_code == 200
        assert client.post(path, content=body).status_code == 200        # curl: no Origin
        long = client.post(path.replace("predict", "x" * 30_000), content=body)
        assert long.status_code == 404 and len(long.json()["error"]) == 1000
    from zoo.options import check_options

    with pytest.raises(InputError) as e:
        check_options(lambda xs, beam=1: None, {"k" * 100_000: 1}, "m", skip=1)
    assert len(str(e.value)) < 150
    loopback = zoo.serve.create_app(["ner-bilstm"], hosts=zoo.serve.LOOPBACK_NAMES | {"zoo.lan"})
    with TestClient(loopback, base_url="http://127.0.0.1:8501") as client:
        assert client.get("/healthz").status_code == 200
        for host in ("evil.example:8501", "evil.example"):
            r = client.get("/healthz", headers={"Host": host})
            assert r.status_code == 403 and "--allow-host" in r.json()["error"]
        for host in ("localhost:8501", "[::1]:8501", "zoo.lan"):
            assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_a_generation_past_request_timeout_stops_and_frees_the_model_thread(monkeypatch):
    """The 504 came, but the model's one thread went on generating (charlm at its caps:
    minutes) and every later request waited behind it: the serving code now runs each call
    under its requests' deadline and the generation loops stop at it (zoo.cancel)."""
    from fastapi.testclient import TestClient

    import zoo.serve
    from zoo import cancel

    steps = []

    class Generator(SlowModel):
        def predict(self, xs, **options):
            if "forever" in xs:
                while True:             # a generation at its caps, checking as hosts do
                    cancel.check()
                    steps.append(1)
                    time.sleep(0.01)
            return [{"text": x} for x in xs]

    model = Generator()

    def load(s, max_batch, max_wait_ms, metrics):
        s.model = model
        s.batcher = Batcher(s.guarded(model.predict), max_batch, max_wait_ms)

    monkeypatch.setattr(zoo.serve, "load", load)
    path = "/v1/models/ner-bilstm:predict"
    with TestClient(zoo.serve.create_app(["ner-bilstm"], request_timeout=0.5)) as client:
        r = client.post(path, json={"instances": ["forever"]})
        assert r.status_code == 504 and "within 0.5 s (--request-timeout)" in r.json()["error"]
        start = time.monotonic()
        answer = client.post(path, json={"instances": ["x"]}).json()
        assert time.monotonic() - start < 0.4        # not behind the abandoned generation
        assert answer == {"predictions": [{"text": "x"}]}
        ran = len(steps)
        time.sleep(0.2)
        assert len(steps) == ran                     # it stopped
    cancel.check()                  # the deadline was the model thread's alone
    with pytest.raises(cancel.Cancelled):
        with cancel.deadline(time.monotonic() - 1):
            cancel.check()


def test_a_fine_tuned_bundle_is_described_as_one(monkeypatch, tmp_path):
    """The web page and metadata gave a fine-tune the registered model's summary (a
    WikiANN fine-tune read as CoNLL-2003's tagger)."""
    import shutil

    from fastapi.testclient import TestClient

    import zoo.serve

    mine = tmp_path / "mine"
    shutil.copytree(zoo.bundle.resolve("ner-bilstm"), mine)
    metrics = json.loads((mine / "metrics.json").read_text())
    (mine / "metrics.json").write_text(json.dumps({**metrics, "fine_tuned_on": "wiki/train.conll"}))
    zoo.bundle.write_manifest(mine, "ner-bilstm")
    model = SlowModel()
    model.metrics = json.loads((mine / "metrics.json").read_text())

    def load(s, max_batch, max_wait_ms, metrics):
        s.model, s.batcher = model, Batcher(model.predict, max_batch, max_wait_ms)

    monkeypatch.setattr(zoo.serve, "load", load)
    with TestClient(zoo.serve.create_app([f"mine={mine}", "ner-bilstm"])) as client:
        summaries = {m["name"]: m["summary"] for m in client.get("/v1/models").json()["models"]}
    assert summaries["mine"].endswith("(fine-tuned from `ner-bilstm` on `wiki/train.conll`)")
    assert "fine-tuned" not in summaries["ner-bilstm"]


# ---- the web page for a keyboard, a screen reader and a phone (read as served, no browser) --
class PageParts(HTMLParser):
    """The served index.html's tags: each as (tag, attrs, enclosing tags, its text)."""

    def __init__(self):
        super().__init__()
        self.open, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append([tag, dict(attrs), [t for t, _ in self.open], ""])
        if tag not in ("input", "meta", "link", "img", "br"):
            self.open.append((tag, self.tags[-1]))

    def handle_endtag(self, tag):
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for _, parts in self.open:
            parts[3] += data


def test_the_served_page_names_every_control_and_says_its_own_errors(fake):
    # A bug of the page's own (an exception no panel caught) reached only the console: the
    # page sat at "Loading the models…" with main held aria-busy; with JavaScript off it said
    # nothing else. A speech or caption warning was told from a note by its colour alone.
    with fake() as client:
        html, js = client.get("/").text, client.get("/web/app.js").text
    page = PageParts()
    page.feed(html)
    tags = [(tag, attrs, inside) for tag, attrs, inside, _ in page.tags]
    assert [a.get("lang") for t, a, _ in tags if t == "html"] == ["en"]
    assert [t for t, _, _ in tags].count("h1") == 1 and "main" in [t for t, _, _ in tags]
    assert any(t == "meta" and a.get("name") == "viewport" for t, a, _ in tags)
    for tag, attrs, inside, text in page.tags:
        if tag in ("input", "textarea"):      # each box inside its visible label
            assert "label" in inside or attrs.get("aria-label"), (tag, attrs)
        if tag == "button":
            assert text.strip(), attrs
    error = next(a for t, a, _ in tags if a.get("id") == "page-error")
    assert error["role"] == "alert" and "page-error" in js
    assert 'window.addEventListener("unhandledrejection"' in js
    assert any(t == "noscript" for t, _, _ in tags)
    assert js.count("warning(p, r.warning);") == 2 and '"Warning: "' in js


def test_the_served_css_keeps_a_phones_text_boxes_from_zooming(fake):
    # iOS Safari zooms into a box whose text is under 16 px as it takes the focus and stays
    # zoomed: the page scrolled sideways after typing (textarea: 13 px, inputs: 13.3 px).
    with fake() as client:
        css = client.get("/web/style.css").text
    phone = "@media (max-width: 600px) { textarea, input { font-size: 16px; } }"
    assert css.index(phone) > css.index("textarea { width: 100%")      # later: it wins
    assert "outline: none" not in css and "outline:none" not in css


@pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the page's script")
def test_enter_runs_a_panel_from_its_option_boxes_and_opens_a_file_picker(fake):
    # There is no <form>: Enter in "horizon", "beam" or music's "example primer" box did
    # nothing; music's MIDI picker did not open on Enter (Chromium opens pickers on Space).
    # app.js runs in node with a stand-in DOM; enterKey is what a panel's keydown does.
    with fake() as client:
        js = client.get("/web/app.js").text
    cases = [  # key event, target, the run button enabled -> what happens
        ({"key": "Enter"}, {"tagName": "INPUT", "type": "number"}, True, "run"),
        ({"key": "Enter"}, {"tagName": "INPUT", "type": "checkbox"}, True, "run"),
        ({"key": "Enter"}, {"tagName": "INPUT", "type": "number"}, False, None),   # busy
        ({"key": "Enter"}, {"tagName": "INPUT", "type": "file"}, False, "open"),
        ({"key": "Enter"}, {"tagName": "TEXTAREA"}, True, None),                    # a new line
        ({"key": "Enter", "ctrlKey": True}, {"tagName": "TEXTAREA"}, True, "run"),
        ({"key": "Enter", "metaKey": True}, {"tagName": "TEXTAREA"}, True, "run"),
        ({"key": "Enter", "isComposing": True}, {"tagName": "INPUT", "type": "text"}, True, None),
        ({"key": "Enter"}, {"tagName": "BUTTON"}, True, None),       # the browser clicks it
        ({"key": " "}, {"tagName": "INPUT", "type": "number"}, True, None),
    ]
    script = """
const vm = require("vm"), fs = require("fs");
const dom = new Proxy(function () {}, {get: (_, k) => k === "then" ? undefined : dom, apply: () => dom});
const context = {document: dom, window: dom, fetch: () => Promise.reject(new Error("no server")),
                 setTimeout: () => 0};
vm.runInNewContext(fs.readFileSync(0, "utf8"), context);
console.log(JSON.stringify(%s.map(([e, t, can]) => context.enterKey(e, t, can) ?? null)));
""" % json.dumps([c[:3] for c in cases])
    got = subprocess.run(["node", "-e", script], input=js, capture_output=True, text=True, timeout=30)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == [c[3] for c in cases]


# A stand-in DOM, enough for app.js to draw a panel of the "any" kind and run it: elements
# with attributes, children, textContent and querySelector(All) of tag, .class and [attr=v].
MINI_DOM = r"""
class Text { constructor(t) { this.textContent = t; this.children = []; } remove() {
  if (this.parentNode) this.parentNode.children.splice(this.parentNode.children.indexOf(this), 1);
  this.parentNode = null; } }
class Node extends Text {
  constructor(tag) { super(""); this.tagName = tag.toUpperCase(); this.attrs = {}; this.dataset = {}; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  removeAttribute(k) { delete this.attrs[k]; }
  get name() { return this.attrs.name; }
  get id() { return this.attrs.id; }
  append(...nodes) {
    for (let n of nodes) {
      if (n instanceof Fragment) { this.append(...n.children); continue; }
      if (typeof n === "string") n = new Text(n);
      n.remove(); n.parentNode = this; this.children.push(n);
    }
  }
  insertBefore(n, ref) { this.append(n); if (ref) { this.children.pop(); this.children.splice(this.children.indexOf(ref), 0, n); } }
  replaceWith(n) { const at = this.parentNode.children.indexOf(this); n.remove(); n.parentNode = this.parentNode;
                   this.parentNode.children[at] = n; this.parentNode = null; }
  replaceChildren(...nodes) { [...this.children].forEach(c => c.remove()); this.append(...nodes); }
  get firstChild() { return this.children[0] || null; }
  get textContent() { return (this.children || []).map(c => c.textContent).join(""); }
  set textContent(t) { if (this.children) this.replaceChildren(...(t ? [t] : [])); }
  contains(n) { for (; n; n = n.parentNode) if (n === this) return true; return false; }
  matches(selector) {
    return selector.split(",").some(s => {
      s = s.trim(); let m;
      if ((m = s.match(/^\.(.+)$/))) return (this.attrs.class || "").split(" ").includes(m[1]);
      if ((m = s.match(/^\[([\w-]+)(?:=(.+))?\]$/))) return m[2] === undefined ? m[1] in this.attrs : this.attrs[m[1]] === m[2];
      return this.tagName === s.toUpperCase();
    });
  }
  querySelectorAll(selector) {
    const found = [], walk = n => n.children.forEach(c => { if (c instanceof Node) { if (c.matches(selector)) found.push(c); walk(c); } });
    walk(this); return found;
  }
  querySelector(selector) { return this.querySelectorAll(selector)[0] || null; }
  addEventListener() {}
}
class Fragment extends Node {}
const make = (tag, attrs = {}, ...children) => { const n = new Node(tag); Object.assign(n.attrs, attrs); n.append(...children); return n; };
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the page's script")
def test_a_running_panel_holds_only_its_answer_busy(fake):
    # aria-busy was set on the whole panel while it ran, around its "working…" status and
    # its error line (role=alert): a screen reader may never read a live region's update made
    # inside a busy one (nvaccess/nvda#20871). Only the answer region is held busy now.
    # app.js runs in node on MINI_DOM: a panel is drawn and run, its request held open.
    with fake() as client:
        js = client.get("/web/app.js").text
    script = MINI_DOM + r"""
const vm = require("vm"), fs = require("fs");
const panels = make("main", {id: "panels", "aria-busy": "true"}), body = make("body");
const templates = {"tpl-any": () => { const f = new Fragment("template");
  f.append(make("textarea", {name: "json"}), make("div", {class: "controls"}, make("button", {name: "run"})),
           make("div", {class: "out"}, make("pre", {class: "json"}))); return f; }};
const document = {createElement: tag => new Node(tag), body, title: "", activeElement: null,
  getElementById: id => id === "panels" ? panels : templates[id] ? {content: {cloneNode: templates[id]}} : make("p")};
const reply = (status, out) => ({status, ok: status < 400, statusText: "", json: async () => out,
                                 headers: {get: () => null}});
let answer;
const fetch = url => url === "/v1/models"
  ? Promise.resolve(reply(200, {models: [{name: "m", task: "t", state: "AVAILABLE", backend: "keras",
                                          summary: "s", example: "x"}]}))
  : new Promise(resolve => { answer = resolve; });
let ticks = [];
const context = {document, window: {addEventListener() {}}, fetch, setTimeout: () => 0,
                 setInterval: f => ticks.push(f), clearInterval() {}, console};
vm.runInNewContext(fs.readFileSync(0, "utf8"), context);
const busy = () => [panels, ...panels.querySelectorAll("[aria-busy]")].filter(n => n.getAttribute("aria-busy") === "true");
const seen = {};
(async () => {
  const settle = () => new Promise(resolve => setImmediate(resolve));
  await settle();                                   // main() draws the panel
  const p = panels.querySelector("section"), held = () => busy().map(n => n.tagName + (n.getAttribute("aria-live") ? ":live" : ""));
  seen.loaded = held();
  p.querySelector("[name=run]").onclick();
  ticks.forEach(f => f());                          // the status's timer: "working… 0 s"
  const status = p.querySelector("[role=status]"), error = p.querySelector("[role=alert]");
  seen.running = {held: held(), status: status.textContent.replace(/\d+/, "N"), answer_held: busy().some(b => b.contains(p.querySelector(".json"))),
                  status_held: busy().some(b => b.contains(status)), error_held: busy().some(b => b.contains(error))};
  answer(reply(422, {error: "instances: not a list"}));
  await settle();
  seen.failed = {held: held(), error: error.textContent, state: p.dataset.state};
  console.log(JSON.stringify(seen));
})();
"""
    got = subprocess.run(["node", "-e", script], input=js, capture_output=True, text=True, timeout=30)
    assert got.returncode == 0, got.stderr
    seen = json.loads(got.stdout)
    assert seen["loaded"] == []
    assert seen["running"] == {"held": ["DIV:live"], "status": "working… N s", "answer_held": True,
                               "status_held": False, "error_held": False}
    assert seen["failed"] == {"held": [], "error": "instances: not a list", "state": "error"}

"""`zoo serve` (zoo/serve.py) as HTTP clients expect it: HEAD and OPTIONS, 405 with Allow,
CORS refused in words, charsets and duplicate keys, TF Serving's versioned metadata, JSON
errors from the HTTP parser too, Retry-After while loading, static files revalidated, and
an OpenAPI document that says what the server does. Over create_app with a stand-in model
(test_serve.SlowModel): no TensorFlow model is loaded."""
import json
import socket
import threading
import time

import pytest
from test_serve import SlowModel

from zoo.batching import Batcher

pytestmark = pytest.mark.xdist_group("serve")
PREDICT = "/v1/models/ner-bilstm:predict"


@pytest.fixture
def app(monkeypatch):
    """create_app(...) over a SlowModel named ner-bilstm; `loaded` says when it loads."""
    import zoo.serve

    def make(ready=True, **kw):
        loaded = threading.Event()

        def load(s, *args):
            loaded.wait(10)
            s.model = SlowModel()
            s.batcher = Batcher(s.model.predict)

        monkeypatch.setattr(zoo.serve, "load", load)
        if ready:
            loaded.set()
        a = zoo.serve.create_app(["ner-bilstm"], **kw)
        a.loaded = loaded
        return a
    return make


def client(app, **kw):
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False, **kw)


def wait_ready(c):
    for _ in range(200):
        if c.get("/readyz").status_code == 200:
            return
        time.sleep(0.02)


def test_head_and_options_on_every_route_and_405_names_the_methods(app):
    """HEAD was a 405 on /metrics, /v1/models and every model route; a 405 had no Allow
    header, and GET on NAME:predict said 'Allow: GET'; OPTIONS was a 405."""
    with client(app()) as c:
        wait_ready(c)
        for path in ("/", "/healthz", "/readyz", "/metrics", "/v1/models",
                     "/v1/models/ner-bilstm", "/v1/models/ner-bilstm/metadata",
                     "/v1/models/ner-bilstm/versions/1", "/web/app.js"):
            r = c.head(path)
            assert (r.status_code, r.content) == (200, b""), path
        for method, path, allow in (("GET", PREDICT, "POST"), ("PUT", PREDICT, "POST"),
                                    ("POST", "/v1/models/ner-bilstm", "GET, HEAD"),
                                    ("DELETE", "/healthz", "GET, HEAD"),
                                    ("POST", "/v1/models", "GET, HEAD")):
            r = c.request(method, path, content=b"{}")
            assert r.status_code == 405 and r.headers["allow"] == allow, (method, path)
            assert r.headers["content-type"] == "application/json"
            assert f"not {method}" in r.json()["error"]
        assert "takes a POST of" in c.get(PREDICT).json()["error"]
        r = c.options(PREDICT)
        assert (r.status_code, r.headers["allow"]) == (204, "POST, OPTIONS")
        assert c.options("/v1/models").headers["allow"] == "GET, HEAD, OPTIONS"


def test_a_cors_preflight_from_another_site_is_refused_in_words(app):
    with client(app()) as c:
        r = c.options(PREDICT, headers={"Origin": "https://other.example",
                                        "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "content-type"})
        assert r.status_code == 403 and "allows no CORS" in r.json()["error"]
        assert "access-control-allow-origin" not in r.headers
        # the server's own page asks nothing of CORS
        assert c.options(PREDICT, headers={"Origin": "http://testserver"}).status_code == 204


@pytest.mark.parametrize("body, ctype, status, words", [
    ("{\"instances\": [\"Zo\u00eb\"]}".encode("latin-1"), "application/json; charset=latin-1",
     200, None),
    ("{\"instances\": [\"Zo\u00eb\"]}".encode("utf-16"), "application/json; charset=UTF-16",
     200, None),
    (b"\xef\xbb\xbf{\"instances\": [\"x\"]}", "application/json; charset=utf-8", 200, None),
    (b"{\"instances\": [\"x\"]}", "application/json; charset=klingon", 415, "klingon"),
    ("{\"instances\": [\"Zo\u00eb\"]}".encode("latin-1"), "application/json", 400,
     "not UTF-8"),
    (b"\xff{}", "application/json; charset=utf-8", 400, "not utf-8 as its Content-Type"),
    (b"{\"instances\": [\"x\"], \"instances\": [1]}", "application/json", 400,
     "\"instances\" is given twice"),
    (b"{\"instances\": [{\"a\": 1, \"a\": 2}]}", "application/json", 400, "\"a\" is given"),
    (b"--x\r\nContent-Disposition: form-data; name=f\r\n\r\n{}\r\n--x--",
     "multipart/form-data; boundary=x", 400, "send the JSON itself"),
])
def test_charsets_duplicate_keys_and_forms(app, body, ctype, status, words):
    """A body in its declared charset was read as UTF-8; a key given twice kept its last
    value without a word; a form upload said only 'Expecting value'."""
    with client(app()) as c:
        wait_ready(c)
        r = c.post(PREDICT, content=body, headers={"Content-Type": ctype})
        assert r.status_code == status, r.text
        if words:
            assert words in r.json()["error"] and "\n" not in r.json()["error"]
        elif "Zo" in body.decode(ctype.partition("charset=")[2] or "utf-8", "replace"):
            assert r.json() == {"predictions": [{"text": "Zo\u00eb"}]}


def test_tf_serving_versioned_metadata_labels_and_retry_after(app):
    with client(app()) as c:
        wait_ready(c)
        url = "/v1/models/ner-bilstm"
        assert c.get(f"{url}/versions/1/metadata").json() == c.get(f"{url}/metadata").json()
        assert c.get(f"{url}/versions/01").status_code == 200       # a number, as TF reads it
        for path in (f"{url}/versions/abc/metadata", f"{url}/versions/2"):
            assert "one version here" in c.get(path).json()["error"]
        r = c.get(f"{url}/labels/stable")
        assert r.status_code == 404 and "no version labels" in r.json()["error"]
    a = app(ready=False)        # still loading: 503 with Retry-After
    with client(a) as c:
        for path in ("/readyz", "/v1/models/ner-bilstm", "/v1/models/ner-bilstm/metadata"):
            r = c.get(path)
            assert r.status_code == 503 and r.headers["retry-after"] == "5", path
        r = c.post(PREDICT, json={"instances": ["x"]})
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        a.loaded.set()


def test_static_files_are_revalidated_and_the_page_answers_304(app):
    """With Last-Modified alone a browser reused the page's files by heuristic (a newer
    index.html beside an older app.js); / ignored If-None-Match."""
    with client(app()) as c:
        for path in ("/", "/web/app.js", "/web/style.css"):
            r = c.get(path)
            assert r.headers["cache-control"] == "no-cache" and r.headers["etag"], path
            again = c.get(path, headers={"If-None-Match": r.headers["etag"]})
            assert again.status_code == 304, path
        assert "cache-control" not in c.get("/healthz").headers
        # /web and /web/ are the page too (they were a redirect to a 404)
        assert c.get("/web").text == c.get("/web/").text == c.get("/").text


def test_openapi_describes_what_the_server_answers(app):
    """It listed 422 validation errors no route gives, no error a route does give, and no
    predict body."""
    with client(app(max_instances=8)) as c:
        doc = c.get("/openapi.json").json()
        assert "HTTPValidationError" not in json.dumps(doc)
        post = doc["paths"]["/v1/models/{target}"]["post"]
        assert {"400", "404", "413", "415", "503", "504"} <= set(post["responses"])
        assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"] \
            .endswith("PredictRequest")
        assert doc["components"]["schemas"]["PredictRequest"]["properties"]["instances"][
            "maxItems"] == 8
        for path, item in doc["paths"].items():
            assert "head" not in item, path
            for method, op in item.items():
                assert "422" not in op["responses"], (path, method)
                # every route the document names answers its method (not a 404)
                concrete = path.replace("{name}", "ner-bilstm").replace("{v}", "1") \
                    .replace("versions/{target}", "versions/1:predict") \
                    .replace("{target}", "ner-bilstm:predict")
                r = c.request(method, concrete, json={"instances": ["x"]})
                assert r.status_code in (200, 503), (path, method, r.status_code)


def test_a_bug_outside_predict_is_one_json_line_with_the_request_id(app, monkeypatch):
    import zoo.serve

    def broken(self):
        raise RuntimeError("oops")

    monkeypatch.setattr(zoo.serve.Served, "host", property(broken))
    with client(app()) as c:
        wait_ready(c)
        r = c.get("/v1/models/ner-bilstm/metadata", headers={"X-Request-ID": "req-9"})
        assert r.status_code == 500 and r.headers["content-type"] == "application/json"
        assert "internal error" in r.json()["error"] and r.headers["x-request-id"] == "req-9"


@pytest.fixture
def port(app):
    """A real uvicorn on a free port of 127.0.0.1, with the serve's own HTTP protocol and
    its loopback Host check."""
    import uvicorn

    import zoo.serve

    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app(hosts=zoo.serve.LOOPBACK_NAMES),
                                           log_level="error",
                                           http=zoo.serve.header_deadline(5)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


def raw(port: int, data: bytes) -> tuple[str, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        out = b""
        while not out.endswith(b"}") and (chunk := s.recv(65536)):
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def test_raw_http_http10_without_host_malformed_requests_and_keep_alive(port):
    """HTTP/1.0 without a Host (no browser sends that: no DNS rebinding) was a 403 "Host ''";
    a request the parser refuses was uvicorn's text/plain 'Invalid HTTP request received.'"""
    head, body = raw(port, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert head.startswith("HTTP/1.1 200") and json.loads(body) == {"status": "ok"}
    assert raw(port, b"GET /healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n")[0] \
        .startswith("HTTP/1.1 403")
    head, body = raw(port, b"GET /healthz HTTP/1.1\r\n\r\n")      # 1.1 requires a Host
    assert head.startswith("HTTP/1.1 400") and "without a Host" in json.loads(body)["error"]
    for bad in (b"HELLO\r\n\r\n", b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Length: abc\r\n\r\n{}", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"):
        head, body = raw(port, bad)
        assert head.startswith("HTTP/1.1 400") and "application/json" in head, head
        assert "x-request-id" in head and "not valid HTTP" in json.loads(body)["error"]
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:   # one connection, reused
        for i in range(200):
            r = c.post(PREDICT, json={"instances": [f"x{i}"]}) if i % 2 else c.get("/healthz")
            assert r.status_code == 200
        assert len(c._transport._pool.connections) == 1

"""`zoo serve` for its operator: a full queue is a 503 with Retry-After (--max-queue), the
model's warnings reach the client (X-Zoo-Warnings), and lock files killed writers left are
swept. Servers run in-process on 127.0.0.1, on a free port, each request bounded."""
import json
import contextlib
import fcntl
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd
import pytest

from zoo.errors import InputError

pytestmark = pytest.mark.xdist_group("serve")


def closes(n: int, freq: str, seed: int = 0) -> dict:
    dates = pd.date_range("2020-01-03", periods=n, freq=freq).strftime("%Y-%m-%d")
    rng = np.random.default_rng(seed)
    return {"name": f"S{seed}", "dates": list(dates),
            "close": [round(float(x), 2) for x in 100 * np.exp(np.cumsum(rng.normal(0, .01, n)))]}


@pytest.fixture(scope="module")
def server():
    """forecast-lstm served by uvicorn in a thread, --max-queue 4, on a free port."""
    import uvicorn

    from zoo.serve import create_app

    app = create_app(["forecast-lstm"], max_batch=8, max_queue=4)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    else:
        pytest.fail("forecast-lstm did not load within 180 s")
    yield url, app.state.served["forecast-lstm"]
    srv.should_exit = True
    thread.join(30)


def predict(url: str, *series) -> httpx.Response:
    return httpx.post(f"{url}/v1/models/forecast-lstm:predict", timeout=60,
                      json={"instances": list(series)})


@contextlib.contextmanager
def busy(served):
    """The model takes half a second a call: requests queue behind it."""
    fast = served.model.predict

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return fast(*args, **kwargs)
    served.model.predict = slow
    try:
        yield
    finally:
        served.model.predict = fast


def burst(url: str, series: list) -> list:
    with ThreadPoolExecutor(len(series)) as pool:
        return list(pool.map(lambda s: predict(url, s), series))


def test_a_full_queue_is_a_503_with_retry_after(server):
    url, served = server
    with busy(served):
        answers = burst(url, [closes(80, "B", i) for i in range(12)])
    codes = sorted(r.status_code for r in answers)
    assert set(codes) == {200, 503} and codes.count(200) >= 2, codes
    full = next(r for r in answers if r.status_code == 503)
    assert full.headers["retry-after"] == "1"
    assert "--max-queue 4" in full.json()["error"] and "\n" not in full.json()["error"]
    assert served.queued == 0                       # every request counted out again
    metrics = httpx.get(url + "/metrics").text
    assert "zoo_max_queue 4.0" in metrics
    assert 'zoo_queued_requests{model="forecast-lstm"} 0.0' in metrics
    assert 'code="503"' in metrics


def test_warnings_reach_the_client_as_headers(server):
    url, _ = server
    weekly = predict(url, closes(80, "W-FRI"))
    assert weekly.status_code == 200
    said = json.loads(weekly.headers["x-zoo-warnings"])
    assert len(said) == 1 and said[0].startswith("input 0 (S0): the dates are weekly"), said
    assert list(weekly.json()) == ["predictions"]   # TF Serving's envelope, as it was
    # the same request again is told again (Python shows a warning once per line of code)
    assert json.loads(predict(url, closes(80, "W-FRI")).headers["x-zoo-warnings"]) == said
    daily = predict(url, closes(80, "B"))
    assert "x-zoo-warnings" not in daily.headers
    # the second input of a request is named as the request's input 1
    two = predict(url, closes(80, "B"), closes(80, "W-FRI", 1))
    assert [w[:13] for w in json.loads(two.headers["x-zoo-warnings"])] == ["input 1 (S1):"]


def test_warnings_of_a_merged_batch_go_to_their_own_request(server):
    url, served = server
    with busy(served):
        answers = burst(url, [closes(80, "W-FRI" if i % 2 else "B", i) for i in range(4)])
    assert any(requests > 1 for _, requests in served.batcher.batches)     # merged
    for i, r in enumerate(answers):
        assert r.status_code == 200
        said = json.loads(r.headers.get("x-zoo-warnings", "[]"))
        if i % 2:
            assert len(said) == 1 and said[0].startswith(f"input 0 (S{i}): the dates are weekly")
        else:
            assert said == [], (i, said)


@pytest.mark.parametrize("value", [-1, 2.5, "ten", True])
def test_max_queue_is_checked_before_anything_loads(value):
    from zoo.serve import create_app

    with pytest.raises(InputError, match="--max-queue"):
        create_app(["forecast-lstm"], max_queue=value)


def test_default_queue_follows_max_batch():
    from zoo.serve import queue_limit

    assert queue_limit(1) == 64 and queue_limit(32) == 128 and queue_limit(100) == 400


def test_locks_of_killed_writers_are_swept(tmp_path):
    from zoo.bundle import STALE_LOCK_S, sweep_locks

    old = time.time() - STALE_LOCK_S - 60
    dead = tmp_path / "zoo-export-00000000000000aa.lock"
    dead.write_text("999999999")                    # no such process
    live = tmp_path / "zoo-export-00000000000000bb.lock"
    live.write_text(str(os.getpid()))
    held = tmp_path / "zoo-batch-predict-00000000000000cc.lock"
    held.write_text("")
    recent = tmp_path / "zoo-export-00000000000000dd.lock"
    recent.write_text("999999999")
    other = tmp_path / "zoo-export-mine.lock"       # not a name of ours
    other.write_text("999999999")
    for f in (dead, live, held, other):
        os.utime(f, (old, old))
    fd = os.open(held, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)                  # a writer that holds its lock
    try:
        assert sweep_locks(tmp_path) == 1
    finally:
        os.close(fd)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, held, recent, other))


def test_sighup_stops_the_server_as_sigterm_saying_so(tmp_path):
    """SIGHUP (a closed terminal, kill -HUP) ended the server at once without a word."""
    import signal
    import subprocess
    import sys

    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "zoo.serve", "forecast-lstm", "--port", "0"],
                            stdout=log.open("w"), stderr=subprocess.STDOUT,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        deadline = time.monotonic() + 60
        while "http://127.0.0.1:" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        time.sleep(1)                   # uvicorn's own SIGTERM handler is in place
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(60) == 143, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "zoo serve: SIGHUP" in text and "stopped by SIGTERM" in text
    assert "Traceback" not in text

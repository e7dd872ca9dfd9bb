"""A process that runs for days: `zoo serve`, or predict() in a user's own loop. Memory,
open files, threads, metric series and temporary files must stop growing after warm-up:
each test runs a few hundred calls and bounds the growth (a leak of a few KB per call
shows as MBs over days, not in one call)."""
import gc
import threading
import time

import psutil
import pytest

from zoo.batching import Batcher
from zoo.errors import InputError

SENTENCE = "EU rejects German call to boycott British lamb ."


def usage() -> tuple[float, int, int]:
    """(RSS MB, open fds, threads) of this process, after a collection."""
    gc.collect()
    p = psutil.Process()
    return p.memory_info().rss / 2**20, p.num_fds(), threading.active_count()


def grows(run, calls: int, warm: int = 30) -> tuple[float, int, int]:
    """Growth of usage() over `calls` calls of run(i), after `warm` calls."""
    for i in range(warm):
        run(i)
    before = usage()
    for i in range(calls):
        run(i)
    after = usage()
    return tuple(a - b for a, b in zip(after, before))


def test_serve_keeps_no_state_per_request_or_client(monkeypatch):
    """~600 requests (answers, bad JSON, unknown methods and models, too many instances,
    client request ids): no thread, file, metric series or MBs added per request."""
    from fastapi.testclient import TestClient

    import zoo.serve
    from zoo import registry

    class Echo:
        def host(self):
            return registry.get("ner-bilstm").module("host").Host({})

        def predict(self, xs, **options):
            return [{"text": x} for x in xs]

    def load(s, max_batch, max_wait_ms, metrics):
        s.model = Echo()
        s.batcher = Batcher(s.guarded(s.model.predict), max_batch, max_wait_ms)

    monkeypatch.setattr(zoo.serve, "load", load)
    path = "/v1/models/ner-bilstm"
    kinds = [(f"{path}:predict", '{"instances": ["x"]}'), (f"{path}:predict", "{bad"),
             (f"{path}:nope", "{}"), ("/v1/models/nobody:predict", "{}"),
             (f"{path}:predict", '{"instances": [%s]}' % ", ".join(['"x"'] * 70))]
    with TestClient(zoo.serve.create_app(["ner-bilstm"], max_instances=64)) as client:
        def run(i):
            url, body = kinds[i % len(kinds)]
            client.post(url, content=body, headers={"X-Request-ID": f"client-{i}"})
        grows(run, 30)
        lines = len(client.get("/metrics").text.splitlines())
        mb, fds, threads = grows(run, 600, warm=0)
        assert len(client.get("/metrics").text.splitlines()) == lines   # fixed label sets
    assert fds <= 1 and threads <= 0 and mb < 15, (mb, fds, threads)


def test_a_failed_remote_export_leaves_no_temporary_folder(monkeypatch, tmp_path):
    """batch-predict to a remote --output exports through a zoo-export-* folder in the
    temp folder: an export or upload that failed left it there, one per run."""
    import tempfile

    import zoo
    from zoo import batch_predict

    class Model:
        class entry:
            name = "ner-bilstm"

        def export(self, path):
            path.write_bytes(b"half an export")
            raise InputError("the disk filled up")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(zoo, "load", lambda name: Model())
    with pytest.raises(InputError, match="disk filled up"):
        batch_predict.model_export("ner-bilstm", "gs://bucket/out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_predict_in_a_loop_keeps_memory_files_and_threads(shipped):
    """predict() called in a user's loop (here ~300 times, inputs of varying length, so
    new shapes each call): RSS, open files and threads flat after warm-up (measured
    flat over 3,000 calls of ner, summarize, caption, speech and forecast)."""
    m = shipped("ner-bilstm")
    words = SENTENCE.split()
    start = time.monotonic()
    mb, fds, threads = grows(lambda i: m.predict([" ".join(words * (1 + i % 7))[:200]]), 300)
    assert fds <= 0 and threads <= 0 and mb < 20, (mb, fds, threads)
    assert time.monotonic() - start < 60

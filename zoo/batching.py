"""Dynamic micro-batching: concurrent requests to one model run as one predict() call.

Each served model has one Batcher. A request queues its instances and waits; a collector
task takes the oldest waiting request, lets later ones with the same options join until
`max_batch` instances or `max_wait_ms` have passed, runs one `predict` in the model's own
worker thread (one call at a time per model: a Keras model or a LiteRT interpreter is
not made for concurrent calls) and hands each request its own slice of the results.
While a batch runs, new requests queue up, so under load batches fill without waiting.

Requests with different options never share a batch, nor does one submitted `alone` (its
results depend on all its inputs together). Options named in `per_input` hold one value per
instance (a generator's seeds): requests that differ only in them merge, their lists joined. If a merged batch fails (one
request's bad input), each of its requests is run alone, so the others still get their
answers and the error numbers the inputs of the request that caused it.

>>> import asyncio
>>> b = Batcher(lambda xs, **options: [x * options.get("k", 2) for x in xs], max_batch=8)
>>> async def two_clients():
...     return await asyncio.gather(b.submit([1, 2]), b.submit([3], {"k": 10}), b.submit([4]))
>>> asyncio.run(two_clients())
[[2, 4], [30], [8]]
>>> list(b.batches)      # (instances, requests) of each predict call: [1, 2] and [4] merged
[(3, 2), (1, 1)]
>>> async def alone():
...     return await asyncio.gather(b.submit([1, 2], alone=True), b.submit([4], alone=True))
>>> asyncio.run(alone()), list(b.batches)[2:]
([[2, 4], [8]], [(2, 1), (1, 1)])
>>> s = Batcher(lambda xs, seed: [x + s for x, s in zip(xs, seed)], per_input=("seed",))
>>> async def seeded():
...     return await asyncio.gather(s.submit([1, 2], {"seed": [0, 1]}), s.submit([3], {"seed": [0]}))
>>> asyncio.run(seeded()), list(s.batches)
([[1, 3], [3]], [(3, 2)])
"""
from __future__ import annotations

import asyncio
import collections
import functools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from .errors import ZooError


@dataclass
class _Job:
    instances: list
    options: dict
    key: str                    # the options as sorted JSON: jobs with equal keys may merge
    future: asyncio.Future


class Batcher:
    """`await submit(instances, options)` -> `predict(instances, **options)`, batched with
    other concurrent submits. `on_batch(instances, requests, seconds)` is told of each run
    (metrics); `batches` keeps the last 1000 (instances, requests) pairs."""

    def __init__(self, predict: Callable, max_batch: int = 32, max_wait_ms: float = 0.0,
                 on_batch: Callable | None = None, name: str = "model", per_input: tuple = ()):
        if max_batch < 1 or max_wait_ms < 0:
            raise ZooError(f"max_batch must be >= 1 and max_wait_ms >= 0; got {max_batch}, "
                           f"{max_wait_ms}")
        self.predict, self.max_batch, self.max_wait = predict, max_batch, max_wait_ms / 1000
        self.on_batch, self.per_input = on_batch, per_input
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"predict-{name}")
        self.pending: collections.deque[_Job] = collections.deque()
        self.batches: collections.deque = collections.deque(maxlen=1000)
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def submit(self, instances: list, options: dict | None = None,
                     alone: bool = False) -> list:
        options = options or {}
        loop = asyncio.get_running_loop()
        shared = {k: "per input" if k in self.per_input else v for k, v in options.items()}
        job = _Job(list(instances), options, json.dumps(shared, sort_keys=True, default=str),
                   loop.create_future())
        if alone:                   # a key no other job has
            job.key = f"alone {id(job)}"
        if self._task is None or self._task.done():     # started in the serving event loop
            self._arrived = asyncio.Event()
            self._task = loop.create_task(self._collect())
        self.pending.append(job)
        self._arrived.set()
        return await job.future

    async def call(self, fn: Callable, *args, **kwargs):
        """Run `fn` alone in the model's worker thread (not batched: e.g. a picture)."""
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _collect(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self.pending:
                await self._run(await self._gather())

    async def _gather(self) -> list[_Job]:
        """The oldest job, and the later ones with the same options that fit, waiting at
        most max_wait for more to arrive."""
        loop = asyncio.get_running_loop()
        first = self.pending.popleft()
        batch, size = [first], len(first.instances)
        deadline = loop.time() + self.max_wait
        while size < self.max_batch:
            for job in list(self.pending):
                if job.key == first.key and size + len(job.instances) <= self.max_batch:
                    self.pending.remove(job)
                    batch.append(job)
                    size += len(job.instances)
            left = deadline - loop.time()
            if size >= self.max_batch or left <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                break
        self._arrived.set()          # jobs left behind (other options) start the next round
        return batch

    async def _run(self, batch: list[_Job]) -> None:
        batch = [job for job in batch if not job.future.done()]    # clients that gave up
        if not batch:
            return
        instances = [x for job in batch for x in job.instances]
        start = time.perf_counter()
        try:
            options = {**batch[0].options, **{k: [v for job in batch for v in job.options[k]]
                                              for k in self.per_input if k in batch[0].options}}
            results = await self.call(self.predict, instances, **options)
            if len(results) != len(instances):
                raise ZooError(f"predict returned {len(results)} results for "
                               f"{len(instances)} inputs; expected one per input")
        except Exception as e:          # handed to the request(s), never lost
            if len(batch) > 1:
                for job in batch:
                    await self._run([job])
            elif not batch[0].future.done():
                batch[0].future.set_exception(e)
            return
        self.batches.append((len(instances), len(batch)))
        if self.on_batch:
            self.on_batch(len(instances), len(batch), time.perf_counter() - start)
        at = 0
        for job in batch:
            if not job.future.done():
                job.future.set_result(results[at:at + len(job.instances)])
            at += len(job.instances)

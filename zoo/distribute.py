"""Which tf.distribute strategy `zoo train` / `zoo fine-tune` train under (`--strategy`),
and which worker writes what.

- `default`: one process, one device (tf.distribute's default strategy);
- `mirrored`: `MirroredStrategy` over this machine's devices (GPUs; on a CPU-only machine
  it has one replica and is the default strategy with extra bookkeeping);
- `multi_worker`: `MultiWorkerMirroredStrategy` over the processes that `TF_CONFIG` names
  (one replica per worker here: CPUs, or one GPU each), synchronous all-reduce;
- `auto` (the CLI's default): `multi_worker` when `TF_CONFIG` names more than one worker,
  else `default`.

The recipe's `batch_size` stays the *global* batch: Keras hands each global batch to
`strategy.experimental_distribute_dataset`, which splits it into `batch_size / replicas`
examples per replica (every worker builds the same seeded dataset and keeps its slice of
each global batch: auto-sharding by DATA), and the loss is scaled by `1 / replicas` before
the gradients are summed, so a step is the same step as on one worker. Learning rate,
epochs and steps are the card's whatever the worker count.

Only the chief (task type `chief`, or `worker` 0 when there is none) writes the bundle,
the card, plots and the checkpoints that a restart resumes from; every other worker
writes its copies of the same files into a private temporary folder (`worker_dir`), as the
TF multi-worker Keras tutorial does: saving may read synchronised-on-read variables
(Keras metrics), which is a collective that every worker must join.

>>> import json
>>> conf = {"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]},
...         "task": {"type": "worker", "index": 1}}
>>> env = {"TF_CONFIG": json.dumps(conf)}
>>> choose("auto", env), workers(env), is_chief(env)
('multi_worker', 2, False)
>>> choose("auto", {}), workers({}), is_chief({})
('default', 1, True)
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from .contract import shorten
from .errors import InputError, ZooError, warn

log = logging.getLogger("zoo")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
CLUSTER_TIMEOUT = 300       # seconds a worker waits for the others (ZOO_CLUSTER_TIMEOUT)
TASK_TYPES = ("chief", "worker", "evaluator", "ps")
_in_use: dict = {}          # {"name": ..., "strategy": ...} once `use` made one
_private: dict = {}         # work folder -> this non-chief worker's own folder


def tf_config(env=None) -> dict:
    """The parsed `TF_CONFIG` ({} when unset), checked: a cluster of host:port lists and a
    task that is in it. Malformed: one-line InputError.

    >>> tf_config({"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker"}}'})
    Traceback (most recent call last):
    ...
    zoo.errors.InputError: TF_CONFIG: task needs an integer "index" (0 .. 0 for worker)
    """
    text = (os.environ if env is None else env).get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        conf = json.loads(text)
    except ValueError as e:
        raise InputError(f"TF_CONFIG is not JSON ({e.msg} at character {e.pos}); expected "
                         '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": '
                         '"worker", "index": N}}') from None
    cluster = conf.get("cluster") if isinstance(conf, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise InputError('TF_CONFIG needs a "cluster" object, e.g. {"worker": ["host:port", ...]}')
    for kind, hosts in cluster.items():
        if kind not in TASK_TYPES:
            raise InputError(f"TF_CONFIG: unknown task type {kind!r} in cluster; expected "
                             f"one of {', '.join(TASK_TYPES)}")
        if not isinstance(hosts, list) or not hosts or not all(map(_host_port, hosts)):
            raise InputError(f'TF_CONFIG: cluster["{kind}"] must be a list of "host:port" '
                             f"strings (port 1..65535); got {hosts!r}")
    if len(cluster.get("chief", [])) > 1:
        raise InputError("TF_CONFIG: a cluster has at most one chief")
    # localhost:P and 127.0.0.1:P are one port: TensorFlow listens on every address
    every = [h for hosts in cluster.values() for h in hosts]
    same = [[h for h in every if _LOOPBACK.sub("127.0.0.1:", h) == key]
            for key in dict.fromkeys(_LOOPBACK.sub("127.0.0.1:", h) for h in every)]
    twice = [hosts for hosts in same if len(hosts) > 1]
    if twice:                   # two tasks cannot listen there: the first waited forever
        named = " and ".join(dict.fromkeys(twice[0]))
        raise InputError(f"TF_CONFIG: {named} "
                         + ("is named twice" if len(set(twice[0])) == 1 else
                            "are one port of this machine, named twice")
                         + " in the cluster; expected one host:port per task")
    task = conf.get("task")
    if not isinstance(task, dict) or not isinstance(task.get("type"), str) \
            or task["type"] not in cluster:
        raise InputError(f'TF_CONFIG needs a "task" whose "type" is one of the cluster\'s '
                         f"({', '.join(cluster)}); got {task!r}")
    n = len(cluster[task["type"]])
    index = task.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
        raise InputError(f'TF_CONFIG: task needs an integer "index" (0 .. {n - 1} for '
                         f"{task['type']})")
    return conf


_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1|0\.0\.0\.0|\[::\]):",
                       re.IGNORECASE)


def _host_port(text) -> bool:
    """"host:port" with a host and a port in 1..65535.

    >>> _host_port("127.0.0.1:2222"), _host_port(":2222"), _host_port("a:99999")
    (True, False, False)
    """
    if not isinstance(text, str):
        return False
    host, _, port = text.rpartition(":")
    return bool(host) and port.isdigit() and 1 <= int(port) <= 65535


def local_cluster(n: int) -> list[str]:
    """TF_CONFIG values for `n` workers on this machine (127.0.0.1, ports free now; worker 0
    is the chief): start one process per value, e.g. to try multi-worker training on a
    laptop.

    >>> configs = local_cluster(2)
    >>> [json.loads(c)["task"] for c in configs]
    [{'type': 'worker', 'index': 0}, {'type': 'worker', 'index': 1}]
    """
    import socket

    socks = [socket.socket() for _ in range(n)]
    for s in socks:                  # all bound at once, so no two get the same port
        s.bind(("127.0.0.1", 0))
    hosts = [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]
    for s in socks:
        s.close()
    return [json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": i}})
            for i in range(n)]


def workers(env=None) -> int:
    """How many processes train together: the cluster's chief and workers (1 without
    TF_CONFIG); evaluators and parameter servers do not train synchronously."""
    cluster = tf_config(env).get("cluster", {})
    return max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))


def task(env=None) -> tuple[str, int]:
    """(type, index) of this process: ("worker", 0) without TF_CONFIG."""
    t = tf_config(env).get("task", {"type": "worker", "index": 0})
    return t["type"], t["index"]


def is_chief(env=None) -> bool:
    """The chief writes the bundle: task type "chief", or worker 0 in a cluster without one."""
    conf = tf_config(env)
    kind, index = task(env)
    if "chief" in conf.get("cluster", {}):
        return kind == "chief"
    return kind == "worker" and index == 0


def choose(name: str = "auto", env=None) -> str:
    """The strategy `name` resolves to ("auto": multi_worker when TF_CONFIG names more than
    one worker, else default); an unknown name is a one-line InputError."""
    if name not in STRATEGIES:
        raise InputError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")
    tf_config(env)                  # checked whatever the strategy: a typo must not go silent
    kind, index = task(env)
    if kind not in ("chief", "worker"):
        # MultiWorkerMirroredStrategy trains on chief and workers only: an evaluator trained
        # alone and wrote nothing ("the chief writes the bundle"), a ps raised a ValueError
        raise InputError(f"TF_CONFIG: this process is task {kind} {index}; zoo train and "
                         f"fine-tune run as the cluster's chief or workers (expected task "
                         f'"type" chief or worker)')
    if name == "auto":
        return "multi_worker" if workers(env) > 1 else "default"
    if name != "multi_worker" and workers(env) > 1:
        raise InputError(f"TF_CONFIG names {workers(env)} workers but --strategy is {name}: "
                         f"each would train alone and write the same bundle; use multi_worker "
                         f"(or auto), or unset TF_CONFIG")
    return name


def use(name: str = "auto"):
    """Create the strategy `name` for this process (once: a second call with the same name
    returns it) and make it the one `current` gives. MultiWorkerMirroredStrategy must be
    made before TensorFlow runs its first operation, so the CLI calls this first."""
    import tensorflow as tf

    chosen = choose(name)
    if _in_use:
        if _in_use["name"] != chosen:
            raise InputError(f"this process already trains with the {_in_use['name']} "
                             f"strategy; one process uses one strategy: train with {chosen} in a new "
                             f"process")
        return _in_use["strategy"]
    if chosen == "multi_worker":
        patch_keras()
        seconds = cluster_timeout()
        if tf_config():     # without TF_CONFIG, one local worker: nothing to wait for (a raw
            bound_cluster_wait(seconds)     # KeyError: 'cluster' was raised here)
            log.info("%s %d: waiting up to %g s for the cluster's other %d task(s) "
                     "(ZOO_CLUSTER_TIMEOUT)", *task(), seconds, workers() - 1)
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except tf.errors.DeadlineExceededError:
            raise not_formed(seconds) from None
        except (tf.errors.UnknownError, tf.errors.InternalError) as e:
            # a traceback ending "UnknownError: Could not start gRPC server" (this task's port
            # taken) or "InternalError: Coordination service is not enabled" (a task reached
            # another process where it expected the cluster's leader)
            raise cannot_start(e) from None
        except RuntimeError as e:
            raise InputError(f"cannot start MultiWorkerMirroredStrategy ({shorten(e, 300)}); it "
                             f"must be created before TensorFlow runs anything: call "
                             f"zoo.distribute.use('multi_worker') first") from None
    elif chosen == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    _in_use.update(name=chosen, strategy=strategy)
    if chosen != "default":
        log.info("training with %s: %d worker(s), %d replica(s) in sync; this is %s %d%s",
                 chosen, workers(), strategy.num_replicas_in_sync, *task(),
                 " (chief)" if is_chief() else "")
    return strategy


def cluster_timeout(env=None) -> float:
    """Seconds a worker waits for the cluster to form (ZOO_CLUSTER_TIMEOUT, default 300)."""
    from .options import check_number

    text = (os.environ if env is None else env).get("ZOO_CLUSTER_TIMEOUT", "").strip()
    if not text:
        return CLUSTER_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = text
    # at most a week: 1e300 overflowed the coordination service's int64 of milliseconds
    # (a raw "ValueError: Value out of range" from protobuf)
    return check_number(value, "ZOO_CLUSTER_TIMEOUT (seconds)", above=0, high=7 * 86400)


def _listening(host_port: str) -> bool:
    import socket

    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
            return True
    except OSError:
        return False


def bound_cluster_wait(seconds: float) -> None:
    """Configure TensorFlow's coordination service as MultiWorkerMirroredStrategy would (it
    keeps a configuration made before it), with a deadline for the cluster to form: by
    default a worker started without the others waited an hour in TensorFlow's C++, in
    silence and deaf to SIGTERM. With the deadline the strategy raises DeadlineExceededError
    (the leader at its registration barrier, the other tasks when they cannot register)."""
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    if context.context().coordination_service is not None:
        return
    spec = tf.train.ClusterSpec(tf_config()["cluster"])
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=spec.num_tasks(job))
            for job in ("chief", "worker") if job in spec.jobs]
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=multi_worker_util.coordination_leader(spec),
        coordinated_jobs=jobs, cluster_register_timeout_in_ms=int(seconds * 1000))
    # Not an argument of configure_coordination_service: without it the leader's wait for
    # the other tasks ignores the deadline (only a task that cannot reach the leader obeys it).
    context.context()._coordination_service_config.cluster_register_with_barrier = True


def not_formed(seconds: float) -> InputError:
    """The one-line error of a worker whose cluster did not form: which tasks do not listen."""
    conf, me = tf_config(), task()
    others = [(kind, i, host) for kind in ("chief", "worker")
              for i, host in enumerate(conf.get("cluster", {}).get(kind, [])) if (kind, i) != me]
    missing = [f"{kind} {i} at {host}" for kind, i, host in others if not _listening(host)]
    why = (f"nothing listens for {', '.join(missing[:8])}" if missing else
           "the other tasks listen but did not join (do their TF_CONFIGs name the same cluster?)")
    return InputError(f"{me[0]} {me[1]}: the cluster did not form within {seconds:g} s: {why}; "
                      f"start every task TF_CONFIG names, each with its own task "
                      f"(ZOO_CLUSTER_TIMEOUT=SECONDS sets this wait)")


def cannot_start(error) -> InputError:
    """The one-line error of a worker whose TensorFlow server did not start or whose leader
    did not answer as one: which port, and what to change."""
    me = task()
    host = tf_config()["cluster"][me[0]][me[1]]
    cause = shorten(str(getattr(error, "message", None) or error).splitlines()[0], 200)
    if "gRPC server" in cause:
        # TensorFlow listens on the port on every address of this machine, whatever host
        # TF_CONFIG names
        return InputError(f"{me[0]} {me[1]}: cannot listen on port {host.rpartition(':')[2]} "
                          f"(its address in TF_CONFIG, {host}): another process on this "
                          f"machine uses it; stop it or give every task a free port "
                          f"(zoo.distribute.local_cluster(N) finds free ones)")
    return InputError(f"{me[0]} {me[1]}: the cluster did not start ({type(error).__name__}: "
                      f"{cause}); is every task's host:port in TF_CONFIG its own, the same "
                      f"cluster in every task's TF_CONFIG?")


def current():
    """The strategy `use` made, else TensorFlow's default (one device)."""
    import tensorflow as tf

    return _in_use.get("strategy") or tf.distribute.get_strategy()


def name() -> str:
    return _in_use.get("name", "default")


def distributed() -> bool:
    """True under a strategy other than the default (jit and the plain copy depend on it)."""
    return name() != "default"


def describe(batch_size: int) -> dict:
    """What the card records: strategy, workers, replicas, the global batch and each
    replica's share of it.

    >>> d = describe(32)
    >>> d["strategy"], d["workers"], d["replicas"], d["global_batch"], d["per_replica_batch"]
    ('default', 1, 1, 32, 32)
    """
    replicas = current().num_replicas_in_sync
    return {"strategy": name(), "workers": workers() if name() == "multi_worker" else 1,
            "replicas": replicas, "global_batch": batch_size,
            "per_replica_batch": batch_size / replicas if batch_size % replicas
            else batch_size // replicas}


def check_batch(batch_size: int) -> None:
    """A global batch that does not divide among the replicas trains unevenly split
    batches (the loss then weighs the replicas' examples unequally): say so."""
    replicas = current().num_replicas_in_sync
    if batch_size % replicas:
        warn(f"batch_size {batch_size} does not divide among {replicas} replicas: each global "
             f"batch is split unevenly, and its loss is then not exactly the one-worker loss; "
             f"give a multiple of {replicas}")


def worker_dir(work: Path) -> Path:
    """Where this process writes a run's files: `work` itself on the chief; on any other
    worker a private temporary folder (one per `work`, removed at exit), so that workers
    sharing a file system never write the same file."""
    if is_chief():
        return Path(work)
    key = str(Path(work).resolve())
    if key not in _private:
        kind, index = task()
        _private[key] = Path(tempfile.mkdtemp(prefix=f"zoo-{kind}{index}-"))
        atexit.register(shutil.rmtree, _private[key], True)
    return _private[key]


class WorkerLost(ZooError):
    """A collective failed because another worker of a multi-worker run stopped."""


def lost(error, checkpoint_epoch: int) -> WorkerLost:
    """The one-line error for a worker whose peer died mid-run. The collective it waits in
    fails: measured here, about 20 s after a non-chief worker's death (the coordination
    service on the chief misses its heartbeats), a few seconds after the chief's (the
    connection resets). TensorFlow cannot re-admit a restarted worker into a running
    cluster, so every worker has to be restarted; each then resumes from the chief's last
    checkpoint.

    >>> class Aborted(Exception):
    ...     message = ("Graph execution error:\\n\\nDetected at node CollectiveReduceV2\\n"
    ...                "Collective ops is aborted by: recvmsg:Connection reset by peer\\n")
    >>> str(lost(Aborted(), 3))[:92]
    'worker 0: lost the other workers (Aborted: Collective ops is aborted by: recvmsg:Connection '
    >>> class Long(Exception):
    ...     message = "Collective ops is aborted by: " + "a cause " * 60
    >>> "a cause a c...); restart every worker" in str(lost(Long(), 3))
    True
    """
    # TensorFlow's message starts with where the collective was defined; the cause is the
    # line that says why it was aborted (a peer's heartbeats stopped, a connection reset).
    lines = [line.strip() for line in (getattr(error, "message", None) or str(error)).splitlines()]
    useful = [line for line in lines if line and not line.startswith(
        ("Graph execution error", "Detected at node", "File "))] or [""]
    first = next((line for line in useful if "aborted by" in line), useful[0])
    # the whole cause, on one line, marked where cut (it was cut at 160 characters unmarked)
    first = shorten(re.sub(r"\{\{function_node [^}]*\}\}\s*", "", first), 300)
    kind, index = task()
    return WorkerLost(f"{kind} {index}: lost the other workers ({type(error).__name__}: "
                      f"{first}); restart every worker with the same command and TF_CONFIG: "
                      f"training resumes from the last checkpoint (epoch {checkpoint_epoch})")


def peer_errors() -> tuple:
    """TensorFlow's error types for a collective whose peer went away."""
    import tensorflow as tf

    return (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.AbortedError,
            tf.errors.DeadlineExceededError)


def agree(value: float, op: str = "MEAN") -> float:
    """`value` reduced over every worker (a collective: all workers call it in the same
    order). Per-epoch decisions (best epoch, early stop) are taken on the agreed value, so
    no worker stops or saves alone on a bitwise-different validation score."""
    import tensorflow as tf

    strategy = current()
    if strategy.num_replicas_in_sync == 1:
        return value
    out = strategy.reduce(op, tf.constant(float(value), tf.float64), axis=None)
    return float(out.numpy())


def check_same_start(done: int, out) -> None:
    """Every worker resumes after the same epoch, or none trains: a worker whose --out is not
    the chief's (node-local storage) found no checkpoint and started over while the chief
    resumed, so the two trained different epochs on different weights, the chief wrote a
    bundle of neither run, and the other worker then blamed a lost peer. A collective: every
    worker calls it once, after reading its checkpoint. (mean of d and of d squared agree on
    every worker; their variance is 0 only if all resume after the same epoch)"""
    import tensorflow as tf

    strategy = current()
    if strategy.num_replicas_in_sync == 1:
        return
    mean, square = (float(v) for v in strategy.reduce(
        "MEAN", tf.constant([float(done), float(done) ** 2], tf.float64), axis=None).numpy())
    if square - mean * mean > 1e-9:
        kind, index = task()
        raise InputError(f"{kind} {index}: resumes after epoch {done} of {out}, other workers "
                         f"after another (mean {mean:g}): every worker must read the chief's "
                         f"checkpoint, so --out must be one folder on storage they all see "
                         f"(NFS, a ReadWriteMany volume)")


def patch_keras() -> None:
    """Two workarounds for Keras 3.15's TensorFlow trainer under MultiWorkerMirroredStrategy
    (with the stock code `fit` fails at its first batch here; keras-team/keras#20585, open,
    reports TensorFlow's multi-worker tutorial failing with Keras 3):

    - `reduce_per_replica` reduces the per-replica logs (scalar losses and metrics) with
      `strategy.reduce("MEAN", v, axis=0)`, which fails on a scalar ("Invalid reduction
      dimension 0"): scalars are averaged over replicas with axis=None here;
    - `_maybe_symbolic_build` all-reduces a whole input batch (a nest, which the collective
      strategy refuses) only to learn its shapes, and consumes it from a fresh iterator,
      which reshuffles the epoch; `prebuild` builds from the dataset's element_spec
      instead (see `fit_dataset`)."""
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, "zoo_patched", False):
        return
    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction="auto"):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            import tensorflow as tf

            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None),
                                         values)
        return original(values, strategy, reduction)

    reduce_per_replica.zoo_patched = True
    trainer.reduce_per_replica = reduce_per_replica


def prebuild(model, ds) -> None:
    """Build the compiled loss and metrics from `ds`'s element_spec under the strategy (no
    batch is read), and make Keras's own first-batch build a no-op for this model."""
    import types

    with current().scope():
        model._symbolic_build(data_batch=ds.element_spec)
    model._maybe_symbolic_build = types.MethodType(lambda self, *a, **k: None, model)


def count_batches(ds) -> int:
    """How many batches one pass of `ds` gives (its cardinality, else by running it)."""
    import tensorflow as tf

    n = int(ds.cardinality())
    if n >= 0:
        return n
    return int(ds.reduce(tf.constant(0, tf.int64), lambda c, _: c + 1))


def fit_dataset(model, make, steps: int | None):
    """(dataset, steps) for one `model.fit` epoch under the current strategy; `make()`
    builds the epoch's seeded, globally batched dataset.

    Default strategy: `make()` and `steps` as they are. Otherwise every replica takes its
    slice of each global batch (replica r of R: examples r*n//R .. (r+1)*n//R of a batch
    of n), from a dataset each worker builds from the same seed, so the replicas together
    train exactly the batches one worker would, in the same order. (tf.distribute's own
    DATA auto-sharding rebuilds the pipeline, and its shuffle then draws another order.)
    The epoch runs a fixed number of steps: at the end of a finite dataset Keras's
    multi-worker iterator runs one more, empty step, which moves Adam's weights."""
    ds = make()
    if not distributed():
        return ds, steps
    import tensorflow as tf

    if steps is None:
        steps = count_batches(make())    # a copy: iterating `ds` would reshuffle it
        ds = ds.repeat()
    prebuild(model, ds)

    def per_worker(ctx):
        total = ctx.num_replicas_in_sync
        local = total // ctx.num_input_pipelines
        first = ctx.input_pipeline_id * local

        def part(batch, r):
            n = tf.shape(tf.nest.flatten(batch)[0])[0]
            lo, hi = r * n // total, (r + 1) * n // total
            return tf.nest.map_structure(lambda t: t[lo:hi], batch)

        def split(*batch):
            batch = batch if len(batch) > 1 else batch[0]
            return tf.data.Dataset.range(first, first + local).map(
                lambda r: part(batch, tf.cast(r, tf.int32)))

        return ds.flat_map(split)

    return current().distribute_datasets_from_function(per_worker), steps


def plain_copy(model):
    """The trained weights in a model built outside any strategy: evaluation, exports and
    the bundle then read ordinary variables and never start a collective (the other
    workers may have exited)."""
    import keras

    bare = keras.Model.from_config(model.get_config())
    bare.set_weights(model.get_weights())
    return bare

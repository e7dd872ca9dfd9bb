"""One model, many threads and processes: the Keras settings the zoo's calls run under, held
for every call running at once; a child forked after TensorFlow ran refused, not hung."""
import os
import select
import threading

import pytest

import zoo
from zoo.errors import ZooError


def test_a_call_that_begins_while_another_has_switched_keeps_the_defaults_to_its_end():
    """With keras.json's float64 / channels_first, a thread whose predict began while
    another's was running went on under the other's switch to float32, and the other's end
    put float64 back under its first trace. Keras keeps the dtype policy per thread: a
    thread's own is back as it was (a zoo call fixed a fresh thread's to float32)."""
    import keras

    from zoo.model import keras_defaults

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with keras_defaults():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with keras_defaults():
            second_in.set()
            first_out.wait(5)
            seen["inside"] = (keras.config.floatx(), keras.config.image_data_format(),
                              keras.config.dtype_policy().name)
        seen["after"] = keras.config.dtype_policy().name    # as the user's floatx gives it

    keras.config.set_floatx("float64")
    keras.config.set_image_data_format("channels_first")
    try:
        threads = [threading.Thread(target=f) for f in (first, second)]
        [t.start() for t in threads]
        [t.join(10) for t in threads]
        assert seen == {"inside": ("float32", "channels_last", "float32"), "after": "float64"}
        assert (keras.config.floatx(), keras.config.image_data_format()) == \
            ("float64", "channels_first")
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_image_data_format("channels_last")


def in_forked_child(work) -> str:
    """What `work()` returns (or raises) in a child forked from this process, within 20 s."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:        # the child: plain Python, then out without pytest's exit handlers
        try:
            os.write(write, str(work()).encode())
        except BaseException as e:
            os.write(write, f"{type(e).__name__}: {e}".encode())
        os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 20)
        return os.read(read, 4096).decode() if ready else "no answer in 20 s"
    finally:
        os.close(read)
        if not os.waitpid(pid, os.WNOHANG)[0]:
            os.kill(pid, 9)
            os.waitpid(pid, 0)


def test_a_child_forked_after_tensorflow_ran_without_a_model_is_refused(monkeypatch):
    """A parent that ran TensorFlow itself (a tf.data pipeline, tf.constant(1) + 1) and
    loaded no model before a fork()-started Pool: the child's zoo.load waited for ever."""
    import tensorflow as tf

    import zoo.model

    tf.constant(1) + 1        # this process's TensorFlow runtime has started
    monkeypatch.setattr(zoo.model, "_TF_STARTED_IN", None)      # no ZooModel made here
    answer = in_forked_child(lambda: zoo.model.check_process("zoo.load('ner-bilstm')"))
    assert answer.startswith(f"ZooError: zoo.load('ner-bilstm'): this process was forked "
                             f"from process {os.getpid()} after TensorFlow ran there"), answer
    assert zoo._FORKED_AFTER_TENSORFLOW is None     # this process was not forked after it
    zoo.model.check_process("zoo.load('ner-bilstm')")


def test_save_deepcopy_and_train_in_a_forked_child_are_refused(shipped, monkeypatch, tmp_path):
    """m.save(DIR), copy.deepcopy(m) and zoo.train in a child forked after the parent loaded
    the model waited for ever (reading or making weights); they are refused as predict is."""
    import copy

    import zoo.model

    m = shipped("forecast-lstm")
    monkeypatch.setattr(zoo.model, "_TF_STARTED_IN", os.getpid() + 1)     # as in a child
    with pytest.raises(ZooError, match=r"forecast-lstm save: this process was forked"):
        m.save(tmp_path / "copy")
    with pytest.raises(ZooError, match=r"copy\.deepcopy of forecast-lstm: this process was "
                                       r"forked"):
        copy.deepcopy(m)
    assert not (tmp_path / "copy").exists()
    with pytest.raises(ZooError, match=r"zoo\.train\('forecast-lstm'\): this process was forked"):
        zoo.train("forecast-lstm", out=tmp_path / "run")

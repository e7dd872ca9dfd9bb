"""A character-level language model: embedding -> stacked recurrent layers -> next-character
logits; and the one-step function the host drives to generate and score text.

>>> import numpy as np
>>> m = build({"chars": list("\\ufffdab"), "seq_len": 8}, units=4, embed=2)
>>> tuple(m({"ids": np.zeros((1, 5), "int32")})["logits"].shape)
(1, 5, 3)
"""
from __future__ import annotations

import keras

from zoo.layers import LSTM

CELLS = {"rnn": keras.layers.SimpleRNN, "lstm": LSTM, "gru": keras.layers.GRU}
# What build's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"cell": tuple(CELLS), "embed": (1, 8192)}


def build(prep: dict, init=None, cell: str = "lstm", units: int = 512, layers: int = 1,
          embed: int = 64, dropout: float = 0.1) -> keras.Model:
    """{"ids": [B, T] int32} -> {"logits": [B, T, V]}: the next character's logits after
    each character (the state starts at zero for every window)."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}; got {cell!r}")
    vocab = len(prep["chars"])
    ids = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab, embed, name="embed")(ids)
    for i in range(layers):
        x = CELLS[cell](units, return_sequences=True, recurrent_initializer="orthogonal",
                        name=f"rnn_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(vocab, name="logits")(x)
    return keras.Model({"ids": ids}, {"logits": logits}, name=f"charlm_{cell}")


def loss(model):
    return {"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}


def recurrent_layers(model) -> list:
    return sorted((lyr for lyr in model.layers if lyr.name.startswith("rnn_")), key=lambda lyr: lyr.name)


def state_names(model) -> dict[str, int]:
    """{"h_0": units, "c_0": units, ...}: the recurrent state the step carries."""
    out = {}
    for i, rnn in enumerate(recurrent_layers(model)):
        parts = ("h", "c") if isinstance(rnn, keras.layers.LSTM) else ("h",)
        out.update({f"{p}_{i}": rnn.units for p in parts})
    return out


def stateful_view(model, batch: int | None = None) -> keras.Model:
    """{"ids": [B, T], "h_0", ...: states} -> {"logits", "h_0", ...: new states}: the trained
    layers over a window whose state is carried in and out (evaluation reads a long text
    window by window this way, as if in one piece). Shares the weights."""
    ids = keras.Input((None,), batch_size=batch, dtype="int32", name="ids")
    inputs, outputs = {"ids": ids}, {}
    x = model.get_layer("embed")(ids)
    sizes = state_names(model)
    for i, rnn in enumerate(recurrent_layers(model)):
        names = [n for n in sizes if n.endswith(f"_{i}")]
        states = [keras.Input((sizes[n],), batch_size=batch, name=n) for n in names]
        inputs.update(zip(names, states))
        run = keras.layers.RNN(rnn.cell, return_sequences=True, return_state=True, name=f"carry_{i}")
        x, *new = run(x, initial_state=states)
        outputs.update({n: keras.layers.Identity(name=f"{n}_out")(s) for n, s in zip(names, new)})
    outputs["logits"] = model.get_layer("logits")(x)
    return keras.Model(inputs, outputs, name="charlm_carry")


def export_functions(model, prep: dict) -> dict:
    """One step, batch 1: {"char": [1] int32, "h_0", ...: state} -> {"logits": [1, V], the
    new state under the same names}. Shares the trained layers."""
    char = keras.Input(batch_shape=(1,), dtype="int32", name="char")
    inputs, outputs = {"char": char}, {}
    x = model.get_layer("embed")(char)
    sizes = state_names(model)
    for i, rnn in enumerate(recurrent_layers(model)):
        names = [n for n in sizes if n.endswith(f"_{i}")]
        states = [keras.Input(batch_shape=(1, sizes[n]), name=n) for n in names]
        inputs.update(zip(names, states))
        rnn.cell.name = f"{rnn.name}_cell"      # every layer's cell is "lstm_cell" otherwise
        x, new = rnn.cell(x, states if len(states) > 1 else states[0])
        new = new if isinstance(new, (list, tuple)) else [new]
        # Identity layers give the state outputs their own names (keys = state input names).
        outputs.update({n: keras.layers.Identity(name=f"{n}_out")(s) for n, s in zip(names, new)})
    outputs["logits"] = model.get_layer("logits")(x)
    return {"step": keras.Model(inputs, outputs, name="charlm_step")}


def host_constants(model) -> dict:
    return {"state": state_names(model)}


def serving_function(model, prep: dict):
    """No raw-input signature: generation and scoring are a host loop over `step`."""
    return None

"""Music pre/post-processing and the generation loop, in numpy (no TensorFlow here).

The host drives the exported `step` function (previous frame + recurrent state in, the
next frame's NADE biases + new state out) one time step at a time, on whichever backend
calls it (Keras, TFLite, ONNX Runtime), and samples the NADE note by note, lowest key
first. `predict(pieces)` scores each piece (NLL per step, and the model's most likely
next frame at every step given the true history) and continues it by `steps` sampled
frames; `generate()` writes the continuation to a MIDI file. The NADE's numpy math is in
zoo_pipelines/music/nade.py.

>>> host = Host({"state": {"h_0": 8}})          # a sigmoid head: no NADE weights
>>> enc = host.encode([[[60, 64, 67], [], [62]]], steps=4)
>>> enc.units[0]["roll"].shape, enc.units[0]["steps"]
((3, 88), 4)
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import numpy as np

from zoo import contract
from zoo.cancel import check
from zoo.errors import InputError
from zoo.options import (as_batch, check_int, check_number, check_output_file, input_file,
                         seeds, shown)

from .midi import KEYS, PITCH_MIN, MidiError, read_midi, roll_png, write_midi
from .nade import nade_decode, nade_nll, sigmoid, softplus

EMPTY_INPUT: list = []            # a piece with no time steps
# Bounds of predict()/generate() options and inputs: every time step is one call of the
# step function plus a key-by-key NADE draw (about 5 ms on a laptop CPU), so `steps` (per
# piece) and the length of a piece to score bound the work. 10,000 steps is 5,000 quarter
# notes at eighth-note steps, most of an hour of music (about a minute of work); the longest
# piece in the four datasets has under 4,000 steps. Above MAX_TEMPERATURE every note is a
# coin flip; 0 and below mean nothing.
MAX_STEPS = 10_000
MAX_PIECE_STEPS = 20_000
MAX_TEMPERATURE = 100.0
MIDI_SUFFIXES = (".mid", ".midi")
PICTURE_SUFFIXES = (".png", ".gif", ".bmp", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")


def is_one_piece(inputs) -> bool:
    """A MIDI path, a piano roll or a list of time steps (lists of pitch numbers) passed
    alone (not in a list): `predict([[60, 64], [62]])` is one piece of two steps; read as
    two pieces, it was refused with "step 0: expected a list of MIDI pitches; got 60"."""
    if isinstance(inputs, list) and inputs and all(isinstance(step, (list, tuple)) and all(
            isinstance(p, Integral) and not isinstance(p, bool) for p in step) for step in inputs):
        return any(inputs)          # [[]]: a batch of one empty piece, refused as such
    return isinstance(inputs, (str, Path)) or (isinstance(inputs, np.ndarray) and inputs.ndim == 2)


def pitches(frame) -> list[int]:
    return [int(k) + PITCH_MIN for k in np.nonzero(np.asarray(frame) > 0)[0]]


@dataclass
class Encoded:
    units: list          # per piece: {"roll": [T, 88] float32, "steps", "temperature", "seed"}
    out: str | None = None       # write piece + continuation here (.mid), and a picture
    png: str | None = None


class Host(contract.Host):
    TASK_METHODS = ("generate",)      # m.generate(...) on zoo.load() and zoo.runtime.load() models
    NO_INPUT_METHOD = "generate"
    NO_INPUT_ARG = "primer"
    OPTION_BOUNDS = {"steps": f"0..{MAX_STEPS} per piece",
                     "temperature": f"> 0 and <= {MAX_TEMPERATURE:g}",
                     "seed": ">= 0 (piece i: seed + i)",
                     "out": "a .mid file in an existing folder",
                     "png": "a .png file in an existing folder",
                     "plot": "the same as png",
                     "primer": f"a piece of at most {MAX_PIECE_STEPS} steps (inputs too)"}
    PER_INPUT_OPTIONS = ("seed",)     # zoo serve merges requests, each with its own seeds

    def __init__(self, config: dict):
        self.config = config
        self.spq = int(config.get("steps_per_quarter", 2))
        self.state = config["state"]                        # {"h_0": units, ...}
        nade = config.get("nade")
        self.W = np.asarray(nade["W"], np.float32) if nade else None
        self.V = np.asarray(nade["V"], np.float32) if nade else None

    # ---- raw input -> rolls --------------------------------------------------------------
    def piece(self, i: int, item) -> np.ndarray:
        """A MIDI path, a list of time steps (lists of MIDI pitches), a [T, 88] roll, or None
        (silence: generation from scratch)."""
        if item is None:
            return np.zeros((0, KEYS), np.float32)
        if isinstance(item, (str, Path)):
            try:
                p = input_file(item, "MIDI file")
            except InputError as e:
                raise InputError(f"input {i}: {e}") from None
            try:
                return read_midi(p, self.spq).astype(np.float32)
            except MidiError as e:
                raise InputError(f"input {i}: {p}: {e}") from None
        if isinstance(item, np.ndarray) and item.ndim == 2:
            if item.shape[1] != KEYS or not len(item):
                raise InputError(f"input {i}: a piano roll must be [T >= 1, {KEYS}]; got {item.shape}")
            if item.dtype.kind not in "biuf":
                raise InputError(f"input {i}: a piano roll must hold numbers (0/1, or velocities "
                                 f">= 0); got dtype {item.dtype}")
            if item.dtype.kind == "f" and not np.isfinite(item).all():
                t, k = np.argwhere(~np.isfinite(item))[0]
                raise InputError(f"input {i}: the piano roll holds {item[t, k]} at step {t}, key "
                                 f"{k}; expected 0/1 (or velocities >= 0), never NaN or infinite")
            if item.dtype.kind in "if" and (item < 0).any():
                t, k = np.argwhere(item < 0)[0]
                raise InputError(f"input {i}: the piano roll holds {item[t, k]} at step {t}, key "
                                 f"{k}; expected 0/1 (or velocities >= 0)")
            return (item > 0).astype(np.float32)
        if isinstance(item, np.ndarray):
            raise InputError(f"input {i}: a piano roll must be a 2-D array [T >= 1, {KEYS}]; got "
                             f"shape {item.shape}")
        if isinstance(item, (list, tuple)) and item:
            roll = np.zeros((len(item), KEYS), np.float32)
            for t, step in enumerate(item):
                if not isinstance(step, (list, tuple, np.ndarray)):
                    raise InputError(f"input {i}, step {t}: expected a list of MIDI pitches; "
                                     f"got {shown(step, 40)}")
                for p in step:
                    if not isinstance(p, (int, np.integer)) or not PITCH_MIN <= p < PITCH_MIN + KEYS:
                        raise InputError(f"input {i}, step {t}: pitch {p!r} is not on the piano; "
                                         f"expected a MIDI pitch {PITCH_MIN}..{PITCH_MIN + KEYS - 1}")
                    roll[t, p - PITCH_MIN] = 1
            return roll
        raise InputError(f"input {i}: expected a MIDI file path, a non-empty list of time steps "
                         f"(lists of MIDI pitches {PITCH_MIN}..{PITCH_MIN + KEYS - 1}), a [T, "
                         f"{KEYS}] piano roll, or None; got {shown(item)}")

    def encode(self, inputs, steps: int = 0, temperature: float = 1.0, seed: int | list = 0,
               out: str | Path | None = None, png: str | Path | None = None,
               plot: str | Path | None = None) -> Encoded:
        """Options: `steps` to generate after each piece, sampling `temperature`, `seed`
        (piece i draws from seed + i, or from seed[i] given one per piece);
        `out` / `png`: write each piece + continuation as MIDI / piano-roll picture
        (`song.mid`, or `song-0.mid`, `song-1.mid`, ... for several pieces); `plot`: the
        same as `png`, the name every other model's picture option has."""
        # predict(None, steps=64) did not say that silence is [None] (null in zoo serve)
        inputs = as_batch(inputs, is_one_piece, "pieces (MIDI paths, lists of time steps of "
                          "MIDI pitches, piano rolls, or None to start from silence: [None])")
        steps = check_int(steps, "steps", 0, MAX_STEPS)
        temperature = check_number(temperature, "temperature", high=MAX_TEMPERATURE, above=0)
        seed = seeds(seed, len(inputs))
        if plot is not None and png is not None and plot != png:
            raise InputError(f"png {shown(png)} and plot {shown(plot)} both name the "
                             f"piano-roll picture; give one")
        png, named = (png, "png") if plot is None else (plot, "plot")   # as the user said it
        if out is not None:
            out = check_output_file(out, "out")
            if out.suffix.lower() not in MIDI_SUFFIXES:     # "song.png" got MIDI bytes
                raise InputError(f"out: {str(out)!r} has no MIDI suffix; expected a name "
                                 f"ending in .mid")
        if png is not None:
            png = check_output_file(png, named)
            if png.suffix.lower() not in PICTURE_SUFFIXES:
                raise InputError(f"{named}: {str(png)!r} has no picture suffix; expected a "
                                 f"name ending in .png")
        units = []
        for i, item in enumerate(inputs):
            # len() of a 0-d array was a raw TypeError (piece() names its shape)
            if (isinstance(item, (list, tuple)) or getattr(item, "ndim", 0) > 0) \
                    and len(item) > MAX_PIECE_STEPS:
                raise InputError(f"input {i}: {len(item)} time steps; expected at most "
                                 f"{MAX_PIECE_STEPS} (cut the piece)")
            roll = self.piece(i, item)
            if len(roll) > MAX_PIECE_STEPS:
                raise InputError(f"input {i}: {len(roll)} time steps at {self.spq} per quarter "
                                 f"note; expected at most {MAX_PIECE_STEPS} (cut the piece)")
            if not len(roll) and not steps:
                # (no input at all is silence: "input 0" alone did not say why)
                raise InputError(f"input {i}: an empty piece (or silence, no input) with "
                                 f"steps=0: nothing to score or generate; give steps > 0")
            units.append({"roll": roll, "steps": steps, "temperature": float(temperature),
                          "seed": seed[i]})
        return Encoded(units, out, png)

    # ---- the loop over the step function ---------------------------------------------------
    def run(self, encoded: Encoded, call) -> list[dict]:
        """Teacher-forced pass over each piece, then `steps` sampled frames."""
        results = []
        for unit in encoded.units:
            roll, state = unit["roll"], {k: np.zeros((1, n), np.float32) for k, n in self.state.items()}
            rng = np.random.default_rng(unit["seed"])
            biases, generated = [], []
            prev = np.zeros((1, KEYS), np.float32)
            for t in range(len(roll) + unit["steps"]):
                check()             # serve's --request-timeout (zoo.cancel)
                out = call("step", {"frame": prev, **state})
                state = {k: out[k] for k in self.state}
                if t < len(roll):
                    biases.append(out)
                    prev = roll[t:t + 1]
                else:
                    prev = self.sample(out, rng.random((1, KEYS)), unit["temperature"])
                    generated.append(prev[0])
            results.append({
                "visible_bias": np.concatenate([o["visible_bias"] for o in biases]) if biases else np.zeros((0, KEYS)),
                "hidden_bias": (np.concatenate([o["hidden_bias"] for o in biases])
                                if biases and self.W is not None else None),
                "generated": np.array(generated, np.float32).reshape(-1, KEYS)})
        return results

    def sample(self, out: dict, uniforms, temperature: float) -> np.ndarray:
        if self.W is None:
            return (uniforms < sigmoid(out["visible_bias"] / temperature)).astype(np.float32)
        return nade_decode(out["visible_bias"], out["hidden_bias"], self.W, self.V, uniforms,
                           temperature)

    def most_likely(self, b, c) -> np.ndarray:
        if self.W is None:
            return (b > 0).astype(np.float32)
        return nade_decode(b, c, self.W, self.V)

    def frame_nll(self, roll, b, c) -> np.ndarray:
        if self.W is None:
            return np.sum(softplus(b) - roll * b, axis=-1)
        return nade_nll(roll, b, c, self.W, self.V)

    def decode(self, encoded: Encoded, outputs: list[dict]) -> list[dict]:
        results = []
        for unit, out in zip(encoded.units, outputs):
            roll, b, c = unit["roll"], out["visible_bias"], out["hidden_bias"]
            nll = self.frame_nll(roll, b, c) if len(roll) else np.zeros(0)
            results.append({
                "steps": len(roll),
                "nll_per_step": float(nll.mean()) if len(roll) else None,
                "predicted": [pitches(f) for f in self.most_likely(b, c)] if len(roll) else [],
                "generated": [pitches(f) for f in out["generated"]]})
        for i, (unit, r) in enumerate(zip(encoded.units, results)):
            if encoded.out or encoded.png:
                song = np.vstack([unit["roll"], self.roll(r["generated"])])
                r["song_steps"] = len(song)
            for key, write in (("out", write_midi), ("png", roll_png)):
                target = getattr(encoded, key)
                if target:
                    target = Path(target)
                    if len(results) > 1:
                        target = target.with_name(f"{target.stem}-{i}{target.suffix}")
                    r["midi" if key == "out" else "png"] = str(
                        write(song, target, self.spq) if key == "out" else
                        write(song, target, steps_per_quarter=self.spq,
                              primer_steps=len(unit["roll"]) if r["generated"] else None))
        return results

    # ---- task method and helpers -----------------------------------------------------------
    def generate(self, call, steps: int = 128, primer=None, seed: int = 0,
                 temperature: float = 1.0, out: str | Path | None = None,
                 png: str | Path | None = None, plot: str | Path | None = None) -> dict:
        """Continue `primer` (MIDI path, list of time steps, roll; None = from silence) by
        `steps` sampled time steps; write primer + continuation to `out` (.mid) and a
        piano-roll picture to `png` (or `plot`, the same) if given."""
        encoded = self.encode([primer], steps=steps, temperature=temperature, seed=seed,
                              out=out, png=png, plot=plot)
        result = self.decode(encoded, self.run(encoded, call))[0]
        result["song_steps"] = len(encoded.units[0]["roll"]) + len(result["generated"])
        return result

    @staticmethod
    def roll(frames: list[list[int]]) -> np.ndarray:
        roll = np.zeros((len(frames), KEYS), np.float32)
        for t, ps in enumerate(frames):
            roll[t, [p - PITCH_MIN for p in ps]] = 1
        return roll

    @staticmethod
    def describe(result: dict) -> str:
        parts = []
        if result.get("steps"):
            parts.append(f"{result['steps']} steps scored: negative log-likelihood "
                         f"{result['nll_per_step']:.3f} nats a step (lower: the model expected "
                         f"these notes more)")
        gen = result.get("generated") or []
        if gen:
            parts.append(f"{len(gen)} steps generated ({np.mean([len(f) for f in gen]):.1f} "
                         f"notes/step)")
        if result.get("midi"):
            parts.append(f"written to {result['midi']}")
        if result.get("png"):
            parts.append(f"piano roll {result['png']}")
        return "; ".join(parts) or "(nothing)"

    def from_json(self, i: int, item):
        """`zoo serve`'s JSON (the contract's hook): a list of time steps of MIDI pitches,
        null (silence) or a MIDI file as bytes (sent as {"b64": ...}); never a file name."""
        if isinstance(item, (bytes, bytearray)):
            import tempfile

            if not item:            # mido's message was "EOFError: "
                raise InputError(f"input {i}: the MIDI bytes are empty; expected a MIDI file")
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "input.mid"
                path.write_bytes(item)
                try:
                    return self.piece(i, path)
                except InputError as e:     # the server's temporary file means nothing to a client
                    raise InputError(str(e).replace(f"{path}: ", "the MIDI bytes: ")) from None
        if isinstance(item, str):
            from zoo.webio import no_file_names

            raise no_file_names(i, "a MIDI file", " or a list of time steps of MIDI pitches")
        # A list is read here, alone: in the batch, [60, 62] (steps that are no lists) made
        # the batch one piece of one chord, as fine, and [60], [62] one piece for two inputs
        return self.piece(i, item) if isinstance(item, list) else item

    def web_example(self, examples: list):
        """The web page's example primer (the contract's hook): 16 steps of the first piece."""
        return examples[0][:16]

    def web_view(self, predict, inputs: list, options: dict, folder: Path) -> dict:
        """The web page's view (the contract's hook): the first piece's primer and what
        followed it as a piano roll ("picture") and as MIDI ("midi")."""
        results = predict(inputs, **options)
        primer = self.piece(0, inputs[0])
        song = np.vstack([primer, self.roll(results[0]["generated"])])
        return {"predictions": results,
                "picture": Path(roll_png(song, Path(folder) / "picture.png", steps_per_quarter=
                                         self.spq, primer_steps=len(primer))),
                "midi": Path(write_midi(song, Path(folder) / "song.mid", self.spq))}

    @staticmethod
    def agreement(a: list[dict], b: list[dict]) -> float:
        """Fraction of (time step, key) note decisions two predictions share, over the
        most-likely frames and the sampled continuation (export parity)."""
        same = total = 0
        for ra, rb in zip(a, b):
            for key in ("predicted", "generated"):
                fa, fb = Host.roll(ra[key]), Host.roll(rb[key])
                n = max(len(fa), len(fb))
                total += n * KEYS
                m = min(len(fa), len(fb))
                same += int(np.sum(fa[:m] == fb[:m]))
        return same / max(total, 1)


def demo(model, folder: Path, data: Path | None = None):
    """`zoo demo` (the contract's optional hook): a real piece the bundle keeps (from its
    validation split) as the primer, scored, then continued by 64 sampled time steps;
    primer + continuation go to `folder` as a MIDI file and a piano-roll PNG."""
    host, name = model.host(), model.entry.name
    kept = model.parity_examples()
    primer = kept[0] if kept else None
    song = model.generate(steps=64, primer=primer, seed=0, out=folder / f"{name}.mid",
                          png=folder / f"{name}-piano-roll.png")
    step = {1: "quarter", 2: "eighth", 4: "sixteenth"}.get(host.spq, f"1/{host.spq} quarter")
    example = {"in": (f"example 0 kept in the bundle (a piece from its validation split): "
                      f"{len(primer)} time steps of {step} notes as the primer"
                      if primer else "silence (the bundle keeps no example)")}
    if song.get("nll_per_step") is not None:
        example["score"] = (f"negative log-likelihood of the primer's real notes: "
                            f"{song['nll_per_step']:.2f} nats a step (lower: the model "
                            f"expected them more)")
    gen = song["generated"]
    example["out"] = (f"{len(gen)} time steps generated, {np.mean([len(f) for f in gen]):.1f} "
                      f"notes sounding a step (temperature 1, seed 0)")
    example["midi"] = f"{song['midi']}  (primer + continuation, 100 quarter notes a minute)"
    example["picture"] = f"{song['png']}  (piano roll; the dashed line: where the primer ends)"
    yield example

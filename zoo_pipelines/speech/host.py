"""Speech host in numpy: audio in (paths, waveforms), transcripts out, by CTC decoding.

Shared by the Keras predictor and zoo.runtime (no TensorFlow here), so both compute the
same features (zoo_pipelines/speech/features.py) and decode the same way (zoo.decoding).
Features live on the host rather than in the graph so the TFLite model holds only builtin
ops whatever the converter does with FFTs; the SavedModel's serving signature recomputes
the same features with tf.signal from the same mel matrix (zoo_pipelines/speech/model.py).

`Host(config)` of a unidirectional model is a StreamingHost: it drives the exported
"step" function, and `m.stream()` transcribes audio as it arrives.

>>> import numpy as np
>>> cfg = {"sample_rate": 8000, "n_mels": 40, "alphabet": "digits",
...        "tokens": list("0123456789"), "mean": [0.0] * 40, "std": [1.0] * 40,
...        "buckets": [100, 200]}
>>> host = Host(cfg)
>>> t = np.arange(4000) / 8000
>>> host.encode([np.sin(2 * np.pi * 440 * t)]).units[0]["features"].shape
(48, 40)
>>> type(Host({**cfg, "streaming": True, "step_state": {}})).__name__
'StreamingHost'
"""
from __future__ import annotations

import contextlib
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo import contract
from zoo.decoding import ctc_beam_search, ctc_collapse, log_softmax
from zoo.errors import InputError
from zoo.options import as_batch, check_int

from .audio import MAX_SECONDS, array_and_rate, is_rate_pair, load_waveform, resample, too_long
from .features import (HOP_MS, WHOLE_UTTERANCE, LogMelFeatures, frame_sizes, num_frames,
                       speaker_adapted)
from .text import join_tokens

# Widest CTC beam predict() takes (0 and 1: greedy, the default): the prefix search keeps
# `beam` prefixes per frame, so time grows with it; with a handful of tokens a beam of 64 is
# far past any gain and still fast.
MAX_BEAM = 64
# ...but the prefix search is Python, per frame: on the 2-core CPU, 20 minutes (audio.py's
# MAX_SECONDS) at beam 64 took 140 s (greedy: 3 s; 1 minute at beam 64: 8 s), about 2 ms
# per beam x second. A beam over 1 may cover at most MAX_BEAM_SECONDS of audio x beam
# (about a minute's search: beam 64 up to 8 minutes, beam 26 the whole 20).
MAX_BEAM_SECONDS = 32_000
SUBSAMPLE = 4                   # default frame-rate reduction of the conv front end (40 ms)
STREAM_FRAMES = 8               # feature frames per streaming step (80 ms of audio)
# A stream keeps the logits of its last steps only (Stream.logits, for inspection): it
# kept every step's, ~1.1 KB an audio second, so a stream served for a day held ~95 MB
KEPT_STEPS = 1500               # two minutes of audio
CONV_CONTEXT = 4                # left context of each causal stride-2 convolution (kernel 5)
FLUSH_SECONDS = 0.3             # silence a causal model hears after the end (CTC emits late)
EMPTY_INPUT = np.zeros(0, np.float32)       # an empty waveform: refused with a clear error
SINGLE_INPUT = (str, Path, np.ndarray, dict, bytes)     # one utterance rather than a list


@dataclass
class Encoded:
    units: list            # {"features": [frames, n_mels]}, one per chunk
    utterances: list       # (unit indices, frames per unit)
    options: dict


class Transcript(dict):
    """One result: a plain dict (what JSON and `==` see), plus `frames`, the log-mel
    features [frames, n_mels] and CTC logits [output frames, 1 + tokens] it came from,
    an attribute rather than a key, so Host.plot draws it with no second run."""

    frames: dict | None = None


def token_confidence(logits: np.ndarray) -> float:
    """How sure the acoustic model is of its transcript: the lowest, over the tokens of the
    greedy CTC path, of each token's peak posterior (1.0 = every token certain). With no
    token, the mean posterior of 'nothing said' (blank). On FSDD valid the shipped digit
    model's 1st percentile is about 0.6; LJ Speech sentences fall under 0.56.

    >>> round(token_confidence(np.log(np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]))), 2)
    0.8
    """
    probs = np.exp(log_softmax(logits))
    best = probs.argmax(-1)
    if not best.any():
        return float(probs[:, 0].mean()) if len(probs) else 1.0
    peaks, prev = [], 0
    for t, k in enumerate(best):
        if k and k != prev:
            peaks.append(probs[t, k])
        elif k:
            peaks[-1] = max(peaks[-1], probs[t, k])
        prev = k
    return float(min(peaks))


class Host(contract.Host):
    """Audio in (paths, waveforms), transcripts out.

    Audio longer than the largest length bucket is split into chunks at the quietest
    frame near each boundary (a pause between words), transcribed chunk by chunk and
    joined. The config of a streaming model (unidirectional) makes a StreamingHost."""

    OPTION_BOUNDS = {"beam": f"0..{MAX_BEAM} (0, 1: greedy; beam x seconds of audio <= "
                                     f"{MAX_BEAM_SECONDS:,})"}
    WHOLE_REQUEST_OPTIONS = ("same_speaker",)   # adapted to all the request's inputs
    # m.stream() on zoo.load() and zoo.runtime.load() models (a bidirectional one says why not)
    TASK_METHODS = ("stream",)

    def __new__(cls, config: dict | None = None):
        # None: copy and pickle make instances without arguments, then restore __dict__
        streaming = cls is Host and config and config.get("streaming")
        return super().__new__(StreamingHost if streaming else cls)

    def __init__(self, config: dict):
        self.config = config
        self.features = LogMelFeatures(config)
        self.rate, self.n_mels = self.features.rate, self.features.n_mels
        self.alphabet, self.tokens = config["alphabet"], list(config["tokens"])
        self.max_frames = max(config["buckets"]) if config.get("buckets") else None
        self.subsample = int(config.get("subsample", SUBSAMPLE))

    def chunks(self, feats: np.ndarray) -> list[np.ndarray]:
        """Split [frames, n_mels] at low-energy frames so no piece exceeds max_frames."""
        if not self.max_frames or feats.shape[0] <= self.max_frames:
            return [feats]
        pieces, start, n = [], 0, feats.shape[0]
        energy = feats.mean(axis=1)
        while n - start > self.max_frames:
            lo = start + self.max_frames * 3 // 4
            cut = lo + int(np.argmin(energy[lo:start + self.max_frames]))
            cut -= cut % self.subsample
            pieces.append(feats[start:cut])
            start = cut
        pieces.append(feats[start:])
        return pieces

    def encode(self, inputs, beam: int = 0, logits: bool = False,
               same_speaker: bool = False) -> Encoded:
        """`beam`: CTC prefix beam width (0, 1: greedy); `logits`: return each input's
        CTC logits too; `same_speaker`: the inputs are one speaker's recordings, adapt to
        them first (adapted_features)."""
        # an array of paths (dtype str) or of waveforms (object) is several: it was read as
        # one waveform ("expected a real-valued numeric waveform; got dtype <U48")
        inputs = as_batch(inputs, lambda x: isinstance(x, SINGLE_INPUT) and not (
            isinstance(x, np.ndarray) and x.dtype.kind in "USO") or is_rate_pair(x),
                          "audio file paths or waveform arrays")
        beam = check_int(beam, "beam", 0, MAX_BEAM)
        waves = [load_waveform(item, self.rate, what=f"input {i}") for i, item in enumerate(inputs)]
        for i, wave in enumerate(waves):
            seconds = wave.size / self.rate
            if beam > 1 and seconds * beam > MAX_BEAM_SECONDS:
                raise InputError(f"input {i}: {seconds / 60:.1f} minutes of audio at beam={beam}; "
                                 f"expected beam x seconds at most {MAX_BEAM_SECONDS:,} (beam <= "
                                 f"{max(1, int(MAX_BEAM_SECONDS // seconds))} here, 0 for greedy, "
                                 f"or split the audio)")
        features = self.adapted_features(waves) if same_speaker else self.features
        units, utterances = [], []
        for wave in waves:
            wave = self.prepare(wave)
            idx, frames = [], []
            for piece in self.chunks(features(wave)):
                idx.append(len(units))
                frames.append(piece.shape[0])
                units.append({"features": piece})
            utterances.append((idx, frames))
        return Encoded(units, utterances, {"beam": int(beam), "logits": bool(logits)})

    def adapted_features(self, waves: list[np.ndarray]) -> LogMelFeatures:
        """`predict(inputs, same_speaker=True)`: the inputs are one speaker's recordings,
        so a model trained with speaker_norm takes his band means from them (up to
        PER_SPEAKER, audio only) before transcribing them, as evaluate.adapted(m, inputs)
        would. On a new speaker this is the card's "adapted from his test audio" column."""
        if "speaker_mean" not in self.config:
            raise InputError("same_speaker=True adapts a model trained with speaker_norm to the "
                             "speaker of its inputs; this model was trained without it (expected "
                             "same_speaker false)")
        return LogMelFeatures(speaker_adapted(self.config, waves))

    def prepare(self, wave: np.ndarray) -> np.ndarray:
        return wave

    def decode_logits(self, logits: np.ndarray, beam: int = 0) -> list[int]:
        if beam and beam > 1:
            return ctc_beam_search(log_softmax(logits), beam)
        return ctc_collapse(logits.argmax(-1))

    def decode(self, encoded: Encoded, outputs: list[dict]) -> list[dict]:
        results = []
        for idx, frames in encoded.utterances:
            ids, logits = [], []
            for j, n in zip(idx, frames):
                lg = outputs[j]["logits"][: -(-n // self.subsample)]      # drop bucket padding
                ids += self.decode_logits(lg, encoded.options["beam"])
                logits.append(lg)
            toks = [self.tokens[k - 1] for k in ids]
            logits = np.concatenate(logits).astype(np.float32)
            result = {"text": join_tokens(toks, self.alphabet), "tokens": toks,
                      "seconds": round(sum(frames) * HOP_MS / 1000, 3),
                      "confidence": round(token_confidence(logits), 3)}
            warning = self.warning(result)
            if warning:
                result["warning"] = warning
            if encoded.options["logits"]:       # [output frames, 1 + tokens]; blank is 0
                result["logits"] = logits
            results.append(self.keep_frames(result, encoded, outputs, idx, frames))
        return results

    def warning(self, result: dict) -> str | None:
        """Why this input looks unlike the training data, or None. The confidence floor is
        the bundle's `ood` setting, chosen on the selection split (see `token_confidence`);
        a digits model also knows the longest string it was trained on."""
        floor = self.config.get("ood", {}).get("min_confidence")
        longest = self.config.get("max_digits") if self.alphabet == "digits" else None
        if longest and len(result["tokens"]) > longest:
            return (f"{len(result['tokens'])} digits heard; this model was trained on strings "
                    f"of at most {longest}: the audio is probably not spoken digits")
        if floor is not None and result["confidence"] < floor:
            return (f"low confidence {result['confidence']:.2f} (below {floor:.2f}, what 1 in "
                    f"100 {self.config['ood']['chosen_on']} clips fall under): the audio may be "
                    f"unlike the training data")
        return None

    def frame_seconds(self) -> float:
        """Duration of one output (logit) frame in seconds."""
        return self.subsample * HOP_MS / 1000

    def stream(self, call=None):
        raise InputError("this model is bidirectional: it needs the whole utterance. Use a "
                         "streaming (unidirectional) model such as speech-ctc-stream for "
                         "stream()")

    @staticmethod
    def describe(result: dict) -> str:
        return result["text"] or "(nothing recognised)"

    def keep_frames(self, result: dict, encoded: Encoded, outputs: list[dict], idx: list,
                    frames: list) -> Transcript:
        """`result` as a Transcript holding the features and logits of its chunks."""
        result = Transcript(result)
        result.frames = {
            "features": np.concatenate([encoded.units[j]["features"] for j in idx]),
            "logits": np.concatenate([outputs[j]["logits"][: -(-n // self.subsample)]
                                      for j, n in zip(idx, frames)]).astype(np.float32)}
        return result

    def plot(self, results: list[dict], path: str | Path, titles: list[str] | None = None) -> Path:
        """`zoo predict speech-ctc x.wav --plot s.png`: the log-mel spectrogram of each
        result (at most 4) with the frames CTC aligns each token to, and the per-frame
        token posteriors (plot.py); `titles`, e.g. file names, head the panels."""
        from .plot import plot_results

        return plot_results(results, path, ["blank"] + self.tokens, self.frame_seconds(), titles)

    @staticmethod
    def samples(i: int, values: list) -> np.ndarray:
        """A JSON list of samples (or of [channels] per sample) as an array: numbers only,
        never true/false (read as samples 0 and 1 of a waveform, as fine), rows of one
        length (a ragged list was numpy's ValueError, a 500)."""
        rows = values if values and all(isinstance(v, list) for v in values) else [values]
        if any(isinstance(v, bool) for row in rows for v in row):
            raise InputError(f"input {i}: the samples hold true/false; expected numbers")
        try:
            return np.asarray(values)
        except ValueError:
            raise InputError(f"input {i}: the samples are lists of different lengths; expected "
                             f"[samples] or [samples, channels]") from None

    def from_json(self, i: int, item):
        """`zoo serve`'s JSON (the contract's hook): a WAV/FLAC file as bytes (sent as
        {"b64": ...}) or a data:audio/...;base64, URI, or {"array": [...], "sampling_rate":
        n}; never a file name."""
        if isinstance(item, dict) and set(item) - {"array", "sampling_rate"}:
            # {"array": ..., "sample_rate": 16000} was read at the model's own rate: a typo'd
            # key gave a transcript of audio played at the wrong speed, as fine
            raise InputError(f"input {i}: unknown key(s) "
                             f"{', '.join(sorted(map(repr, set(item) - {'array', 'sampling_rate'})))}; "
                             f"expected {{\"array\": [...], \"sampling_rate\": n}}")
        if isinstance(item, dict) and isinstance(item.get("array"), list):
            return {**item, "array": self.samples(i, item["array"])}
        if isinstance(item, list):
            return self.samples(i, item)
        if not isinstance(item, str):
            return item
        from zoo.webio import b64, data_uri_body, no_file_names

        if data_uri_body(item) is not None:
            return b64(i, item)
        raise no_file_names(i, "audio", ', a data:audio/...;base64, URI or {"array": [...], '
                                        '"sampling_rate": n}')

    @staticmethod
    def agreement(a: list[dict], b: list[dict]) -> float:
        """Fraction of utterances transcribed identically (export parity)."""
        return sum(x["text"] == y["text"] for x, y in zip(a, b)) / max(len(a), 1)


class StreamingHost(Host):
    """A unidirectional model run step by step (STREAM_FRAMES feature frames a step),
    carrying the convolutions' left context and the recurrent state between steps.
    predict() runs whole utterances through the same steps; stream() takes audio chunks."""

    def __init__(self, config: dict):
        super().__init__(config)
        self.max_frames = None              # no need to split: the state carries over
        for name in WHOLE_UTTERANCE:        # fit_preprocessor refuses them; a hand-edited config
            if getattr(self.features, name):
                raise InputError(f"{name} needs the whole utterance; a streaming model cannot "
                                 f"use it (expected {name} false for a unidirectional model)")
        self.state_shapes = {k: tuple(v) for k, v in config["step_state"].items()}

    def prepare(self, wave: np.ndarray) -> np.ndarray:
        """The utterance followed by a short silence: a causal model often emits a word's
        CTC spike just after the word, and recordings may end right at the last word."""
        return np.concatenate([wave, self.flush()])

    def flush(self) -> np.ndarray:
        return np.zeros(int(FLUSH_SECONDS * self.rate), np.float32)

    def initial_state(self) -> dict:
        return {k: np.zeros((1, *shape), np.float32) for k, shape in self.state_shapes.items()}

    def step_logits(self, feats: np.ndarray, state: dict, call) -> tuple[np.ndarray, dict]:
        """Logits of whole steps of `feats` (zero-padded to a multiple of the step)."""
        pad = -feats.shape[0] % STREAM_FRAMES
        feats = np.pad(feats, [(0, pad), (0, 0)])
        logits = []
        for s in range(0, feats.shape[0], STREAM_FRAMES):
            out = call("step", {"features": feats[None, s:s + STREAM_FRAMES], **state})
            state = {k: np.asarray(out[k], np.float32) for k in state}
            logits.append(np.asarray(out["logits"])[0])
        width = logits[0].shape[-1] if logits else len(self.tokens) + 1
        return (np.concatenate(logits) if logits else np.zeros((0, width), np.float32)), state

    def run(self, encoded: Encoded, call) -> list[dict]:
        return [{"logits": self.step_logits(u["features"], self.initial_state(), call)[0]}
                for u in encoded.units]

    def stream(self, call):
        """A live transcriber: `s.feed(chunk)` (a waveform at the model rate, (array, rate)
        or {"array", "sampling_rate"}) returns the partial transcript; `s.finish()` the
        final one."""
        return Stream(self, call)


class Stream:
    """Audio chunks in, a growing transcript out (greedy CTC over the logits so far)."""

    def __init__(self, host: StreamingHost, call):
        self.host, self.call = host, call
        self.win, self.hop, _ = frame_sizes(host.rate)
        self.samples = np.zeros(0, np.float32)
        self.pending = np.zeros((0, host.n_mels), np.float32)
        self.state = host.initial_state()
        self.logits: deque = deque(maxlen=KEPT_STEPS)     # the last steps' [rows, classes]
        # The transcript so far, collapsed as each step's logits come (result() re-decoded
        # every logit at each feed: 40 minutes fed in 0.2 s chunks took 121 s on 2 cores
        # against 4.5 s in one chunk, and each feed grew slower with the stream's length)
        self.ids: list[int] = []
        self.last = None                # the last frame's best token (CTC merges repeats)
        self.rows = 0
        self.frames = 0
        self.done = False
        # Two threads feeding one stream at once interleaved their chunks and state: a
        # wrong transcript given as fine. Refused instead (one source, fed in order).
        self.busy = threading.Lock()

    def feed(self, chunk) -> dict:
        with self.turn():
            return self._feed(chunk)

    @contextlib.contextmanager
    def turn(self):
        """One feed or finish at a time, and each whole or not at all: a feed stopped
        half-way (Ctrl-C in the network's step, an error) had taken the chunk's audio but
        not its transcript, so the chunk fed again was heard twice. It is as it was before."""
        if not self.busy.acquire(blocking=False):
            raise InputError("this stream is being fed by another thread at this moment; "
                             "expected one thread at a time (one m.stream() per audio source)")
        # every field is replaced, not changed in place, but for ids (appended to: its
        # length) and logits (a bounded deque: copied)
        before = {**vars(self), "ids": len(self.ids), "logits": list(self.logits)}
        try:
            yield
        except BaseException:
            ids, logits = self.ids, self.logits
            vars(self).update(before, ids=ids, logits=logits)
            del ids[before["ids"]:]
            logits.clear()
            logits.extend(before["logits"])
            raise
        finally:
            self.busy.release()

    def _feed(self, chunk) -> dict:
        if self.done:
            raise InputError("this stream is finished; start a new one with m.stream()")
        wave, rate = array_and_rate(chunk, self.host.rate, "chunk")    # as predict() checks it
        if wave.size / rate > MAX_SECONDS:     # one chunk's features are computed at once
            raise InputError(f"chunk: {too_long(wave.size / rate)} of audio in one "
                             f"chunk; expected at most {MAX_SECONDS // 60} minutes (feed it "
                             f"in smaller chunks)")
        wave = resample(wave, rate, self.host.rate)
        self.samples = np.concatenate([self.samples, wave])
        n = num_frames(self.samples.size, self.host.rate)
        if n:
            feats = self.host.features(self.samples[:(n - 1) * self.hop + self.win])
            self.samples = self.samples[n * self.hop:]
            self.pending = np.concatenate([self.pending, feats])
            self.frames += n
        whole = self.pending.shape[0] - self.pending.shape[0] % STREAM_FRAMES
        if whole:
            self._run(self.pending[:whole])
            self.pending = self.pending[whole:]
        return self.result()

    def _run(self, feats, keep: int | None = None):
        logits, self.state = self.host.step_logits(feats, self.state, self.call)
        logits = logits[:keep]      # keep: the rows that are not the last step's zero padding
        self.logits.append(logits)
        self.rows += len(logits)
        best = logits.argmax(-1).tolist() if logits.size else []
        new = ctc_collapse(best)
        if best and best[0] == self.last and new and new[0] == best[0]:
            new = new[1:]           # the same token's frames go on from the previous step
        self.ids += new
        self.last = best[-1] if best else self.last

    def finish(self) -> dict:
        """Flush: feed a short silence (see StreamingHost.prepare), run what is left."""
        with self.turn():
            return self._finish()

    def _finish(self) -> dict:
        if not self.done:
            self._feed(self.host.flush())
        if not self.done and self.pending.shape[0]:     # without the outputs of its padding
            self._run(self.pending, max(0, -(-self.frames // self.host.subsample) - self.rows))
        self.done = True
        return self.result()

    def result(self) -> dict:
        toks = [self.host.tokens[k - 1] for k in self.ids]
        return {"text": join_tokens(toks, self.host.alphabet), "tokens": toks,
                "seconds": round(self.frames * HOP_MS / 1000, 3), "final": self.done}


def demo(model, folder: Path, data: Path | None = None):
    """`zoo demo` (the contract's optional hook): two held-out recordings and a string of
    four joined with pauses, from the dataset under $ZOO_DATA (references from the file
    names), else the audio the bundle keeps for export checks (no references); each is
    written to `folder` as a WAV to listen to, and the spectrogram + CTC alignment of all
    of them to one PNG."""
    import wave as wavefile

    from zoo.data import dataset_name

    from .text import normalize_text

    host, name = model.host(), model.entry.name
    clips = []                  # (what went in, waveform at the model rate, reference)
    if data is not None:
        valid = [e for e in model.entry.module("data").read_split(data, "valid")
                 if isinstance(e.get("audio"), str)]
        step = max(1, len(valid) // 6)
        picked = valid[::step][:6]
        for e in picked[:2]:
            clips.append((dataset_name(e["audio"]), load_waveform(e["audio"], host.rate),
                          normalize_text(e["text"], host.alphabet)))
        if len(picked) >= 6:
            gap = np.zeros(int(0.15 * host.rate), np.float32)
            string = [e for e in picked[2:6]]
            joined = np.concatenate([w for e in string for w in
                                     (load_waveform(e["audio"], host.rate), gap)])
            clips.append((" + ".join(Path(e["audio"]).name for e in string) + ", joined with "
                          "150 ms pauses", joined,
                          " ".join(normalize_text(e["text"], host.alphabet) for e in string)))
    else:
        kept = model.parity_examples()
        for i in sorted({0, len(kept) - 1}) if kept else []:
            clips.append((f"example {i} kept in the bundle (no reference: $ZOO_DATA not found)",
                          load_waveform(kept[i], host.rate), None))
    results = model.predict([(w, host.rate) for _, w, _ in clips])
    for i, ((shown, w, ref), r) in enumerate(zip(clips, results)):
        wav = folder / f"{name}-input-{i}.wav"
        with wavefile.open(str(wav), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(host.rate)
            f.writeframes((np.clip(w, -1, 1) * 32767).astype("<i2").tobytes())
        example = {"in": f"{shown} ({len(w) / host.rate:.2f} s; as heard: {wav})"}
        if ref is not None:
            example["ref"] = ref
        example["out"] = (f"{host.describe(r)}  (confidence {r['confidence']:.2f}: the least "
                          f"sure token's probability)" if "confidence" in r else host.describe(r))
        yield example
    if clips:
        png = host.plot(results, folder / f"{name}-alignment.png",
                        titles=[Path(f"{name}-input-{i}.wav").name for i in range(len(clips))])
        yield {"picture": f"{png}  (each input's spectrogram; shaded: where CTC puts each "
                          f"token)"}


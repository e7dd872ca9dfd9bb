"""Speech pre/post-processing in numpy: read audio, resample, log-mel features, CTC decoding.

Shared by the Keras predictor, the training pipeline and zoo.runtime (no TensorFlow here),
so all of them compute the same features and decode the same way. Features live on the
host rather than in the graph so the TFLite model holds only builtin ops whatever the
converter does with FFTs; the SavedModel's serving signature recomputes the same features
with tf.signal from the same mel matrix (pipelines/speech/model.py).

>>> import numpy as np
>>> cfg = {"sample_rate": 8000, "n_mels": 40, "alphabet": "digits",
...        "tokens": list("0123456789"), "mean": [0.0] * 40, "std": [1.0] * 40,
...        "buckets": [100, 200]}
>>> host = Host(cfg)
>>> t = np.arange(4000) / 8000
>>> host.encode([np.sin(2 * np.pi * 440 * t)]).units[0]["features"].shape
(48, 40)
>>> collapse([0, 3, 3, 0, 3, 2, 2], blank=0)
[3, 3, 2]
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo import contract
from zoo.errors import InputError
from zoo.options import check_int

BLANK = 0                       # CTC blank is class 0; tokens are 1..K
WIN_MS, HOP_MS = 25, 10
LOG_FLOOR = 1e-6
SILENCE_PEAK = 1e-4             # a waveform whose peak is below this is "silent"
MAX_PEAK = 1.5                  # float samples belong in [-1, 1]; far beyond is not audio
MAX_SECONDS = 20 * 60           # longest audio taken: features and model time grow with it
# Widest CTC beam predict() takes (0 and 1: greedy, the default): the prefix search keeps
# `beam` prefixes per frame, so time grows with it; with a handful of tokens a beam of 64 is
# far past any gain and still fast.
MAX_BEAM = 64
SUBSAMPLE = 4                   # default frame-rate reduction of the conv front end (40 ms)
STREAM_FRAMES = 8               # feature frames per streaming step (80 ms of audio)
CONV_CONTEXT = 4                # left context of each causal stride-2 convolution (kernel 5)
FLUSH_SECONDS = 0.3             # silence a causal model hears after the end (CTC emits late)
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CHARS = list(" 'abcdefghijklmnopqrstuvwxyz")
EMPTY_INPUT = np.zeros(0, np.float32)       # an empty waveform: refused with a clear error


# ---- audio -------------------------------------------------------------------------------
def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples (float32 in [-1, 1], channels mixed down) and sample rate of a WAV/FLAC/OGG
    file, read with soundfile (libsndfile)."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such audio file")
    try:
        check_duration(sf.info(str(path)), str(path))
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except InputError:
        raise
    except Exception as e:          # soundfile raises RuntimeError / LibsndfileError
        raise InputError(f"{path}: not a readable audio file ({str(e)[:120]}); expected WAV, "
                         f"FLAC or OGG") from None
    return data.mean(axis=1), int(rate)


def check_duration(info, what: str) -> None:
    """Refuse audio longer than MAX_SECONDS from the file header, before decoding it."""
    seconds = info.frames / info.samplerate if info.samplerate > 0 else float("inf")
    if seconds > MAX_SECONDS:
        raise InputError(f"{what}: {seconds / 60:.1f} minutes of audio; expected at most "
                         f"{MAX_SECONDS // 60} minutes (split longer recordings)")


def check_peak(wave: np.ndarray, what: str) -> None:
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak > MAX_PEAK:
        raise InputError(f"{what}: waveform samples reach {peak:.3g}; expected floats in "
                         f"[-1, 1] (or integer PCM)")


def to_mono_float(array, what: str) -> np.ndarray:
    """A 1-D float32 waveform from int16/int32/float arrays, mono or [n, channels]."""
    a = np.asarray(array)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise InputError(f"{what}: expected a numeric waveform; got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.integer):
        # PCM integers: int16 full scale unless the values need more bits.
        scale = 32768.0 if a.size == 0 or np.abs(a).max() <= 32768 else 2.0 ** 31
        a = a.astype(np.float32) / scale
    a = a.astype(np.float32)
    if a.ndim == 2:                     # [samples, channels] (soundfile) or [channels, samples]
        a = a.mean(axis=1 if a.shape[0] >= a.shape[1] else 0)
    if a.ndim != 1:
        raise InputError(f"{what}: expected a waveform of shape [samples] or [samples, "
                         f"channels]; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{what}: waveform contains NaN or infinite samples")
    check_peak(a, what)
    return a


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly) from `rate` to `target` Hz."""
    if rate == target:
        return wave
    from scipy.signal import resample_poly

    g = math.gcd(int(rate), int(target))
    return resample_poly(wave, target // g, rate // g).astype(np.float32)


def load_waveform(item, sample_rate: int, what: str = "input") -> np.ndarray:
    """A mono float32 waveform at `sample_rate` from a path, bytes of a file, an array (taken
    to be at `sample_rate`), a (array, rate) pair or {"array": ..., "sampling_rate": ...}."""
    rate = sample_rate
    if isinstance(item, (str, Path)):
        try:
            wave, rate = read_audio(item)
        except InputError as e:
            raise InputError(f"{what}: {e}") from None
        what = f"{what} ({item})"
    elif isinstance(item, (bytes, bytearray)):
        import soundfile as sf

        try:
            check_duration(sf.info(io.BytesIO(item)), what)
            data, rate = sf.read(io.BytesIO(item), dtype="float32", always_2d=True)
        except InputError:
            raise
        except Exception as e:
            raise InputError(f"{what}: bytes are not a readable audio file ({str(e)[:100]})") from None
        wave = data.mean(axis=1)
    elif isinstance(item, dict):
        if "array" not in item:
            raise InputError(f"{what}: a dict input needs 'array' (and 'sampling_rate'); got "
                             f"keys {sorted(item)}")
        wave, rate = to_mono_float(item["array"], what), int(item.get("sampling_rate", sample_rate))
    elif isinstance(item, tuple) and len(item) == 2 and np.isscalar(item[1]):
        wave, rate = to_mono_float(item[0], what), int(item[1])
    elif isinstance(item, (np.ndarray, list)):
        wave = to_mono_float(item, what)
    else:
        raise InputError(f"{what}: expected an audio file path, a waveform array, (array, "
                         f"sample_rate) or {{'array', 'sampling_rate'}}; got {type(item).__name__}")
    if rate <= 0:
        raise InputError(f"{what}: sample rate must be positive; got {rate}")
    if wave.size == 0:
        raise InputError(f"{what}: empty audio (0 samples)")
    if not np.all(np.isfinite(wave)):
        raise InputError(f"{what}: audio contains NaN or infinite samples")
    if wave.size / rate > MAX_SECONDS:
        raise InputError(f"{what}: {wave.size / rate / 60:.1f} minutes of audio; expected at "
                         f"most {MAX_SECONDS // 60} minutes (split longer recordings)")
    check_peak(wave, what)
    if np.abs(wave).max() < SILENCE_PEAK:
        raise InputError(f"{what}: the audio is silent (peak amplitude "
                         f"{np.abs(wave).max():.1e}); expected speech")
    wave = resample(wave, rate, sample_rate)
    if wave.size < frame_sizes(sample_rate)[0]:
        raise InputError(f"{what}: audio too short ({wave.size / sample_rate * 1000:.0f} ms); "
                         f"expected at least {WIN_MS} ms")
    return wave


# ---- features ----------------------------------------------------------------------------
def frame_sizes(sample_rate: int) -> tuple[int, int, int]:
    """Window, hop and FFT length in samples (25 ms / 10 ms windows)."""
    win, hop = sample_rate * WIN_MS // 1000, sample_rate * HOP_MS // 1000
    return win, hop, 1 << (win - 1).bit_length()


def num_frames(n_samples: int, sample_rate: int) -> int:
    win, hop, _ = frame_sizes(sample_rate)
    return 0 if n_samples < win else 1 + (n_samples - win) // hop


def mel_matrix(sample_rate: int, n_mels: int, fmin: float = 20.0, warp: float = 1.0) -> np.ndarray:
    """[fft_length // 2 + 1, n_mels] triangular HTK-mel filters, the same formula as
    tf.signal.linear_to_mel_weight_matrix. `warp` != 1 gives the filters of a vocal
    tract `warp` times shorter (training-time VTLP, see vtlp_frequencies)."""
    _, _, n_fft = frame_sizes(sample_rate)
    n_bins, fmax = n_fft // 2 + 1, sample_rate / 2

    def mel(f):
        return 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)

    freqs = np.linspace(0.0, fmax, n_bins)
    if warp != 1.0:
        freqs = vtlp_frequencies(freqs, warp, fmax)
    bins = mel(freqs)[1:, None]
    edges = np.linspace(mel(fmin), mel(fmax), n_mels + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    w = np.maximum(0.0, np.minimum((bins - lower) / (center - lower), (upper - bins) / (upper - center)))
    return np.pad(w, [[1, 0], [0, 0]]).astype(np.float32)       # DC bin gets no weight


VTLP_BOUNDARY = 0.8            # fraction of Nyquist up to which VTLP scales linearly


def vtlp_frequencies(freqs: np.ndarray, alpha: float, fmax: float) -> np.ndarray:
    """Vocal tract length perturbation (Jaitly & Hinton 2013): frequency f is read as
    alpha * f up to a boundary, then linearly so that Nyquist stays Nyquist. Energy at f
    lands in the mel filter of alpha * f, as if a speaker's formants were alpha times higher."""
    cut = VTLP_BOUNDARY * fmax * min(alpha, 1.0) / alpha
    upper = fmax - (fmax - alpha * cut) / (fmax - cut) * (fmax - freqs)
    return np.where(freqs <= cut, alpha * freqs, upper)


def utterance_level(log_mels: np.ndarray) -> np.float32:
    """The loudest frame's mean log-mel energy: a gain g shifts every log-mel value by
    2 log g, and so this level; subtracting it makes features gain-invariant (level_norm).
    It needs the whole utterance (not causal)."""
    return np.float32(log_mels.mean(axis=1).max()) if log_mels.size else np.float32(0.0)


def hann(win: int) -> np.ndarray:
    """Periodic Hann window (tf.signal.hann_window's default)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)).astype(np.float32)


def log_mel(wave: np.ndarray, sample_rate: int, mel: np.ndarray) -> np.ndarray:
    """[frames, n_mels] log mel energies of a waveform (unnormalized)."""
    from scipy.fft import rfft          # float32 in, complex64 out: twice numpy's speed

    win, hop, n_fft = frame_sizes(sample_rate)
    n = num_frames(wave.size, sample_rate)
    frames = np.lib.stride_tricks.sliding_window_view(wave.astype(np.float32), win)[::hop][:n]
    spec = rfft(frames * hann(win), n=n_fft)
    power = spec.real ** 2 + spec.imag ** 2
    # einsum, not `@`: multi-threaded BLAS on tiny matrices is 10-50x slower on a busy CPU
    return np.log(np.einsum("tf,fm->tm", power, mel) + np.float32(LOG_FLOOR)).astype(np.float32)


# ---- text --------------------------------------------------------------------------------
def normalize_text(text: str, alphabet: str) -> str:
    """Reference text in the alphabet's form: digits "4 1 5 9" (digit words accepted),
    chars lower-case letters, apostrophe and single spaces."""
    text = str(text).lower()
    if alphabet == "digits":
        words = re.findall(r"[a-z]+|[0-9]", text)
        out = [str(DIGIT_WORDS.index(w)) if w in DIGIT_WORDS else w for w in words]
        return " ".join(out)
    text = re.sub(r"[^a-z' ]+", " ", text.replace("’", "'"))
    return " ".join(text.split())


def tokens_of(text: str, alphabet: str) -> list[str]:
    return text.split() if alphabet == "digits" else list(text)


def join_tokens(tokens: list[str], alphabet: str) -> str:
    return " ".join(tokens) if alphabet == "digits" else "".join(tokens).strip()


# ---- CTC decoding ------------------------------------------------------------------------
def collapse(ids, blank: int = BLANK) -> list[int]:
    """Greedy CTC: merge repeats, drop blanks."""
    out, prev = [], None
    for i in ids:
        if i != prev and i != blank:
            out.append(int(i))
        prev = i
    return out


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def beam_search(logp: np.ndarray, beam: int = 8, blank: int = BLANK) -> list[int]:
    """CTC prefix beam search (Hannun et al. 2014) without a language model.
    `logp` [T, K] log-probabilities; returns the best label sequence."""
    beams = {(): (0.0, -np.inf)}          # prefix -> (log p ending in blank, ending in label)
    for t in range(logp.shape[0]):
        row = logp[t]
        top = np.argsort(row)[::-1][:beam]
        nxt: dict = {}

        def add(prefix, pb, pnb):
            ob, onb = nxt.get(prefix, (-np.inf, -np.inf))
            nxt[prefix] = (np.logaddexp(ob, pb), np.logaddexp(onb, pnb))

        for prefix, (pb, pnb) in beams.items():
            total = np.logaddexp(pb, pnb)
            for k in top:
                p = row[k]
                if k == blank:
                    add(prefix, total + p, -np.inf)
                    continue
                new = prefix + (int(k),)
                if prefix and prefix[-1] == k:
                    add(new, -np.inf, pb + p)           # a repeat needs a blank between
                    add(prefix, -np.inf, pnb + p)       # or merges into the last label
                else:
                    add(new, -np.inf, total + p)
        beams = dict(sorted(nxt.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:beam])
    return list(max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))[0])


def alignment(ids) -> list[tuple[int, int, int]]:
    """(token id, first frame, last frame) of each emitted token in a greedy path."""
    spans, prev = [], BLANK
    for t, i in enumerate(ids):
        i = int(i)
        if i != BLANK and i != prev:
            spans.append([i, t, t])
        elif i != BLANK and i == prev:
            spans[-1][2] = t
        prev = i
    return [tuple(s) for s in spans]


# ---- the host ----------------------------------------------------------------------------
@dataclass
class Encoded:
    units: list            # {"features": [frames, n_mels]}, one per chunk
    utterances: list       # (unit indices, frames per unit)
    options: dict


class Host(contract.Host):
    """Audio in (paths, waveforms), transcripts out. A streaming bundle's config (a
    unidirectional model) gives a StreamingHost.

    Audio longer than the largest length bucket is split into chunks at the quietest
    frame near each boundary (a pause between words), transcribed chunk by chunk and
    joined."""
    OPTION_BOUNDS = {"beam": f"0..{MAX_BEAM} (0, 1: greedy)"}


    def __new__(cls, config: dict):
        if cls is Host and config.get("streaming"):
            cls = StreamingHost
        return super().__new__(cls)

    def __init__(self, config: dict):
        self.config = config
        self.rate, self.n_mels = int(config["sample_rate"]), int(config["n_mels"])
        self.alphabet, self.tokens = config["alphabet"], list(config["tokens"])
        self.mean = np.asarray(config["mean"], np.float32)
        self.std = np.asarray(config["std"], np.float32)
        self.mel = mel_matrix(self.rate, self.n_mels)
        self.max_frames = max(config["buckets"]) if config.get("buckets") else None
        self.subsample = int(config.get("subsample", SUBSAMPLE))
        self.level_norm = bool(config.get("level_norm", False))

    def features(self, wave: np.ndarray, mel: np.ndarray | None = None,
                 eq: np.ndarray | None = None) -> np.ndarray:
        """Log-mels of one waveform, normalized with the training set's statistics (after
        removing the utterance's level if the model was trained with level_norm).
        Training augmentation only: another filterbank `mel` (VTLP), `eq` [n_mels] added
        to the log-mels (a random microphone response)."""
        lm = log_mel(wave, self.rate, self.mel if mel is None else mel)
        if eq is not None:
            lm = lm + eq.astype(np.float32)
        if self.level_norm:
            lm = lm - utterance_level(lm)
        return ((lm - self.mean) / self.std).astype(np.float32)

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

    def encode(self, inputs, beam: int = 0, logits: bool = False, **options) -> Encoded:
        if isinstance(inputs, (str, Path, np.ndarray, dict, bytes)):
            inputs = [inputs]
        if not isinstance(inputs, (list, tuple)):
            raise InputError(f"predict() needs a list of audio paths or waveforms; got "
                             f"{type(inputs).__name__}")
        if not inputs:
            raise InputError("predict() needs a non-empty list of audio file paths or waveform "
                             "arrays; got an empty list")
        if options:
            raise InputError(f"unknown predict() options {sorted(options)}; speech takes beam=N "
                             f"(CTC beam search width) and logits=True")
        beam = check_int(beam, "beam", 0, MAX_BEAM)
        units, utterances = [], []
        for i, item in enumerate(inputs):
            wave = self.prepare(load_waveform(item, self.rate, what=f"input {i}"))
            idx, frames = [], []
            for piece in self.chunks(self.features(wave)):
                idx.append(len(units))
                frames.append(piece.shape[0])
                units.append({"features": piece})
            utterances.append((idx, frames))
        return Encoded(units, utterances, {"beam": int(beam), "logits": bool(logits)})

    def prepare(self, wave: np.ndarray) -> np.ndarray:
        return wave

    def decode_logits(self, logits: np.ndarray, beam: int = 0) -> list[int]:
        if beam and beam > 1:
            return beam_search(log_softmax(logits), beam)
        return collapse(logits.argmax(-1))

    def decode(self, encoded: Encoded, outputs: list[dict]) -> list[dict]:
        results = []
        for idx, frames in encoded.utterances:
            ids, logits = [], []
            for j, n in zip(idx, frames):
                lg = outputs[j]["logits"][: -(-n // self.subsample)]      # drop bucket padding
                ids += self.decode_logits(lg, encoded.options["beam"])
                logits.append(lg)
            toks = [self.tokens[k - 1] for k in ids]
            result = {"text": join_tokens(toks, self.alphabet), "tokens": toks,
                      "seconds": round(sum(frames) * HOP_MS / 1000, 3)}
            if encoded.options["logits"]:       # [output frames, 1 + tokens]; blank is 0
                result["logits"] = np.concatenate(logits).astype(np.float32)
            results.append(result)
        return results

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

    @staticmethod
    def agreement(a: list[dict], b: list[dict]) -> float:
        """Fraction of utterances transcribed identically (export parity)."""
        return sum(x["text"] == y["text"] for x, y in zip(a, b)) / max(len(a), 1)


class StreamingHost(Host):
    """A unidirectional model run step by step (H.STREAM_FRAMES feature frames a step),
    carrying the convolutions' left context and the recurrent state between steps.
    predict() runs whole utterances through the same steps; stream() takes audio chunks."""

    TASK_METHODS = ("stream",)      # m.stream() on zoo.load() and zoo.runtime.load() models

    def __init__(self, config: dict):
        super().__init__(config)
        self.max_frames = None              # no need to split: the state carries over
        if self.level_norm:                 # fit_preprocessor refuses it; a hand-edited config
            raise InputError("level_norm needs the whole utterance; a streaming model cannot "
                             "use it (expected level_norm false for a unidirectional model)")
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
        """A live transcriber: `s.feed(chunk)` (a waveform at the model rate, or (array,
        rate)) returns the partial transcript; `s.finish()` the final one."""
        return Stream(self, call)


class Stream:
    """Audio chunks in, a growing transcript out (greedy CTC over the logits so far)."""

    def __init__(self, host: StreamingHost, call):
        self.host, self.call = host, call
        self.win, self.hop, _ = frame_sizes(host.rate)
        self.samples = np.zeros(0, np.float32)
        self.pending = np.zeros((0, host.n_mels), np.float32)
        self.state = host.initial_state()
        self.logits: list = []
        self.frames = 0
        self.done = False

    def feed(self, chunk) -> dict:
        if self.done:
            raise InputError("this stream is finished; start a new one with m.stream()")
        if isinstance(chunk, tuple) and len(chunk) == 2 and np.isscalar(chunk[1]):
            wave = resample(to_mono_float(chunk[0], "chunk"), int(chunk[1]), self.host.rate)
        else:
            wave = to_mono_float(chunk, "chunk")
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

    def _run(self, feats):
        logits, self.state = self.host.step_logits(feats, self.state, self.call)
        self.logits.append(logits)

    def finish(self) -> dict:
        """Flush: feed a short silence (see StreamingHost.prepare), run what is left."""
        if not self.done:
            self.feed(self.host.flush())
        if not self.done and self.pending.shape[0]:
            self._run(self.pending)
        self.done = True
        if self.logits:             # drop the outputs of the last step's zero padding
            keep = -(-self.frames // self.host.subsample)
            self.logits = [np.concatenate(self.logits)[:keep]]
        return self.result()

    def result(self) -> dict:
        logits = np.concatenate(self.logits) if self.logits else np.zeros((0, 1), np.float32)
        toks = [self.host.tokens[k - 1] for k in collapse(logits.argmax(-1))] if logits.size else []
        return {"text": join_tokens(toks, self.host.alphabet), "tokens": toks,
                "seconds": round(self.frames * HOP_MS / 1000, 3), "final": self.done}

"""Log-mel features in numpy: 25 ms windows every 10 ms, HTK-mel filters, log energies,
normalized with the training set's per-bin statistics.

The host, the training pipeline and the SavedModel's serving signature (tf.signal over
the same mel matrix, zoo_pipelines/speech/model.py) compute the same features.

>>> import numpy as np
>>> frame_sizes(8000)                       # window, hop, FFT length in samples
(200, 80, 256)
>>> features = LogMelFeatures({"sample_rate": 8000, "n_mels": 40, "mean": [0.0] * 40,
...                            "std": [1.0] * 40})
>>> t = np.arange(4000) / 8000
>>> features(np.sin(2 * np.pi * 440 * t).astype(np.float32)).shape
(48, 40)
"""
from __future__ import annotations

import numpy as np

WIN_MS, HOP_MS = 25, 10
LOG_FLOOR = 1e-6
VTLP_BOUNDARY = 0.8            # fraction of Nyquist up to which VTLP scales linearly


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


# Preprocessor options that need the whole utterance: a streaming model cannot take them.
WHOLE_UTTERANCE = ("level_norm", "cmn")


def utterance_norm(log_mels: np.ndarray, level_norm: bool = False, cmn: bool = False) -> np.ndarray:
    """The utterance's own statistics removed from its [frames, n_mels] log-mels: `cmn`
    subtracts each band's mean over the utterance (cepstral mean normalisation on the
    log-mel scale: a fixed microphone or room response, a gain, a speaker's average
    spectral tilt all vanish); else `level_norm` subtracts the utterance level. Both need
    the whole utterance (not causal)."""
    if cmn and log_mels.size:
        return log_mels - log_mels.mean(axis=0)
    return log_mels - utterance_level(log_mels) if level_norm else log_mels


def speaker_offset(log_mels: list[np.ndarray]) -> np.ndarray:
    """A speaker's mean log-mel in each band over his utterances ([frames, n_mels] each,
    after utterance_norm): his voice's and microphone's long-term spectrum. Per-speaker
    mean normalisation (the speech `speaker_norm` recipe option) subtracts it. Over many
    utterances of different words it keeps what one word's vowel would put into a single
    utterance's band means (cmn), so the words stay apart.

    >>> speaker_offset([np.ones((3, 2)), np.zeros((1, 2))]).tolist()
    [0.75, 0.75]
    """
    return np.concatenate(log_mels).mean(axis=0).astype(np.float32)


PER_SPEAKER = 60       # recordings a speaker's band means are taken over


def voice_stats(recordings: list, config: dict, load=None, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """A speaker's band means (speaker_offset) and band standard deviations under a
    preprocessor `config` (its rate, filters, level_norm, cmn), over up to PER_SPEAKER of
    his `recordings` drawn with `rng` (default: seed 0); `load` turns one into a waveform
    (default: they are waveforms).

    >>> cfg = {"sample_rate": 8000, "n_mels": 40}
    >>> [a.shape for a in voice_stats([np.zeros(800, np.float32)] * 2, cfg)]
    [(40,), (40,)]
    """
    rate, mel = int(config["sample_rate"]), config_mel(config)
    level_norm, cmn = bool(config.get("level_norm", False)), bool(config.get("cmn", False))
    pick = (rng or np.random.default_rng(0)).permutation(len(recordings))[:PER_SPEAKER]
    lms = [utterance_norm(log_mel(load(recordings[i]) if load else recordings[i], rate, mel),
                          level_norm, cmn) for i in pick]
    return speaker_offset(lms), np.concatenate(lms).std(axis=0).astype(np.float32)


def spread_scale(config: dict, spread: np.ndarray):
    """How much wider than the training speakers' average (`speaker_spread`) a speaker's
    band spreads are, when the model was trained with `speaker_norm_var`; else 1."""
    if not config.get("speaker_norm_var"):
        return np.float32(1)
    return np.maximum(spread, 1e-3) / np.asarray(config["speaker_spread"], np.float32)


def speaker_config(config: dict, stats: tuple[np.ndarray, np.ndarray]) -> dict:
    """A speaker_norm model's preprocessor `config` normalised for one speaker whose
    voice_stats are `stats`: his band means off (on the training centre, `speaker_mean`)
    and, with `speaker_norm_var`, his band spreads scaled to the training average."""
    offset, spread = stats
    centre = np.asarray(config["speaker_mean"], np.float32)
    if not config.get("speaker_norm_var"):
        return {**config, "mean": (centre + offset).tolist()}
    scale = spread_scale(config, spread)
    return {**config, "mean": (offset + centre * scale).tolist(),
            "std": (np.asarray(config["std"], np.float32) * scale).tolist()}


def speaker_adapted(config: dict, waves: list[np.ndarray]) -> dict:
    """`config` normalised for the speaker of `waves` (speaker_config of his voice_stats)."""
    return speaker_config(config, voice_stats(waves, config))


def hann(win: int) -> np.ndarray:
    """Periodic Hann window (tf.signal.hann_window's default)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)).astype(np.float32)


def log_mel(wave: np.ndarray, sample_rate: int, mel: np.ndarray) -> np.ndarray:
    """[frames, n_mels] log mel energies of a waveform (unnormalized)."""
    try:
        from scipy.fft import rfft      # float32 in, complex64 out: twice numpy's speed
    except ModuleNotFoundError:         # an export run on numpy and LiteRT alone
        from numpy.fft import rfft

    win, hop, n_fft = frame_sizes(sample_rate)
    n = num_frames(wave.size, sample_rate)
    frames = np.lib.stride_tricks.sliding_window_view(wave.astype(np.float32), win)[::hop][:n]
    spec = rfft(frames * hann(win), n=n_fft)
    power = spec.real ** 2 + spec.imag ** 2
    # einsum, not `@`: multi-threaded BLAS on tiny matrices is 10-50x slower on a busy CPU
    return np.log(np.einsum("tf,fm->tm", power, mel) + np.float32(LOG_FLOOR)).astype(np.float32)


def config_mel(config: dict) -> np.ndarray:
    """The mel filters of a preprocessor config: warped by its `warp` when the model was
    adapted to a speaker's vocal tract length (speech evaluate.adapted; 1.0: none).

    >>> bool((config_mel({"sample_rate": 8000, "n_mels": 40}) == mel_matrix(8000, 40)).all())
    True
    """
    return mel_matrix(int(config["sample_rate"]), int(config["n_mels"]),
                      warp=float(config.get("warp", 1.0)))


class LogMelFeatures:
    """The model's input features of a waveform, from a preprocessor config (sample_rate,
    n_mels, mean, std, level_norm, cmn, warp)."""

    def __init__(self, config: dict):
        self.rate, self.n_mels = int(config["sample_rate"]), int(config["n_mels"])
        self.mean = np.asarray(config["mean"], np.float32)
        self.std = np.asarray(config["std"], np.float32)
        self.mel = config_mel(config)
        self.level_norm = bool(config.get("level_norm", False))
        self.cmn = bool(config.get("cmn", False))

    def __call__(self, wave: np.ndarray, mel: np.ndarray | None = None,
                 eq: np.ndarray | None = None) -> np.ndarray:
        """[frames, n_mels] log-mels of one waveform, normalized with the training set's
        statistics (after removing the utterance's level or band means if the model was
        trained with level_norm or cmn). Training augmentation only: another filterbank
        `mel` (VTLP), `eq` [n_mels] added to the log-mels (a random microphone response)."""
        lm = log_mel(wave, self.rate, self.mel if mel is None else mel)
        if eq is not None:
            lm = lm + eq.astype(np.float32)
        lm = utterance_norm(lm, self.level_norm, self.cmn)
        return ((lm - self.mean) / self.std).astype(np.float32)

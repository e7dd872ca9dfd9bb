"""Training-time augmentation of speech, in numpy: speed perturbation (tempo and pitch
together, Ko et al. 2015), random gain, background noise (white/pink/brown at 5-40 dB SNR),
digit recordings joined into connected strings, a room and a telephone codec (`channel`),
and on the features VTLP filterbanks, a random microphone response, tempo stretching and
SpecAugment-style masks (Park et al. 2019). Every draw comes from the caller's `rng`, so
an epoch is reproducible.

>>> import numpy as np
>>> stretch(np.arange(10, dtype=np.float32)[:, None], 2.0)[:, 0].tolist()   # twice as fast
[0.0, 2.25, 4.5, 6.75, 9.0]
"""
from __future__ import annotations

import io
from functools import lru_cache

import numpy as np

from .features import mel_matrix


def speed(wave: np.ndarray, factor: float) -> np.ndarray:
    """Play `factor` times faster (tempo and pitch together)."""
    from scipy.signal import resample_poly

    return resample_poly(wave, 50, int(round(50 * factor))).astype(np.float32)


def colored_noise(n: int, rng) -> np.ndarray:
    """White, pink or brown noise of unit RMS."""
    from scipy.fft import irfft, next_fast_len, rfft

    m = next_fast_len(n, real=True)         # FFTs of prime lengths are slow
    white = rng.standard_normal(m, dtype=np.float32)
    alpha = rng.choice([0.0, 1.0, 2.0])
    if alpha:
        spec = rfft(white)
        f = np.arange(spec.size, dtype=np.float32)
        f[0] = 1.0
        white = irfft(spec / f ** (alpha / 2), m)
    white = white[:n]
    return (white / (np.sqrt(np.mean(white ** 2)) + 1e-9)).astype(np.float32)


def perturb(wave: np.ndarray, rng) -> np.ndarray:
    return speed(wave, rng.uniform(0.88, 1.12)) * np.float32(10 ** (rng.uniform(-4, 4) / 20))


def add_noise(wave: np.ndarray, rate: int, rng) -> np.ndarray:
    lead, tail = (np.zeros(int(rng.uniform(0, 0.25) * rate), np.float32) for _ in range(2))
    wave = np.concatenate([lead, wave, tail])
    rms = np.sqrt(np.mean(wave ** 2)) + 1e-9
    if rng.random() < 0.85:
        snr = rng.uniform(5, 40)
        wave = wave + colored_noise(wave.size, rng) * np.float32(rms / 10 ** (snr / 20))
    wave = wave * np.float32(10 ** (rng.uniform(-18, 6) / 20))
    return np.clip(wave, -1, 1)


# Telephone codecs libsndfile encodes in a WAV (through soundfile, already the project's
# audio reader, so no sox): mu-law and A-law (G.711), GSM 06.10, 32 kbit/s ADPCM (G.721).
CODECS = ("ULAW", "ALAW", "GSM610", "G721_32")


def codec(wave: np.ndarray, rate: int, subtype: str) -> np.ndarray:
    """`wave` after an encode and decode with a codec of CODECS.

    >>> w = np.sin(np.arange(800, dtype=np.float32) / 5) / 2
    >>> bool(np.abs(codec(w, 8000, "ULAW") - w).max() < 0.02)
    True
    """
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(wave, -1, 1), rate, subtype=subtype, format="WAV")
    buf.seek(0)
    out = sf.read(buf, dtype="float32")[0]
    return np.pad(out, (0, max(0, wave.size - out.size)))[:wave.size]


def reverb(wave: np.ndarray, rate: int, rng) -> np.ndarray:
    """`wave` heard in a small room: convolved with a synthetic impulse response, the
    direct path plus exponentially decaying noise (reverberation time RT60 0.15-0.6 s,
    direct-to-reverberant ratio 0-12 dB), at the input's RMS. Statistical RIRs of this
    kind stand in for measured ones, which the project has none of."""
    from scipy.signal import fftconvolve

    rt60 = rng.uniform(0.15, 0.6)
    t = np.arange(1, int(rt60 * rate), dtype=np.float32) / rate
    tail = rng.standard_normal(t.size).astype(np.float32) * np.exp(-6.908 * t / rt60)
    tail *= np.float32(np.sqrt(10 ** (-rng.uniform(0, 12) / 10) / (np.sum(tail ** 2) + 1e-9)))
    out = fftconvolve(wave, np.concatenate([[1.0], tail]).astype(np.float32))[:wave.size]
    gain = np.sqrt(np.mean(wave ** 2) / (np.mean(out ** 2) + 1e-12))
    return np.clip(out * gain, -1, 1).astype(np.float32)


def channel(wave: np.ndarray, rate: int, rng, p: float) -> np.ndarray:
    """With probability `p` a room (reverb), and independently with `p` a codec of CODECS:
    the speech recipe's `channel` option."""
    if rng.random() < p:
        wave = reverb(wave, rate, rng)
    if rng.random() < p:
        wave = codec(wave, rate, CODECS[rng.integers(len(CODECS))])
    return wave


@lru_cache(maxsize=64)
def warped_mel(rate: int, n_mels: int, alpha: float) -> np.ndarray:
    return mel_matrix(rate, n_mels, warp=alpha)


def random_eq(n_mels: int, max_db: float, rng) -> np.ndarray:
    """A random microphone/room response on the log-mel scale: a tilt of up to +-max_db/2
    from the lowest to the highest band, plus a bump or dip of up to +-max_db (Gaussian,
    2-8 bands wide) somewhere. In log-power units (nats): dB * ln(10) / 10."""
    k = np.arange(n_mels, dtype=np.float32)
    tilt = rng.uniform(-max_db, max_db) / 2 * (k / (n_mels - 1) - 0.5) * 2
    bump = rng.uniform(-max_db, max_db) * np.exp(-0.5 * ((k - rng.uniform(0, n_mels))
                                                         / rng.uniform(2, 8)) ** 2)
    return ((tilt + bump) * np.log(10) / 10).astype(np.float32)


def stretch(feats: np.ndarray, factor: float) -> np.ndarray:
    """[frames, n_mels] played `factor` times faster, pitch and formants unchanged: frames
    linearly interpolated onto round(frames / factor) points."""
    n = max(2, int(round(feats.shape[0] / factor)))
    pos = np.linspace(0, feats.shape[0] - 1, n, dtype=np.float32)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, feats.shape[0] - 1)
    w = (pos - lo)[:, None]
    return ((1 - w) * feats[lo] + w * feats[hi]).astype(np.float32)


def spec_augment(feats: np.ndarray, rng) -> np.ndarray:
    """Two frequency masks (up to 6 mel bins) and short time masks. Masked cells get
    small noise rather than zeros: an all-zero frame means padding to the model."""
    feats = feats.copy()
    t, f = feats.shape
    for _ in range(2):
        w = rng.integers(0, 7)
        s = rng.integers(0, f - w + 1)
        feats[:, s:s + w] = rng.normal(0, 0.1, (t, w))
    for _ in range(1 + t // 150):
        w = rng.integers(0, min(10, t // 10) + 1)
        s = rng.integers(0, t - w + 1)
        feats[s:s + w] = rng.normal(0, 0.1, (w, f))
    return feats


def connected(waves: list[np.ndarray], rate: int, rng, augment: bool) -> np.ndarray:
    """Recordings joined with pauses of 20-350 ms."""
    parts = []
    for i, w in enumerate(waves):
        if i:
            parts.append(np.zeros(int(rng.uniform(0.02, 0.35) * rate), np.float32))
        parts.append(perturb(w, rng) if augment else w)
    return np.concatenate(parts)

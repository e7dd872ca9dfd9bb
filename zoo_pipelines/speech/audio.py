"""Audio in numpy: read files (soundfile), take arrays, mix to mono, resample, and refuse
what is not speech audio (empty, silent, clipped far past full scale, too long or short)
with one clear InputError.

>>> import numpy as np
>>> t = np.arange(1600) / 16000
>>> wave = load_waveform((np.sin(2 * np.pi * 440 * t), 16000), 8000)   # 16 kHz -> 8 kHz
>>> wave.dtype, wave.size
(dtype('float32'), 800)
>>> load_waveform(np.zeros(800), 8000, "input 0")
Traceback (most recent call last):
zoo.errors.InputError: input 0: the audio is silent (peak amplitude 0.0e+00); expected speech
"""
from __future__ import annotations

import io
import os
import math
from pathlib import Path

import numpy as np

from zoo.errors import InputError, warn
from zoo.options import check_int, input_file

from .features import WIN_MS, frame_sizes

SILENCE_PEAK = 1e-4             # a waveform whose peak is below this is "silent"
CLIPPED_SHARE = 0.005           # flat-topped samples at full scale beyond this: warn (FSDD: none)
MAX_PEAK = 1.5                  # float samples belong in [-1, 1]; far beyond is not audio
MAX_RATE = 384_000              # the highest sample rate audio interfaces record at
MAX_SECONDS = 20 * 60           # longest audio taken: features and model time grow with it
MAX_SAMPLES = MAX_SECONDS * 48_000 * 2     # samples a file may decode to, all channels


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples (float32 in [-1, 1], channels mixed down) and sample rate of a WAV/FLAC/OGG
    file, read with soundfile (libsndfile)."""
    import soundfile as sf

    path = input_file(path, "audio file")    # an empty name, one too long, a folder
    name = os.fsencode(path)      # soundfile encodes a str name strictly: b"\xff.wav" failed
    try:
        check_duration(sf.info(name), str(path))
        data, rate = sf.read(name, dtype="float32", always_2d=True)
    except InputError:
        raise
    except Exception as e:          # soundfile raises RuntimeError / LibsndfileError
        raise InputError(f"{path}: not a readable audio file ({str(e)[:120]}); expected WAV, "
                         f"FLAC or OGG") from None
    return mix_down(data, str(path)), int(rate)


def mix_down(data: np.ndarray, what: str) -> np.ndarray:
    """[samples, channels] averaged to mono. Channels that cancel (one the other inverted: a
    microphone wired out of phase) were refused as "silent" with no word of why."""
    wave = data.mean(axis=1)
    if (data.shape[1] > 1 and wave.size and np.abs(wave).max() < SILENCE_PEAK
            and np.abs(data).max() >= SILENCE_PEAK):
        raise InputError(f"{what}: its {data.shape[1]} channels cancel out when mixed to mono "
                         f"(peak {np.abs(data).max():.2g}, mixed {np.abs(wave).max():.1e}: one "
                         f"is the other inverted); expected in-phase channels (pass one: "
                         f"(samples[:, 0], sample_rate))")
    return wave


def too_long(seconds: float) -> str:
    """How long audio over MAX_SECONDS is, in words that show it is over: one decimal of
    minutes, or seconds where that decimal would round down to the limit (20 minutes and a
    second read "20.0 minutes of audio; expected at most 20 minutes").

    >>> too_long(21 * 60), too_long(20 * 60 + 1)
    ('21.0 minutes', '1,201.0 seconds')
    """
    return (f"{seconds / 60:.1f} minutes" if round(seconds / 60, 1) * 60 > MAX_SECONDS
            else f"{seconds:,.1f} seconds")


def check_duration(info, what: str) -> None:
    """Refuse audio longer than MAX_SECONDS, or of more samples than MAX_SAMPLES, from the
    file header, before decoding it."""
    seconds = info.frames / info.samplerate if info.samplerate > 0 else float("inf")
    if seconds > MAX_SECONDS:
        raise InputError(f"{what}: {too_long(seconds)} of audio; expected at most "
                         f"{MAX_SECONDS // 60} minutes (split longer recordings)")
    # 20 minutes of 8 channels at 384 kHz is 4 MB of FLAC that decodes to 15 GB of floats
    if info.frames * info.channels > MAX_SAMPLES or info.samplerate > MAX_RATE:
        raise InputError(f"{what}: {info.channels} channels at {info.samplerate:,} Hz for "
                         f"{seconds:,.1f} s is {info.frames * info.channels:,} samples; "
                         f"expected at most {MAX_SAMPLES:,} (20 minutes of 48 kHz stereo) "
                         f"at up to {MAX_RATE:,} Hz")


def check_peak(wave: np.ndarray, what: str) -> None:
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak > MAX_PEAK:
        raise InputError(f"{what}: waveform samples reach {peak:.3g}; expected floats in "
                         f"[-1, 1] (or integer PCM)")


def check_clipping(wave: np.ndarray, what: str) -> None:
    """Warn where much of the audio sits at full scale: a recording made too loud, its peaks
    cut flat. The model heard none such and misread digits without a word (3x over full
    scale: 3 of 10 FSDD digits wrong, 10x: 4); nothing can restore what was cut."""
    # flat tops: a sample at full scale equal to the one before (a full-scale sine is not)
    share = float(((np.abs(wave[1:]) >= 0.99) & (wave[1:] == wave[:-1])).mean()) \
        if wave.size > 1 else 0.0
    if share > CLIPPED_SHARE:
        warn(f"{what}: {share:.1%} of the samples are clipped at full scale; the "
             f"transcript may be wrong (record at a lower input gain)")


def to_mono_float(array, what: str) -> np.ndarray:
    """A 1-D float32 waveform from int16/int32/float arrays, mono or [n, channels]: a PCM
    integer type at its own full scale (int64, a list of ints, at int16's unless its
    values need more bits), uint8 as 8-bit PCM (silence at 128)."""
    try:
        a = np.asarray(array)
    except ValueError:                  # ragged lists ([[.1, .2], [.3]]): numpy's own message
        raise InputError(f"{what}: rows of different lengths; expected a waveform of shape "
                         f"[samples] or [samples, channels]") from None
    if a.dtype == object or np.iscomplexobj(a) or not np.issubdtype(a.dtype, np.number):
        # complex: the cast to float32 dropped the imaginary part with only a warning;
        # bool: True / False were read as samples 1 and 0
        raise InputError(f"{what}: expected a real-valued numeric waveform; got dtype {a.dtype}")
    if a.dtype == np.uint8:
        # 8-bit PCM (scipy.io.wavfile's 8-bit WAV) is unsigned, silence at 128: it was read as
        # int16 values, a DC offset with the speech at -72 dB
        a = (a.astype(np.float32) - 128) / 128
    elif np.issubdtype(a.dtype, np.unsignedinteger):
        # uint16/uint32 are no PCM format: offset at mid-scale, they read as a DC offset
        # ("silent", or a transcript of the offset)
        raise InputError(f"{what}: unsigned {a.dtype} samples; expected signed PCM (int16, "
                         f"int32), uint8 (8-bit PCM) or floats in [-1, 1]")
    elif a.dtype.kind == "i" and a.dtype.itemsize <= 4:      # int8, int16, int32, any byte order
        # each at its own full scale, as WAV readers give them (scipy.io.wavfile's 24- and
        # 32-bit PCM, soundfile's dtype="int32": 2**31). int32 was int16 full scale where its
        # values fit in 16 bits: near-silent 32-bit audio, 65536 times too loud, was
        # transcribed where the same audio as floats was refused as silent
        peak = int(np.abs(a.astype(np.int64)).max()) if a.size else 0
        if a.dtype.itemsize == 4 and 0 < peak <= 32768:
            raise InputError(f"{what}: int32 samples of at most {peak}, within 16 bits (below "
                             f"-96 dBFS of 32-bit full scale); expected 16-bit samples as int16 "
                             f"(x.astype(np.int16)), 32-bit PCM louder than silence, or "
                             f"floats in [-1, 1]")
        a = a.astype(np.float32) / float(2 ** (8 * a.dtype.itemsize - 1))
    elif np.issubdtype(a.dtype, np.integer):
        # int64: Python's (and JSON's) lists of ints, no reader's dtype: int16 full scale
        # unless the values need more bits
        scale = 32768.0 if a.size == 0 or np.abs(a).max() <= 32768 else 2.0 ** 31
        a = a.astype(np.float32) / scale
    a = a.astype(np.float32)
    if a.ndim == 2 and 0 in a.shape:    # its mean below was NaN, with numpy's warning
        raise InputError(f"{what}: an empty waveform of shape {a.shape}; expected samples")
    if a.ndim == 2:                     # [samples, channels] (soundfile) or [channels, samples]
        a = mix_down(a if a.shape[0] >= a.shape[1] else a.T, what)
    if a.ndim != 1:
        raise InputError(f"{what}: expected a waveform of shape [samples] or [samples, "
                         f"channels]; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{what}: waveform contains NaN or infinite samples; expected finite "
                         f"samples, as float in [-1, 1] or integer PCM")
    check_peak(a, what)
    return a


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly) from `rate` to `target` Hz."""
    if rate == target:
        return wave
    try:
        from scipy.signal import resample_poly
    except ModuleNotFoundError as e:    # a stream's chunks too, outside predict's own check
        from zoo.runtime import missing_package

        raise missing_package(e, f"resampling {rate} Hz audio to {target} Hz") from None

    g = math.gcd(int(rate), int(target))
    return resample_poly(wave, target // g, rate // g).astype(np.float32)


def is_rate_pair(item) -> bool:
    """`(waveform, sample_rate)`: one input, not a list of two (whose second was refused
    as "input 1: ... got int"). A rate given as a string of digits counts too, so that
    check_int names it as a rate rather than "input 1: 8000: no such audio file"."""
    return (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (np.ndarray, list))
            and np.isscalar(item[1])
            and (not isinstance(item[1], str) or item[1].strip().isdigit()))


def array_and_rate(item, sample_rate: int, what: str) -> tuple[np.ndarray, int]:
    """(mono float32 waveform, its checked sample rate) from an array (taken to be at
    `sample_rate`), an (array, rate) pair or {"array": ..., "sampling_rate": ...}: the one
    check of a given rate, for predict() (load_waveform) and a stream's chunks alike."""
    rate = sample_rate
    if isinstance(item, dict):
        if "array" not in item:
            raise InputError(f"{what}: a dict needs 'array' (and 'sampling_rate'); got keys "
                             f"{sorted(map(str, item))}")
        item, rate = item["array"], item.get("sampling_rate", sample_rate)
    elif isinstance(item, tuple) and len(item) == 2:
        item, rate = item
    wave = to_mono_float(item, what)
    # int() made None or "abc" a raw TypeError / ValueError, cut 8000.7, read True as 1 Hz,
    # and 10**12 Hz ran out of memory in resample
    return wave, check_int(rate, f"{what}: the sample rate (Hz)", 1, MAX_RATE)


def load_waveform(item, sample_rate: int, what: str = "input", clipping: bool = True) -> np.ndarray:
    """A mono float32 waveform at `sample_rate` from a path, bytes of a file, an array (taken
    to be at `sample_rate`), a (array, rate) pair or {"array": ..., "sampling_rate": ...}.
    `clipping`: warn of clipped audio (check_clipping; datasets read for training and
    evaluation do not, one warning a file)."""
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
            # soundfile names its buffer ("Error opening <_io.BytesIO object at 0x...>: ...")
            reason = str(e).rpartition(">: ")[2] if ">: " in str(e) else str(e)
            raise InputError(f"{what}: bytes are not a readable audio file ({reason[:100]}); "
                             f"expected a WAV or FLAC file") from None
        wave = mix_down(data, what)
    elif isinstance(item, (dict, np.ndarray, list)) or is_rate_pair(item):
        wave, rate = array_and_rate(item, sample_rate, what)
    else:
        raise InputError(f"{what}: expected an audio file path, a waveform array, (array, "
                         f"sample_rate) or {{'array', 'sampling_rate'}}; got {type(item).__name__}")
    if wave.size == 0:
        raise InputError(f"{what}: empty audio (0 samples); expected a recording of speech")
    if not np.all(np.isfinite(wave)):
        raise InputError(f"{what}: audio contains NaN or infinite samples; expected finite "
                         f"samples, as float in [-1, 1] or integer PCM")
    if wave.size / rate > MAX_SECONDS:
        raise InputError(f"{what}: {too_long(wave.size / rate)} of audio; expected at "
                         f"most {MAX_SECONDS // 60} minutes (split longer recordings)")
    check_peak(wave, what)
    if clipping:
        check_clipping(wave, what)
    if np.abs(wave).max() < SILENCE_PEAK:
        raise InputError(f"{what}: the audio is silent (peak amplitude "
                         f"{np.abs(wave).max():.1e}); expected speech")
    wave = resample(wave, rate, sample_rate)
    if wave.size < frame_sizes(sample_rate)[0]:
        raise InputError(f"{what}: audio too short ({wave.size / sample_rate * 1000:.0f} ms); "
                         f"expected at least {WIN_MS} ms")
    return wave

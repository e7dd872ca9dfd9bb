"""Valid images and audio files as people have them, read as a viewer or player shows them
(helper AR): a phone photo's EXIF orientation, an embedded ICC profile, 16-bit greyscale,
8-bit unsigned samples, stereo channels that cancel, clipped recordings. Each was read
wrongly without a word before. Fast: no model is loaded."""
import io
import struct
import warnings

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from zoo.errors import InputError
from zoo_pipelines.captioning.host import load_image
from zoo_pipelines.speech.audio import load_waveform

RED, BLUE = (255, 0, 0), (0, 0, 255)


def encoded(img, fmt="PNG", **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def top_red_bottom_blue(w=40, h=60):
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2], a[h // 2:] = RED, BLUE
    return Image.fromarray(a)


# ---- images ---------------------------------------------------------------------------------
@pytest.mark.parametrize("orientation, stored", [(6, Image.Transpose.ROTATE_90),
                                                 (8, Image.Transpose.ROTATE_270),
                                                 (3, Image.Transpose.ROTATE_180)])
def test_exif_orientation_is_applied(orientation, stored):
    # a phone stores the photo sideways with a tag saying how to turn it; viewers turn it
    upright = load_image(top_red_bottom_blue(), 16)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encoded(top_red_bottom_blue().transpose(stored), "JPEG", quality=95,
                   exif=exif.tobytes())
    for item in (data, Image.open(io.BytesIO(data))):
        assert np.abs(load_image(item, 16) - upright).mean() < 4


def test_damaged_exif_leaves_the_image_as_stored():
    data = encoded(top_red_bottom_blue(), "JPEG", quality=95, exif=b"Exif\0\0garbage")
    assert load_image(data, 16)[0, 0, 0] > 200


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_16_bit_and_float_greyscale_are_scaled(mode):
    # Pillow's own conversion clips at 255: a 16-bit PNG came out nearly all white
    grey = np.linspace(0, 65535, 64 * 64).reshape(64, 64)
    want = np.rint(grey / 257)
    if mode == "F":
        img = Image.fromarray((grey / 65535).astype(np.float32))
    else:
        img = Image.fromarray(grey.astype(np.uint16 if mode == "I;16" else np.int32))
    for item in (img, encoded(img, "TIFF" if mode == "F" else "PNG")):
        got = load_image(item, 64)
        assert np.abs(got[..., 0] - want).max() <= 1 and (got[..., 0] == got[..., 2]).all()


def icc_matrix_profile(primaries) -> bytes:
    """A minimal ICC v2 RGB matrix/TRC profile (gamma 2.2, D50) with these primaries' XYZ."""
    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z):
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    text = b"test primaries\0"
    tags = [(b"desc", b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 79),
            (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(*primaries[0])),
            (b"gXYZ", xyz(*primaries[1])), (b"bXYZ", xyz(*primaries[2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"cprt", b"text" + b"\0" * 4 + b"none\0")]
    offset, table, body = 128 + 4 + 12 * len(tags), b"", b""
    for sig, data in tags:
        body += b"\0" * (-(offset + len(body)) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (struct.pack(">I", offset + len(body)) + b"none" + bytes([2, 0x10, 0, 0])
              + b"mntrRGB XYZ " + b"\0" * 12 + b"acspAPPL" + b"\0" * 4 + b"nonenone"
              + b"\0" * 12 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"none" + b"\0" * 44)
    return header + struct.pack(">I", len(tags)) + table + body


def test_embedded_icc_profile_is_converted_to_srgb():
    # sRGB's primaries with red and green swapped: stored red is green on screen
    r, g, b = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7139)
    swapped = icc_matrix_profile((g, r, b))
    img = Image.new("RGB", (16, 16), (200, 0, 0))
    for item in (encoded(img, "JPEG", quality=95, icc_profile=swapped),
                 encoded(img.convert("RGBA"), icc_profile=swapped)):
        px = load_image(item, 8)[0, 0]
        assert px[1] > 150 and px[0] < 50, px
    # a profile littlecms cannot read: as stored
    assert load_image(encoded(img, icc_profile=b"not a profile"), 8)[0, 0, 0] == 200


def test_transparent_images_show_their_first_frame_on_white():
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    rgba.paste((255, 0, 0, 255), (5, 5, 15, 15))
    for item in (encoded(rgba), encoded(rgba.quantize(4)), encoded(rgba, "WEBP", lossless=True)):
        got = load_image(item, 20)
        assert (got[0, 0] == 255).all() and (got[10, 10] == RED).all()
    frames = [Image.new("RGB", (20, 20), c) for c in (RED, BLUE)]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert (load_image(gif, 8)[0, 0] == RED).all()
    # premultiplied alpha, as a PIL image only: a raw "conversion from La to L" ValueError
    for mode in ("La", "RGBa"):
        img = Image.new(mode[:-1] + "A", (4, 4), 0).convert(mode)
        assert load_image(img, 4)[0, 0].tolist() == [255] * 3


# ---- audio ----------------------------------------------------------------------------------
def tone(seconds=0.5, rate=8000, peak=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (peak * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_uint8_and_int8_arrays_are_8_bit_pcm():
    # scipy.io.wavfile reads an 8-bit WAV as uint8, silence at 128: it was read as int16
    # values, a DC offset with the speech 72 dB down
    x = tone()
    want = load_waveform((x, 8000), 8000)
    for a in (np.rint(x * 127 + 128).astype(np.uint8), np.rint(x * 127).astype(np.int8)):
        got = load_waveform((a, 8000), 8000)
        assert abs(got.mean()) < 0.01 and np.abs(got - want).max() < 0.02
    with pytest.raises(InputError, match="silent"):
        load_waveform((np.full(8000, 128, np.uint8), 8000), 8000)


def test_channels_that_cancel_name_the_fix():
    x = tone()
    b = io.BytesIO()
    sf.write(b, np.stack([x, -x], 1), 8000, format="WAV")
    for item in (b.getvalue(), (np.stack([x, -x], 1), 8000), (np.stack([x, -x]), 8000)):
        with pytest.raises(InputError, match=r"2 channels cancel out .*samples\[:, 0\]"):
            load_waveform(item, 8000)
    # in phase, one channel silent: mixed, as documented
    assert np.allclose(load_waveform((np.stack([x, 0 * x], 1), 8000), 8000), x / 2)


def test_clipped_audio_warns_and_normal_audio_does_not():
    x = tone(peak=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_waveform((x, 8000), 8000)
        load_waveform((tone(peak=1.0), 8000), 8000)      # a full-scale sine is not clipped
        b = io.BytesIO()
        sf.write(b, x, 8000, format="WAV", subtype="PCM_U8")
        assert np.abs(load_waveform(b.getvalue(), 8000) - x).max() < 0.02
    with pytest.warns(UserWarning, match=r"input: \d+\.\d% of the samples are clipped .*lower"):
        load_waveform((np.clip(x * 3, -1, 1), 8000), 8000)

"""MIDI files <-> piano rolls (numpy + mido; no TensorFlow: the host uses this too).

A piano roll is a [T, 88] array of 0/1: row t is time step t, column k is MIDI pitch
21 + k (A0 .. C8). The time step is a fraction of a quarter note (`steps_per_quarter`:
1 for JSB Chorales, 2 = eighth notes for the other datasets).

>>> import numpy as np, tempfile, os
>>> roll = np.zeros((4, 88), np.uint8); roll[:2, 60 - 21] = 1; roll[2:, [64 - 21, 67 - 21]] = 1
>>> path = os.path.join(tempfile.mkdtemp(), "x.mid")
>>> write_midi(roll, path, steps_per_quarter=2).name
'x.mid'
>>> bool((read_midi(path, steps_per_quarter=2) == roll).all())
True
"""
from __future__ import annotations

import stat
from pathlib import Path

import numpy as np

from zoo.errors import warn

PITCH_MIN, KEYS = 21, 88
# The longest roll a MIDI file may make: a file of a few bytes can hold a note that lasts
# 2**28 ticks (a roll of tens of GB). 200,000 steps is over 16 hours at eighth notes, 100 bpm.
MAX_ROLL_STEPS = 200_000
# The largest MIDI file read: mido makes a Python object of every event, and a 3 MB file of
# a million notes took 43 s and 800 MB here (the server takes 16 MB bodies). A piano piece
# is tens or hundreds of KB.
MAX_MIDI_BYTES = 2 << 20
DRUM_CHANNEL = 9            # General MIDI channel 10: percussion, not pitches
SUSTAIN = 64                # the sustain (damper) pedal's controller


class MidiError(ValueError):
    """A MIDI file that cannot be used: corrupt, no notes, drums only."""


def note_events(path: str | Path) -> list[tuple[int, float, float]]:
    """(pitch, start, end) of every pitched note, times in quarter notes."""
    import mido

    try:
        st = Path(path).stat()
        if not stat.S_ISREG(st.st_mode):
            # a FIFO named x.mid hung the read of a whole folder; a folder named so is no file
            raise MidiError("not a regular file (a folder, pipe or device); expected a MIDI file")
        size = st.st_size
        if size > MAX_MIDI_BYTES:
            raise MidiError(f"{size / (1 << 20):.1f} MB; expected a MIDI file of at most "
                            f"{MAX_MIDI_BYTES >> 20} MB (a piano piece is tens of KB)")
        mid = mido.MidiFile(str(path))
    except MidiError:
        raise
    except Exception as e:      # mido raises OSError, EOFError, ValueError, KeyError ...
        raise MidiError(f"not a readable MIDI file ({type(e).__name__}: {str(e)[:80]}); "
                        f"expected a Standard MIDI File (.mid)") from None
    if mid.type == 2:       # merged, its independent patterns all sounded at once
        raise MidiError("a type-2 MIDI file (independent patterns, not one piece); expected "
                        "type 0 or 1 (save it as type 1)")
    tpq = mid.ticks_per_beat or 480
    now, active, notes, drums = 0, {}, [], 0
    # The sustain pedal (CC 64 >= 64) holds released keys until it is lifted or the key is
    # struck again: a pianist's pedalled chords were 16th-note blips, then silence
    pedal, held = set(), {}
    # every track's messages at their absolute tick, in the order mido.merge_tracks plays
    # them (a stable sort by tick), without its two checked copies of every message: 70 %
    # of reading a MIDI file (5,000 short ones: 4 minutes)
    timed = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            timed.append((tick, msg))
    timed.sort(key=lambda e: e[0])
    for now, msg in timed:
        if msg.type == "control_change" and msg.control == SUSTAIN:
            if msg.value >= 64:
                pedal.add(msg.channel)
            elif msg.channel in pedal:
                pedal.discard(msg.channel)
                for key in [k for k in held if k[0] == msg.channel]:
                    notes += [(key[1], s / tpq, now / tpq) for s in held.pop(key)]
            continue
        if msg.type not in ("note_on", "note_off"):
            continue
        if msg.channel == DRUM_CHANNEL:
            drums += 1
            continue
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            notes += [(msg.note, s / tpq, now / tpq) for s in held.pop(key, [])]
            active.setdefault(key, []).append(now)
        elif active.get(key):
            start = active[key].pop(0)
            if msg.channel in pedal:
                held.setdefault(key, []).append(start)
            else:
                notes.append((msg.note, start / tpq, now / tpq))
    notes += [(n, s / tpq, now / tpq) for part in (active, held)
              for (_, n), starts in part.items() for s in starts]
    if not notes:
        raise MidiError(("drums only, no pitched notes" if drums else "no notes")
                        + "; expected a piece with pitched notes")
    return notes


def events_to_roll(notes, steps_per_quarter: int) -> np.ndarray:
    """Quantise (pitch, start, end) notes to a [T, 88] roll: a note holds the steps from
    its rounded start to its rounded end (at least one). Pitches off the piano are dropped."""
    spans = [(p - PITCH_MIN, round(s * steps_per_quarter), round(e * steps_per_quarter))
             for p, s, e in notes if PITCH_MIN <= p < PITCH_MIN + KEYS]
    if not spans:
        raise MidiError(f"no notes on the piano; expected pitches {PITCH_MIN}..{PITCH_MIN + KEYS - 1}")
    if len(spans) < len(notes):     # they were dropped without a word
        off = sorted({p for p, _, _ in notes if not PITCH_MIN <= p < PITCH_MIN + KEYS})
        warn(f"{len(notes) - len(spans)} notes off the piano's range {PITCH_MIN}.."
             f"{PITCH_MIN + KEYS - 1} left out (pitches {', '.join(map(str, off[:8]))}"
             f"{', ...' if len(off) > 8 else ''})")
    start = min(s for _, s, _ in spans)       # leading silence carries no information
    length = max(max(e, s + 1) for _, s, e in spans)
    if length - start > MAX_ROLL_STEPS:
        raise MidiError(f"the notes span {length - start:,} time steps at {steps_per_quarter} "
                        f"per quarter note; expected at most {MAX_ROLL_STEPS:,}")
    roll = np.zeros((length - start, KEYS), np.uint8)
    for k, s, e in spans:
        roll[s - start:max(e, s + 1) - start, k] = 1
    return roll


def read_midi(path: str | Path, steps_per_quarter: int = 2) -> np.ndarray:
    return events_to_roll(note_events(path), steps_per_quarter)


def write_midi(roll, path: str | Path, steps_per_quarter: int = 2, bpm: float = 100.0,
               velocity: int = 80, program: int = 0) -> Path:
    """A type-0 MIDI file of the roll (a pitch held over consecutive steps is one note)."""
    import mido

    roll = np.asarray(roll, np.uint8)
    tpq = 480
    step = tpq // steps_per_quarter
    events = []                                   # (tick, on?, pitch)
    padded = np.vstack([np.zeros((1, KEYS), np.uint8), roll, np.zeros((1, KEYS), np.uint8)])
    change = np.diff(padded.astype(np.int8), axis=0)
    for t, k in zip(*np.nonzero(change)):
        events.append((t * step, change[t, k] > 0, PITCH_MIN + k))
    events.sort(key=lambda e: (e[0], e[1]))       # note-offs before note-ons at one tick
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
                            mido.Message("program_change", program=program, time=0)])
    last = 0
    for tick, on, pitch in events:
        track.append(mido.Message("note_on" if on else "note_off", note=int(pitch),
                                  velocity=velocity if on else 0, time=int(tick - last)))
        last = tick
    mid = mido.MidiFile(type=0, ticks_per_beat=tpq)
    mid.tracks.append(track)
    mid.save(str(path))
    return Path(path)


def roll_png(roll, path: str | Path, scale: int = 4, steps_per_quarter: int = 2,
             primer_steps: int | None = None) -> Path:
    """A piano-roll picture: pitch names up the side, beats along the bottom, the end of
    the primer marked (zoo_pipelines/music/plot.py; `scale` is kept for old callers)."""
    from .plot import piano_roll

    return piano_roll(roll, path, steps_per_quarter, primer_steps)

"""Teach a speech model one new speaker from his recordings alone, no transcripts
(evaluate.self_trained): the model, adapted to him where it can be, transcribes them, the
surer half of each transcribed digit become labels, and the model is fine-tuned on them with
its training data rehearsed. Writes the fine-tuned bundle to --out and prints his
recordings' transcripts as it reads them. More of his recordings: `zoo predict OUT FILES
--same-speaker` (speech-ctc-stream adapts to nobody: plain `zoo predict OUT FILES`).

    python -m zoo_pipelines.speech.self_train speech-ctc his_recordings/ --out runs/speech/his

--rehearse names the training folder to mix in (default: the model's own data under
$ZOO_DATA), --validation the folder whose valid split chooses the epoch (default: the
rehearsed one's). About two minutes a round on two CPU cores. Over five FSDD speakers left
out of training in turn it lifted speech-ctc's digit accuracy from 0.807 to 0.860, and
speech-ctc-stream's only from 0.724 to 0.743 (docs/models/speech-ctc.md, "Self-training").
"""
from __future__ import annotations

import argparse
from pathlib import Path

from zoo.errors import InputError, ZooError


def recordings(paths: list[str]) -> list[str]:
    """Audio files, a folder standing for the audio files in it."""
    from zoo.data import existing

    from .data import AUDIO_SUFFIXES

    found = []
    for p in (existing(p, "file or folder of his recordings (.wav)", folder_ok=True)
              for p in paths):
        if p.is_dir():
            found += sorted(str(f) for f in p.iterdir() if f.suffix.lower() in AUDIO_SUFFIXES)
        else:
            found.append(str(p))
    if not found:
        raise InputError(f"no recordings in {' '.join(paths)}; expected .wav files or a folder "
                         f"of them")
    return found


def main(argv=None):
    import os

    from zoo.cli import import_tensorflow_quietly
    from zoo.data import data_root

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("model", help="a speech model's name or bundle folder")
    ap.add_argument("recordings", nargs="+", help="his recordings: .wav files or folders")
    ap.add_argument("--out", required=True, help="folder for the fine-tuned bundle")
    ap.add_argument("--rehearse", default=None, help="training folder to mix in")
    ap.add_argument("--validation", default=None,
                    help="folder whose valid split chooses the epoch")
    ap.add_argument("--rounds", type=int, default=1,
                    help="transcribe and fine-tune this many times")
    ap.add_argument("--keep", type=float, default=0.5,
                    help="share of each digit's transcripts kept")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")      # as `zoo` itself runs
    import_tensorflow_quietly()
    import zoo

    from . import data as D
    from . import evaluate as E

    try:
        audio, model = recordings(args.recordings), zoo.load(args.model)
        if model.entry.package != __package__:
            raise InputError(f"{args.model} is a {model.entry.task} model; expected a speech "
                             f"model (speech-ctc, speech-ctc-stream or a bundle of one)")
        folder = args.validation or args.rehearse or data_root() / model.entry.default_data
        tuned = E.self_trained(model, audio, rehearse=args.rehearse or True,
                               validation=D.read_split(Path(folder), "valid"),
                               keep=args.keep, rounds=args.rounds, out=args.out)
        said = tuned.predict(audio)
    except ZooError as e:
        raise SystemExit(f"error: {e}") from None
    for path, result in zip(audio, said):
        print(f"{path}\t{result['text']}")


if __name__ == "__main__":
    main()

"""Speed and size benchmarks against peers; not timed tests.

Each shipped model with a benchmark has a module named after it (`ner-bilstm` ->
`benchmarks.ner_bilstm`) holding a `SPEC` (benchmarks/harness.py runs it) and
`main(argv=None) -> int`, so both of these work from the repository root:

    .venv/bin/python -m benchmarks.ner_bilstm --quick
    zoo bench ner-bilstm --quick

The PyTorch twins live in benchmarks/twins/. caption_cnn_lstm_beam.py (a beam-width grid
scored on valid) and speech_ctc_speakers.py (a held-out-speaker diagnosis) are experiments
with their own command lines, not speed benchmarks.
"""

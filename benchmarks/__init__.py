"""Speed and size benchmarks against peers; not timed tests.

Each model has a module named after it (`ner-bilstm` -> `benchmarks.ner_bilstm`) with a
`main(argv=None)`, so both of these work from the repository root:

    .venv/bin/python -m benchmarks.ner_bilstm --quick
    zoo bench ner-bilstm
"""

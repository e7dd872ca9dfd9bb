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
import signal
import sys
import threading


def _interrupted(signum, frame):
    """Ctrl-C while `python -m benchmarks.X` still imports (numpy, TensorFlow, the harness:
    seconds) was a traceback through whichever import it hit: the one line and status 130
    of zoo.errors.script, which puts Python's own handler back once main() runs (its
    KeyboardInterrupt then says where the results stand and runs the clean-up)."""
    print(f"python -m {_MAIN}: interrupted", file=sys.stderr)
    raise SystemExit(130)


# only as `python -m benchmarks.X` (not `zoo bench`, nor a test importing it), and not over a
# handler the caller set
_ARGV = getattr(sys, "orig_argv", [])
_MAIN = next((b for a, b in zip(_ARGV, _ARGV[1:]) if a == "-m"), "")
if (_MAIN.startswith("benchmarks.") and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        and threading.current_thread() is threading.main_thread()):
    signal.signal(signal.SIGINT, _interrupted)

"""A worker process of batch-predict's DirectRunner (--workers N): Beam's own
sdk_worker_main, its start-up notes unsaid. Each worker printed "apitools not found ..."
(a logging.warning at import, which gave the root logger a stderr handler) and then
"Logging handler created." at INFO, two lines a process, before any pipeline option could
set a log level. A handler of our own comes first and passes Beam's records from ERROR on
only (the `zoo` command's filter in its own process); everyone else's as they are."""
import logging
import runpy
import sys

BEAM_MAIN = "apache_beam.runners.worker.sdk_worker_main"


def not_beams_note(record: logging.LogRecord) -> bool:
    """A record to show: an error, or not Beam's."""
    return record.levelno >= logging.ERROR or "apache_beam" not in f"{record.name} {record.pathname}"


if __name__ == "__main__":
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(not_beams_note)
    logging.getLogger().addHandler(handler)    # so logging.warning() adds no handler of its own
    runpy.run_module(BEAM_MAIN, run_name="__main__", alter_sys=True)

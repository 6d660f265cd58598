"""Logs as one JSON object per line (the deployed stages), each line of a job's
work carrying its ``jobId``.

    logs.use_json_lines(app.log)          # once, when app.py is imported
    with logs.job_context(job_id):        # around one job's work
        log.info("stored %s", key)        # {"level": "INFO", ..., "jobId": "..."}

The standard library does it: a formatter and a context variable. A context
variable, not a logger adapter, so every module's plain ``logging.getLogger``
logger picks up the job without being handed anything, and each thread (the
local event delivery runs several) or task sees only its own job.
"""
import json
import logging
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Iterator, Optional

_job_id: ContextVar[Optional[str]] = ContextVar("vsl_job_id", default=None)

# A LogRecord's own attributes; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "aws_request_id"}


@contextmanager
def job_context(job_id: Optional[str]) -> Iterator[None]:
    """Every log line inside carries ``jobId``; nesting restores the outer job."""
    token = _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(token)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, jobId (when
    in a job), requestId (on Lambda), ``extra=`` fields and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        job_id = _job_id.get()
        if job_id:
            entry["jobId"] = job_id
        request_id = getattr(record, "aws_request_id", None)  # Lambda's runtime sets it
        if request_id:
            entry["requestId"] = request_id
        entry.update({k: v for k, v in vars(record).items()
                      if k not in _RECORD_ATTRIBUTES and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def use_json_lines(*loggers: logging.Logger, stream=None) -> None:
    """JSON lines on the root logger's handlers (Lambda's runtime installs one;
    without one, a handler on stdout is added) and on the given loggers' own
    handlers (Chalice's ``app.log`` has its own and does not propagate)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(stream or sys.stdout))
    formatter = JsonLinesFormatter()
    for handler in [*root.handlers, *(h for lg in loggers for h in lg.handlers)]:
        handler.setFormatter(formatter)

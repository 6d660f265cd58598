"""JSON log lines with the job's id on every line of its work."""
import io
import json
import logging
import threading

import pytest

from chalicelib import logs


@pytest.fixture
def lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLinesFormatter())
    logger = logging.getLogger("chalicelib.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_each_record_is_one_json_line_and_lines_in_a_job_carry_its_id(lines):
    log, read = lines
    log.info("before")
    with logs.job_context("job-1"):
        log.info("stored %s", "images/a/original.png", extra={"bytes": 123})
        with logs.job_context("job-2"):
            log.warning("nested")
        log.info("back")
    log.info("after")
    entries = read()
    assert [e.get("jobId") for e in entries] == [None, "job-1", "job-2", "job-1", None]
    stored = entries[1]
    assert stored["message"] == "stored images/a/original.png" and stored["bytes"] == 123
    assert stored["level"] == "INFO" and stored["logger"] == "chalicelib.test_logs"
    assert stored["timestamp"].endswith("Z")


def test_an_exception_stays_on_one_line(lines):
    log, read = lines
    with logs.job_context("job-3"):
        try:
            raise ValueError("bad\noutput")
        except ValueError:
            log.exception("copy failed")
    [entry] = read()
    assert entry["jobId"] == "job-3" and "ValueError: bad" in entry["exception"]


def test_each_thread_logs_its_own_job(lines):
    log, read = lines
    started = threading.Barrier(2)

    def work(job_id):
        with logs.job_context(job_id):
            started.wait(5)  # both jobs are set at once
            log.info("working")
    threads = [threading.Thread(target=work, args=(j,)) for j in ("job-a", "job-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e["jobId"] for e in read()) == ["job-a", "job-b"]


def test_json_lines_go_to_the_root_handlers_and_the_given_loggers(monkeypatch):
    root = logging.getLogger()
    stream = io.StringIO()
    lambda_handler = logging.StreamHandler(stream)  # what Lambda's runtime installs
    monkeypatch.setattr(root, "handlers", [lambda_handler])
    app_log = logging.getLogger("vsl-media-test")
    own = logging.StreamHandler(io.StringIO())
    monkeypatch.setattr(app_log, "handlers", [own])
    logs.use_json_lines(app_log)
    assert isinstance(lambda_handler.formatter, logs.JsonLinesFormatter)
    assert isinstance(own.formatter, logs.JsonLinesFormatter)

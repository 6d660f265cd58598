"""The local stack's supervisor, on stand-in children: what dies is restarted
as Lambda would, what is stopped stays stopped, and what cannot be mended (the
emulator, a crash loop) is reported instead of restarted."""
import os
import signal
import sys
import time

import pytest

from local.stack import LocalStack

# Runs processes or builds artifacts: not a pure test, so not in `make unit`.
pytestmark = pytest.mark.integration

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


@pytest.fixture
def stack(tmp_path):
    s = LocalStack(log_dir=tmp_path)
    yield s
    s.stop()


def wait_for(check, what: str, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return found


def test_a_killed_child_is_restarted_and_stop_stops_everything_for_good(stack):
    first = stack._spawn("events", SLEEPER)
    other = stack._spawn("api", SLEEPER)
    stack.supervise(interval_s=0.05)
    os.kill(first.pid, signal.SIGKILL)
    second = wait_for(lambda: stack.procs["events"] if stack.procs["events"] is not first
                      else None, "the killed child was not restarted")
    assert second.poll() is None and stack.restarts == {"events": 1}
    assert stack.procs["api"] is other  # the others run on untouched
    stack.stop()
    assert stack.procs == {}
    assert second.poll() is not None and other.poll() is not None
    assert stack.check_children() == []  # a late round of supervision starts nothing


def test_a_child_stopped_on_purpose_stays_stopped(stack):
    stack._spawn("simulator", SLEEPER)
    stack.supervise(interval_s=0.05)
    stack.stop("simulator")
    assert stack.check_children() == [] and "simulator" not in stack.procs


def test_a_crash_loop_and_a_dead_emulator_are_reported_not_restarted(stack):
    stack.max_restarts_per_minute = 3
    stack._spawn("events", CRASHER)
    stack.supervise(interval_s=0.05)
    wait_for(lambda: stack.failed, "the crash loop was never given up")
    assert stack.restarts == {"events": 3} and "events" not in stack.procs
    assert "code 3" in stack.failed and "4 times within a minute" in stack.failed

    emulator_stack = LocalStack(log_dir=stack.log_dir)
    try:
        emulator = emulator_stack._spawn("emulator", SLEEPER)
        emulator_stack.supervise(interval_s=0.05)
        emulator.kill()
        wait_for(lambda: emulator_stack.failed, "the emulator's death went unnoticed")
        assert emulator_stack.restarts == {} and "emulator" in emulator_stack.failed
    finally:
        emulator_stack.stop()

"""/health's Replicate check: one answer shared by every caller and API instance, so
public health probes never become one Replicate call each."""
from datetime import timedelta

from chalicelib.health import SharedCheck
from tests.fakes import FakeClock, InMemoryCheckStore


class Replicate:
    def __init__(self):
        self.calls, self.up = 0, True

    def check(self):
        self.calls += 1
        if not self.up:
            raise ConnectionError("down")


def instances(n=3, every_s=10):
    store, clock, replicate = InMemoryCheckStore(), FakeClock(), Replicate()
    return [SharedCheck(store, "replicate", replicate.check, clock, every_s)
            for _ in range(n)], store, clock, replicate


def test_many_callers_on_many_instances_make_one_call_per_interval():
    checks, _, clock, replicate = instances()
    for _ in range(100):
        for check in checks:
            assert check.state() == "ok"
    assert replicate.calls == 1
    clock.advance(10.5)
    assert [c.state() for c in checks] == ["ok"] * 3
    assert replicate.calls == 2


def test_an_outage_is_seen_by_every_caller_after_at_most_one_interval():
    checks, _, clock, replicate = instances()
    assert checks[0].state() == "ok"
    replicate.up = False
    clock.advance(11)
    assert checks[1].state() == "unavailable"
    assert checks[2].state() == "unavailable" and replicate.calls == 2
    replicate.up = True
    clock.advance(11)
    assert checks[0].state() == "ok"


def test_while_another_caller_checks_its_last_answer_is_given():
    checks, store, clock, replicate = instances()
    assert checks[0].state() == "ok"
    clock.advance(11)
    assert store.claim("replicate", clock.now(), clock.now() - timedelta(seconds=10))
    assert checks[1].state() == "ok" and replicate.calls == 1   # not checked twice


def test_a_first_check_still_running_elsewhere_is_not_reported_ok():
    checks, store, clock, replicate = instances()
    assert store.claim("replicate", clock.now(), clock.now() - timedelta(seconds=10))
    assert checks[0].state() == "unavailable" and replicate.calls == 0

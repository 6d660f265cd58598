"""The load run's verdict: what counts as lost, limited, an error, and exact limits."""
from tools.load import Client, Outcome, PacedOutcome, paced_table, table


def client(name, statuses, ended=()):
    c = Client(name, f"key-{name}", f"user-{name}")
    for i, status in enumerate(statuses):
        c.statuses.append(status)
        c.latencies.append(0.1 * (i + 1))
        if status == 202:
            c.accepted.append(f"{name}-{i}")
    for job_id in ended:
        c.ended[job_id] = "completed"
    c.ended_at = 12.0 if ended else None
    return c


def test_every_accepted_job_ended_and_each_client_got_its_limit_passes():
    a = client("a", [202, 202, 429], ended=["a-0", "a-1"])
    b = client("b", [202, 202, 429], ended=["b-0", "b-1"])
    outcome = Outcome([a, b], expected_per_client=2, started=2.0, deadline_s=60)
    assert (outcome.accepted, outcome.limited, outcome.server_errors, outcome.other_errors,
            outcome.lost) == (4, 2, 0, 0, 0)
    assert outcome.limits_exact and outcome.ok
    assert outcome.all_ended_after_s == 10.0
    assert "PASS" in table(outcome, jobs=6, clients=2, hourly_limit=2)


def test_an_accepted_job_that_never_ended_is_lost_and_fails_the_run():
    a = client("a", [202, 202, 429], ended=["a-0"])
    outcome = Outcome([a], expected_per_client=2, started=0.0, deadline_s=60)
    assert outcome.lost == 1 and not outcome.ok
    assert outcome.all_ended_after_s is None
    assert "not within 60 s" in table(outcome, jobs=3, clients=1, hourly_limit=2)


def test_a_client_admitted_beyond_its_limit_makes_the_limits_inexact():
    a = client("a", [202, 202, 202], ended=["a-0", "a-1", "a-2"])
    outcome = Outcome([a], expected_per_client=2, started=0.0, deadline_s=60)
    assert not outcome.limits_exact and not outcome.ok


def test_5xx_fail_the_run_and_other_answers_count_as_other_errors():
    a = client("a", [202, 503, 400, "ConnectionError"], ended=["a-0"])
    outcome = Outcome([a], expected_per_client=1, started=0.0, deadline_s=60)
    assert outcome.server_errors == 1 and outcome.other_errors == 2
    assert not outcome.ok


# ---- the paced run ---------------------------------------------------------------------

def paced(clients, creates_at, throttled=0):
    return PacedOutcome(clients, 0, 0.0, 600, create_limit=60, pace=57, offered_per_minute=180,
                        sent_at=[0.0, 60.0], creates_at=creates_at, throttled=throttled)


def test_a_paced_run_passes_when_every_job_completed_at_the_limits_rate():
    a = client("a", [202, 202], ended=["a-0", "a-1"])
    outcome = paced([a], [i * 60 / 57 for i in range(58)])  # 57 a minute
    assert round(outcome.start_rate, 1) == 57.0 and round(outcome.rate_error, 2) == -0.05
    assert outcome.busiest_minute == 57 and outcome.ok
    assert "PASS" in paced_table(outcome, clients=1, minutes=1)


def test_a_paced_run_fails_on_429s_above_five_percent_or_a_rate_off_by_more_than_ten():
    a = client("a", [202, 202], ended=["a-0", "a-1"])
    at_pace = [i * 60 / 57 for i in range(58)]
    assert paced([a], at_pace, throttled=2).ok  # 2 of 60 tried: 3.3%
    assert not paced([a], at_pace, throttled=4).ok  # 4 of 62: 6.5%
    assert not paced([a], [i * 60 / 53 for i in range(54)]).ok  # 53 a minute: -11.7%


def test_a_paced_run_fails_when_a_job_failed_or_a_submit_was_refused():
    failed = client("a", [202, 202], ended=["a-0", "a-1"])
    failed.ended["a-1"] = "failed"
    failed.errors["a-1"] = "The prediction could not be started: Replicate kept throttling"
    outcome = paced([failed], [i * 60 / 57 for i in range(58)])
    assert not outcome.ok and "kept throttling" in paced_table(outcome, clients=1, minutes=1)
    refused = client("b", [202, 503], ended=["b-0"])
    assert not paced([refused], [i * 60 / 57 for i in range(58)]).ok

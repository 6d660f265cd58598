"""Client webhooks on fakes: configuration, the spec's payload, signatures,
retries, 410, giving up, duplicates, and a crash between a job's end and its event."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.jobs.model import JobEvent, JobStatus
from chalicelib.messages import DeliveryMessage
from chalicelib.notifications.model import DeliveryState
from chalicelib.outbound import Answer, FetchFailed
from chalicelib.urls import UrlRejected
from tests.fakes import CLIENT, IMAGE_BODY, OTHER_CLIENT, World

STAGE_SECRET = "whsec_" + "c3RhZ2Utc2VjcmV0LXN0YWdlLXNlY3JldC0xMjM0NTY="
HOOK = "https://hooks.example.com/vsl"


def verify(secret, url_body_headers):
    """Standard Webhooks' check, at the fake clock's time (the library checks against now)."""
    _, body, headers = url_body_headers
    sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), timezone.utc)
    expected = Webhook(secret).sign(headers["webhook-id"], sent_at, body.decode())
    if expected not in headers["webhook-signature"].split(" "):
        raise AssertionError("no signature matches this secret")
    return json.loads(body)


def finished_job(world, end="completed", body=None):
    job = world.submit(body)
    if end == "completed":
        return world.complete(job)
    world.webhook(job, world.replicate.set(job.replicate_id, status="failed", error="NSFW"))
    world.run_all()
    return world.job(job.job_id)


def test_registering_listing_and_deleting_endpoints():
    world = World()
    made = world.webhooks.register(CLIENT, {"url": HOOK, "description": "main"})
    assert made["url"] == HOOK and made["events"] == ["job.completed", "job.failed"]
    assert made["id"].startswith("wh_") and made["createdAt"]
    assert world.webhooks.list(CLIENT)["webhooks"] == [made]
    assert world.webhooks.list(OTHER_CLIENT)["webhooks"] == []
    with pytest.raises(NotFound):
        world.webhooks.delete(OTHER_CLIENT, made["id"])
    world.webhooks.delete(CLIENT, made["id"])
    assert world.webhooks.list(CLIENT)["webhooks"] == []


@pytest.mark.parametrize("body,code", [
    ({"url": "http://hooks.example.com/x"}, "INVALID_VALUE"),
    ({"url": "https://127.0.0.1/x"}, "INVALID_VALUE"),
    ({"url": "https://169.254.169.254/x"}, "INVALID_VALUE"),
    ({"url": HOOK, "events": ["job.started"]}, "INVALID_VALUE"),
    ({"url": HOOK, "events": []}, "OUT_OF_RANGE"),
    ({"url": HOOK, "colour": "red"}, "UNKNOWN_PARAMETER"),
    ({}, "MISSING_PARAMETER")])
def test_bad_registrations_are_400(body, code):
    with pytest.raises(ValidationFailed) as err:
        World().webhooks.register(CLIENT, body)
    assert err.value.code == code


def test_a_client_may_register_a_bounded_number_of_endpoints():
    world = World()
    for i in range(10):
        world.webhooks.register(CLIENT, {"url": f"{HOOK}/{i}"})
    with pytest.raises(ValidationFailed, match="at most 10"):
        world.webhooks.register(CLIENT, {"url": HOOK})


def test_a_completed_job_delivers_the_specs_payload_to_every_target_signed():
    world = World(stage_webhook=("https://ops.example.com/all", STAGE_SECRET))
    world.webhooks.register(CLIENT, {"url": HOOK})
    job = finished_job(world, body=dict(IMAGE_BODY, webhookUrl="https://job.example.com/cb"))
    world.run_notifications()
    by_url = {url: (url, body, headers) for url, body, headers in world.receiver.received}
    assert set(by_url) == {"https://ops.example.com/all", HOOK, "https://job.example.com/cb"}
    client_secret = world.webhooks.secret(CLIENT)["key"]
    payload = verify(client_secret, by_url[HOOK])
    assert verify(client_secret, by_url["https://job.example.com/cb"]) == payload
    assert verify(STAGE_SECRET, by_url["https://ops.example.com/all"]) == payload
    assert payload == {"event": "job.completed", "jobId": job.job_id, "userId": "user123",
                       "status": "completed", "timestamp": "2030-01-01T01:00:00.000Z",
                       "result": {"originalUrl": payload["result"]["originalUrl"],
                                  "thumbnailUrl": payload["result"]["thumbnailUrl"],
                                  "fileSize": job.result.original.file_size}}
    assert payload["result"]["originalUrl"].split("?")[0].endswith("/original.png")
    views = world.deliverer.deliveries_of(job.job_id)["deliveries"]
    assert {v["state"] for v in views} == {"delivered"} and len(views) == 3
    assert all(v["attempts"] == 1 and v["lastStatus"] == 200 for v in views)


def test_a_failed_job_delivers_job_failed_with_its_error():
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    finished_job(world, "failed")
    world.run_notifications()
    payload = json.loads(world.receiver.received[0][1])
    assert payload["event"] == "job.failed" and payload["error"] == "NSFW"


def test_events_go_only_to_endpoints_subscribed_to_them():
    world = World()
    world.webhooks.register(CLIENT, {"url": f"{HOOK}/failures", "events": ["job.failed"]})
    world.webhooks.register(CLIENT, {"url": f"{HOOK}/cancels", "events": ["job.cancelled"]})
    job = world.submit()
    world.cancel(job.job_id, CLIENT)
    finished_job(world, "completed")
    world.run_notifications()
    assert [url for url, _, _ in world.receiver.received] == [f"{HOOK}/cancels"]


def test_500_twice_then_200_is_three_attempts_with_one_webhook_id():
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    world.receiver.answers = [Answer(500), Answer(500), Answer(200)]
    job = finished_job(world)
    world.run_notifications(until_s=3600)
    ids = {headers["webhook-id"] for _, _, headers in world.receiver.received}
    assert len(world.receiver.received) == 3 and len(ids) == 1
    (view,) = world.deliverer.deliveries_of(job.job_id)["deliveries"]
    assert view["state"] == "delivered" and view["attempts"] == 3 and view["lastStatus"] == 200
    assert view["nextAttemptAt"] is None and view["deliveredAt"]
    assert 4 <= world.notifications.delays[0] if world.notifications.delays else True


def test_retries_follow_the_growing_schedule_and_honour_retry_after():
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    world.receiver.answers = [Answer(500), Answer(429, retry_after=600), Answer(200)]
    job = finished_job(world)
    world.run_notifications()            # the first attempt
    (d,) = world.deliveries.for_job(job.job_id)
    assert 4 <= (d.next_attempt_at - world.clock.now()).total_seconds() <= 6  # 5 s +-20%
    world.run_notifications(until_s=10)  # the second: 429 asks for 600 s (more than 300)
    (d,) = world.deliveries.for_job(job.job_id)
    assert (d.next_attempt_at - world.clock.now()).total_seconds() >= 600
    world.run_notifications(until_s=700)
    assert world.deliveries.for_job(job.job_id)[0].state == DeliveryState.DELIVERED


@pytest.mark.parametrize("answer", [Answer(301), Answer(302), Answer(404), Answer(503)])
def test_redirects_and_errors_are_failures_retried_then_given_up_visibly(answer):
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    world.receiver.answers = [answer] * 10
    job = finished_job(world)
    world.run_notifications(until_s=10_000)
    (view,) = world.deliverer.deliveries_of(job.job_id)["deliveries"]
    assert view["state"] == "failed" and view["attempts"] == 4  # 1 + the 3 retries configured
    assert "gave up after 4 attempts" in view["lastError"]
    assert not world.notifications.messages  # nothing retried forever


def test_an_unreachable_target_ends_failed():
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})

    def unreachable(policy, url, body, headers, timeout_s):
        raise FetchFailed("no answer (ConnectTimeout)")
    world.deliverer.send = unreachable
    job = finished_job(world)
    world.run_notifications(until_s=10_000)
    (view,) = world.deliverer.deliveries_of(job.job_id)["deliveries"]
    assert view["state"] == "failed" and "ConnectTimeout" in view["lastError"]


def test_410_disables_the_endpoint():
    world = World()
    endpoint = world.webhooks.register(CLIENT, {"url": HOOK})
    world.receiver.answers = [Answer(410)]
    job = finished_job(world)
    world.run_notifications()
    (view,) = world.deliverer.deliveries_of(job.job_id)["deliveries"]
    assert view["state"] == "failed" and view["attempts"] == 1
    (listed,) = world.webhooks.list(CLIENT)["webhooks"]
    assert listed["id"] == endpoint["id"] and listed["disabledAt"]
    finished_job(world)
    world.run_notifications()
    assert len(world.receiver.received) == 1  # a disabled endpoint gets nothing more


def test_a_target_the_sender_refuses_ends_failed_at_once():
    """The sender applies the URL policy at every delivery (tests/unit/test_urls.py runs
    the real one against real servers); a refusal is final, never retried."""
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    world.receiver.answers = [UrlRejected("must not point at a loopback, private or "
                                          "reserved address")]
    job = finished_job(world)
    world.run_notifications(until_s=10_000)
    (view,) = world.deliverer.deliveries_of(job.job_id)["deliveries"]
    assert view["state"] == "failed" and view["attempts"] == 1 and "private" in view["lastError"]
    assert world.receiver.received == [] and not world.notifications.messages


def test_the_terminal_event_handled_three_times_makes_one_delivery_per_target():
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    job = finished_job(world)
    world.notifications.messages *= 3
    world.notifications.delays *= 3
    world.run_notifications()
    assert len(world.receiver.received) == 1
    assert len(world.deliverer.deliveries_of(job.job_id)["deliveries"]) == 1


def test_a_redelivered_attempt_message_never_sends_twice():
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    job = finished_job(world)
    world.dispatcher.fan_out(job.job_id, "job.completed")
    first = DeliveryMessage.parse(world.notifications.messages[-1])
    world.run_notifications()
    world.deliverer.attempt(first.job_id, first.webhook_id)
    assert len(world.receiver.received) == 1


def test_a_crash_between_the_end_and_its_event_still_delivers_it():
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    world.notifier.fail_next = 1  # the process dies after the job ended, before its event
    job = world.complete(world.submit())
    assert job.status == JobStatus.COMPLETED and job.notification_pending
    world.run_notifications()
    assert world.receiver.received == []
    world.clock.advance(11)
    world.status(job.job_id)  # the job is seen again: its event goes out
    world.run_notifications()
    assert len(world.receiver.received) == 1
    assert not world.job(job.job_id).notification_pending
    assert world.notifier.events == [(job.job_id, JobEvent.COMPLETED)]


def test_rotation_signs_with_both_secrets_for_a_day():
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    old = world.webhooks.secret(CLIENT)["key"]
    rotated = world.webhooks.rotate(CLIENT)
    assert rotated["key"] != old and rotated["previousKeyValidUntil"] == "2030-01-02T01:00:00.000Z"
    finished_job(world)
    world.run_notifications()
    verify(old, world.receiver.received[-1])
    verify(rotated["key"], world.receiver.received[-1])
    world.clock.advance(86401)
    finished_job(world)
    world.run_notifications()
    verify(rotated["key"], world.receiver.received[-1])
    with pytest.raises(AssertionError):
        verify(old, world.receiver.received[-1])


@pytest.mark.parametrize("remaining_s", [0.0004, 0.5, 4.2])
def test_a_message_early_for_its_attempt_comes_back_no_sooner_than_due(remaining_s):
    """Jitter leaves fractions of a second: rounding them down would send the
    message back at once, again and again, before the attempt is due."""
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    world.receiver.answers = [Answer(500)]
    job = finished_job(world)
    world.run_notifications()  # the first attempt fails; the second is scheduled
    (d,) = world.deliveries.for_job(job.job_id)
    world.clock._now = d.next_attempt_at - timedelta(seconds=remaining_s)
    world.notifications.messages.clear()
    world.notifications.delays.clear()
    world.deliverer.attempt(job.job_id, d.webhook_id)
    assert world.notifications.delays == [max(1, int(remaining_s + 0.999999))]


def test_a_deleted_endpoint_gets_no_more_retries():
    world = World()
    endpoint = world.webhooks.register(CLIENT, {"url": HOOK})
    world.receiver.answers = [Answer(500)] * 10
    job = finished_job(world)
    world.run_notifications()  # the first attempt fails; a retry is scheduled
    assert len(world.receiver.received) == 1
    world.webhooks.delete(CLIENT, endpoint["id"])
    world.run_notifications(until_s=10_000)
    assert len(world.receiver.received) == 1
    (view,) = world.deliverer.deliveries_of(job.job_id)["deliveries"]
    assert view["state"] == "failed" and view["lastError"] == "the endpoint was deleted"
    assert not world.notifications.messages


@pytest.mark.parametrize("error", [ValueError("Invalid URL"), UnicodeError("label too long"),
                                   OverflowError("cannot convert float infinity to integer")])
def test_an_unexpected_error_in_an_attempt_counts_as_one_and_the_delivery_ends(error):
    """Whatever the sender raises, the attempt is recorded and the schedule goes on to
    its end: never the same crash on every redelivery, forever."""
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    world.receiver.answers = [error] * 10
    job = finished_job(world)
    world.run_notifications(until_s=10_000)
    (view,) = world.deliverer.deliveries_of(job.job_id)["deliveries"]
    assert view["state"] == "failed" and view["attempts"] == 4
    assert type(error).__name__ in view["lastError"] and not world.notifications.messages


@pytest.mark.parametrize("retry_after", [10 ** 9, 7 * 86400])
def test_a_retry_after_beyond_the_schedule_waits_only_the_schedules_longest_wait(retry_after):
    world = World()  # the schedule: 5, 300, 1800 s
    world.webhooks.register(CLIENT, {"url": HOOK})
    world.receiver.answers = [Answer(503, retry_after=retry_after)] * 10
    job = finished_job(world)
    world.run_notifications()
    (d,) = world.deliveries.for_job(job.job_id)
    assert (d.next_attempt_at - world.clock.now()).total_seconds() == 1800
    world.run_notifications(until_s=10_000)
    (view,) = world.deliverer.deliveries_of(job.job_id)["deliveries"]
    assert view["state"] == "failed" and view["attempts"] == 4


def test_a_clients_busy_send_slot_holds_its_own_deliveries_in_the_queue_not_others():
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    world.webhooks.register(OTHER_CLIENT, {"url": "https://other.example.com/hook"})
    # One of the client's attempts is in flight (a slow receiver) and holds its slot.
    until = world.clock.now() + timedelta(seconds=30)
    assert world.webhook_config.take_send_slot(CLIENT.client_id, 1, "slow", until,
                                               world.clock.now()) == 0
    mine = finished_job(world)
    world.complete(world.submit(caller=OTHER_CLIENT))
    world.run_notifications(until_s=1)
    assert [url for url, _, _ in world.receiver.received] == ["https://other.example.com/hook"]
    (waiting,) = world.deliveries.for_job(mine.job_id)
    assert waiting.attempts == 0 and world.notifications.delays == [2]  # back in the queue
    world.webhook_config.release_send_slot(CLIENT.client_id, 0, "slow", world.clock.now())
    world.run_notifications(until_s=5)
    assert [url for url, _, _ in world.receiver.received][-1] == HOOK
    assert world.deliveries.for_job(mine.job_id)[0].state == DeliveryState.DELIVERED


def test_concurrent_rotations_make_one_secret_and_refuse_the_others():
    """Four rotations read the same secret before any writes (as four concurrent
    requests do): one rotates, three are refused with 409; every secret handed out
    verifies, and the one replaced still signs for a day."""
    import threading

    from chalicelib.errors import RotationInProgress
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    old = world.webhooks.secret(CLIENT)["key"]
    store, all_read = world.webhook_config, threading.Barrier(4)
    read = store.secrets

    def secrets_read_together(client_id):
        held = read(client_id)
        all_read.wait(5)
        return held
    store.secrets = secrets_read_together
    outcomes = []

    def rotate():
        try:
            outcomes.append(world.webhooks.rotate(CLIENT))
        except RotationInProgress as e:
            outcomes.append(e)
    threads = [threading.Thread(target=rotate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    store.secrets = read
    rotated = [o for o in outcomes if isinstance(o, dict)]
    assert len(rotated) == 1 and len(outcomes) == 4
    assert all(o.code == "ROTATION_IN_PROGRESS" for o in outcomes if not isinstance(o, dict))
    finished_job(world)
    world.run_notifications()
    verify(rotated[0]["key"], world.receiver.received[-1])
    verify(old, world.receiver.received[-1])


def test_rotating_again_within_a_day_keeps_every_promise():
    from chalicelib.errors import RotationInProgress
    world = World()
    world.webhooks.register(CLIENT, {"url": HOOK})
    keys = [world.webhooks.secret(CLIENT)["key"]]
    for _ in range(3):
        keys.append(world.webhooks.rotate(CLIENT)["key"])
        world.clock.advance(3600)
    with pytest.raises(RotationInProgress):  # three earlier secrets sign already
        world.webhooks.rotate(CLIENT)
    finished_job(world)
    world.run_notifications()
    for key in keys:  # each secret ever handed out signs until its promised time
        verify(key, world.receiver.received[-1])
    world.clock.advance(86400 - 3 * 3600 + 1)  # the first rotation's day is over
    finished_job(world)
    world.run_notifications()
    with pytest.raises(AssertionError):
        verify(keys[0], world.receiver.received[-1])
    for key in keys[1:]:
        verify(key, world.receiver.received[-1])
    assert world.webhooks.rotate(CLIENT)["key"] not in keys

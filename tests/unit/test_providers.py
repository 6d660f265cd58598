"""Routing, failover and provider health on in-memory fakes: which provider a job
starts on, that an ambiguous create is never followed by a second provider's run,
and that at most one provider's result is stored."""
import pytest

from chalicelib.errors import ReplicateRefused, ServiceUnavailable, ValidationFailed
from chalicelib.jobs.model import ACTIVE, JobStatus, Prediction
from chalicelib.jobs.starter import QUEUED_RETRY_S
from chalicelib.messages import StartMessage
from chalicelib.providers.health import ProviderHealth
from chalicelib.providers.port import FAL, REPLICATE, ProviderUnavailable
from chalicelib.providers.routing import NoProvider, Routes, candidates, hands_over
from chalicelib.replicate import ReplicateUnavailable
from tests.fakes import CLIENT, IMAGE_BODY, World

BOTH = Routes(default=(REPLICATE, FAL))


def both() -> World:
    return World(routes=BOTH)


def outage(status=500) -> ReplicateUnavailable:
    return ReplicateUnavailable(f"HTTP {status}", status=status)


# ---- the pure rules ---------------------------------------------------------------

def test_the_order_is_the_models_own_else_the_default_and_a_pin_narrows_it():
    routes = Routes(default=(REPLICATE, FAL), by_model={"sdxl": (FAL,)})
    assert routes.order("flux-schnell") == (REPLICATE, FAL)
    assert routes.order("sdxl") == (FAL,)
    assert routes.order("flux-schnell", pinned=FAL) == (FAL,)
    with pytest.raises(NoProvider):
        routes.order("sdxl", pinned=REPLICATE)


def test_a_down_provider_due_a_probe_is_a_candidate_once_and_first_in_its_place():
    now = [0.0]
    health = ProviderHealth(threshold=1, cool_down_s=10, clock=lambda: now[0])
    health.failed(REPLICATE)
    now[0] = 10
    assert candidates((REPLICATE, FAL), health.is_down, lambda p: True) == (REPLICATE, FAL)


def test_candidates_skip_what_cannot_serve_and_try_a_down_provider_last():
    assert candidates((REPLICATE, FAL), lambda p: p == REPLICATE, lambda p: True) == \
        (FAL, REPLICATE)
    assert candidates((REPLICATE, FAL), lambda p: False, lambda p: p != FAL) == (REPLICATE,)


@pytest.mark.parametrize("error,hands", [
    (ProviderUnavailable("500", status=500), True),
    (ProviderUnavailable("503", status=503), True),
    (ProviderUnavailable("429", status=429), True),
    (ProviderUnavailable("refused", sent=False), True),
    (ProviderUnavailable("422", status=422), False),        # the request itself is at fault
    (ProviderUnavailable("ReadTimeout"), False),             # ambiguous: it may be running
])
def test_only_a_definite_outage_hands_the_job_to_the_next_provider(error, hands):
    assert hands_over(error) is hands


def test_the_breaker_opens_after_repeated_failures_and_lets_one_probe_through_later():
    now = [0.0]
    health = ProviderHealth(threshold=2, cool_down_s=10, clock=lambda: now[0])
    health.failed(REPLICATE)
    assert not health.is_down(REPLICATE)
    health.failed(REPLICATE)
    assert health.is_down(REPLICATE) and health.state(REPLICATE) == "down"
    now[0] = 10
    assert not health.is_down(REPLICATE)      # the probe
    assert health.is_down(REPLICATE)          # only one at a time
    health.failed(REPLICATE)                  # the probe failed: another cool-down
    now[0] = 15
    assert health.is_down(REPLICATE)
    now[0] = 21
    assert not health.is_down(REPLICATE)
    health.succeeded(REPLICATE)
    assert health.state(REPLICATE) == "up" and not health.is_down(REPLICATE)


# ---- failover -----------------------------------------------------------------------

@pytest.mark.parametrize("error", [outage(500), outage(429),
                                   ReplicateUnavailable("refused", sent=False)])
def test_a_definite_outage_at_replicate_starts_the_job_on_fal(error):
    world = both()
    world.replicate.create_error = error
    job = world.submit()
    assert (job.provider, job.replicate_id) == (FAL, "fal-1")
    assert len(world.fal.created) == 1 and world.replicate.predictions == {}
    view = world.status(job.job_id)
    assert view["provider"] == FAL and view["replicateId"] is None
    world.webhook(job, world.fal.succeed("fal-1", world.files))
    world.run_all()
    done = world.status(job.job_id)
    assert done["status"] == "completed" and done["provider"] == FAL


def test_a_job_on_replicate_says_so_and_shows_its_prediction():
    world = both()
    job = world.complete(world.submit())
    view = world.status(job.job_id)
    assert view["provider"] == REPLICATE and view["replicateId"] == job.replicate_id
    assert world.fal.created == []


def test_an_ambiguous_create_is_never_followed_by_another_providers_run():
    world = both()
    world.replicate.lose_create_answer = True
    job = world.submit()
    assert job.status == JobStatus.PENDING and job.provider == REPLICATE
    assert world.fal.created == []
    # Replicate's prediction reports: adopted; fal is never asked.
    world.webhook(world.job(job.job_id), world.replicate.predictions["p1"])
    world.run_all()
    assert world.job(job.job_id).replicate_id == "p1" and world.fal.created == []


def test_a_run_on_another_provider_than_the_jobs_is_cancelled_not_stored():
    world = both()
    job = world.submit()                                   # on Replicate
    stray = Prediction(id="fal-x", status="processing", model="fal-ai/flux/schnell")
    world.fal.predictions[stray.id] = stray
    world.webhook(job, stray, provider=FAL)
    world.run_all()
    assert world.fal.cancelled == ["fal-x"]
    completed = world.complete(world.job(job.job_id))
    assert completed.status == JobStatus.COMPLETED and completed.provider == REPLICATE


def test_a_request_replicate_refuses_itself_does_not_fail_over():
    world = both()
    world.replicate.create_error = outage(422)
    with pytest.raises(ReplicateRefused):
        world.submit()
    assert world.fal.created == []


def test_every_provider_refusing_fails_the_job_with_the_last_ones_answer():
    world = both()
    world.replicate.create_error = outage(503)
    world.fal.create_error = ProviderUnavailable("fal: HTTP 503", status=503)
    with pytest.raises(ReplicateRefused):
        world.submit()
    [job] = world.jobs.items.values()
    assert job.status == JobStatus.FAILED and "fal.ai" in job.error


def test_a_client_pins_a_provider_and_gets_no_failover():
    world = both()
    job = world.submit({**IMAGE_BODY, "provider": FAL})
    assert job.provider == FAL and world.replicate.predictions == {}
    world.fal.create_error = ProviderUnavailable("fal: HTTP 429", status=429)
    with pytest.raises(ServiceUnavailable):
        world.submit({**IMAGE_BODY, "provider": FAL, "parameters": {"prompt": "other"}})
    assert world.replicate.predictions == {}


def test_a_pin_the_routing_does_not_allow_is_a_400_and_records_no_job():
    world = World()                                        # Replicate only
    with pytest.raises(ValidationFailed):
        world.submit({**IMAGE_BODY, "provider": FAL})
    assert world.jobs.items == {}


def test_a_job_is_recorded_with_its_first_provider_and_changed_only_on_failover():
    """The submit records the provider a job starts on with the job itself: no
    separate write before the create, unless the start fails over."""
    world = both()
    updates = []
    update = world.jobs.update
    world.jobs.update = lambda job_id, changes, statuses: (updates.append(changes),
                                                          update(job_id, changes, statuses))[1]
    job = world.submit()
    assert job.provider == REPLICATE and not any("provider" in u for u in updates)
    world.replicate.create_error = outage(503)
    moved = world.submit({**IMAGE_BODY, "parameters": {"prompt": "moved"}})
    assert moved.provider == FAL and {"provider": FAL} in updates


def test_a_job_fal_cannot_serve_as_asked_stays_on_replicate_even_in_an_outage():
    world = both()
    world.replicate.create_error = outage(500)
    body = {"userId": "user123", "mediaType": "audio", "modelId": "musicgen",
            "parameters": {"prompt": "jazz", "output_format": "mp3"}}
    with pytest.raises(ReplicateRefused):
        world.submit(body)
    assert world.fal.created == []


def test_a_provider_marked_down_is_skipped_until_its_probe():
    world = both()
    for _ in range(3):
        world.replicate.create_error = outage(500)
        world.submit({**IMAGE_BODY, "parameters": {"prompt": f"p{_}"}})
    assert world.health.state(REPLICATE) == "down"
    job = world.submit({**IMAGE_BODY, "parameters": {"prompt": "skipped"}})
    assert job.provider == FAL and world.replicate.created == []
    world.clock.advance(31)
    probe = world.submit({**IMAGE_BODY, "parameters": {"prompt": "probe"}})
    assert probe.provider == REPLICATE and world.health.state(REPLICATE) == "up"


def test_a_queued_start_fails_over_and_retries_later_when_all_refuse():
    world = both()
    world.replicate.lose_create_answer = True                  # a pending job, no run known
    job = world.submit()
    world.jobs.update(job.job_id, {"replicate_id": None, "provider": None}, ACTIVE)
    world.replicate.create_error = outage(500)
    world.fal.create_error = ProviderUnavailable("fal: HTTP 500", status=500)
    world.starter.start_queued(StartMessage(job.job_id, "https://api.example",
                                            start_at=world.clock.now()))
    retry = StartMessage.parse(world.queue.messages.pop())
    assert retry.attempt == 2 and world.job(job.job_id).status == JobStatus.PENDING
    assert world.job(job.job_id).provider == FAL           # the last one tried
    world.clock.advance(QUEUED_RETRY_S)
    world.starter.start_queued(retry)                      # the outage is over: Replicate
    assert world.job(job.job_id).provider == REPLICATE and world.job(job.job_id).replicate_id


def test_usage_splits_the_totals_by_the_provider_each_job_ran_on():
    world = both()
    world.complete(world.submit())                                    # on Replicate
    world.replicate.create_error = outage(503)
    on_fal = world.submit({**IMAGE_BODY, "parameters": {"prompt": "on fal"}})
    world.webhook(on_fal, world.fal.succeed(on_fal.replicate_id, world.files))
    world.run_all()
    world.replicate.create_error, world.fal.create_error = outage(503), \
        ProviderUnavailable("fal: HTTP 503", status=503)
    with pytest.raises(ReplicateRefused):
        world.submit({**IMAGE_BODY, "parameters": {"prompt": "refused"}})
    report = world.usage.report(CLIENT, {})
    assert report["byProvider"]["replicate"]["completed"] == 1
    assert report["byProvider"]["fal"]["completed"] == 1
    assert report["byProvider"]["fal"]["cost"] == report["byProvider"]["replicate"]["cost"]
    assert sum(t["jobs"] for t in report["byProvider"].values()) == report["totals"]["jobs"]


def test_the_routing_setting_names_catalog_models_and_known_providers(monkeypatch):
    from pydantic import ValidationError

    from chalicelib.config import Settings
    for name in ("FAL_KEY", "FAL_BASE_URL", "VSL_PROVIDER_ROUTES"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().routes.order("sdxl") == (REPLICATE,)         # no fal key: Replicate only
    assert Settings(fal_key="k").routes.order("sdxl") == (REPLICATE, FAL)
    monkeypatch.setenv("VSL_PROVIDER_ROUTES", '{"sdxl": ["fal", "replicate"]}')
    assert Settings(fal_key="k").routes.order("sdxl") == (FAL, REPLICATE)
    for bad in ('{"nope": ["fal"]}', '{"sdxl": ["runway"]}', '{"sdxl": []}',
                '{"sdxl": ["fal", "fal"]}'):
        monkeypatch.setenv("VSL_PROVIDER_ROUTES", bad)
        with pytest.raises(ValidationError):
            Settings()


def test_models_list_the_providers_that_may_run_them():
    from chalicelib.catalog import describe_catalog
    models = {m["modelId"]: m for m in describe_catalog(BOTH.order)}
    assert models["flux-schnell"]["providers"] == [REPLICATE, FAL]

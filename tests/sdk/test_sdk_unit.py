"""The SDK's retry, error and waiting logic against a fake transport (no server, no sleeping)."""
import asyncio
import io
import json
import math
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import vsl
from vsl import _retry

BASE = "http://vsl.test"
JOB = {"jobId": "job-1", "status": "pending", "estimatedTime": 5, "estimatedCost": 0.003,
       "replicateId": "r1", "message": "Job submitted"}


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert math.isfinite(seconds) and seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds):
        self.sleep(seconds)


def error_body(http_status, code, **extra):
    return {"error": f"error {http_status}", "details": f"details of {code}", "code": code,
            **extra}


class Script:
    """Answers requests in order from a list of responses or exceptions; records requests."""

    def __init__(self, *answers):
        self.answers, self.requests = list(answers), []

    def __call__(self, request):
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body, headers = (answer + ({},))[:3] if isinstance(answer, tuple) else answer
        return httpx.Response(status, json=body, headers=headers)


def make_client(script, fake=None, **kwargs):
    client = vsl.Client(api_key="k", base_url=BASE, user_id="u1",
                        http_client=httpx.Client(transport=httpx.MockTransport(script)), **kwargs)
    fake = fake or FakeTime()
    client._sleep, client._clock = fake.sleep, fake.clock
    return client, fake


def make_async_client(script, fake, **kwargs):
    client = vsl.AsyncClient(api_key="k", base_url=BASE, user_id="u1",
                             http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)),
                             **kwargs)
    client._sleep, client._clock = fake.asleep, fake.clock
    return client


# ---- delays ---------------------------------------------------------------------------

@pytest.mark.parametrize("jitter", [0.0, 0.3, 1.0, float("nan"), float("inf"), -1.0, 7.0])
def test_backoff_is_finite_and_bounded_for_any_jitter_and_attempt(jitter):
    delays = [_retry.backoff_delay(n, rand=lambda: jitter) for n in range(-3, 2000, 7)]
    assert all(math.isfinite(d) and 0.375 <= d <= 8.0 for d in delays), delays


def test_backoff_doubles_from_half_a_second_to_eight():
    no_jitter = [_retry.backoff_delay(n, rand=lambda: 0.0) for n in range(7)]
    assert no_jitter == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    full_jitter = [_retry.backoff_delay(n, rand=lambda: 1.0) for n in range(3)]
    assert full_jitter == [0.375, 0.75, 1.5]


@pytest.mark.parametrize("headers, expected", [
    ({"retry-after": "2"}, 2.0), ({"retry-after": " 1.5 "}, 1.5), ({"retry-after": "0"}, 0.0),
    ({"retry-after": "-4"}, 0.0), ({"retry-after": "nan"}, None), ({"retry-after": "inf"}, None),
    ({"retry-after": "soon"}, None), ({"retry-after": ""}, None), ({}, None),
    ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
    ({"retry-after-ms": "NaN", "retry-after": "9"}, 9.0),
])
def test_retry_after_seconds(headers, expected):
    assert _retry.parse_retry_after(httpx.Headers(headers)) == expected


def test_retry_after_http_date():
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert _retry.parse_retry_after({"retry-after": later}, now=now) == 30.0
    assert _retry.parse_retry_after({"retry-after": earlier}, now=now) == 0.0
    assert _retry.parse_retry_after({"retry-after": "Wed, 99 Foo 2026 xx"}, now=now) is None


def test_retry_after_longer_than_the_cap_means_give_up():
    assert _retry.retry_delay(0, 61.0, max_retry_after=60.0) is None
    assert _retry.retry_delay(0, 60.0, max_retry_after=60.0) == 60.0


# ---- which requests are retried -----------------------------------------------------

def submit(client):
    return client.generate_image("a fox")


@pytest.mark.parametrize("failure", [
    (500, error_body(500, "INTERNAL_ERROR")), (502, error_body(502, "REPLICATE_ERROR")),
    (504, error_body(504, "GATEWAY_TIMEOUT")), (408, error_body(408, "REQUEST_TIMEOUT"))])
def test_without_idempotent_retries_a_post_is_not_retried_when_a_job_may_exist(failure):
    script = Script(failure, (202, JOB))
    client, fake = make_client(script, idempotent_retries=False)
    with pytest.raises(vsl.APIError) as caught:
        submit(client)
    assert caught.value.status == failure[0]
    assert len(script.requests) == 1 and fake.sleeps == []


def test_without_idempotent_retries_a_post_is_not_retried_after_a_read_timeout():
    script = Script(httpx.ReadTimeout("slow"), (202, JOB))
    client, fake = make_client(script, idempotent_retries=False)
    with pytest.raises(vsl.APITimeoutError):
        submit(client)
    assert len(script.requests) == 1 and fake.sleeps == []


def test_without_idempotent_retries_a_post_is_not_retried_after_a_broken_connection():
    script = Script(httpx.RemoteProtocolError("server hung up"), (202, JOB))
    client, _ = make_client(script, idempotent_retries=False)
    with pytest.raises(vsl.APIConnectionError):
        submit(client)
    assert len(script.requests) == 1


def test_post_is_retried_after_429_honouring_retry_after_with_one_idempotency_key():
    script = Script((429, error_body(429, "RATE_LIMIT_EXCEEDED", retryAfter=2),
                     {"Retry-After": "2"}), (202, JOB))
    client, fake = make_client(script)
    job = submit(client)
    assert job["jobId"] == job.job_id == "job-1"
    assert fake.sleeps == [2.0]
    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith("vsl-python-")
    assert json.loads(script.requests[1].content) == {
        "mediaType": "image", "modelId": "flux-schnell", "parameters": {"prompt": "a fox"},
        "userId": "u1"}


def test_each_submission_has_its_own_idempotency_key():
    script = Script((202, JOB), (202, dict(JOB, jobId="job-2")))
    client, _ = make_client(script)
    submit(client), submit(client)
    assert script.requests[0].headers["Idempotency-Key"] != \
        script.requests[1].headers["Idempotency-Key"]


def test_a_callers_idempotency_key_is_sent_on_every_attempt_of_each_post():
    script = Script((500, error_body(500, "X")), (202, JOB), (200, {"jobId": "job-1",
                                                                    "status": "cancelled"}),
                    (202, JOB))
    client, _ = make_client(script)
    client.generate_image("a fox", idempotency_key="order-42")
    client.cancel("job-1", idempotency_key="cancel-42")
    client.generate("sdxl", media_type="image", prompt="x", idempotency_key="order-43")
    assert [r.headers["Idempotency-Key"] for r in script.requests] == [
        "order-42", "order-42", "cancel-42", "order-43"]
    # Options, not model parameters: the body carries only the prompt.
    assert json.loads(script.requests[0].content)["parameters"] == {"prompt": "a fox"}
    with pytest.raises(ValueError):
        client.generate_image("a fox", idempotency_key="")


def test_submit_options_go_in_the_body_not_among_the_models_parameters():
    script = Script((202, JOB), (202, JOB), (200, {"jobId": "job-1", "status": "completed",
                                                   "result": {"originalUrl": "http://o"}}))
    client, _ = make_client(script)
    client.generate_image("a fox", provider="fal", cache=False,
                          webhook_url="https://hooks.example.com/vsl")
    client.generate("sdxl", media_type="image", prompt="x")
    client.run("flux-schnell", media_type="image", prompt="y", provider="replicate")
    bodies = [json.loads(r.content) for r in script.requests]
    assert bodies[0]["provider"] == "fal" and bodies[0]["cache"] is False
    assert bodies[0]["webhookUrl"] == "https://hooks.example.com/vsl"
    assert bodies[0]["parameters"] == {"prompt": "a fox"}
    assert not {"provider", "cache", "webhookUrl"} & set(bodies[1])  # the service decides
    assert bodies[2]["provider"] == "replicate"


def test_run_and_upload_take_the_callers_idempotency_key():
    upload = {"uploadId": "up-1", "uploadUrl": "http://bucket.test/up-1", "expiresAt": "x"}
    script = Script((201, upload), (200, {}), (200, {"jobId": "job-1", "status": "completed",
                                                     "result": {"originalUrl": "http://o"}}))
    client, _ = make_client(script)
    client.upload(b"\x89PNG\r\n\x1a\n" + b"0" * 10, idempotency_key="up-key")
    client.run("sdxl", media_type="image", prompt="x", idempotency_key="run-key")
    assert script.requests[0].headers["Idempotency-Key"] == "up-key"
    assert "Idempotency-Key" not in script.requests[1].headers   # the presigned PUT
    assert script.requests[2].headers["Idempotency-Key"] == "run-key"
    assert script.requests[2].headers["Prefer"].startswith("wait=")


def test_with_options_changes_timeout_and_retries_for_the_copy_only():
    script = Script(*[(500, error_body(500, "X"))] * 10)
    client, _ = make_client(script, max_retries=3)
    quick = client.with_options(timeout=2.5, max_retries=0)
    assert quick._http is client._http and quick.timeout.read == 2.5
    with pytest.raises(vsl.InternalServerError):
        quick.get_status("job-1")
    assert len(script.requests) == 1
    assert script.requests[0].extensions["timeout"]["read"] == 2.5
    with pytest.raises(vsl.InternalServerError):
        client.get_status("job-1")
    assert len(script.requests) == 1 + 4
    assert script.requests[-1].extensions["timeout"]["read"] == 60.0
    quick.close()                      # the copy does not close the shared connections
    assert not client._http.is_closed


def test_per_call_timeout_and_max_retries_apply_to_that_call():
    script = Script(*[(503, error_body(503, "X"))] * 10)
    client, _ = make_client(script)
    with pytest.raises(vsl.InternalServerError):
        client.get_status("job-1", timeout=7, max_retries=0)
    assert len(script.requests) == 1 and script.requests[0].extensions["timeout"]["read"] == 7
    with pytest.raises(vsl.InternalServerError):
        client.generate_image("a fox", max_retries=1, timeout=httpx.Timeout(9.0))
    assert len(script.requests) == 1 + 2
    assert script.requests[-1].extensions["timeout"]["connect"] == 9.0
    assert client.max_retries == 2 and client.timeout.read == 60.0


def test_post_is_retried_after_a_throttling_503_with_backoff_when_no_retry_after():
    script = Script((503, error_body(503, "SERVICE_UNAVAILABLE")), (202, JOB))
    client, fake = make_client(script, idempotent_retries=False)
    assert submit(client).job_id == "job-1"
    assert len(fake.sleeps) == 1 and 0.375 <= fake.sleeps[0] <= 0.5


def test_post_is_retried_when_the_connection_was_refused():
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"), (202, JOB))
    client, fake = make_client(script, idempotent_retries=False)
    assert submit(client).job_id == "job-1"
    assert len(script.requests) == 2 and len(fake.sleeps) == 1


def test_by_default_a_post_is_retried_like_a_get_with_one_idempotency_key():
    script = Script((500, error_body(500, "X")), httpx.ReadTimeout("slow"), (202, JOB))
    client, _ = make_client(script)
    assert client.idempotent_retries is True
    assert submit(client).job_id == "job-1"
    assert len(script.requests) == 3
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1


class LosesFirstAnswer:
    """A server that keeps the first response to each Idempotency-Key and replays it, as
    the service does, behind a network that loses the first answer after the server made
    the job: the client sees a broken connection, the job exists."""

    def __init__(self):
        self.jobs, self.kept, self.requests = [], {}, []

    def __call__(self, request):
        self.requests.append(request)
        key = request.headers["Idempotency-Key"]
        if key in self.kept:
            return httpx.Response(202, json=self.kept[key], headers={"Idempotent-Replayed": "true"})
        job = dict(JOB, jobId=f"job-{len(self.jobs) + 1}")
        self.jobs.append(job)
        self.kept[key] = job
        if len(self.requests) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(202, json=job)


def test_a_submit_whose_answer_was_lost_is_retried_into_the_same_single_job():
    server = LosesFirstAnswer()
    client, fake = make_client(server)
    job = submit(client)
    assert len(server.requests) == 2 and len(fake.sleeps) == 1
    assert len(server.jobs) == 1 and job.job_id == server.jobs[0]["jobId"]


def test_without_idempotent_retries_the_lost_answer_is_an_error_not_a_second_job():
    server = LosesFirstAnswer()
    client, _ = make_client(server, idempotent_retries=False)
    with pytest.raises(vsl.APIConnectionError):
        submit(client)
    assert len(server.requests) == 1 and len(server.jobs) == 1


@pytest.mark.parametrize("idempotent_retries", [True, False])
def test_a_key_still_in_use_is_waited_out_like_a_429(idempotent_retries):
    in_use = (409, error_body(409, "IDEMPOTENCY_KEY_IN_USE", retryAfter=1), {"Retry-After": "1"})
    script = Script(in_use, (202, JOB))
    client, fake = make_client(script, idempotent_retries=idempotent_retries)
    assert submit(client).job_id == "job-1"
    assert fake.sleeps == [1.0]
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1


@pytest.mark.parametrize("answer", [
    (409, error_body(409, "JOB_NOT_CANCELLABLE", status="completed")),
    (422, error_body(422, "IDEMPOTENCY_KEY_REUSED"))])
def test_other_conflicts_are_never_retried(answer):
    script = Script(answer, (202, JOB))
    client, fake = make_client(script)
    with pytest.raises(vsl.APIError) as caught:
        submit(client)
    assert caught.value.code == answer[1]["code"] and caught.value.status == answer[0]
    assert len(script.requests) == 1 and fake.sleeps == []


def test_get_is_retried_on_5xx_then_gives_up_after_max_retries():
    script = Script(*[(502, error_body(502, "REPLICATE_ERROR"))] * 4)
    client, fake = make_client(script, max_retries=2)
    with pytest.raises(vsl.InternalServerError) as caught:
        client.get_status("job-1")
    assert len(script.requests) == 3 and len(fake.sleeps) == 2
    assert caught.value.code == "REPLICATE_ERROR"


def test_get_is_retried_after_a_read_timeout():
    status = {"jobId": "job-1", "status": "processing"}
    script = Script(httpx.ReadTimeout("slow"), (200, status))
    client, _ = make_client(script)
    assert client.get_status("job-1").status == "processing"


def test_a_retry_after_beyond_the_cap_raises_at_once():
    script = Script((429, error_body(429, "RATE_LIMIT_EXCEEDED", retryAfter=3412),
                     {"Retry-After": "3412"}), (202, JOB))
    client, fake = make_client(script)
    with pytest.raises(vsl.RateLimitError) as caught:
        submit(client)
    assert caught.value.retry_after == 3412.0 and fake.sleeps == []


def test_retry_after_as_http_date_is_slept():
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    script = Script((503, error_body(503, "SERVICE_UNAVAILABLE"), {"Retry-After": when}),
                    (200, {"models": []}))
    client, fake = make_client(script)
    assert client.models() == []
    assert len(fake.sleeps) == 1 and 15 <= fake.sleeps[0] <= 20


# ---- errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("status, cls", [
    (400, vsl.BadRequestError), (401, vsl.AuthenticationError),
    (403, vsl.PermissionDeniedError), (404, vsl.NotFoundError), (405, vsl.APIStatusError),
    (409, vsl.ConflictError), (422, vsl.UnprocessableEntityError), (429, vsl.RateLimitError),
    (500, vsl.InternalServerError), (503, vsl.InternalServerError)])
def test_each_status_maps_to_its_error_class(status, cls):
    headers = {"Retry-After": "120"} if status in (429, 503) else {}
    script = Script(*[(status, error_body(status, f"CODE_{status}"), headers)] * 3)
    client, _ = make_client(script)
    with pytest.raises(cls) as caught:
        client.get_status("job-1")
    error = caught.value
    assert type(error) is cls
    assert (error.status, error.code, error.details) == (
        status, f"CODE_{status}", f"details of CODE_{status}")
    assert error.retry_after == (120.0 if headers else None)
    assert isinstance(error, vsl.APIStatusError) and isinstance(error, vsl.APIError)
    assert isinstance(error, vsl.VSLError)


def test_the_error_classes_are_named_as_in_the_javascript_client():
    js = (Path(__file__).parents[2] / "sdk" / "js" / "lib" / "errors.js").read_text()
    exported = js[js.index("module.exports = {"):]
    js_errors = set(re.findall(r"^  (\w+Error),$", exported, re.M))
    py_errors = {name for name in vsl.__all__ if name.endswith("Error")}
    assert "APIStatusError" in py_errors and "JobFailedError" in py_errors
    assert py_errors - {"WebhookVerificationError"} == js_errors - {"WebhookVerificationError"}
    assert vsl.JobFailed is vsl.JobFailedError and vsl.JobCancelled is vsl.JobCancelledError
    assert issubclass(vsl.APIConnectionError, vsl.APIError)
    assert not issubclass(vsl.APIConnectionError, vsl.APIStatusError)


def test_an_error_without_a_json_body_still_maps():
    client, _ = make_client(lambda r: httpx.Response(404, text="nope"))
    with pytest.raises(vsl.NotFoundError) as caught:
        client.get_status("x")
    assert caught.value.code is None and caught.value.body == {}


def test_job_ids_are_escaped_in_the_path():
    script = Script((200, {"jobId": "a/b", "status": "pending"}))
    client, _ = make_client(script)
    client.get_status("a/b")
    assert script.requests[0].url.raw_path == b"/status/a%2Fb"


def test_missing_api_key_is_refused_before_any_request(monkeypatch):
    monkeypatch.delenv("VSL_API_KEY", raising=False)
    with pytest.raises(vsl.VSLError, match="VSL_API_KEY"):
        vsl.Client(base_url=BASE)


def test_defaults_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("VSL_API_KEY", "env-key")
    monkeypatch.setenv("VSL_BASE_URL", "https://api.example/homolog/")
    monkeypatch.setenv("VSL_USER_ID", "env-user")
    client = vsl.Client()
    assert (client.api_key, client.base_url, client.user_id) == (
        "env-key", "https://api.example/homolog", "env-user")
    monkeypatch.delenv("VSL_BASE_URL")
    assert vsl.Client().base_url == "http://127.0.0.1:8000"


# ---- waiting --------------------------------------------------------------------------

def statuses(*states, **final):
    views = [{"jobId": "job-1", "status": s, "modelId": "flux-schnell"} for s in states]
    views[-1].update(final)
    return [(200, v) for v in views]


def test_wait_returns_the_result_and_reports_each_change():
    result = {"originalUrl": "http://s3/x.png", "contentType": "image/png"}
    script = Script((202, JOB), *statuses("pending", "processing", "processing", "completed",
                                          result=result))
    client, fake = make_client(script)
    seen = []
    job = submit(client)
    got = client.wait_for_completion(job["jobId"], on_update=lambda v: seen.append(v.status))
    assert got == result and got.original_url == "http://s3/x.png"
    assert seen == ["pending", "processing", "completed"]
    # estimatedTime 5 s: polled every 0.5 s, growing to 1 s.
    assert fake.sleeps == [0.5, 0.75, 1.0]


def test_wait_raises_job_failed_with_the_jobs_error():
    script = Script(*statuses("processing", "failed", error="NSFW content detected"))
    client, _ = make_client(script)
    client._models = []
    with pytest.raises(vsl.JobFailed) as caught:
        client.wait_for_completion("job-1")
    assert caught.value.error == "NSFW content detected"
    assert caught.value.job["status"] == "failed" and caught.value.job_id == "job-1"


def test_wait_raises_job_cancelled():
    script = Script(*statuses("cancelled", error="Prediction was canceled"))
    client, _ = make_client(script)
    with pytest.raises(vsl.JobCancelled) as caught:
        client.wait_for_completion("job-1")
    assert not isinstance(caught.value, vsl.JobFailed)


def test_wait_times_out_on_the_fake_clock():
    script = Script(*statuses(*["processing"] * 100))
    client, fake = make_client(script)
    client._models = []
    with pytest.raises(vsl.WaitTimeoutError) as caught:
        client.wait_for_completion("job-1", timeout=30)
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.job["status"] == "processing"
    assert sum(fake.sleeps) == pytest.approx(30)


def test_wait_sleeps_through_throttled_polls():
    throttled = (429, error_body(429, "RATE_LIMIT_EXCEEDED", retryAfter=7), {"Retry-After": "7"})
    script = Script(throttled, throttled, throttled,
                    *statuses("completed", result={"originalUrl": "u"}))
    client, fake = make_client(script, max_retries=1)
    assert client.wait_for_completion("job-1", timeout=60) == {"originalUrl": "u"}
    assert fake.sleeps == [7.0, 7.0, 7.0]


def test_wait_gives_up_when_throttled_beyond_the_deadline():
    throttled = (429, error_body(429, "RATE_LIMIT_EXCEEDED", retryAfter=50), {"Retry-After": "50"})
    client, fake = make_client(Script(throttled, throttled), max_retries=0)
    with pytest.raises(vsl.RateLimitError):
        client.wait_for_completion("job-1", timeout=60)
    assert fake.sleeps == [50.0]


def test_throttled_polls_never_sleep_past_the_wait_deadline_whatever_max_retries():
    # Each poll's 429 is waited out by the wait loop, which knows the deadline, not by the
    # request's own retries, which do not.
    throttled = (429, error_body(429, "RATE_LIMIT_EXCEEDED", retryAfter=50), {"Retry-After": "50"})
    script = Script(*[throttled] * 6)
    client, fake = make_client(script, max_retries=3)
    with pytest.raises(vsl.RateLimitError):
        client.wait_for_completion("job-1", timeout=60)
    assert fake.sleeps == [50.0] and len(script.requests) == 2


# ---- downloads ------------------------------------------------------------------------

def test_download_streams_to_the_file_without_sending_the_key(tmp_path):
    payload = b"\x89PNG\r\n\x1a\n" + bytes(200_000)
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, content=payload)

    client, _ = make_client(handler)
    path = client.download({"originalUrl": "http://s3.test/b/k/original.png?sig=1"},
                           tmp_path / "out.png")
    assert path.read_bytes() == payload
    assert "x-api-key" not in seen[0].headers
    assert list(tmp_path.iterdir()) == [path]
    into_dir = client.download("http://s3.test/b/k/original.png?sig=1", tmp_path)
    assert into_dir == tmp_path / "original.png"


def test_a_failed_download_leaves_no_file(tmp_path):
    client, _ = make_client(lambda r: httpx.Response(403, text="<Error>expired</Error>"))
    with pytest.raises(vsl.PermissionDeniedError):
        client.download("http://s3.test/x.png", tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


# ---- the async client -------------------------------------------------------------------

def test_async_client_retries_and_waits_like_the_sync_one():
    script = Script((503, error_body(503, "SERVICE_UNAVAILABLE"), {"Retry-After": "3"}),
                    (202, JOB), *statuses("processing", "completed", result={"originalUrl": "u"}))
    fake = FakeTime()

    async def scenario():
        seen = []

        async def on_update(view):
            seen.append(view.status)

        async with make_async_client(script, fake) as client:
            job = await client.generate_image("a fox")
            result = await client.wait_for_completion(job, on_update=on_update)
        return result, seen

    result, seen = asyncio.run(scenario())
    assert result.original_url == "u" and seen == ["processing", "completed"]
    assert fake.sleeps == [3.0, 0.5]


def test_async_client_without_idempotent_retries_does_not_retry_a_post_on_500():
    script = Script((500, error_body(500, "X")), (202, JOB))

    async def scenario():
        async with make_async_client(script, FakeTime(), idempotent_retries=False) as client:
            await client.generate_image("a fox")

    with pytest.raises(vsl.InternalServerError):
        asyncio.run(scenario())
    assert len(script.requests) == 1


def test_async_client_retries_a_lost_submit_answer_into_one_job():
    server = LosesFirstAnswer()

    async def scenario():
        async with make_async_client(server, FakeTime()) as client:
            return await client.generate_image("a fox")

    job = asyncio.run(scenario())
    assert len(server.requests) == 2 and len(server.jobs) == 1
    assert job.job_id == server.jobs[0]["jobId"]


# ---- cancel and list ------------------------------------------------------------------

def test_cancel_posts_to_the_job_and_returns_its_status_view():
    script = Script((200, dict(JOB, status="cancelled", error="The job was cancelled by the client.")))
    client, _ = make_client(script)
    view = client.cancel({"jobId": "a/b"})
    assert view.status == "cancelled" and view.error.startswith("The job was cancelled")
    assert script.requests[0].method == "POST"
    assert script.requests[0].url.raw_path == b"/jobs/a%2Fb/cancel"


def test_cancelling_a_finished_job_is_a_conflict_with_its_status():
    script = Script((409, error_body(409, "JOB_NOT_CANCELLABLE", status="completed")))
    client, _ = make_client(script)
    with pytest.raises(vsl.ConflictError) as caught:
        client.cancel("job-1")
    assert caught.value.code == "JOB_NOT_CANCELLABLE" and caught.value.body["status"] == "completed"


class Pages:
    """GET /jobs answering pages in order; records each request's query."""

    def __init__(self, *pages):
        self.pages, self.queries = list(pages), []

    def __call__(self, request):
        self.queries.append(dict(request.url.params))
        jobs, cursor = self.pages.pop(0)
        return httpx.Response(200, json={"jobs": [{"jobId": j, "status": "completed"}
                                                  for j in jobs], "nextCursor": cursor})


def test_list_jobs_follows_cursors_through_short_and_empty_pages_with_the_same_filters():
    server = Pages((["j1", "j2"], "c1"), ([], "c2"), (["j3"], None))
    client, _ = make_client(server)
    since = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    jobs = list(client.list_jobs(user_id="u9", status="completed", model_id="sdxl", since=since,
                                 page_size=2))
    assert [j.job_id for j in jobs] == ["j1", "j2", "j3"]
    assert all(isinstance(j, vsl.JobStatus) for j in jobs)
    filters = {"userId": "u9", "status": "completed", "modelId": "sdxl",
               "since": "2030-01-02T01:04:05Z", "limit": "2"}
    assert server.queries == [filters, dict(filters, cursor="c1"), dict(filters, cursor="c2")]


def test_list_jobs_without_filters_sends_none_and_fetches_pages_only_as_iterated():
    server = Pages((["j1", "j2"], "c1"), (["j3"], None))
    client, _ = make_client(server)
    jobs = client.list_jobs()
    assert server.queries == []
    assert next(jobs).job_id == "j1" and next(jobs).job_id == "j2"
    assert server.queries == [{}]


def test_a_page_has_its_jobs_and_cursor_and_fetches_the_next_with_the_same_filters():
    server = Pages((["j1", "j2"], "c1"), ([], "c2"), (["j3"], None))
    client, _ = make_client(server)
    page = client.list_jobs_page(status="failed", page_size=2)
    assert isinstance(page, vsl.JobPage)
    assert [j.job_id for j in page.data] == ["j1", "j2"] and page.next_cursor == "c1"
    assert page.has_next_page() and len(server.queries) == 1
    second = page.next_page()
    assert second.data == [] and second.has_next_page()
    last = second.next_page()
    assert [j.job_id for j in last.data] == ["j3"] and not last.has_next_page()
    with pytest.raises(vsl.VSLError, match="last page"):
        last.next_page()
    filters = {"status": "failed", "limit": "2"}
    assert server.queries == [filters, dict(filters, cursor="c1"), dict(filters, cursor="c2")]


def test_iterating_a_page_yields_every_job_from_it_on_and_a_cursor_resumes():
    server = Pages((["j1"], "c1"), (["j2"], None), (["j2"], None))
    client, _ = make_client(server)
    page = client.list_jobs_page(model_id="sdxl")
    assert [j.job_id for j in page] == ["j1", "j2"]
    assert [len(p.data) for p in client.list_jobs_page(model_id="sdxl",
                                                       cursor="c1").iter_pages()] == [1]
    assert server.queries[-1] == {"modelId": "sdxl", "cursor": "c1"}


def test_an_async_page_pages_like_the_sync_one():
    server = Pages((["j1"], "c1"), (["j2"], None), (["j1"], "c1"), (["j2"], None))

    async def scenario():
        async with make_async_client(server, FakeTime()) as client:
            page = await client.list_jobs_page(user_id="u9")
            following = await page.next_page()
            every = [job.job_id async for job in await client.list_jobs_page(user_id="u9")]
            return page, following, every

    page, following, every = asyncio.run(scenario())
    assert isinstance(page, vsl.AsyncJobPage) and page.next_cursor == "c1"
    assert [j.job_id for j in following.data] == ["j2"] and not following.has_next_page()
    assert every == ["j1", "j2"]


def test_list_jobs_refuses_a_since_without_a_time_zone_before_any_request():
    server = Pages()
    client, _ = make_client(server)
    with pytest.raises(ValueError, match="time zone"):
        client.list_jobs(since=datetime(2030, 1, 1))
    assert server.queries == []


def test_async_list_jobs_pages_like_the_sync_one():
    server = Pages((["j1"], "c1"), (["j2"], None))

    async def scenario():
        async with make_async_client(server, FakeTime()) as client:
            return [job.job_id async for job in client.list_jobs(model_id="sdxl")]

    assert asyncio.run(scenario()) == ["j1", "j2"]
    assert server.queries == [{"modelId": "sdxl"}, {"modelId": "sdxl", "cursor": "c1"}]


def test_webhook_verification_accepts_a_genuine_event_and_refuses_tampering():
    import json as _json
    from datetime import datetime, timezone

    import vsl.webhooks

    from chalicelib.notifications.signing import signed_headers
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = _json.dumps({"event": "job.completed", "jobId": "j1"})
    now = datetime.now(timezone.utc)
    headers = signed_headers(secret, body, "msg_1", now)
    assert vsl.webhooks.verify(body, headers, secret)["jobId"] == "j1"
    for bad_body, bad_headers in ((body + " ", headers), (body, dict(headers, **{"webhook-id": "x"})),
                                  (body, {k: v for k, v in headers.items()
                                          if k != "webhook-signature"})):
        with pytest.raises(vsl.webhooks.WebhookVerificationError):
            vsl.webhooks.verify(bad_body, bad_headers, secret)
    with pytest.raises(vsl.VSLError):
        vsl.webhooks.verify(body, headers, "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB")


# ---- the user a job is for ------------------------------------------------------------

def test_a_key_bound_to_no_user_is_told_where_the_user_id_comes_from(monkeypatch):
    monkeypatch.delenv("VSL_USER_ID", raising=False)
    missing = error_body(400, "MISSING_PARAMETER")
    missing["details"] = "userId: Field required (this API key is bound to no user)"
    script = Script((400, missing))
    client = vsl.Client(api_key="k", base_url=BASE,
                        http_client=httpx.Client(transport=httpx.MockTransport(script)))
    with pytest.raises(vsl.BadRequestError) as caught:
        client.generate_image("A fox")
    assert "userId" not in json.loads(script.requests[0].content)
    assert "user_id=" in str(caught.value) and "VSL_USER_ID" in str(caught.value)


def test_the_hint_is_only_for_a_missing_user():
    missing_prompt = error_body(400, "MISSING_PARAMETER")
    missing_prompt["details"] = "parameters.prompt: Field required"
    client, _ = make_client(Script((400, missing_prompt)))
    with pytest.raises(vsl.BadRequestError) as caught:
        client.generate_image(None)
    assert caught.value.details == "parameters.prompt: Field required"


def test_webhooks_come_with_a_plain_import_vsl():
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", "import vsl; print(vsl.webhooks.verify.__name__)"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "verify", done.stderr


# ---- uploads, run() and progress updates ---------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
UPLOAD = {"uploadId": "upl_abc", "uploadUrl": "http://bucket.test/uploads/upl_abc?X-Amz-Expires=900",
          "expiresAt": "2030-01-02T00:00:00Z"}
RESULT = {"originalUrl": "http://bucket.test/o.mp4", "thumbnailUrl": None, "s3Path": "videos/x",
          "fileSize": 10, "contentType": "video/mp4"}


def view(status, **extra):
    return {"jobId": "job-1", "status": status, "mediaType": "video",
            "modelId": "stability-video", "userId": "u1", "createdAt": "2030-01-01T00:00:00Z",
            "replicateId": "r1", **extra}


def body_of(request):
    return json.loads(request.content)


# ---- run ------------------------------------------------------------------------------

def test_run_returns_the_result_the_service_waited_for_in_one_request():
    script = Script((200, view("completed", progress=1.0, result=RESULT)))
    client, fake = make_client(script)
    seen = []
    result = client.run("flux-schnell", media_type="image", prompt="a fox",
                        on_update=lambda v: seen.append(v.progress))
    assert result.original_url == RESULT["originalUrl"] and isinstance(result, vsl.Result)
    (request,) = script.requests
    assert request.headers["Prefer"] == "wait=25" and request.url.path == "/generate-media"
    assert body_of(request)["parameters"] == {"prompt": "a fox"}
    assert seen == [1.0] and fake.sleeps == []


def test_run_raises_the_typed_error_of_a_failed_job():
    script = Script((200, view("failed", error="CUDA out of memory", progress=0.4)))
    client, _ = make_client(script)
    with pytest.raises(vsl.JobFailed) as failed:
        client.run("flux-schnell", media_type="image", prompt="a fox")
    assert failed.value.job["error"] == "CUDA out of memory"


def test_run_polls_after_a_202_and_reports_progress_as_it_changes():
    script = Script((202, JOB),
                    (200, view("processing", stage="generating", progress=0.3)),
                    (200, view("processing", stage="generating", progress=0.3)),
                    (200, view("processing", stage="generating", progress=0.6)),
                    (200, view("processing", stage="storing", progress=0.95)),
                    (200, view("completed", progress=1.0, result=RESULT)))
    client, fake = make_client(script)
    seen = []
    result = client.run("flux-schnell", media_type="image", prompt="a fox", timeout=60,
                        on_update=lambda v: seen.append((v.stage, v.progress)))
    assert result["originalUrl"] == RESULT["originalUrl"]
    assert seen == [("generating", 0.3), ("generating", 0.6), ("storing", 0.95), (None, 1.0)]
    assert [r.method for r in script.requests] == ["POST"] + ["GET"] * 5


def test_run_times_out_with_the_time_the_server_wait_took():
    client, fake = make_client(Script())

    def slow_submit(request):
        fake.now += 8           # the service held the submit for 8 s
        return httpx.Response(202, json=JOB)
    client._http = httpx.Client(transport=httpx.MockTransport(
        lambda r: slow_submit(r) if r.method == "POST" else
        httpx.Response(200, json=view("processing", progress=0.1))))
    with pytest.raises(vsl.WaitTimeoutError):
        client.run("flux-schnell", media_type="image", prompt="a fox", timeout=10)
    assert sum(fake.sleeps) <= 2.0 + 1e-9


@pytest.mark.parametrize("timeout,http_timeout,expected", [
    (300, 60.0, "wait=25"), (5, 60.0, "wait=5"), (300, 12.0, "wait=7"), (300, 5.0, None)])
def test_the_server_wait_fits_the_runs_timeout_and_the_read_timeout(timeout, http_timeout,
                                                                    expected):
    script = Script((200, view("completed", result=RESULT)))
    client, _ = make_client(script, timeout=http_timeout)
    client.run("flux-schnell", media_type="image", prompt="x", timeout=timeout)
    assert script.requests[0].headers.get("Prefer") == expected


def test_the_async_run_waits_then_polls():
    script = Script((202, JOB), (200, view("completed", progress=1.0, result=RESULT)))
    fake = FakeTime()
    seen = []

    async def go():
        client = make_async_client(script, fake)

        async def on_update(v):
            seen.append(v.status)
        return await client.run("flux-schnell", media_type="image", prompt="x",
                                on_update=on_update)
    assert asyncio.run(go())["originalUrl"] == RESULT["originalUrl"]
    assert script.requests[0].headers["Prefer"] == "wait=25" and seen == ["completed"]


# ---- uploads ----------------------------------------------------------------------------

def uploading_script(*after):
    return Script((201, UPLOAD), (200, {}), *after)


@pytest.mark.parametrize("make_file", [
    lambda tmp: tmp / "cat.png",                    # a Path
    lambda tmp: PNG,                                # bytes
    lambda tmp: io.BytesIO(PNG),                    # a binary file object
    lambda tmp: open(tmp / "cat.png", "rb"),        # an open file
])
def test_a_local_file_is_uploaded_then_named_in_the_submit(tmp_path, make_file):
    (tmp_path / "cat.png").write_bytes(PNG)
    script = uploading_script((202, JOB))
    client, _ = make_client(script)
    client.generate_video(image=make_file(tmp_path), num_frames=14)
    announce, put, submit = script.requests
    assert (announce.method, announce.url.path) == ("POST", "/uploads")
    assert body_of(announce) == {"contentType": "image/png", "size": len(PNG)}
    assert (put.method, str(put.url)) == ("PUT", UPLOAD["uploadUrl"])
    assert put.content == PNG and put.headers["Content-Type"] == "image/png"
    assert "X-API-Key" not in put.headers       # the link carries its own authorization
    assert body_of(submit)["parameters"] == {"image": "upload:upl_abc", "num_frames": 14}


def test_a_url_string_is_sent_as_it_is_and_image_url_still_works():
    script = Script((202, JOB), (202, JOB))
    client, _ = make_client(script)
    client.generate_video("https://images.example/cat.jpg")
    client.generate_video(image_url="upload:upl_xyz")
    assert [body_of(r)["parameters"]["image"] for r in script.requests] == [
        "https://images.example/cat.jpg", "upload:upl_xyz"]
    with pytest.raises(TypeError):
        client.generate_video("https://a.example/x.png", image_url="https://b.example/y.png")


def test_the_type_comes_from_the_first_bytes_then_the_name(tmp_path):
    jpeg = tmp_path / "photo.png"            # misnamed: the bytes say JPEG
    jpeg.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 20)
    unknown = tmp_path / "notes.txt"
    unknown.write_bytes(b"hello")
    script = uploading_script((201, UPLOAD), (200, {}))
    client, _ = make_client(script)
    assert client.upload(jpeg).ref == "upload:upl_abc"
    client.upload(unknown)
    assert [body_of(r)["contentType"] for r in script.requests if r.url.path == "/uploads"] == [
        "image/jpeg", "text/plain"]


def test_the_services_refusal_of_an_upload_is_a_typed_error():
    script = Script((400, error_body(400, "UNSUPPORTED_UPLOAD")))
    client, _ = make_client(script)
    with pytest.raises(vsl.BadRequestError) as refused:
        client.upload(b"GIF89a", content_type="image/gif")
    assert refused.value.code == "UNSUPPORTED_UPLOAD"


def test_a_failed_put_is_retried_then_reported():
    script = uploading_script()
    script.answers[1] = (503, {})
    script.answers.append((200, {}))
    client, fake = make_client(script)
    client.upload(PNG)
    assert [r.method for r in script.requests] == ["POST", "PUT", "PUT"] and len(fake.sleeps) == 1


def test_a_text_mode_file_is_refused_before_anything_is_sent(tmp_path):
    (tmp_path / "x.png").write_text("not binary")
    script = Script()
    client, _ = make_client(script)
    with open(tmp_path / "x.png") as text:
        with pytest.raises(TypeError):
            client.upload(text)
    assert script.requests == []


def test_the_async_client_uploads_too():
    script = uploading_script((202, JOB))

    async def go():
        return await make_async_client(script, FakeTime()).generate_video(PNG)
    asyncio.run(go())
    assert body_of(script.requests[-1])["parameters"]["image"] == "upload:upl_abc"

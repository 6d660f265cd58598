"""The Python SDK's job control against the real local stack: cancel, listing across pages
with filters, and submissions retried on the service's idempotency keys into one job."""
import asyncio
import itertools
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

import vsl
from tests.support.keys import CLIENT_A_KEY, CLIENT_B_KEY
from tests.support.sdk import Recorder, make_client

pytestmark = pytest.mark.integration


def unique_user(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(stack, sim):
    c = make_client(stack)
    yield c
    c._http.close()


def created_at(view):
    return datetime.fromisoformat(view.created_at.replace("Z", "+00:00"))


# ---- cancel ------------------------------------------------------------------------------

def test_cancel_a_running_job(client, sim):
    sim.faults(latency_s=60)
    job = client.generate_image("A slow fox")
    view = client.cancel(job)
    assert view.job_id == job.job_id and view.status == "cancelled" and view.error
    assert client.get_status(job).status == "cancelled"
    # A repeated cancel answers the same, so retrying a cancel is safe.
    assert client.cancel(job.job_id).status == "cancelled"
    with pytest.raises(vsl.JobCancelled) as caught:
        client.wait_for_completion(job, timeout=30)
    assert caught.value.job_id == job.job_id


def test_cancel_a_finished_job_is_a_conflict(client):
    job = client.generate_image("A quick fox")
    client.wait_for_completion(job, timeout=60)
    with pytest.raises(vsl.ConflictError) as caught:
        client.cancel(job)
    error = caught.value
    assert error.status == 409 and error.code == "JOB_NOT_CANCELLABLE"
    assert error.body["status"] == "completed"
    assert client.get_status(job).status == "completed"


def test_another_clients_job_cannot_be_cancelled(stack, client, sim):
    sim.faults(latency_s=60)
    job = client.generate_image("Not yours")
    other = make_client(stack, key=CLIENT_B_KEY)
    try:
        with pytest.raises(vsl.NotFoundError):
            other.cancel(job)
    finally:
        other._http.close()
    assert client.cancel(job).status == "cancelled"


def test_async_cancel(stack, sim):
    sim.faults(latency_s=60)

    async def scenario():
        async with vsl.AsyncClient(api_key=CLIENT_A_KEY, base_url=stack.api_url,
                                   user_id="sdk-user") as client:
            job = await client.generate_image("An async fox")
            return await client.cancel(job)

    assert asyncio.run(scenario()).status == "cancelled"


# ---- listing -----------------------------------------------------------------------------

def test_list_jobs_pages_through_every_filter(stack, sim):
    sim.faults(latency_s=60)   # the jobs stay running, so only cancels change their status
    recorder = Recorder()
    client = make_client(stack, user_id=unique_user("lister"), recorder=recorder)
    try:
        first = [client.generate_image(f"fox {i}") for i in range(3)]
        first += [client.generate("sdxl", prompt="a lighthouse")]
        # The service keeps createdAt to the second: start the second batch in a later one.
        boundary = max(created_at(client.get_status(j)) for j in first) + timedelta(seconds=1)
        while datetime.now(timezone.utc) < boundary:
            time.sleep(0.1)
        second = [client.generate_image("hare"), client.generate("sdxl", prompt="a storm")]
        for job in (first[0], second[0]):
            client.cancel(job)
        submitted = first + second

        requests_before = len(recorder.requests)
        everything = list(client.list_jobs(user_id=client.user_id, page_size=2))
        pages = [r for r in recorder.requests[requests_before:] if r[1] == "/jobs"]
        assert sorted(j.job_id for j in everything) == sorted(j.job_id for j in submitted)
        assert len(pages) >= 3   # 6 jobs, 2 a page
        assert [created_at(j) for j in everything] == sorted(
            (created_at(j) for j in everything), reverse=True)   # newest first

        def ids(**filters):
            return sorted(j.job_id for j in client.list_jobs(user_id=client.user_id,
                                                             page_size=1, **filters))

        assert ids(model_id="sdxl") == sorted([first[3].job_id, second[1].job_id])
        assert ids(status="cancelled") == sorted([first[0].job_id, second[0].job_id])
        assert ids(since=boundary) == sorted(j.job_id for j in second)
        assert ids(since=boundary.isoformat(), model_id="sdxl") == [second[1].job_id]
        assert ids(status="completed") == []

        # Taking a few fetches only the pages needed.
        requests_before = len(recorder.requests)
        taken = list(itertools.islice(client.list_jobs(user_id=client.user_id, page_size=2), 3))
        assert len(taken) == 3 and len(recorder.requests) - requests_before == 2
    finally:
        for view in client.list_jobs(user_id=client.user_id):
            if view.status in ("pending", "processing"):
                client.cancel(view)
        client._http.close()


def test_list_jobs_shows_only_the_keys_own_jobs(stack, client, sim):
    sim.faults(latency_s=60)
    user = unique_user("shared-user-id")
    job = client.generate_image("mine", user_id=user)
    other = make_client(stack, key=CLIENT_B_KEY)
    try:
        assert list(other.list_jobs(user_id=user)) == []
    finally:
        other._http.close()
    assert [j.job_id for j in client.list_jobs(user_id=user)] == [job.job_id]
    client.cancel(job)


def test_list_jobs_refuses_bad_filters_with_the_documented_errors(client):
    with pytest.raises(vsl.BadRequestError) as caught:
        list(client.list_jobs(status="finished"))
    assert caught.value.code == "INVALID_VALUE"
    with pytest.raises(vsl.BadRequestError) as caught:
        list(client.list_jobs(page_size=101))
    assert caught.value.code == "OUT_OF_RANGE"


def test_async_list_jobs(stack, sim):
    sim.faults(latency_s=60)
    user = unique_user("async-lister")

    async def scenario():
        async with vsl.AsyncClient(api_key=CLIENT_A_KEY, base_url=stack.api_url,
                                   user_id=user) as client:
            jobs = [await client.generate_image(f"fox {i}") for i in range(3)]
            listed = [job.job_id async for job in client.list_jobs(user_id=user, page_size=2)]
            for job in jobs:
                await client.cancel(job)
            return jobs, listed

    jobs, listed = asyncio.run(scenario())
    # Newest first, but createdAt is kept to the second: same-second jobs come in any order.
    assert sorted(listed) == sorted(j.job_id for j in jobs)


# ---- idempotent retries of a submission -------------------------------------------------

class LosesFirstSubmitAnswer(httpx.BaseTransport):
    """The real transport, except that the answer to the first submission is lost after the
    service made the job: the client sees a broken connection."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()
        self.submits = []   # (Idempotency-Key, status, body, Idempotent-Replayed) as answered

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path == "/generate-media":
            response.read()
            self.submits.append((request.headers["Idempotency-Key"], response.status_code,
                                 response.json(), response.headers.get("Idempotent-Replayed")))
            if len(self.submits) == 1:
                response.close()
                raise httpx.ReadError("connection lost after the service answered")
        return response

    def close(self):
        self.inner.close()


def test_a_submit_whose_answer_was_lost_is_retried_into_one_job(stack, sim):
    transport = LosesFirstSubmitAnswer()
    user = unique_user("lost-answer")
    client = vsl.Client(api_key=CLIENT_A_KEY, base_url=stack.api_url, user_id=user,
                        http_client=httpx.Client(transport=transport))
    client._sleep = lambda seconds: None
    try:
        job = client.generate_image("A fox worth paying for once")
        (key1, status1, lost, replayed1), (key2, status2, body2, replayed2) = transport.submits
        assert key1 == key2 and status1 == status2 == 202
        assert replayed1 is None and replayed2 == "true"
        assert job.job_id == lost["jobId"] == body2["jobId"]
        assert [j.job_id for j in client.list_jobs(user_id=user)] == [job.job_id]
        assert client.wait_for_completion(job, timeout=60).original_url
    finally:
        client._http.close()


class TimesOutOnFirstSubmit(httpx.BaseTransport):
    """The first submission is sent for real on a thread, and the client is told it timed
    out once the service has made its job (while Replicate still hangs on the create):
    the client's retry meets the first request still in flight."""

    def __init__(self, api_url, user):
        self.inner = httpx.HTTPTransport()
        self.api_url, self.user = api_url, user
        self.first_answer = {}
        self.thread = None
        self.answers = []   # (status, code or None) of every submission the client saw

    def _send_first(self, request):
        with httpx.Client() as http:
            answer = http.post(str(request.url), content=request.content,
                               headers=dict(request.headers), timeout=60)
        self.first_answer.update(status=answer.status_code, body=answer.json())

    def _first_job_exists(self):
        answer = httpx.get(f"{self.api_url}/jobs", params={"userId": self.user},
                           headers={"X-API-Key": CLIENT_A_KEY}, timeout=10)
        return answer.json()["jobs"]

    def handle_request(self, request):
        if request.method == "POST" and self.thread is None:
            request.read()
            self.thread = threading.Thread(target=self._send_first, args=(request,))
            self.thread.start()
            deadline = time.monotonic() + 30
            while not self._first_job_exists():
                assert time.monotonic() < deadline, "the first submission never arrived"
                time.sleep(0.05)
            raise httpx.ReadTimeout("no answer in time")
        response = self.inner.handle_request(request)
        if request.method == "POST":
            response.read()
            self.answers.append((response.status_code, response.json().get("code")))
        return response

    def close(self):
        self.inner.close()


def test_a_retry_while_the_first_submit_is_in_flight_waits_for_its_job(stack, sim):
    sim.faults(create_hang_s=3, latency_s=600)
    user = unique_user("in-flight")
    transport = TimesOutOnFirstSubmit(stack.api_url, user)
    client = vsl.Client(api_key=CLIENT_A_KEY, base_url=stack.api_url, user_id=user,
                        max_retries=10, http_client=httpx.Client(transport=transport))
    sleeps = []
    client._sleep = lambda seconds: (sleeps.append(seconds), time.sleep(seconds))
    try:
        job = client.generate_image("A fox submitted once")
        transport.thread.join(timeout=60)
        assert transport.first_answer["status"] == 202
        assert job.job_id == transport.first_answer["body"]["jobId"]
        # At least one retry was told the key is in use (and waited its Retry-After of 1 s),
        # and the last one got the first request's job back.
        assert (409, "IDEMPOTENCY_KEY_IN_USE") in transport.answers
        assert transport.answers[-1] == (202, None) and 1.0 in sleeps
        assert [j.job_id for j in client.list_jobs(user_id=user)] == [job.job_id]
    finally:
        for view in client.list_jobs(user_id=user):
            if view.status in ("pending", "processing"):
                client.cancel(view)
        client._http.close()

"""The Python SDK against the real local stack: every method, every documented error
status, Retry-After while the simulator throttles, failed and cancelled jobs, downloads."""
import asyncio
import io
import uuid
import wave

import pytest
from PIL import Image

import vsl
from tests.support.keys import CLIENT_A_KEY, new_key
from tests.support.sdk import Recorder, make_client

pytestmark = pytest.mark.integration


@pytest.fixture
def client(stack, sim):
    c = make_client(stack)
    yield c
    c._http.close()


def sample_image(stack):
    return f"{stack.simulator_url}/samples/input.jpg"


# ---- every method, end to end ---------------------------------------------------------

def test_the_specs_python_example_as_written(stack, sim, client, tmp_path):
    job = client.generate_video(image_url=sample_image(stack), model_id="stability-video")
    result = client.wait_for_completion(job["jobId"])
    assert result["originalUrl"].startswith("http")
    assert result["contentType"] == "video/mp4" and result.fps == 24
    clip = client.download(result, tmp_path / "clip.mp4")
    assert clip.read_bytes()[4:8] == b"ftyp"
    import av
    with av.open(str(clip)) as container:
        assert container.streams.video[0].frames or container.duration


def test_generate_image_wait_and_download_a_real_png(client, tmp_path):
    job = client.generate_image("A futuristic cityscape", width=1024, height=1024)
    assert job.status == "pending" and job.estimated_time == 5 and job.estimated_cost == 0.003
    seen = []
    result = client.wait_for_completion(job, timeout=60, on_update=lambda v: seen.append(v))
    assert seen[-1].status == "completed" and seen[-1].progress == 1
    # one update per change of status, stage or progress, and progress never goes back
    changes = [(v.status, v.stage, v.progress) for v in seen]
    assert all(a != b for a, b in zip(changes, changes[1:]))
    known = [v.progress for v in seen if v.progress is not None]
    assert known == sorted(known)
    assert all(isinstance(v, vsl.JobStatus) for v in seen)
    path = client.download(result, tmp_path / "city.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) == result.file_size
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (result.width, result.height)
    thumbnail = client.download(result.thumbnail_url, tmp_path)
    assert thumbnail.name == "thumbnail.jpg" and thumbnail.read_bytes()[:3] == b"\xff\xd8\xff"


def test_an_image_file_on_disk_becomes_a_video(client, tmp_path):
    """The issue's example: client.generate_video(image=Path("cat.jpg"))."""
    Image.new("RGB", (320, 180), (180, 120, 60)).save(tmp_path / "cat.jpg", "JPEG")
    job = client.generate_video(image=tmp_path / "cat.jpg", num_frames=14)
    result = client.wait_for_completion(job, timeout=120)
    clip = client.download(result, tmp_path / "cat.mp4")
    assert result.content_type == "video/mp4" and clip.read_bytes()[4:8] == b"ftyp"
    # bytes and an open file are uploaded the same way
    with open(tmp_path / "cat.jpg", "rb") as f:
        assert client.run("stability-video", image=f, num_frames=14).content_type == "video/mp4"
    upload = client.upload((tmp_path / "cat.jpg").read_bytes())
    assert upload.ref.startswith("upload:upl_") and upload.expires_at


def test_run_answers_an_image_in_one_request(stack, sim):
    recorder = Recorder()
    client = make_client(stack, recorder=recorder)
    updates = []
    result = client.run("flux-schnell", media_type="image", prompt="A lighthouse", width=512,
                        height=512, on_update=updates.append)
    assert result.width == 512 and [u.status for u in updates] == ["completed"]
    assert recorder.requests == [("POST", "/generate-media")]


def test_run_of_a_failed_job_raises_job_failed(client, sim):
    sim.faults(fail_predictions=1)
    with pytest.raises(vsl.JobFailed) as failed:
        client.run("flux-schnell", prompt="A fox")
    assert "CUDA" in failed.value.job["error"]


def test_someone_elses_upload_is_not_found(stack, client, sim):
    theirs = make_client(stack, key=new_key(stack, "--client", "sdk-other")[0]).upload(_png())
    with pytest.raises(vsl.NotFoundError) as missing:
        client.generate_video(image=theirs.ref)
    assert missing.value.code == "UPLOAD_NOT_FOUND"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (9, 9, 9)).save(out, "PNG")
    return out.getvalue()


def test_generate_audio_gives_a_wav_of_the_asked_duration(client, tmp_path):
    job = client.generate_audio("Epic orchestral", duration=3)
    result = client.wait_for_completion(job["jobId"], timeout=60)
    with wave.open(io.BytesIO(client.download(result, tmp_path / "song.wav").read_bytes())) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(3, abs=0.1)


def test_generate_looks_up_the_media_type_in_the_catalog(client):
    job = client.generate("sdxl", prompt="A lighthouse", negative_prompt="blurry", width=512,
                          height=512)
    view = client.get_status(job.job_id)
    assert (view.model_id, view.media_type, view.user_id) == ("sdxl", "image", "sdk-user")
    result = client.wait_for_completion(job, timeout=60)
    assert (result.width, result.height) == (512, 512)


def test_generate_an_unknown_model_is_a_bad_request(client):
    with pytest.raises(vsl.BadRequestError) as caught:
        client.generate("no-such-model", prompt="x")
    assert caught.value.code == "UNKNOWN_MODEL"


def test_get_status_of_a_completed_job(client):
    job = client.generate_image("A red fox", num_outputs=2)
    client.wait_for_completion(job, timeout=60)
    view = client.get_status(job["jobId"])
    assert view["status"] == view.status == "completed" and view.is_terminal
    assert view.job_id == job.job_id and view.completed_at and view.created_at
    assert isinstance(view.result, vsl.Result) and len(view.result.outputs) == 2


def test_models_lists_the_catalog_once(stack):
    recorder = Recorder()
    client = make_client(stack, recorder=recorder)
    models = client.models()
    assert {m.model_id: m.media_type for m in models} == {
        "flux-schnell": "image", "sdxl": "image", "stability-video": "video",
        "musicgen": "audio"}
    assert all(m["parameters"]["type"] == "object" and m.estimated_time for m in models)
    assert client.models() is models and len(recorder.requests) == 1
    assert client.models(refresh=True) == models and len(recorder.requests) == 2


def test_user_id_may_be_omitted_with_a_key_bound_to_a_user(stack, sim):
    key, _ = new_key(stack, "--client", "sdk-bound", "--user", "alice")
    client = make_client(stack, key=key, user_id=None)
    job = client.generate_image("A cat")
    assert client.get_status(job).user_id == "alice"


# ---- each documented error status -------------------------------------------------------

def test_400_bad_request(client):
    with pytest.raises(vsl.BadRequestError) as caught:
        client.generate_image("A red fox", width=5000)
    error = caught.value
    assert (error.status, error.code) == (400, "OUT_OF_RANGE") and "width" in error.details


def test_400_missing_user_with_an_unbound_key(stack, sim):
    with pytest.raises(vsl.BadRequestError) as caught:
        make_client(stack, user_id=None).generate_image("A red fox")
    assert caught.value.code == "MISSING_PARAMETER" and "userId" in caught.value.details


def test_401_authentication(stack):
    client = make_client(stack, key="vsl_not_a_real_key")
    for call in (client.models, lambda: client.get_status("x"),
                 lambda: client.generate_image("x")):
        with pytest.raises(vsl.AuthenticationError) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (401, "UNAUTHORIZED")


def test_403_a_bound_key_submitting_for_another_user(stack, sim):
    key, _ = new_key(stack, "--client", "sdk-bound-403", "--user", "alice")
    with pytest.raises(vsl.PermissionDeniedError) as caught:
        make_client(stack, key=key, user_id="bob").generate_image("A cat")
    assert (caught.value.status, caught.value.code) == (403, "FORBIDDEN")


def test_404_not_found(client):
    with pytest.raises(vsl.NotFoundError) as caught:
        client.get_status("0d5b2a4e-0000-4000-8000-000000000000")
    assert (caught.value.status, caught.value.code) == (404, "JOB_NOT_FOUND")


def test_429_when_the_hourly_quota_is_spent(stack, sim):
    sim.faults(latency_s=600)
    key, _ = new_key(stack, "--client", "sdk-quota", "--limit", "submissions_per_hour=1")
    recorder = Recorder()
    client = make_client(stack, key=key, recorder=recorder)
    client.generate_image("first")
    with pytest.raises(vsl.RateLimitError) as caught:
        client.generate_image("second")
    error = caught.value
    assert (error.status, error.code) == (429, "RATE_LIMIT_EXCEEDED")
    assert error.retry_after > 60 and error.body["retryAfter"] == error.retry_after
    # An hour-long Retry-After is not slept through: one attempt, no sleep.
    assert len(recorder.posts()) == 2 and recorder.sleeps == []


def test_502_replicate_error_is_retried_with_the_same_key_into_one_running_job(stack, sim):
    sim.faults(create_errors=[500])
    recorder = Recorder()
    user = f"after-502-{uuid.uuid4().hex[:8]}"
    client = make_client(stack, recorder=recorder, user_id=user)
    job = client.generate_image("A red fox")
    # The refusal is not kept against the key, so the retry runs anew.
    assert len(recorder.posts()) == 2
    assert recorder.events[0][:2] == ("response", 502)
    listed = list(client.list_jobs(user_id=user))
    assert [j.job_id for j in listed if j.status != "failed"] == [job.job_id]


def test_502_without_idempotent_retries_is_an_internal_server_error_not_retried(stack, sim):
    sim.faults(create_errors=[500])
    recorder = Recorder()
    client = make_client(stack, recorder=recorder, idempotent_retries=False)
    with pytest.raises(vsl.InternalServerError) as caught:
        client.generate_image("A red fox")
    assert (caught.value.status, caught.value.code) == (502, "REPLICATE_ERROR")
    assert len(recorder.posts()) == 1


def test_503_while_replicate_throttles_beyond_the_retries(stack, sim):
    sim.faults(create_errors=[429, 429, 429], retry_after_s=1)
    recorder = Recorder()
    client = make_client(stack, recorder=recorder, max_retries=2)
    with pytest.raises(vsl.InternalServerError) as caught:
        client.generate_image("A red fox")
    error = caught.value
    assert (error.status, error.code, error.retry_after) == (503, "SERVICE_UNAVAILABLE", 1.0)
    assert len(recorder.posts()) == 3 and recorder.sleeps == [1.0, 1.0]


def test_connection_refused_is_a_connection_error(stack):
    from local.stack import free_port
    recorder = Recorder()
    client = vsl.Client(api_key="k", base_url=f"http://127.0.0.1:{free_port()}", max_retries=1)
    client._sleep = recorder.sleep
    with pytest.raises(vsl.APIConnectionError) as caught:
        client.generate_image("A red fox", user_id="u")
    assert caught.value.status is None and len(recorder.sleeps) == 1


# ---- Retry-After while the simulator throttles -----------------------------------------

def test_retry_after_is_honoured_and_the_retry_creates_one_job(stack, sim, api):
    sim.faults(create_errors=[429], retry_after_s=1)
    recorder = Recorder()
    client = make_client(stack, recorder=recorder)
    job = client.generate_image("A red fox")
    assert recorder.sleeps == [1.0]           # the Retry-After, not a computed backoff
    assert len(recorder.posts()) == 2
    assert client.wait_for_completion(job, timeout=60).original_url
    predictions = sim.api("GET", "/v1/predictions").json()["results"]
    assert sum(p["id"] == job.replicate_id for p in predictions) == 1


def test_throttled_status_polls_are_slept_through(stack, sim):
    key, _ = new_key(stack, "--client", "sdk-poller", "--limit", "status_per_minute=2")
    sim.faults(latency_s=600)
    recorder = Recorder()
    client = make_client(stack, key=key, recorder=recorder, max_retries=1)
    clock = [0.0]

    def sleep(seconds):
        recorder.sleep(seconds)
        clock[0] += seconds
    client._sleep, client._clock = sleep, lambda: clock[0]
    job = client.generate_image("A red fox")
    with pytest.raises(vsl.RateLimitError) as caught:
        client.wait_for_completion(job, timeout=90)
    retry_after = caught.value.retry_after
    assert 1 <= retry_after <= 60
    # After each throttled poll the client slept exactly the Retry-After it was given
    # before polling again, until that wait would pass the deadline.
    events = recorder.events
    throttled = [i for i, e in enumerate(events) if e[:2] == ("response", 429)]
    assert len(throttled) >= 2
    for i in throttled[:-1]:
        assert events[i + 1] == ("sleep", float(events[i][2]))
    assert throttled[-1] == len(events) - 1
    assert sum(recorder.sleeps) + retry_after > 90 >= sum(recorder.sleeps)


# ---- failed and cancelled jobs ------------------------------------------------------------

def test_waiting_on_a_failed_job_raises_job_failed(client, sim):
    sim.faults(fail_predictions=1)
    job = client.generate_image("A red fox")
    with pytest.raises(vsl.JobFailed) as caught:
        client.wait_for_completion(job, timeout=60)
    error = caught.value
    assert error.job_id == job.job_id and error.job["status"] == "failed"
    assert error.error and error.error in str(error)


def test_waiting_on_a_cancelled_job_raises_job_cancelled(client, sim):
    sim.faults(latency_s=600)
    job = client.generate_image("A red fox")
    seen = []

    def cancel_once_processing(view):
        seen.append(view.status)
        if len(seen) == 1:
            assert sim.api("POST", f"/v1/predictions/{job.replicate_id}/cancel").ok

    with pytest.raises(vsl.JobCancelled) as caught:
        client.wait_for_completion(job, timeout=60, on_update=cancel_once_processing)
    assert caught.value.job["status"] == "cancelled" and seen[-1] == "cancelled"


def test_waiting_gives_up_after_the_timeout(client, sim):
    sim.faults(latency_s=600)
    job = client.generate_image("A red fox")
    with pytest.raises(vsl.WaitTimeoutError) as caught:
        client.wait_for_completion(job, timeout=1)
    assert caught.value.job_id == job.job_id and caught.value.job["status"] in (
        "pending", "processing")


# ---- the async client ---------------------------------------------------------------------

def test_async_client_has_the_same_surface(stack, sim, tmp_path):
    async def scenario():
        async with vsl.AsyncClient(api_key=CLIENT_A_KEY, base_url=stack.api_url,
                                   user_id="sdk-async") as client:
            models = await client.models()
            image = await client.generate_image("A red fox", width=512, height=512)
            audio = await client.generate_audio("Drums", duration=2)
            video = await client.generate_video(sample_image(stack), num_frames=14)
            generic = await client.generate("sdxl", prompt="A boat", width=512, height=512)
            results = await asyncio.gather(*[client.wait_for_completion(j, timeout=90)
                                             for j in (image, audio, video, generic)])
            status = await client.get_status(image.job_id)
            path = await client.download(results[0], tmp_path / "fox.png")
            with pytest.raises(vsl.NotFoundError):
                await client.get_status("missing")
            return models, results, status, path

    models, results, status, path = asyncio.run(scenario())
    assert len(models) == 4 and status.status == "completed"
    assert [r.content_type for r in results] == ["image/png", "audio/wav", "video/mp4",
                                                 "image/png"]
    with Image.open(path) as image:
        assert image.size == (512, 512)

"""The Python SDK's uploads, runs and progress updates against a fake transport
(no server, no sleeping)."""
import asyncio
import io
import json

import httpx
import pytest

import vsl
from tests.sdk.test_sdk_unit import JOB, FakeTime, Script, error_body, make_async_client, \
    make_client

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


# ---- run --------------------------------------------------------------------------------

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

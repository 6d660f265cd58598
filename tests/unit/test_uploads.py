"""Uploads on the in-memory fakes: who may use one, what its file must be, and
what Replicate is handed. No server, no network."""
import base64
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

import app
from chalicelib.errors import (DomainError, UnsupportedUpload, UploadExpired, UploadIncomplete,
                               UploadNotFound, UploadTooLarge, ValidationFailed)
from chalicelib.jobs.batch import Batch
from chalicelib.keys import Caller
from chalicelib.authorization import reaches_upload
from chalicelib.uploads.model import Upload, parse_data_uri, sniff_image_type
from tests.fakes import CLIENT, OTHER_CLIENT, T0, World, png_bytes


def jpeg_bytes() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 30)).save(out, "JPEG")
    return out.getvalue()


def webp_bytes() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 30)).save(out, "WEBP")
    return out.getvalue()


def video_body(image: str, user_id: str = "user123") -> dict:
    return {"userId": user_id, "mediaType": "video", "modelId": "stability-video",
            "parameters": {"image": image}}


def uploaded(world: World, data: bytes, content_type: str = "image/png",
             caller: Caller = CLIENT, size: int = None) -> str:
    """An upload announced by ``caller`` and its file PUT; its id."""
    view = world.uploads.create(caller, {"contentType": content_type,
                                         "size": len(data) if size is None else size})
    world.storage.put_file(world.uploads.key(view["uploadId"]), data)
    return view["uploadId"]


def status_of(error: DomainError) -> int:
    return app.error_response(error).status_code


# ---- POST /uploads ----------------------------------------------------------------------

def test_an_upload_url_fixes_type_and_size_and_the_upload_lives_a_day():
    world = World()
    view = world.uploads.create(CLIENT, {"contentType": "image/png", "size": 1234})
    assert set(view) == {"uploadId", "uploadUrl", "expiresAt"}
    url = urlsplit(view["uploadUrl"])
    assert url.path == f"/uploads/{view['uploadId']}"
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["900"]
    assert set(query["X-Amz-SignedHeaders"][0].split(";")) >= {"content-length", "content-type"}
    assert view["expiresAt"] == "2030-01-02T01:00:00.000Z"
    record = world.upload_records.get(view["uploadId"])
    assert (record.client_id, record.user_id, record.content_type, record.size) == \
        ("acme", None, "image/png", 1234)


def test_a_bound_key_records_its_user():
    world = World()
    alice = Caller("acme", "key-alice", user_id="alice")
    view = world.uploads.create(alice, {"contentType": "IMAGE/JPEG", "size": 10})
    record = world.upload_records.get(view["uploadId"])
    assert (record.user_id, record.content_type) == ("alice", "image/jpeg")


@pytest.mark.parametrize("body,error,code,status", [
    ({"contentType": "image/gif", "size": 10}, UnsupportedUpload, "UNSUPPORTED_UPLOAD", 400),
    ({"contentType": "text/html", "size": 10}, UnsupportedUpload, "UNSUPPORTED_UPLOAD", 400),
    ({"contentType": "image/png", "size": 1_000_001}, UploadTooLarge, "UPLOAD_TOO_LARGE", 413),
    ({"contentType": "image/png", "size": 0}, ValidationFailed, "OUT_OF_RANGE", 400),
    ({"contentType": "image/png", "size": "10"}, ValidationFailed, "INVALID_TYPE", 400),
    ({"contentType": "image/png"}, ValidationFailed, "MISSING_PARAMETER", 400),
    ({"contentType": "image/png", "size": 10, "name": "x"}, ValidationFailed,
     "UNKNOWN_PARAMETER", 400),
])
def test_an_upload_that_cannot_be_accepted_is_refused_and_nothing_is_recorded(
        body, error, code, status):
    world = World()
    with pytest.raises(error) as refused:
        world.uploads.create(CLIENT, body)
    assert refused.value.code == code and status_of(refused.value) == status
    assert world.upload_records.items == {}


# ---- who may use an upload ----------------------------------------------------------

ALICE = Caller("acme", "key-alice", user_id="alice")
BOB = Caller("acme", "key-bob", user_id="bob")
UNBOUND = Caller("acme", "key-acme")


@pytest.mark.parametrize("uploader,user,allowed", [
    (UNBOUND, UNBOUND, True), (UNBOUND, ALICE, False),    # a bound key: only its user's
    (ALICE, ALICE, True), (ALICE, BOB, False), (ALICE, UNBOUND, True),  # unbound: all its client's
    (ALICE, Caller("globex", "key-g"), False), (UNBOUND, Caller("globex", "key-g"), False),
])
def test_the_one_ownership_rule(uploader, user, allowed):
    upload = Upload("upl_" + "a" * 22, uploader.client_id, uploader.user_id, "image/png", 1, T0,
                    T0 + timedelta(days=1))
    assert reaches_upload(user, upload) is allowed


@pytest.mark.parametrize("uploader,user", [(CLIENT, OTHER_CLIENT), (ALICE, BOB), (UNBOUND, ALICE)])
def test_another_principals_upload_answers_as_a_missing_one(uploader, user):
    world = World()
    theirs = uploaded(world, png_bytes(), caller=uploader)
    with pytest.raises(UploadNotFound) as other:
        world.submit(video_body(f"upload:{theirs}", user.user_id or "user123"), caller=user)
    with pytest.raises(UploadNotFound) as missing:
        world.submit(video_body("upload:upl_" + "b" * 22, user.user_id or "user123"),
                     caller=user)
    assert status_of(other.value) == status_of(missing.value) == 404
    assert other.value.code == missing.value.code == "UPLOAD_NOT_FOUND"
    assert other.value.title == missing.value.title
    assert world.replicate.created == [] and world.jobs.items == {}


@pytest.mark.parametrize("ref", ["upload:", "upload:../../etc", "upload:" + "x" * 500])
def test_a_malformed_upload_id_is_not_found_and_never_read(ref):
    world = World()
    with pytest.raises(UploadNotFound) as refused:
        world.submit(video_body(ref))
    assert len(refused.value.details) < 120


# ---- what the file must be -------------------------------------------------------------

def test_an_upload_becomes_a_short_lived_link_that_replicate_is_given():
    world = World()
    upload_id = uploaded(world, png_bytes())
    job = world.submit(video_body(f"upload:{upload_id}"))
    link = f"https://media.example/uploads/{upload_id}?X-Amz-Expires=3600"
    assert job.parameters["image"] == link
    model, replicate_input, _ = world.replicate.created[0]
    assert replicate_input["input_image"] == link


@pytest.mark.parametrize("data,declared", [
    (jpeg_bytes(), "image/jpeg"), (webp_bytes(), "image/webp"), (png_bytes(), "image/png")])
def test_each_image_type_is_recognised_by_its_first_bytes(data, declared):
    assert sniff_image_type(data[:12]) == declared
    world = World()
    world.submit(video_body("upload:" + uploaded(world, data, declared)))
    assert len(world.replicate.created) == 1


@pytest.mark.parametrize("data,declared,why", [
    (b"<html><body>not an image</body></html>", "image/png", "not a PNG, JPEG or WebP"),
    (b"GIF89a" + b"\0" * 50, "image/png", "not a PNG, JPEG or WebP"),
    (jpeg_bytes(), "image/png", "the file is image/jpeg, not the image/png"),
])
def test_a_file_that_is_not_the_image_it_claims_is_unsupported(data, declared, why):
    world = World()
    upload_id = uploaded(world, data, declared)
    with pytest.raises(UnsupportedUpload) as refused:
        world.submit(video_body(f"upload:{upload_id}"))
    assert why in refused.value.details and status_of(refused.value) == 400
    assert refused.value.code == "UNSUPPORTED_UPLOAD"
    assert world.replicate.created == []


def test_a_stored_file_larger_than_declared_is_too_large():
    # S3 refuses such a PUT (the size is signed); the emulator does not check signatures.
    world = World()
    upload_id = uploaded(world, png_bytes(), size=10)
    with pytest.raises(UploadTooLarge) as refused:
        world.submit(video_body(f"upload:{upload_id}"))
    assert status_of(refused.value) == 413 and refused.value.code == "UPLOAD_TOO_LARGE"


def test_a_stored_file_smaller_than_declared_is_refused():
    world = World()
    upload_id = uploaded(world, png_bytes(), size=len(png_bytes()) + 1)
    with pytest.raises(UnsupportedUpload):
        world.submit(video_body(f"upload:{upload_id}"))


def test_an_upload_named_before_its_file_was_put_is_incomplete():
    world = World()
    view = world.uploads.create(CLIENT, {"contentType": "image/png", "size": 100})
    with pytest.raises(UploadIncomplete) as refused:
        world.submit(video_body(f"upload:{view['uploadId']}"))
    assert status_of(refused.value) == 409 and refused.value.code == "UPLOAD_INCOMPLETE"


def test_an_upload_expires_after_a_day_then_answers_410():
    world = World()
    upload_id = uploaded(world, png_bytes())
    world.clock.advance(86400 - 1)
    world.submit(video_body(f"upload:{upload_id}"))
    world.clock.advance(1)
    with pytest.raises(UploadExpired) as refused:
        world.submit(video_body(f"upload:{upload_id}"))
    assert status_of(refused.value) == 410 and refused.value.code == "UPLOAD_EXPIRED"
    assert len(world.replicate.created) == 1


def test_an_expired_upload_of_another_principal_is_still_not_found():
    world = World()
    upload_id = uploaded(world, png_bytes(), caller=OTHER_CLIENT)
    world.clock.advance(2 * 86400)
    with pytest.raises(UploadNotFound):
        world.submit(video_body(f"upload:{upload_id}"))


# ---- data: URIs --------------------------------------------------------------------

def data_uri(data: bytes, content_type: str = "image/png") -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def test_a_data_uri_is_checked_stored_with_the_uploads_and_linked():
    world = World()
    job = world.submit(video_body(data_uri(png_bytes())))
    link = job.parameters["image"]
    assert link.startswith("https://media.example/uploads/upl_") and "X-Amz-Expires=3600" in link
    key = urlsplit(link).path.lstrip("/")
    assert world.storage.objects[key][:2] == (png_bytes(), "image/png")


@pytest.mark.parametrize("uri,error,code", [
    (data_uri(b"GIF89a....", "image/gif"), UnsupportedUpload, "UNSUPPORTED_UPLOAD"),
    (data_uri(b"hello", "text/plain"), UnsupportedUpload, "UNSUPPORTED_UPLOAD"),
    (data_uri(png_bytes(), "image/jpeg"), UnsupportedUpload, "UNSUPPORTED_UPLOAD"),
    (data_uri(b"", "image/png"), UnsupportedUpload, "UNSUPPORTED_UPLOAD"),
    ("data:image/png;base64,@@@not base64@@@", ValidationFailed, "INVALID_VALUE"),
    ("data:image/png;base64", ValidationFailed, "INVALID_VALUE"),
])
def test_a_data_uri_that_is_not_a_supported_image_is_refused(uri, error, code):
    world = World()
    with pytest.raises(error) as refused:
        world.submit(video_body(uri))
    assert refused.value.code == code
    assert world.replicate.created == [] and world.storage.objects == {}


def test_data_uri_parsing():
    assert parse_data_uri("data:image/png;base64,aGk=") == ("image/png", b"hi")
    assert parse_data_uri("DATA:Image/PNG;name=x.png;base64,aGk=") == ("image/png", b"hi")
    assert parse_data_uri("data:,a%20b") == ("text/plain", b"a b")
    with pytest.raises(ValueError):
        parse_data_uri("https://example.com/x.png")


def test_urls_and_other_models_parameters_are_left_as_they_are():
    world = World()
    job = world.submit(video_body("https://images.example/cat.jpg"))
    assert job.parameters["image"] == "https://images.example/cat.jpg"
    body = {"userId": "u", "mediaType": "image", "modelId": "flux-schnell",
            "parameters": {"prompt": "upload:upl_" + "a" * 22}}
    assert world.uploads.resolve_inputs(CLIENT, body) is body


def test_a_batch_item_naming_someone_elses_upload_fails_alone():
    world = World()
    theirs = uploaded(world, png_bytes(), caller=OTHER_CLIENT)
    mine = uploaded(world, png_bytes())
    outcome = world.batch.submit(CLIENT, {"items": [video_body(f"upload:{theirs}"),
                                                    video_body(f"upload:{mine}")]},
                                 "https://api.example")
    refused, accepted = outcome.items
    assert isinstance(refused, UploadNotFound)
    assert accepted.job.parameters["image"].startswith(f"https://media.example/uploads/{mine}?")
    assert isinstance(world.batch, Batch)

"""All four models through the whole pipeline; stored files are real media whose
metadata (read here with the media libraries directly) matches the result."""
import io
import re

import av
import jsonschema
import pytest
import requests
import soundfile
from PIL import Image

pytestmark = pytest.mark.integration


def fetch(url: str) -> bytes:
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200, url
    return resp.content


def assert_thumbnail(result):
    thumb = Image.open(io.BytesIO(fetch(result["thumbnailUrl"])))
    assert thumb.format == "JPEG" and 0 < max(thumb.size) <= 512


def completed(api, body):
    resp = api.submit(body)
    assert resp.status_code == 202, resp.text
    job = api.wait_for(resp.json()["jobId"])
    assert job["status"] == "completed", job
    return job, resp.json()


def test_video_example(api, stack):
    job, accepted = completed(api, {
        "userId": "user123", "mediaType": "video", "modelId": "stability-video",
        "parameters": {"image": f"{stack.simulator_url}/samples/input.jpg",
                       "motion_bucket_id": 127, "fps": 24, "num_frames": 25}})
    assert accepted["estimatedCost"] == 0.05 and accepted["estimatedTime"] == 60
    result = job["result"]
    assert re.match(r"videos/[^/]+/user123/", result["s3Path"])
    assert result["originalUrl"].split("?")[0].endswith("/original.mp4")
    data = fetch(result["originalUrl"])
    assert len(data) == result["fileSize"]
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (
            result["width"], result["height"])
        assert float(stream.average_rate) == result["fps"] == 24
        frames = sum(1 for _ in container.decode(stream))
    assert frames == 25
    assert result["duration"] == pytest.approx(25 / 24, abs=0.05)
    assert_thumbnail(result)


def test_video_with_fewer_frames_uses_the_14_frame_model(api, stack):
    job, _ = completed(api, {
        "userId": "user123", "mediaType": "video", "modelId": "stability-video",
        "parameters": {"image": f"{stack.simulator_url}/samples/input.jpg", "num_frames": 14,
                       "fps": 7}})
    assert job["result"]["fps"] == 7
    assert job["result"]["duration"] == pytest.approx(2.0, abs=0.05)


def test_video_whose_input_image_cannot_be_fetched_fails_with_a_reason(api, stack):
    resp = api.submit({"userId": "user123", "mediaType": "video", "modelId": "stability-video",
                       "parameters": {"image": f"{stack.simulator_url}/samples/missing.jpg"}})
    job = api.wait_for(resp.json()["jobId"])
    assert job["status"] == "failed" and job["error"]


@pytest.mark.parametrize("fmt,subtype", [("wav", "WAV"), ("mp3", "MP3")])
def test_audio_example(api, fmt, subtype):
    job, accepted = completed(api, {
        "userId": "user123", "mediaType": "audio", "modelId": "musicgen",
        "parameters": {"prompt": "Epic orchestral music with drums", "duration": 8,
                       "output_format": fmt}})
    assert accepted["estimatedCost"] == 0.02
    result = job["result"]
    assert re.match(r"audio/[^/]+/user123/", result["s3Path"])
    data = fetch(result["originalUrl"])
    assert len(data) == result["fileSize"]
    info = soundfile.info(io.BytesIO(data))
    assert info.format == subtype
    assert info.duration == pytest.approx(8, abs=0.1)
    assert result["duration"] == pytest.approx(info.duration, abs=0.01)
    assert "width" not in result
    assert_thumbnail(result)


def test_audio_content_depends_on_the_prompt(api):
    def audio(prompt):
        job, _ = completed(api, {"userId": "u2", "mediaType": "audio", "modelId": "musicgen",
                                 "parameters": {"prompt": prompt, "duration": 2}})
        return fetch(job["result"]["originalUrl"])
    assert audio("calm piano") != audio("loud drums")


def test_sdxl_example(api):
    job, accepted = completed(api, {
        "userId": "user123", "mediaType": "image", "modelId": "sdxl",
        "parameters": {"prompt": "A detailed description", "negative_prompt": "blurry",
                       "width": 768, "height": 512}})
    assert accepted["estimatedCost"] == 0.01
    image = Image.open(io.BytesIO(fetch(job["result"]["originalUrl"])))
    assert image.size == (768, 512) == (job["result"]["width"], job["result"]["height"])
    assert_thumbnail(job["result"])


def test_flux_reports_the_real_size_of_the_nearest_aspect_ratio(api):
    job, _ = completed(api, {"userId": "user123", "mediaType": "image",
                             "modelId": "flux-schnell",
                             "parameters": {"prompt": "wide", "width": 1920, "height": 1080}})
    image = Image.open(io.BytesIO(fetch(job["result"]["originalUrl"])))
    assert image.size == (job["result"]["width"], job["result"]["height"])
    assert image.width / image.height == pytest.approx(16 / 9, rel=0.03)


def test_several_outputs_are_all_stored_and_listed(api):
    job, accepted = completed(api, {"userId": "user123", "mediaType": "image",
                                    "modelId": "flux-schnell", "prompt": "four cats",
                                    "parameters": {"num_outputs": 3}})
    assert accepted["estimatedCost"] == pytest.approx(0.009)
    outputs = job["result"]["outputs"]
    assert len(outputs) == 3
    assert outputs[0]["url"] == job["result"]["originalUrl"]
    names = [o["url"].split("?")[0].rsplit("/", 1)[1] for o in outputs]
    assert names == ["original.png", "output-2.png", "output-3.png"]
    bodies = [fetch(o["url"]) for o in outputs]
    assert len(set(bodies)) == 3
    for body, output in zip(bodies, outputs):
        assert len(body) == output["fileSize"]
        assert Image.open(io.BytesIO(body)).size == (output["width"], output["height"])


SPEC_EXAMPLES = {
    "flux-schnell": {"prompt": "A futuristic cityscape at sunset", "width": 1024, "height": 1024},
    "stability-video": {"image": "https://example.com/input-image.jpg", "motion_bucket_id": 127,
                        "fps": 24, "num_frames": 25},
    "musicgen": {"prompt": "Epic orchestral music with drums", "duration": 8},
    "sdxl": {"prompt": "A detailed description", "negative_prompt": "What to avoid in the image",
             "width": 1024, "height": 1024, "num_inference_steps": 50, "guidance_scale": 7.5},
}


def test_models_lists_the_catalog_with_schemas_that_accept_the_spec_examples(api):
    resp = api.request("GET", "/models")
    assert resp.status_code == 200
    models = {m["modelId"]: m for m in resp.json()["models"]}
    assert set(models) == set(SPEC_EXAMPLES)
    assert models["stability-video"]["mediaType"] == "video"
    assert models["musicgen"]["pricing"]["usd"] == 0.02
    assert models["sdxl"]["estimatedTime"] == 10
    for model_id, example in SPEC_EXAMPLES.items():
        schema = models[model_id]["parameters"]
        jsonschema.validate(example, schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**example, "unknown_knob": 1}, schema)
    props = models["stability-video"]["parameters"]["properties"]
    assert (props["motion_bucket_id"]["minimum"], props["motion_bucket_id"]["maximum"]) == (1, 255)
    assert models["stability-video"]["parameters"]["required"] == ["image"]

"""Every model's parameters, defaults, ranges and Replicate inputs, as the spec states them."""
import pytest

from chalicelib.catalog import CATALOG
from chalicelib.errors import DomainError, MediaTypeMismatch, ValidationFailed
from chalicelib.urls import UrlPolicy
from chalicelib import validation

# Resolution is the policy's business (tests/unit/test_urls.py); here every name is public.
PUBLIC = UrlPolicy(schemes=frozenset({"http", "https"}), resolve=lambda host, port: ["93.184.215.14"])
LOCAL = UrlPolicy(schemes=frozenset({"http", "https"}), allow_private=True)


def parse_generate_request(body, policy=PUBLIC):
    return validation.parse_generate_request(body, policy)

MEDIA = {"stability-video": "video", "flux-schnell": "image", "sdxl": "image",
         "musicgen": "audio"}
REQUIRED = {"stability-video": {"image": "https://example.com/input-image.jpg"},
            "flux-schnell": {"prompt": "p"}, "sdxl": {"prompt": "p"}, "musicgen": {"prompt": "p"}}

# (model, field, lowest allowed, highest allowed, step past the edge). Spec ranges
# where it gives them; the rest are Replicate's own limits for the model.
RANGES = [
    ("stability-video", "motion_bucket_id", 1, 255, 1),
    ("stability-video", "fps", 5, 30, 1),
    ("stability-video", "num_frames", 14, 25, 1),
    ("flux-schnell", "num_outputs", 1, 4, 1),
    ("flux-schnell", "width", 256, 2048, 1),
    ("flux-schnell", "height", 256, 2048, 1),
    ("sdxl", "width", 256, 1536, 8),
    ("sdxl", "height", 256, 1536, 8),
    ("sdxl", "num_inference_steps", 1, 500, 1),
    ("sdxl", "guidance_scale", 1, 50, 0.1),
    ("musicgen", "duration", 1, 30, 1),
    ("musicgen", "temperature", 0.01, 2, 0.01),
    ("musicgen", "top_k", 0, 1000, 1),
    ("musicgen", "top_p", 0, 1, 0.1),
]

DEFAULTS = {
    "stability-video": {"motion_bucket_id": 127, "fps": 24, "num_frames": 25},
    "flux-schnell": {"width": 1024, "height": 1024, "num_outputs": 1},
    "sdxl": {"width": 1024, "height": 1024, "num_inference_steps": 50, "guidance_scale": 7.5,
             "negative_prompt": None},
    "musicgen": {"duration": 8, "temperature": 1.0, "top_k": 250, "top_p": 0.0},
}


def request(model, **params):
    return {"userId": "user123", "mediaType": MEDIA[model], "modelId": model,
            "parameters": {**REQUIRED[model], **params}}


def test_catalog_has_the_four_models_with_spec_prices_and_times():
    assert {(m.model_id, m.media_type, m.price_usd, m.estimated_time_s)
            for m in CATALOG.values()} == {
        ("stability-video", "video", 0.05, 60), ("flux-schnell", "image", 0.003, 5),
        ("sdxl", "image", 0.01, 10), ("musicgen", "audio", 0.02, 30)}


@pytest.mark.parametrize("model,field,low,high,step", RANGES)
def test_range_edges_pass_and_one_past_fails(model, field, low, high, step):
    for value in (low, high):
        parsed = parse_generate_request(request(model, **{field: value}))
        assert getattr(parsed.parameters, field) == value
    for value in (low - step, high + step):
        with pytest.raises(ValidationFailed) as err:
            parse_generate_request(request(model, **{field: round(value, 6)}))
        assert err.value.code == "OUT_OF_RANGE"
        assert f"parameters.{field}" in err.value.details
        assert f"to {high}" in err.value.details


@pytest.mark.parametrize("value", [0, 0.0, -0.0, -0.5])
def test_musicgen_temperature_must_be_above_zero(value):
    """Sampling divides by it: 0 and -0.0 would fail at the model, after being accepted."""
    with pytest.raises(ValidationFailed) as err:
        parse_generate_request(request("musicgen", temperature=value))
    assert err.value.code == "OUT_OF_RANGE" and "above 0 to 2" in err.value.details


@pytest.mark.parametrize("model", sorted(DEFAULTS))
def test_defaults(model):
    parsed = parse_generate_request(request(model))
    for field, value in DEFAULTS[model].items():
        assert getattr(parsed.parameters, field) == value


@pytest.mark.parametrize("model,missing", [(m, f) for m, r in REQUIRED.items() for f in r])
def test_required_parameters(model, missing):
    body = request(model)
    del body["parameters"][missing]
    with pytest.raises(ValidationFailed) as err:
        parse_generate_request(body)
    assert err.value.code == "MISSING_PARAMETER" and missing in err.value.details


@pytest.mark.parametrize("model,field,value", [
    ("flux-schnell", "width", "1024"), ("flux-schnell", "num_outputs", 1.5),
    ("musicgen", "duration", True), ("sdxl", "prompt", 5), ("stability-video", "image", 7)])
def test_wrong_types(model, field, value):
    with pytest.raises(ValidationFailed) as err:
        parse_generate_request(request(model, **{field: value}))
    assert err.value.code == "INVALID_TYPE" and f"parameters.{field}" in err.value.details


def test_unknown_parameter_names_the_allowed_ones():
    with pytest.raises(ValidationFailed) as err:
        parse_generate_request(request("flux-schnell", steps=4))
    assert err.value.code == "UNKNOWN_PARAMETER" and "num_outputs" in err.value.details


def test_media_type_must_match_the_model():
    with pytest.raises(MediaTypeMismatch) as err:
        parse_generate_request(dict(request("musicgen"), mediaType="video"))
    assert err.value.code == "MEDIA_TYPE_MISMATCH"


def test_top_level_prompt_fills_a_missing_parameter_prompt_only():
    body = request("musicgen")
    del body["parameters"]["prompt"]
    assert parse_generate_request({**body, "prompt": "top"}).parameters.prompt == "top"
    assert parse_generate_request({**request("musicgen"), "prompt": "top"}).parameters.prompt == "p"


def test_a_top_level_prompt_for_a_model_without_one_is_rejected_not_dropped():
    with pytest.raises(ValidationFailed) as err:
        parse_generate_request({**request("stability-video"), "prompt": "a cat"})
    assert err.value.code == "UNKNOWN_PARAMETER" and "prompt" in err.value.details


def test_estimated_cost_is_price_times_outputs():
    parsed = parse_generate_request(request("flux-schnell", num_outputs=3))
    assert parsed.model.estimated_cost(parsed.parameters) == pytest.approx(0.009)


def test_adapters_translate_to_replicates_inputs():
    video = parse_generate_request(request("stability-video", fps=12, num_frames=14))
    assert video.model.to_replicate_input(video.parameters) == {
        "input_image": "https://example.com/input-image.jpg", "frames_per_second": 12,
        "motion_bucket_id": 127, "video_length": "14_frames_with_svd"}
    flux = parse_generate_request(request("flux-schnell", width=1920, height=1080,
                                          num_outputs=2))
    flux_input = flux.model.to_replicate_input(flux.parameters)
    assert flux_input["aspect_ratio"] == "16:9" and flux_input["num_outputs"] == 2
    assert "width" not in flux_input
    music = parse_generate_request(request("musicgen", duration=12, output_format="mp3"))
    assert music.model.to_replicate_input(music.parameters)["duration"] == 12


@pytest.mark.parametrize("url,allowed_locally", [
    ("http://127.0.0.1/x.jpg", True), ("http://[::1]/x.jpg", True),
    ("http://169.254.169.254/latest/meta-data", True), ("http://10.1.2.3/x.jpg", True),
    ("http://192.168.0.2/x.jpg", True), ("http://localhost/x.jpg", True),
    ("http://printer.local/x.jpg", True), ("http://intranet/x.jpg", True),
    ("http://kubernetes.default.svc/x.jpg", True), ("http://192.0.0.8/x.jpg", True),
    ("http://[2002:a9fe:a9fe::]/x.jpg", True), ("http://[64:ff9b::a9fe:a9fe]/x.jpg", True),
    ("http://[::127.0.0.1]/x.jpg", True), ("http://[::ffff:0:7f00:1]/x.jpg", True),
    ("http://example.com:8080/x.jpg", True),
    ("https://user:secret@example.com/x.jpg", False), ("ftp://example.com/x.jpg", False),
    ("file:///etc/passwd", False)])
def test_input_image_url_policy(url, allowed_locally):
    with pytest.raises(ValidationFailed) as err:
        parse_generate_request(request("stability-video", image=url))
    assert "parameters.image" in err.value.details
    assert "secret" not in err.value.details
    if allowed_locally:
        parse_generate_request(request("stability-video", image=url), LOCAL)
    else:
        with pytest.raises(DomainError):
            parse_generate_request(request("stability-video", image=url), LOCAL)


def test_input_image_on_a_name_resolving_to_a_private_address_is_rejected():
    policy = UrlPolicy(schemes=frozenset({"http", "https"}),
                       resolve=lambda host, port: ["93.184.215.14", "10.0.0.7"])
    with pytest.raises(ValidationFailed) as err:
        parse_generate_request(request("stability-video", image="https://rebind.example/x.jpg"),
                               policy)
    assert err.value.code == "INVALID_VALUE"


def test_the_flux_size_note_is_what_the_mapping_and_the_simulator_do():
    from chalicelib.catalog import FLUX_SIZE_NOTE, FluxSchnellParameters, flux_schnell_input
    from local.replicate_sim.media import flux_size
    sent = flux_schnell_input(FluxSchnellParameters(prompt="x", width=768, height=512))
    assert (sent["aspect_ratio"], sent["megapixels"]) == ("3:2", "0.25")
    assert flux_size(sent["aspect_ratio"], sent["megapixels"]) == (624, 416)
    assert "768x512 asks for 3:2 at 0.25 MP" in FLUX_SIZE_NOTE and "624x416" in FLUX_SIZE_NOTE


@pytest.mark.parametrize("field,value", [("top_p", 1e-200), ("top_p", 5e-324),
                                         ("temperature", 1e-320), ("temperature", 1e-10),
                                         ("top_p", -1e-300)])
def test_a_number_too_near_zero_to_mean_anything_is_out_of_range(field, value):
    body = {"userId": "u", "mediaType": "audio", "modelId": "musicgen",
            "parameters": {"prompt": "p", field: value}}
    with pytest.raises(ValidationFailed) as err:
        parse_generate_request(body)
    assert err.value.code == "OUT_OF_RANGE" and f"parameters.{field}" in err.value.details
    ok = dict(body, parameters={"prompt": "p", field: 1e-9})
    assert getattr(parse_generate_request(ok).parameters, field) == 1e-9


@pytest.mark.parametrize("url", ["http://a..b/", "https://a..b/hook",
                                 f"http://{'x' * 70}.example.com/hook",
                                 f"https://{'x' * 70}.example.com/hook", "http://exa mple.com/",
                                 f"https://{'a.' * 130}com/"])
@pytest.mark.parametrize("policy", ["deployed", "local"])
def test_a_webhook_url_with_an_impossible_host_name_is_refused_at_submit(url, policy,
                                                                         monkeypatch):
    from tests.support.settings import settings_with
    local = settings_with(monkeypatch, {"VSL_ALLOW_PRIVATE_INPUTS": "true"}).webhook_policy
    body = {"userId": "u", "mediaType": "image", "modelId": "flux-schnell",
            "parameters": {"prompt": "p"}, "webhookUrl": url}
    with pytest.raises(ValidationFailed) as err:
        validation.parse_generate_request(
            body, LOCAL, webhook_policy=local if policy == "local" else PUBLIC)
    assert err.value.code == "INVALID_VALUE" and "webhookUrl" in err.value.details


@pytest.mark.parametrize("depth", [65, 2000, 100_000])
def test_a_body_nested_deeper_than_any_request_is_invalid_json(depth):
    """Python 3.13 parses thousands of levels without a RecursionError: the depth is
    bounded before parsing."""
    from chalicelib.errors import InvalidJson
    from chalicelib.validation import parse_json
    with pytest.raises(InvalidJson, match="nested too deeply"):
        parse_json(b'{"userId": ' + b"[" * depth + b"]" * depth + b"}")


def test_brackets_inside_strings_are_not_nesting():
    from chalicelib.validation import MAX_JSON_DEPTH, nesting_depth, parse_json
    assert nesting_depth('{"a": [1, {"b": "[[[\\"{{"}]}') == 3
    text = '{"p": "' + "[" * 500 + '"}'
    assert parse_json(text.encode())["p"] == "[" * 500
    deep_enough = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json(deep_enough.encode()) is not None

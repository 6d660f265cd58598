"""The table of fal models: our parameters in fal's names, what fal cannot serve,
and where fal's results keep their URLs (fal's shapes, as its model pages give them)."""
import pytest

from chalicelib.catalog import CATALOG
from chalicelib.providers.fal_models import FAL_MODELS, NotServable


def params(model_id, **values):
    return CATALOG[model_id].parameters(**values)


def test_every_catalog_model_has_a_fal_model_of_its_media_type():
    assert set(FAL_MODELS) == set(CATALOG)
    for model_id, fal in FAL_MODELS.items():
        assert fal.media_type == CATALOG[model_id].media_type


@pytest.mark.parametrize("model_id,endpoint,app", [
    ("flux-schnell", "fal-ai/flux/schnell", "fal-ai/flux"),
    ("sdxl", "fal-ai/fast-sdxl", "fal-ai/fast-sdxl"),
    ("stability-video", "fal-ai/stable-video", "fal-ai/stable-video"),
    ("musicgen", "fal-ai/stable-audio", "fal-ai/stable-audio"),
])
def test_endpoints_and_their_app_ids(model_id, endpoint, app):
    assert (FAL_MODELS[model_id].endpoint_id, FAL_MODELS[model_id].app_id) == (endpoint, app)


def test_flux_schnell_takes_the_exact_size_and_count():
    fal_input = FAL_MODELS["flux-schnell"].input_for(
        params("flux-schnell", prompt="a cat", width=1200, height=800, num_outputs=3))
    assert fal_input == {"prompt": "a cat", "image_size": {"width": 1200, "height": 800},
                         "num_images": 3, "output_format": "png"}


def test_sdxl_maps_its_settings_and_refuses_what_fast_sdxl_cannot_do():
    fal = FAL_MODELS["sdxl"]
    fal_input = fal.input_for(params("sdxl", prompt="x", negative_prompt="blur", width=768,
                                     height=512, num_inference_steps=30, guidance_scale=5))
    assert fal_input == {"prompt": "x", "negative_prompt": "blur",
                         "image_size": {"width": 768, "height": 512},
                         "num_inference_steps": 30, "guidance_scale": 5, "num_images": 1,
                         "format": "png"}
    assert "negative_prompt" not in fal.input_for(params("sdxl", prompt="x"))
    with pytest.raises(NotServable, match="num_inference_steps"):
        fal.input_for(params("sdxl", prompt="x", num_inference_steps=66))
    with pytest.raises(NotServable, match="guidance_scale"):
        fal.input_for(params("sdxl", prompt="x", guidance_scale=20.5))


def test_stable_video_maps_fps_and_refuses_14_frames_or_slow_fps():
    fal = FAL_MODELS["stability-video"]
    assert fal.input_for(params("stability-video", image="https://example.com/a.jpg", fps=12)) == {
        "image_url": "https://example.com/a.jpg", "motion_bucket_id": 127, "fps": 12}
    with pytest.raises(NotServable, match="25 frames"):
        fal.input_for(params("stability-video", image="https://example.com/a.jpg", num_frames=14))
    with pytest.raises(NotServable, match="fps"):
        fal.input_for(params("stability-video", image="https://example.com/a.jpg", fps=5))


def test_musicgen_becomes_stable_audio_only_when_nothing_is_lost():
    fal = FAL_MODELS["musicgen"]
    assert fal.input_for(params("musicgen", prompt="jazz", duration=12)) == {
        "prompt": "jazz", "seconds_total": 12}
    with pytest.raises(NotServable, match="WAV"):
        fal.input_for(params("musicgen", prompt="jazz", output_format="mp3"))
    with pytest.raises(NotServable, match="temperature"):
        fal.input_for(params("musicgen", prompt="jazz", temperature=0.5))


def test_output_urls_are_found_where_fal_puts_them():
    image = {"images": [{"url": "https://v3.fal.media/a.png", "width": 1, "height": 1},
                        {"url": "https://v3.fal.media/b.png"}], "seed": 1}
    assert FAL_MODELS["sdxl"].output_urls(image) == ["https://v3.fal.media/a.png",
                                                     "https://v3.fal.media/b.png"]
    video = {"video": {"url": "https://v3.fal.media/v.mp4"}, "seed": 2}
    assert FAL_MODELS["stability-video"].output_urls(video) == ["https://v3.fal.media/v.mp4"]
    assert FAL_MODELS["musicgen"].output_urls(
        {"audio_file": {"url": "https://v3.fal.media/a.wav"}}) == ["https://v3.fal.media/a.wav"]
    # A result without outputs, or malformed, yields none rather than raising.
    assert FAL_MODELS["flux-schnell"].output_urls({"images": None}) == []
    assert FAL_MODELS["flux-schnell"].output_urls({"images": [{"url": 5}, "x"]}) == []
    assert FAL_MODELS["stability-video"].output_urls({}) == []

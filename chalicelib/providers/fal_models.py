"""Which fal.ai model serves each catalog model, and how: our parameters in
fal's input names, the limits fal puts on them, and where fal's result keeps
the output URLs. The service's fal adapter and the fal simulator
(``local/fal_sim``) both read this table, so it is the one place these facts live.

Sources (fal's model pages and the input/output types fal generates for its
JavaScript client, @fal-ai/client ``types/endpoints.ts``):
- fal-ai/flux/schnell: input ``prompt``, ``image_size`` (a preset name or
  ``{"width", "height"}``, each at most 14142), ``num_inference_steps`` (default 4,
  1 to 12 as fal-ai/flux-1/schnell's page gives it), ``num_images``, ``seed``,
  ``output_format`` ("jpeg" | "png", default "jpeg"), ``enable_safety_checker``;
  output ``images[]`` of ``{url, width, height, content_type}``, ``seed``,
  ``has_nsfw_concepts``, ``timings``, ``prompt``. $0.003 per megapixel.
- fal-ai/fast-sdxl: input ``prompt``, ``negative_prompt``, ``image_size`` (default
  "square_hd"), ``num_inference_steps`` (default 25), ``guidance_scale`` (default
  7.5), ``num_images``, ``seed``, ``format`` ("jpeg" | "png", default
  "jpeg"); output as flux. About $0.0025 an image.
- fal-ai/stable-video: input ``image_url``, ``motion_bucket_id`` (default 127, 1 to
  255), ``cond_aug`` (default 0.02), ``fps`` (default 25), ``seed``; output
  ``video`` ``{url, content_type, file_name, file_size}``, ``seed``. $0.075 a video.
- fal-ai/stable-audio (Stable Audio Open; fal hosts no MusicGen): input
  ``prompt``, ``seconds_start``, ``seconds_total`` (default 30; the model makes at
  most 47 s), ``steps`` (default 100); output ``audio_file`` ``{url,
  content_type, file_name, file_size}``, a WAV. No price in what we checked.
Limits marked "not published" below are the ones fal's pages we could read did
not state; the values are the models' own (the simulator enforces them) and
should be checked against fal before relying on them.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from chalicelib.catalog import (FluxSchnellParameters, ModelParameters, MusicgenParameters,
                                SdxlParameters, StabilityVideoParameters)

Range = Tuple[float, float]

# fal's preset image sizes (fal's image toolkit): name -> (width, height).
IMAGE_SIZE_PRESETS = {"square_hd": (1024, 1024), "square": (512, 512),
                      "portrait_4_3": (768, 1024), "portrait_16_9": (576, 1024),
                      "landscape_4_3": (1024, 768), "landscape_16_9": (1024, 576)}
IMAGE_SIDE_MAX = 14142


class NotServable(ValueError):
    """fal's model cannot honour this request as asked (a parameter outside its
    limits, or with no equivalent): the job must run elsewhere, not be altered."""


@dataclass(frozen=True)
class FalModel:
    endpoint_id: str                   # the submit path: POST queue.fal.run/{endpoint_id}
    media_type: str
    output_path: Tuple[str, ...]       # where the URLs are in the result; "*" walks a list
    limits: Dict[str, Range]           # fal's input name -> (min, max)
    to_input: Callable[["FalModel", ModelParameters], dict] = field(repr=False)
    price_usd: Optional[float] = None  # per output, as fal's pricing line reads; None: not found
    price_note: str = ""

    @property
    def app_id(self) -> str:
        """owner/app: the status, result and cancel URLs use this, not the endpoint path."""
        return "/".join(self.endpoint_id.split("/")[:2])

    def input_for(self, params: ModelParameters) -> dict:
        """fal's input for our parameters; NotServable when fal cannot honour them."""
        return self.to_input(self, params)

    def check(self, name: str, value) -> None:
        low, high = self.limits[name]
        if not low <= value <= high:
            raise NotServable(f"{self.endpoint_id} takes {name} from {low:g} to {high:g}; "
                              f"asked {value:g}")

    def output_urls(self, result: dict) -> List[str]:
        """The output URLs of a completed request's result, in order."""
        found = [result]
        for step in self.output_path:
            if step == "*":
                found = [item for value in found for item in (value or [])]
            else:
                found = [value[step] for value in found
                         if isinstance(value, dict) and step in value]
        return [url for url in found if isinstance(url, str)]


def _flux_schnell(model: FalModel, p: FluxSchnellParameters) -> dict:
    model.check("num_images", p.num_outputs)
    return {"prompt": p.prompt, "image_size": {"width": p.width, "height": p.height},
            "num_images": p.num_outputs, "output_format": "png"}


def _fast_sdxl(model: FalModel, p: SdxlParameters) -> dict:
    model.check("num_inference_steps", p.num_inference_steps)
    model.check("guidance_scale", p.guidance_scale)
    data = {"prompt": p.prompt, "image_size": {"width": p.width, "height": p.height},
            "num_inference_steps": p.num_inference_steps, "guidance_scale": p.guidance_scale,
            "num_images": 1, "format": "png"}
    if p.negative_prompt:
        data["negative_prompt"] = p.negative_prompt
    return data


def _stable_video(model: FalModel, p: StabilityVideoParameters) -> dict:
    if p.num_frames != 25:
        # fal's stable-video always makes SVD-XT's 25 frames.
        raise NotServable(f"{model.endpoint_id} makes 25 frames; asked {p.num_frames}")
    model.check("fps", p.fps)
    return {"image_url": str(p.image), "motion_bucket_id": p.motion_bucket_id, "fps": p.fps}


MUSICGEN_SAMPLING_DEFAULTS = {"temperature": 1.0, "top_k": 250, "top_p": 0.0}


def _stable_audio(model: FalModel, p: MusicgenParameters) -> dict:
    if p.output_format != "wav":
        raise NotServable(f"{model.endpoint_id} answers WAV only; asked {p.output_format}")
    changed = sorted(k for k, v in MUSICGEN_SAMPLING_DEFAULTS.items() if getattr(p, k) != v)
    if changed:
        # Stable Audio has no such sampling settings: dropping asked ones would alter the job.
        raise NotServable(f"{model.endpoint_id} has no equivalent of {', '.join(changed)}")
    model.check("seconds_total", p.duration)
    return {"prompt": p.prompt, "seconds_total": p.duration}


# Keyed by our catalog's model ids.
FAL_MODELS: Dict[str, FalModel] = {
    "flux-schnell": FalModel(
        "fal-ai/flux/schnell", "image", ("images", "*", "url"),
        {"num_inference_steps": (1, 12),
         "num_images": (1, 4)},  # num_images: not published
        _flux_schnell, 0.003, "per megapixel"),
    "sdxl": FalModel(
        "fal-ai/fast-sdxl", "image", ("images", "*", "url"),
        # not published; guidance_scale's is fal's SDXL LoRA endpoint's
        {"guidance_scale": (0, 20), "num_inference_steps": (1, 65), "num_images": (1, 8)},
        _fast_sdxl, 0.0025, "about, per image"),
    "stability-video": FalModel(
        "fal-ai/stable-video", "video", ("video", "url"),
        {"motion_bucket_id": (1, 255),
         "cond_aug": (0, 10), "fps": (10, 100)},  # these two: not published
        _stable_video, 0.075, "per video"),
    "musicgen": FalModel(
        "fal-ai/stable-audio", "audio", ("audio_file", "url"),
        {"seconds_start": (0, 47), "seconds_total": (0, 47),  # Stable Audio Open's 47 s
         "steps": (1, 1000)},  # not published
        _stable_audio),
}

"""The model catalog: what each public model accepts, costs and becomes on Replicate.

Adding a model means adding one ``CatalogEntry`` to ``CATALOG``; routes,
validation, pricing and ``GET /models`` follow from it.
"""
from dataclasses import dataclass
from typing import Callable, Dict, Literal, Optional, Sequence, Type

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.replicate import ModelRef

MediaType = Literal["image", "video", "audio"]

# A non-zero number nearer to 0 than this (1e-200, a subnormal such as 5e-324) is out
# of range: no model resolves it, and the job's record could not keep it (DynamoDB's
# numbers stop at 1e-130).
FLOAT_RESOLUTION = 1e-9


class ModelParameters(BaseModel):
    # Unknown parameters and wrong types are client errors, not silently coerced.
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _resolvable(cls, value):
        if isinstance(value, float) and value != 0 and abs(value) < FLOAT_RESOLUTION:
            raise PydanticCustomError("float_resolution",
                                      "Input should be 0 or at least {resolution} away from 0",
                                      {"resolution": FLOAT_RESOLUTION})
        return value

    def outputs_requested(self) -> int:
        return 1


# flux-schnell takes an aspect ratio and a megapixel count, not a size: what a client
# asks for is mapped (flux_schnell_input), and the result reports the file's real size.
FLUX_SIZE_NOTE = ("Wanted {}: flux-schnell draws the nearest of its aspect ratios at 0.25 "
                  "megapixels (width x height up to 400,000) or 1 megapixel, so the image's "
                  "size differs: 768x512 asks for 3:2 at 0.25 MP (the local simulator draws "
                  "624x416); the result reports the real size")


class FluxSchnellParameters(ModelParameters):
    prompt: str = Field(min_length=1, max_length=4000, description="A detailed description of the image")
    width: int = Field(1024, ge=256, le=2048, description=FLUX_SIZE_NOTE.format("width"))
    height: int = Field(1024, ge=256, le=2048, description=FLUX_SIZE_NOTE.format("height"))
    num_outputs: int = Field(1, ge=1, le=4, description="Number of images")

    def outputs_requested(self) -> int:
        return self.num_outputs


class SdxlParameters(ModelParameters):
    prompt: str = Field(min_length=1, max_length=4000, description="A detailed description")
    negative_prompt: Optional[str] = Field(None, max_length=4000, description="What to avoid in the image")
    width: int = Field(1024, ge=256, le=1536, multiple_of=8)
    height: int = Field(1024, ge=256, le=1536, multiple_of=8)
    num_inference_steps: int = Field(50, ge=1, le=500)
    guidance_scale: float = Field(7.5, ge=1, le=50)


# What marks a parameter as an input image in the catalog (and in GET /models): it
# takes a URL, or ``upload:<uploadId>`` of the caller's upload, or a small data: URI.
IMAGE_INPUT = "x-vsl-image-input"


def image_input(description: str):
    return Field(description=description, json_schema_extra={IMAGE_INPUT: True})


class StabilityVideoParameters(ModelParameters):
    image: HttpUrl = image_input("The input image: an http(s) URL, upload:<uploadId> of your "
                                 "upload (POST /uploads), or a data: URI of a small PNG, JPEG "
                                 "or WebP")
    motion_bucket_id: int = Field(127, ge=1, le=255)
    fps: int = Field(24, ge=5, le=30)
    num_frames: int = Field(25, ge=14, le=25, description="14 uses SVD, more uses SVD-XT (25 frames)")


class MusicgenParameters(ModelParameters):
    prompt: str = Field(min_length=1, max_length=4000, description="Description of the music")
    duration: int = Field(8, ge=1, le=30, description="Seconds of audio")
    # Sampling divides by the temperature: 0 (or -0.0) fails at the model, so it is excluded.
    temperature: float = Field(1.0, gt=0, le=2, description="Above 0, at most 2")
    top_k: int = Field(250, ge=0, le=1000)
    top_p: float = Field(0.0, ge=0, le=1)
    output_format: Literal["wav", "mp3"] = "wav"


# flux-schnell takes an aspect ratio, not a size.
FLUX_ASPECT_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")


def nearest_aspect_ratio(width: int, height: int) -> str:
    def ratio(r: str) -> float:
        w, h = r.split(":")
        return int(w) / int(h)
    return min(FLUX_ASPECT_RATIOS, key=lambda r: abs(ratio(r) - width / height))


def flux_schnell_input(p: FluxSchnellParameters) -> dict:
    return {"prompt": p.prompt, "aspect_ratio": nearest_aspect_ratio(p.width, p.height),
            "num_outputs": p.num_outputs, "output_format": "png",
            # 0.25 MP when the asked area is nearer to it than to 1 MP.
            "megapixels": "0.25" if p.width * p.height <= 400_000 else "1"}


def sdxl_input(p: SdxlParameters) -> dict:
    data = p.model_dump(exclude_none=True)
    return data


def stability_video_input(p: StabilityVideoParameters) -> dict:
    return {"input_image": str(p.image), "frames_per_second": p.fps,
            "motion_bucket_id": p.motion_bucket_id,
            "video_length": "14_frames_with_svd" if p.num_frames <= 14 else "25_frames_with_svd_xt"}


def musicgen_input(p: MusicgenParameters) -> dict:
    return p.model_dump()


@dataclass(frozen=True)
class CatalogEntry:
    model_id: str
    media_type: MediaType
    description: str
    replicate_model: ModelRef
    price_usd: float
    estimated_time_s: int
    parameters: Type[ModelParameters]
    to_replicate_input: Callable[[ModelParameters], dict]

    def estimated_cost(self, params: ModelParameters) -> float:
        return round(self.price_usd * params.outputs_requested(), 6)


CATALOG: Dict[str, CatalogEntry] = {e.model_id: e for e in (
    CatalogEntry("stability-video", "video",
                 "Generate video from a single image using Stable Video Diffusion.",
                 ModelRef("stability-ai/stable-video-diffusion"), 0.05, 60,
                 StabilityVideoParameters, stability_video_input),
    CatalogEntry("flux-schnell", "image",
                 "Fast image generation with good quality from Black Forest Labs.",
                 ModelRef("black-forest-labs/flux-schnell", official=True), 0.003, 5,
                 FluxSchnellParameters, flux_schnell_input),
    CatalogEntry("sdxl", "image",
                 "High-quality image generation with Stable Diffusion XL.",
                 ModelRef("stability-ai/sdxl"), 0.01, 10,
                 SdxlParameters, sdxl_input),
    CatalogEntry("musicgen", "audio",
                 "Generate music from text prompts using Meta's MusicGen.",
                 ModelRef("meta/musicgen"), 0.02, 30,
                 MusicgenParameters, musicgen_input),
)}


def image_parameters(entry: CatalogEntry) -> list:
    """The names of the model's input image parameters."""
    return [name for name, info in entry.parameters.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get(IMAGE_INPUT)]


def describe_catalog(providers: Callable[[str], Sequence[str]] = lambda model_id: ()) -> list:
    """``GET /models``: each model with its parameters' JSON Schema and the providers
    that may run it, preferred first (``providers``: the routing's order)."""
    from chalicelib.route_models import ModelInfo
    return [ModelInfo(modelId=e.model_id, mediaType=e.media_type, description=e.description,
                      pricing={"usd": e.price_usd, "per": "output"},
                      estimatedTime=e.estimated_time_s, providers=list(providers(e.model_id)),
                      parameters=e.parameters.model_json_schema()).model_dump(mode="json")
            for e in CATALOG.values()]

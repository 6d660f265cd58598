"""The fal simulator's models: which ones exist, and their limits and output
places, come from ``chalicelib.providers.fal_models.FAL_MODELS``; what else only
fal knows lives here, keyed by endpoint id: each model's input schema (fal's
apps are FastAPI apps, so inputs are checked as pydantic checks them and refused
with FastAPI's 422 ``detail`` list), and how to make real media for its result.
"""
import json
import random
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Literal, Optional, Type, Union

from pydantic import BaseModel, Field, ValidationError

from chalicelib.providers.fal_models import FAL_MODELS, IMAGE_SIDE_MAX, IMAGE_SIZE_PRESETS, FalModel
from local.replicate_sim import media
from local.replicate_sim.models import ModelError

ImageSizeName = Literal["square_hd", "square", "portrait_4_3", "portrait_16_9",
                        "landscape_4_3", "landscape_16_9"]


def _limited(endpoint_id: str, name: str, default, kind=int):
    """A field whose range is fal's, as FAL_MODELS states it."""
    model = next(m for m in FAL_MODELS.values() if m.endpoint_id == endpoint_id)
    low, high = model.limits[name]
    return Field(default, ge=kind(low), le=kind(high))


class ImageSize(BaseModel):
    width: int = Field(512, gt=0, le=IMAGE_SIDE_MAX)
    height: int = Field(512, gt=0, le=IMAGE_SIDE_MAX)


class FluxSchnellInput(BaseModel):
    prompt: str
    image_size: Union[ImageSize, ImageSizeName] = "landscape_4_3"
    num_inference_steps: int = _limited("fal-ai/flux/schnell", "num_inference_steps", 4)
    seed: Optional[int] = None
    num_images: int = _limited("fal-ai/flux/schnell", "num_images", 1)
    output_format: Literal["jpeg", "png"] = "jpeg"
    enable_safety_checker: bool = True
    sync_mode: bool = False
    acceleration: Literal["none", "regular", "high"] = "none"


class FastSdxlInput(BaseModel):
    prompt: str
    negative_prompt: str = ""
    image_size: Union[ImageSize, ImageSizeName] = "square_hd"
    num_inference_steps: int = _limited("fal-ai/fast-sdxl", "num_inference_steps", 25)
    guidance_scale: float = _limited("fal-ai/fast-sdxl", "guidance_scale", 7.5, float)
    seed: Optional[int] = None
    num_images: int = _limited("fal-ai/fast-sdxl", "num_images", 1)
    format: Literal["jpeg", "png"] = "jpeg"
    enable_safety_checker: bool = True
    expand_prompt: bool = False
    safety_checker_version: Literal["v1", "v2"] = "v1"
    sync_mode: bool = False


class StableVideoInput(BaseModel):
    image_url: str
    motion_bucket_id: int = _limited("fal-ai/stable-video", "motion_bucket_id", 127)
    cond_aug: float = _limited("fal-ai/stable-video", "cond_aug", 0.02, float)
    fps: int = _limited("fal-ai/stable-video", "fps", 25)
    seed: Optional[int] = None


class StableAudioInput(BaseModel):
    prompt: str
    seconds_start: int = _limited("fal-ai/stable-audio", "seconds_start", 0)
    seconds_total: int = _limited("fal-ai/stable-audio", "seconds_total", 30)
    steps: int = _limited("fal-ai/stable-audio", "steps", 100)


@dataclass(frozen=True)
class Made:
    """One output file as the model made it."""
    name: str
    data: bytes
    content_type: str
    width: Optional[int] = None
    height: Optional[int] = None


@dataclass(frozen=True)
class Served:
    """An output file as the simulator serves it."""
    url: str
    name: str
    content_type: str
    size: int
    width: Optional[int] = None
    height: Optional[int] = None

    def file_json(self) -> dict:
        data = {"url": self.url, "content_type": self.content_type, "file_name": self.name,
                "file_size": self.size}
        if self.width is not None:
            data.update(width=self.width, height=self.height)
        return data


def _size(image_size) -> tuple:
    if isinstance(image_size, str):
        return IMAGE_SIZE_PRESETS[image_size]
    return image_size.width, image_size.height


def _images(inp, fmt: str, seed: int) -> List[Made]:
    width, height = _size(inp.image_size)
    return [Made(f"image-{i}.{fmt}", media.image_bytes(inp.prompt, seed + i, width, height, fmt),
                 f"image/{fmt}", width, height) for i in range(inp.num_images)]


def _image_result(inp, seed: int, files: List[Served], elapsed_s: float) -> dict:
    return {"images": [f.file_json() for f in files], "seed": seed, "prompt": inp.prompt,
            "has_nsfw_concepts": [False] * len(files), "timings": {"inference": elapsed_s}}


def _stable_video(inp: StableVideoInput, seed: int, fetch) -> List[Made]:
    data = media.video_bytes(fetch(inp.image_url), 25, inp.fps, inp.motion_bucket_id, seed)
    return [Made("output.mp4", data, "video/mp4", 1024, 576)]


def _stable_audio(inp: StableAudioInput, seed: int, fetch) -> List[Made]:
    if inp.seconds_total <= inp.seconds_start:
        raise ModelError("seconds_total must be greater than seconds_start")
    data = media.audio_bytes(inp.prompt, seed, inp.seconds_total, "wav", sample_rate=44100)
    return [Made("output.wav", data, "audio/wav")]


@dataclass(frozen=True)
class FalKnowledge:
    """What fal, not our table, knows about one of its models."""
    inputs: Type[BaseModel]
    generate: Callable[[BaseModel, int, Callable[[str], bytes]], List[Made]]
    result: Callable[[BaseModel, int, List[Served], float], dict] = field(repr=False)


KNOWLEDGE: Dict[str, FalKnowledge] = {
    "fal-ai/flux/schnell": FalKnowledge(
        FluxSchnellInput, lambda inp, seed, fetch: _images(inp, inp.output_format, seed),
        _image_result),
    "fal-ai/fast-sdxl": FalKnowledge(
        FastSdxlInput, lambda inp, seed, fetch: _images(inp, inp.format, seed), _image_result),
    "fal-ai/stable-video": FalKnowledge(
        StableVideoInput, _stable_video,
        lambda inp, seed, files, elapsed: {"video": files[0].file_json(), "seed": seed}),
    "fal-ai/stable-audio": FalKnowledge(
        StableAudioInput, _stable_audio,
        lambda inp, seed, files, elapsed: {"audio_file": files[0].file_json()}),
}


class InvalidInput(Exception):
    """A 422 as FastAPI answers it: ``{"detail": [{type, loc, msg, input, ctx?}]}``."""

    def __init__(self, error: ValidationError):
        super().__init__(str(error))
        # ctx may hold objects JSON cannot carry: send them as text, as FastAPI does.
        self.detail = json.loads(json.dumps(
            [{**e, "loc": ["body", *e["loc"]]} for e in error.errors(include_url=False)],
            default=str))


@dataclass(frozen=True)
class SimModel:
    spec: FalModel
    knowledge: FalKnowledge = field(repr=False)

    @property
    def endpoint_id(self) -> str:
        return self.spec.endpoint_id

    @property
    def app_id(self) -> str:
        return self.spec.app_id

    def parse(self, body) -> BaseModel:
        try:
            return self.knowledge.inputs.model_validate(body)
        except ValidationError as e:
            raise InvalidInput(e) from None

    @staticmethod
    def seed_of(inp: BaseModel) -> int:
        seed = getattr(inp, "seed", None)
        return seed if seed is not None else random.randrange(2 ** 32)


def models_from_table(table: Optional[Dict[str, FalModel]] = None) -> Dict[str, SimModel]:
    """One simulated model per fal endpoint our table uses, keyed by endpoint id."""
    table = FAL_MODELS if table is None else table
    models = {}
    for spec in table.values():
        knowledge = KNOWLEDGE.get(spec.endpoint_id)
        if knowledge is None:
            raise LookupError(f"the fal simulator does not know {spec.endpoint_id}: add its "
                              f"input schema and result shape to local/fal_sim/models.py")
        models[spec.endpoint_id] = SimModel(spec, knowledge)
    return models

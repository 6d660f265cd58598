"""The simulator's models: which ones exist comes from our catalog
(``chalicelib.catalog.CATALOG``: owner/name, official, media type); what only
Replicate knows lives here, keyed by owner/name: each model's real input schema
(names, types, defaults, ranges and choices as Replicate publishes them), the
shape of its output (a list of URLs, or one URL) and how to make real media
that looks like its result.
"""
import hashlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from local.replicate_sim import media

# (file name, bytes, content type)
OutputFile = Tuple[str, bytes, str]


class ModelError(Exception):
    """What the model's own code raises: the prediction fails with this message."""


def _enum(values, default, description: str = "") -> dict:
    return {"type": "string", "enum": list(values), "default": default, "description": description}


def _int(default=None, minimum=None, maximum=None, description: str = "") -> dict:
    s = {"type": "integer", "description": description}
    s.update({k: v for k, v in (("default", default), ("minimum", minimum),
                                ("maximum", maximum)) if v is not None})
    return s


def _num(default=None, minimum=None, maximum=None, description: str = "") -> dict:
    return dict(_int(default, minimum, maximum, description), type="number")


def _str(default=None, description: str = "", fmt: Optional[str] = None) -> dict:
    s = {"type": "string", "description": description}
    if default is not None:
        s["default"] = default
    if fmt:
        s["format"] = fmt
    return s


def _bool(default: bool, description: str = "") -> dict:
    return {"type": "boolean", "default": default, "description": description}


# ---- how each model's result is made (inputs arrive with defaults filled in) --

def _flux_schnell(inp: dict, fetch) -> List[OutputFile]:
    width, height = media.flux_size(inp["aspect_ratio"], inp["megapixels"])
    fmt = inp["output_format"]
    seed = inp.get("seed", 42)
    return [(f"out-{i}.{fmt}", media.image_bytes(inp["prompt"], seed + i, width, height, fmt),
             f"image/{fmt}") for i in range(inp["num_outputs"])]


def _sdxl(inp: dict, fetch) -> List[OutputFile]:
    if not 0 < inp["width"] * inp["height"] <= 4096 * 4096:
        raise ModelError("CUDA out of memory. Tried to allocate the image")  # as a GPU would
    seed = inp.get("seed", 42)
    return [(f"out-{i}.png", media.image_bytes(inp["prompt"], seed + i, inp["width"],
                                               inp["height"], "png"), "image/png")
            for i in range(inp["num_outputs"])]


def _stable_video_diffusion(inp: dict, fetch) -> List[OutputFile]:
    frames = 14 if inp["video_length"] == "14_frames_with_svd" else 25
    data = media.video_bytes(fetch(inp["input_image"]), frames, inp["frames_per_second"],
                             inp["motion_bucket_id"], inp.get("seed", 42))
    return [("output.mp4", data, "video/mp4")]


def _musicgen(inp: dict, fetch) -> List[OutputFile]:
    if not inp.get("prompt") and not inp.get("input_audio"):
        raise ModelError("Must provide either prompt or input_audio")
    if inp["duration"] <= 0:
        raise ModelError("duration must be positive")
    fmt = inp["output_format"]
    data = media.audio_bytes(inp.get("prompt") or "", inp.get("seed", 42), inp["duration"], fmt,
                             abs(inp["temperature"]))
    return [(f"out.{fmt}", data, "audio/mpeg" if fmt == "mp3" else "audio/wav")]


@dataclass(frozen=True)
class ReplicateKnowledge:
    """What Replicate, not our catalog, knows about one of its models."""
    description: str
    inputs: Dict[str, dict]
    required: Tuple[str, ...]
    output_is_list: bool  # image models answer a list of URLs; the others one URL
    generate: Callable[[dict, Callable[[str], bytes]], List[OutputFile]]
    run_count: int = 1_000_000
    github_url: Optional[str] = None
    # How many steps the model's progress bar counts for an input (with defaults), as its
    # logs show them; None: the model prints no bar.
    progress_steps: Optional[Callable[[dict], int]] = None


FLUX_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
SDXL_SCHEDULERS = ("DDIM", "DPMSolverMultistep", "HeunDiscrete", "KarrasDPM",
                   "K_EULER_ANCESTRAL", "K_EULER", "PNDM")

KNOWLEDGE: Dict[str, ReplicateKnowledge] = {
    "black-forest-labs/flux-schnell": ReplicateKnowledge(
        "The fastest image generation model tailored for local development and personal use",
        {"prompt": _str(description="Prompt for generated image"),
         "aspect_ratio": _enum(FLUX_RATIOS, "1:1", "Aspect ratio for the generated image"),
         "num_outputs": _int(1, 1, 4, "Number of outputs to generate"),
         "num_inference_steps": _int(4, 1, 4, "Number of denoising steps"),
         "seed": _int(description="Random seed. Set for reproducible generation"),
         "output_format": _enum(("webp", "jpg", "png"), "webp", "Format of the output images"),
         "output_quality": _int(80, 0, 100, "Quality when saving the output images"),
         "disable_safety_checker": _bool(False, "Disable safety checker for generated images."),
         "go_fast": _bool(True, "Run faster predictions with an fp8 quantized model"),
         "megapixels": _enum(("1", "0.25"), "1", "Approximate number of megapixels")},
        ("prompt",), True, _flux_schnell, github_url="https://github.com/replicate/cog-flux",
        progress_steps=lambda inp: inp["num_inference_steps"]),
    "stability-ai/sdxl": ReplicateKnowledge(
        "A text-to-image generative AI model that creates beautiful images",
        {"prompt": _str("An astronaut riding a rainbow unicorn", "Input prompt"),
         "negative_prompt": _str("", "Input Negative Prompt"),
         "image": _str(description="Input image for img2img or inpaint mode", fmt="uri"),
         "mask": _str(description="Input mask for inpaint mode", fmt="uri"),
         "width": _int(1024, description="Width of output image"),
         "height": _int(1024, description="Height of output image"),
         "num_outputs": _int(1, 1, 4, "Number of images to output."),
         "scheduler": _enum(SDXL_SCHEDULERS, "K_EULER", "scheduler"),
         "num_inference_steps": _int(50, 1, 500, "Number of denoising steps"),
         "guidance_scale": _num(7.5, 1, 50, "Scale for classifier-free guidance"),
         "prompt_strength": _num(0.8, 0, 1, "Prompt strength when using img2img / inpaint"),
         "seed": _int(description="Random seed. Leave blank to randomize the seed"),
         "refine": _enum(("no_refiner", "expert_ensemble_refiner", "base_image_refiner"),
                         "no_refiner", "Which refine style to use"),
         "high_noise_frac": _num(0.8, 0, 1, "For expert_ensemble_refiner, the fraction of noise to use"),
         "refine_steps": _int(description="For base_image_refiner, the number of steps to refine"),
         "apply_watermark": _bool(True, "Applies a watermark to enable determining if an image is generated"),
         "lora_scale": _num(0.6, 0, 1, "LoRA additive scale"),
         "replicate_weights": _str(description="Replicate LoRA weights to use"),
         "disable_safety_checker": _bool(False, "Disable safety checker for generated images")},
        (), True, _sdxl, github_url="https://github.com/replicate/cog-sdxl",
        progress_steps=lambda inp: inp["num_inference_steps"]),
    "stability-ai/stable-video-diffusion": ReplicateKnowledge(
        "SVD is a research-only image to video model",
        {"input_image": _str(description="Input image", fmt="uri"),
         "video_length": _enum(("14_frames_with_svd", "25_frames_with_svd_xt"),
                               "14_frames_with_svd", "Use svd to generate 14 frames or svd_xt for 25 frames"),
         "sizing_strategy": _enum(("maintain_aspect_ratio", "crop_to_16_9", "use_image_dimensions"),
                                  "maintain_aspect_ratio", "Decide how to resize the input image"),
         "frames_per_second": _int(6, 5, 30, "Frames per second"),
         "motion_bucket_id": _int(127, 1, 255, "Increase overall motion in the generated video"),
         "cond_aug": _num(0.02, description="Amount of noise to add to input image"),
         "decoding_t": _int(14, description="Number of frames to decode at a time"),
         "seed": _int(description="Random seed. Leave blank to randomize the seed")},
        ("input_image",), False, _stable_video_diffusion,
        # the sampler's steps (decoding prints no bar)
        progress_steps=lambda inp: 25),
    "meta/musicgen": ReplicateKnowledge(
        "Generate music from a prompt or melody",
        {"model_version": _enum(("stereo-melody-large", "stereo-large", "melody-large", "large"),
                                "stereo-melody-large", "Model to use for generation"),
         "prompt": _str(description="A description of the music you want to generate."),
         "input_audio": _str(description="An audio file that will influence the generated music.",
                             fmt="uri"),
         "duration": _int(8, description="Duration of the generated audio in seconds."),
         "continuation": _bool(False, "If True, generated music will continue from input_audio."),
         "continuation_start": _int(0, 0, description="Start time of the audio file to use for continuation."),
         "continuation_end": _int(minimum=0, description="End time of the audio file to use for continuation."),
         "multi_band_diffusion": _bool(False, "If True, the EnCodec tokens will be decoded with MultiBand Diffusion."),
         "normalization_strategy": _enum(("loudness", "clip", "peak", "rms"), "loudness",
                                         "Strategy for normalizing audio."),
         "top_k": _int(250, description="Reduces sampling to the k most likely tokens."),
         "top_p": _num(0.0, description="Reduces sampling to tokens with cumulative probability of p."),
         "temperature": _num(1.0, description="Controls the 'conservativeness' of the sampling process."),
         "classifier_free_guidance": _int(3, description="Increases the influence of inputs on the output."),
         "output_format": _enum(("wav", "mp3"), "wav", "Output format for generated audio."),
         "seed": _int(description="Seed for random number generator.")},
        (), False, _musicgen, github_url="https://github.com/replicate/cog-musicgen"),
}

COG_VERSION = "0.9.4"
VERSION_CREATED_AT = "2024-08-01T12:00:00.000000Z"


def version_id(owner_name: str) -> str:
    return hashlib.sha256(f"sim:{owner_name}".encode()).hexdigest()


@dataclass(frozen=True)
class SimModel:
    owner_name: str
    official: bool
    media_type: str
    knowledge: ReplicateKnowledge = field(repr=False)

    @property
    def version(self) -> str:
        return version_id(self.owner_name)

    def openapi_schema(self) -> dict:
        """The version's schema as Cog publishes it: choices become their own
        component schemas referenced through allOf, every input has an x-order."""
        components, properties = {}, {}
        for order, (name, spec) in enumerate(self.knowledge.inputs.items()):
            prop = {"title": name.replace("_", " ").title(), "x-order": order,
                    **{k: v for k, v in spec.items() if k != "enum"}}
            if "enum" in spec:
                components[name] = {"title": name, "description": "An enumeration.",
                                    "type": spec["type"], "enum": spec["enum"]}
                prop = {k: v for k, v in prop.items() if k != "type"}
                prop["allOf"] = [{"$ref": f"#/components/schemas/{name}"}]
            properties[name] = prop
        input_schema = {"type": "object", "title": "Input", "properties": properties}
        if self.knowledge.required:
            input_schema["required"] = list(self.knowledge.required)
        url = {"type": "string", "format": "uri"}
        output = ({"type": "array", "title": "Output", "items": url} if self.knowledge.output_is_list
                  else dict(url, title="Output"))
        return {"openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"},
                "paths": {"/predictions": {"post": {"summary": "Predict", "operationId": "predict_predictions_post"}}},
                "components": {"schemas": {"Input": input_schema, "Output": output, **components}}}

    def version_json(self) -> dict:
        return {"id": self.version, "created_at": VERSION_CREATED_AT, "cog_version": COG_VERSION,
                "openapi_schema": self.openapi_schema()}

    def model_json(self) -> dict:
        owner, name = self.owner_name.split("/")
        k = self.knowledge
        return {"url": f"https://replicate.com/{self.owner_name}", "owner": owner, "name": name,
                "description": k.description, "visibility": "public", "is_official": self.official,
                "github_url": k.github_url, "paper_url": None, "license_url": None,
                "run_count": k.run_count, "cover_image_url": None, "default_example": None,
                "latest_version": self.version_json()}


def models_from_catalog(catalog=None) -> Dict[str, SimModel]:
    """One simulated model per Replicate model our catalog uses."""
    if catalog is None:
        from chalicelib.catalog import CATALOG as catalog
    models = {}
    for entry in catalog.values():
        ref = entry.replicate_model
        knowledge = KNOWLEDGE.get(ref.owner_name)
        if knowledge is None:
            raise LookupError(f"the Replicate simulator does not know {ref.owner_name}: add its "
                              f"input schema and output shape to local/replicate_sim/models.py")
        models[ref.owner_name] = SimModel(ref.owner_name, ref.official, entry.media_type, knowledge)
    return models

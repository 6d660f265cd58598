"""Turn a POST /generate-media body into a validated request, or a 400 that says why."""
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Type

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from chalicelib.catalog import CATALOG, CatalogEntry, MediaType, ModelParameters
from chalicelib.errors import (InvalidJson, MediaTypeMismatch, PayloadTooLarge, UnknownModel,
                               ValidationFailed)
from chalicelib.urls import UrlPolicy, UrlRejected

USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$"


class GenerateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    # Optional only for keys bound to one user, which supply it.
    userId: Optional[str] = Field(None, pattern=USER_ID_PATTERN)
    mediaType: MediaType
    modelId: str = Field(min_length=1, max_length=64)
    parameters: Dict[str, Any] = Field(default_factory=dict)
    prompt: Optional[str] = Field(None, min_length=1, max_length=4000)
    webhookUrl: Optional[str] = Field(None, min_length=1, max_length=2048)
    cache: Optional[bool] = None


@dataclass(frozen=True)
class GenerateRequest:
    user_id: str
    model: CatalogEntry
    parameters: ModelParameters
    webhook_url: Optional[str] = None
    # Reuse an identical job's result (None: the stage's default).
    cache: Optional[bool] = None


# Pydantic error types grouped into the stable codes clients can branch on.
_ERROR_CODES = {
    "missing": "MISSING_PARAMETER",
    "extra_forbidden": "UNKNOWN_PARAMETER",
    "greater_than": "OUT_OF_RANGE", "greater_than_equal": "OUT_OF_RANGE",
    "less_than": "OUT_OF_RANGE", "less_than_equal": "OUT_OF_RANGE",
    "multiple_of": "OUT_OF_RANGE", "string_too_short": "OUT_OF_RANGE",
    "string_too_long": "OUT_OF_RANGE", "too_short": "OUT_OF_RANGE", "too_long": "OUT_OF_RANGE",
    "float_resolution": "OUT_OF_RANGE", "out_of_range": "OUT_OF_RANGE",
    "int_parsing": "INVALID_TYPE", "float_parsing": "INVALID_TYPE", "bool_parsing": "INVALID_TYPE",
}


def _not_json(constant: str):
    raise ValueError(f"{constant} is not a JSON number")


# No request of ours nests deeper. Python 3.13's parser takes far deeper documents
# without a RecursionError, which every later walk over them could still hit.
MAX_JSON_DEPTH = 64


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text (strings skipped), without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def loads_bounded(raw, max_depth: int = MAX_JSON_DEPTH, **options) -> Any:
    """json.loads (with its ``options``), refusing (RecursionError) a document nested
    deeper than ``max_depth``."""
    text = raw.decode() if isinstance(raw, (bytes, bytearray)) else raw
    if nesting_depth(text) > max_depth:
        raise RecursionError(f"nested deeper than {max_depth}")
    return json.loads(text, **options)


def parse_json(raw: Optional[bytes]) -> Any:
    """Any JSON document; 400 INVALID_JSON for what is not (deep nesting included, and
    what Python's parser lets through: NaN, Infinity, and unpaired surrogates such as
    "\\ud800", which are not Unicode and cannot be stored or hashed)."""
    if not raw:
        raise InvalidJson("The request body is empty; send a JSON object.")
    try:
        document = loads_bounded(raw, parse_constant=_not_json)
        json.dumps(document, ensure_ascii=False).encode("utf-8")
        return document
    except UnicodeEncodeError:
        raise InvalidJson("The body holds a string that is not valid Unicode (an unpaired "
                          "surrogate escape).") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidJson(f"Could not parse the body: {e}") from None
    except RecursionError:
        raise InvalidJson("The body is nested too deeply.") from None


def parse_json_body(raw: Optional[bytes], max_bytes: int) -> dict:
    if raw is not None and len(raw) > max_bytes:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; the limit is {max_bytes}.")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise InvalidJson("The body must be a JSON object.")
    return body


def parse_generate_request(body: dict, input_policy: UrlPolicy,
                           bound_user_id: Optional[str] = None,
                           webhook_policy: Optional[UrlPolicy] = None) -> GenerateRequest:
    envelope = validate_model(GenerateBody, body, prefix="")
    user_id = envelope.userId or bound_user_id
    if user_id is None:
        raise ValidationFailed("userId: Field required (this API key is bound to no user, so "
                               "the body says whom the job is for)", code="MISSING_PARAMETER")
    model = CATALOG.get(envelope.modelId)
    if model is None:
        raise UnknownModel(f"modelId '{envelope.modelId}' is not one of: "
                           f"{', '.join(sorted(CATALOG))}. GET /models lists them.")
    if model.media_type != envelope.mediaType:
        raise MediaTypeMismatch(f"modelId '{model.model_id}' generates {model.media_type}, "
                                f"not {envelope.mediaType}.")
    params = dict(envelope.parameters)
    if envelope.prompt is not None:
        if "prompt" not in model.parameters.model_fields:
            raise ValidationFailed(f"prompt: model '{model.model_id}' takes no prompt",
                                   code="UNKNOWN_PARAMETER")
        params.setdefault("prompt", envelope.prompt)
    parameters = validate_model(model.parameters, params, prefix="parameters.")
    for name, value in parameters:
        if isinstance(value, HttpUrl):
            try:
                input_policy.check(str(value))
            except UrlRejected as e:
                raise ValidationFailed(f"parameters.{name}: the URL {e}",
                                       code="INVALID_VALUE") from None
    if envelope.webhookUrl is not None:
        try:
            (webhook_policy or UrlPolicy()).check(envelope.webhookUrl)
        except UrlRejected as e:
            raise ValidationFailed(f"webhookUrl: the URL {e}", code="INVALID_VALUE") from None
    return GenerateRequest(user_id, model, parameters, envelope.webhookUrl, envelope.cache)


def parse_query(schema: Type[BaseModel], params: dict):
    """A query string as its documented model; an empty value is refused by name."""
    empty = sorted(name for name, value in params.items() if value == "")
    if empty:
        raise ValidationFailed(f"{empty[0]}: must not be empty (leave it out instead)",
                               code="INVALID_VALUE")
    return validate_model(schema, params, prefix="")


def validate_model(schema: Type[BaseModel], data: dict, prefix: str):
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise _to_api_error(schema, e, prefix) from None


def _to_api_error(schema: Type[BaseModel], error: ValidationError,
                  prefix: str) -> ValidationFailed:
    problems, codes = [], []
    for err in error.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"])
        codes.append(_ERROR_CODES.get(err["type"],
                                      "INVALID_TYPE" if err["type"].endswith("_type")
                                      else "INVALID_VALUE"))
        problems.append(f"{prefix}{field}: {_describe(schema, err)}")
    return ValidationFailed("; ".join(problems), code=codes[0])


def _describe(schema: Type[BaseModel], err: dict) -> str:
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        return f"unknown field; allowed: {', '.join(schema.model_fields)}"
    bounds = _bounds(schema, str(err["loc"][0])) if err["loc"] else ""
    if _ERROR_CODES.get(err["type"]) == "OUT_OF_RANGE" and bounds:
        message = f"{message} (allowed: {bounds})"
    if err["type"] != "missing":
        message += f"; got {json.dumps(err.get('input'), default=str)[:80]}"
    return message


def _bounds(schema: Type[BaseModel], name: str) -> str:
    info = schema.model_fields.get(name)
    if info is None:
        return ""
    lo = hi = None
    for m in info.metadata:
        lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
        if getattr(m, "gt", None) is not None:
            lo = f"above {m.gt}"
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
        if getattr(m, "min_length", None) is not None:
            lo = f"{m.min_length} characters"
        if getattr(m, "max_length", None) is not None:
            hi = f"{m.max_length} characters"
    if lo is None and hi is None:
        return ""
    return f"{lo if lo is not None else '-inf'} to {hi if hi is not None else 'inf'}"

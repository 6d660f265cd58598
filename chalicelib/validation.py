"""Turn a POST /generate-media body into a validated request, or a 400 that says why."""
import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Type

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from chalicelib.catalog import CATALOG, CatalogEntry, MediaType, ModelParameters
from chalicelib.errors import (ApiError, InvalidJson, MediaTypeMismatch, PayloadTooLarge,
                               UnknownModel, ValidationFailed)

USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$"


class GenerateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    # Optional only for keys bound to one user, which supply it.
    userId: Optional[str] = Field(None, pattern=USER_ID_PATTERN)
    mediaType: MediaType
    modelId: str = Field(min_length=1, max_length=64)
    parameters: Dict[str, Any] = Field(default_factory=dict)
    prompt: Optional[str] = Field(None, min_length=1, max_length=4000)


@dataclass(frozen=True)
class GenerateRequest:
    user_id: str
    model: CatalogEntry
    parameters: ModelParameters


# Pydantic error types grouped into the stable codes clients can branch on.
_ERROR_CODES = {
    "missing": "MISSING_PARAMETER",
    "extra_forbidden": "UNKNOWN_PARAMETER",
    "greater_than": "OUT_OF_RANGE", "greater_than_equal": "OUT_OF_RANGE",
    "less_than": "OUT_OF_RANGE", "less_than_equal": "OUT_OF_RANGE",
    "multiple_of": "OUT_OF_RANGE", "string_too_short": "OUT_OF_RANGE",
    "string_too_long": "OUT_OF_RANGE",
}


def parse_json_body(raw: Optional[bytes], max_bytes: int) -> dict:
    if raw is not None and len(raw) > max_bytes:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; the limit is {max_bytes}.")
    if not raw:
        raise InvalidJson("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidJson(f"Could not parse the body: {e}") from e
    if not isinstance(body, dict):
        raise InvalidJson("The body must be a JSON object.")
    return body


def parse_generate_request(body: dict, allow_private_hosts: bool = False,
                           bound_user_id: Optional[str] = None) -> GenerateRequest:
    envelope = _validate(GenerateBody, body, prefix="")
    user_id = envelope.userId or bound_user_id
    if user_id is None:
        exc = ValidationFailed("userId: Field required")
        exc.code = "MISSING_PARAMETER"
        raise exc
    model = CATALOG.get(envelope.modelId)
    if model is None:
        raise UnknownModel(f"modelId '{envelope.modelId}' is not one of: "
                           f"{', '.join(sorted(CATALOG))}. GET /models lists them.")
    if model.media_type != envelope.mediaType:
        raise MediaTypeMismatch(f"modelId '{model.model_id}' generates {model.media_type}, "
                                f"not {envelope.mediaType}.")
    params = dict(envelope.parameters)
    if envelope.prompt is not None and "prompt" in model.parameters.model_fields:
        params.setdefault("prompt", envelope.prompt)
    parameters = _validate(model.parameters, params, prefix="parameters.")
    for name, value in parameters:
        if isinstance(value, HttpUrl):
            check_input_url(f"parameters.{name}", value, allow_private_hosts)
    return GenerateRequest(user_id, model, parameters)


# Hostnames that name this machine or a private network rather than a public host.
_PRIVATE_SUFFIXES = ("localhost", ".localhost", ".local", ".internal", ".home.arpa")


def check_input_url(field: str, url: HttpUrl, allow_private_hosts: bool) -> None:
    """Inputs are fetched by the model: public http(s) URLs only, no credentials.

    Only the URL's own host is checked (Replicate, not this service, fetches it,
    so resolving names here would add latency without closing DNS tricks)."""
    def reject(why: str, echo: bool = True):
        got = f"; got {str(url)[:80]!r}" if echo else ""
        exc = ValidationFailed(f"{field}: {why}{got}")
        exc.code = "INVALID_VALUE"
        raise exc
    if url.username or url.password:
        reject("must not contain credentials", echo=False)
    if allow_private_hosts:
        return
    host = (url.host or "").strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host.endswith(_PRIVATE_SUFFIXES) or "." not in host:
            reject("must be a public host")
        return
    if not address.is_global:
        reject("must not point at a loopback, private or link-local address")


def _validate(schema: Type[BaseModel], data: dict, prefix: str):
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise _to_api_error(schema, e, prefix) from None


def _to_api_error(schema: Type[BaseModel], error: ValidationError, prefix: str) -> ApiError:
    problems, codes = [], []
    for err in error.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"])
        codes.append(_ERROR_CODES.get(err["type"],
                                      "INVALID_TYPE" if err["type"].endswith("_type")
                                      else "INVALID_VALUE"))
        problems.append(f"{prefix}{field}: {_describe(schema, err)}")
    exc = ValidationFailed("; ".join(problems))
    exc.code = codes[0]
    return exc


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
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
        if getattr(m, "min_length", None) is not None:
            lo = f"{m.min_length} characters"
        if getattr(m, "max_length", None) is not None:
            hi = f"{m.max_length} characters"
    if lo is None and hi is None:
        return ""
    return f"{lo if lo is not None else '-inf'} to {hi if hi is not None else 'inf'}"

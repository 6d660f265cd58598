"""Validation as api.replicate.com does it at create: a 422 whose body lists each
invalid field (``invalid_fields``: type, field, description) and repeats them in
``detail``, one ``- field: description`` line each.

Replicate validates with JSON Schema and words its errors like gojsonschema;
the shapes here are copied from real responses, e.g.
  {"detail": "- input: prompt is required\\n", "status": 422,
   "title": "Input validation failed",
   "invalid_fields": [{"type": "required", "field": "input",
                       "description": "prompt is required"}]}
A missing property is reported on its parent ("input", or "" at the top level);
any other error on the property's own path ("input.num_outputs",
"webhook_events_filter.0"), with the description naming it relative to the
object being checked. Unknown input properties are ignored, as Replicate
ignores them; unknown top-level properties are refused, as it refuses them.

Schemas are small dicts per property: type, enum, minimum, maximum, format
("uri"), items, default, description.
"""
import json
from typing import Dict, Iterable, List, Optional, Tuple
from urllib.parse import urlparse

JSON_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}


class InvalidFields(Exception):
    """A 422 from create: the fields that failed, in Replicate's shape."""

    def __init__(self, fields: List[dict]):
        super().__init__("; ".join(f"{f['field']}: {f['description']}" for f in fields))
        self.fields = fields

    def body(self) -> dict:
        detail = "".join(f"- {f['field']}: {f['description']}\n" if f["field"]
                         else f"- {f['description']}\n" for f in self.fields)
        return {"detail": detail, "status": 422, "title": "Input validation failed",
                "invalid_fields": self.fields}


def json_type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    for name, kind in JSON_TYPES.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _number(value) -> str:
    """Numbers as Go prints them: 4 not 4.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _type_ok(expected: str, value) -> bool:
    given = json_type_name(value)
    return given == expected or (expected == "number" and given == "integer")


def check_value(schema: dict, value, path: str, name: str) -> List[dict]:
    """Errors for one value; ``path`` is the reported field, ``name`` the described one."""
    expected = schema.get("type")
    if expected and not _type_ok(expected, value):
        return [{"type": "invalid_type", "field": path,
                 "description": f"Invalid type. Expected: {expected}, given: {json_type_name(value)}"}]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append({"type": "enum", "field": path,
                       "description": f"{name} must be one of the following: {allowed}"})
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append({"type": "number_gte", "field": path, "description":
                           f"Must be greater than or equal to {_number(schema['minimum'])}"})
        if "maximum" in schema and value > schema["maximum"]:
            errors.append({"type": "number_lte", "field": path, "description":
                           f"Must be less than or equal to {_number(schema['maximum'])}"})
    if schema.get("format") == "uri" and isinstance(value, str) and not _is_uri(value):
        errors.append({"type": "format", "field": path,
                       "description": "Does not match format 'uri'"})
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += check_value(schema["items"], item, f"{path}.{i}", f"{name}.{i}")
    return errors


def _is_uri(value: str) -> bool:
    parsed = urlparse(value)
    return bool(parsed.scheme) and (bool(parsed.netloc) or parsed.scheme == "data")


def check_object(properties: Dict[str, dict], required: Iterable[str], value: dict,
                 prefix: str = "", allow_unknown: bool = True) -> List[dict]:
    """Errors of an object against its properties; field paths start with ``prefix``."""
    parent = prefix.rstrip(".")
    errors = [{"type": "required", "field": parent, "description": f"{name} is required"}
              for name in required if name not in value]
    for name, item in value.items():
        schema = properties.get(name)
        if schema is None:
            if not allow_unknown:
                errors.append({"type": "additional_property_not_allowed", "field": parent,
                               "description": f"Additional property {name} is not allowed"})
            continue
        errors += check_value(schema, item, prefix + name, name)
    return errors


WEBHOOK_EVENTS = ("start", "output", "logs", "completed")

# The create body's own schema (Replicate checks these before the model's input).
CREATE_BODY = {
    "version": {"type": "string"},
    "input": {"type": "object"},
    "webhook": {"type": "string", "format": "uri"},
    "webhook_completed": {"type": "string", "format": "uri"},
    "webhook_events_filter": {"type": "array", "items": {"type": "string",
                                                         "enum": list(WEBHOOK_EVENTS)}},
    "stream": {"type": "boolean"},
}


def check_create_body(body, by_model: bool) -> Tuple[dict, Optional[str]]:
    """The body's own fields; returns (input, version). ``by_model``: the
    /v1/models/{owner}/{name}/predictions form, which takes no version."""
    if not isinstance(body, dict):
        raise InvalidFields([{"type": "invalid_type", "field": "", "description":
                              f"Invalid type. Expected: object, given: {json_type_name(body)}"}])
    properties = {k: v for k, v in CREATE_BODY.items() if not (by_model and k == "version")}
    required = ("input",) if by_model else ("version", "input")
    errors = check_object(properties, required, body, allow_unknown=False)
    if errors:
        raise InvalidFields(errors)
    return body["input"], body.get("version")


def check_input(properties: Dict[str, dict], required: Iterable[str], model_input: dict) -> None:
    errors = check_object(properties, required, model_input, prefix="input.")
    if errors:
        raise InvalidFields(errors)


def with_defaults(properties: Dict[str, dict], model_input: dict) -> dict:
    """The input a model's code sees: every default filled in."""
    filled = {name: s["default"] for name, s in properties.items() if "default" in s}
    filled.update(model_input)
    return filled

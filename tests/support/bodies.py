"""Hypothesis strategies for submit and batch bodies, drawn from each model's own
JSON Schema (GET /models, chalicelib.catalog): mostly values the schema allows,
mixed with the extremes clients send anyway (numbers no record can keep, huge and
subnormal floats, integers past 64 bits, over-long and non-Unicode strings, wrong
types, unknown fields, NaN)."""
import json
import math

from hypothesis import strategies as st

from chalicelib.catalog import describe_catalog
from chalicelib.validation import USER_ID_PATTERN

EXTREME_NUMBERS = st.sampled_from([
    0, -0.0, 1e-9, 1e-10, 1e-130, 1e-200, 1e-320, 5e-324, 2.2250738585072014e-308,
    9.9e125, 1e126, 1e308, -1e308, 1.7976931348623157e308, 2 ** 53 + 1, 2 ** 63, -2 ** 63,
    2 ** 64, 10 ** 40, 0.1 + 0.2, math.nextafter(1.0, 2.0), math.nextafter(0.0, 1.0)])
URLS = st.sampled_from([
    "https://example.com/input.jpg", "http://127.0.0.1:5060/samples/input.jpg",
    "https://hooks.example.com/vsl", "http://a..b/", f"https://{'x' * 70}.example.com/",
    "https://169.254.169.254/latest/", "http://127.0.0.1:22/", "ftp://example.com/x",
    "https://u:p@example.com/", "https://exa mple.com/", "not a url", "https://[::1]/",
    "https://example.com:99999/", "https://\u00e9xample.com/x", ""])
_WILD = st.one_of(
    EXTREME_NUMBERS, st.integers(), st.floats(), st.booleans(), st.none(),
    st.text(max_size=20), st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                         max_size=2), URLS)
WILD = st.deferred(lambda: _WILD)  # named, so a failure's report stays short


def _numbers(schema: dict, integer: bool):
    low, high = schema.get("minimum", schema.get("exclusiveMinimum")), schema.get("maximum")
    if integer:
        step = schema.get("multipleOf", 1)
        return st.integers(min_value=-(-low // step), max_value=high // step).map(
            lambda k: k * step)
    return st.floats(min_value=low, max_value=high, allow_nan=False,
                     exclude_min="exclusiveMinimum" in schema)


def valid(schema: dict):
    """A value its schema allows."""
    if "anyOf" in schema:
        return st.one_of([valid(s) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("type") in ("integer", "number"):
        return _numbers(schema, schema["type"] == "integer")
    if schema.get("type") == "string" and schema.get("format") == "uri":
        return st.sampled_from(["https://example.com/input.jpg",
                                "http://127.0.0.1:5060/samples/input.jpg"])
    if schema.get("type") == "string":
        return st.text(min_size=schema.get("minLength", 0),
                       max_size=min(schema.get("maxLength", 40), 40))
    if schema.get("type") == "null":
        return st.none()
    return WILD


def extreme(schema: dict):
    """A value its schema's type invites a client to try, allowed or not."""
    kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
    if kinds & {"integer", "number"}:
        return st.one_of(EXTREME_NUMBERS, EXTREME_NUMBERS, st.floats(), st.integers(), WILD)
    if "string" in kinds:
        longest = schema.get("maxLength") or max(
            (s.get("maxLength", 0) for s in schema.get("anyOf", [])), default=4000)
        return st.one_of(st.integers(longest, longest + 1).map(lambda n: "p" * n),
                         st.just(""), URLS, WILD)
    return WILD


DROP = object()  # a mutation that removes the field


@st.composite
def _body(draw, envelope, mutations):
    """A valid body, then up to two mutations (none a third of the time)."""
    body = draw(envelope)
    for _ in range(draw(st.sampled_from([0, 1, 1, 2]))):
        where, name, strategy = draw(st.sampled_from(mutations))
        target = body if where == "top" else body.get("parameters")
        if not isinstance(target, dict):
            continue
        if strategy is DROP:
            target.pop(name, None)
        else:
            target[name] = draw(strategy)
    return body


def submit_body(models=None):
    """A POST /generate-media body for one of the catalog's models."""
    models = models or describe_catalog()

    def for_model(model):
        schema = model["parameters"]
        properties, required = schema["properties"], set(schema.get("required", []))
        envelope = st.fixed_dictionaries(
            {"userId": st.from_regex(USER_ID_PATTERN, fullmatch=True),
             "mediaType": st.just(model["mediaType"]), "modelId": st.just(model["modelId"]),
             "parameters": st.fixed_dictionaries(
                 {n: valid(properties[n]) for n in required},
                 optional={n: valid(p) for n, p in properties.items() if n not in required})},
            optional={"webhookUrl": st.just("https://hooks.example.com/vsl"),
                      "cache": st.booleans()})
        mutations = [("parameters", n, extreme(p)) for n, p in properties.items()]
        mutations += [("parameters", n, DROP) for n in required]
        mutations += [("parameters", n, WILD) for n in ("seed", "Prompt", "")]
        mutations += [("top", "userId", st.one_of(st.text(max_size=200), WILD)),
                      ("top", "mediaType", st.one_of(st.sampled_from(["image", "video",
                                                                      "audio"]), WILD)),
                      ("top", "modelId", st.one_of(st.sampled_from(
                          [m["modelId"] for m in models]), WILD)),
                      ("top", "parameters", WILD), ("top", "userId", DROP),
                      ("top", "prompt", extreme({"type": "string", "maxLength": 4000})),
                      ("top", "webhookUrl", st.one_of(URLS, WILD)), ("top", "cache", WILD),
                      ("top", "colour", WILD)]
        return _body(envelope, mutations)
    return st.one_of([for_model(m) for m in models])


def batch_body(models=None, max_items=4):
    item = st.one_of(submit_body(models), submit_body(models), submit_body(models), WILD)
    return st.one_of(st.fixed_dictionaries({"items": st.lists(item, min_size=1,
                                                              max_size=max_items)}),
                     st.dictionaries(st.sampled_from(["items", "item", "x"]),
                                     st.one_of(WILD, st.lists(item, max_size=2)), max_size=2))


def encoded(body) -> bytes:
    """The body as a client sends it: NaN and infinities as Python writes them,
    unpaired surrogates as \\u escapes."""
    return json.dumps(body).encode()

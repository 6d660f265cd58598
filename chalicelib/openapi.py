"""The OpenAPI 3.1 document, generated from the code: each route's typed request
and response models (pydantic) and the routes Chalice holds. No hand-kept copy."""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from chalicelib.authorization import Access
from chalicelib.jobs.waiting import MAX_WAIT_S


REF = "#/components/schemas/{model}"
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                      "RateLimit-Policy", "RateLimit")


# Where the models a route names live (imported only when the document is made).
MODEL_MODULES = ("chalicelib.jobs.views", "chalicelib.route_models", "chalicelib.validation",
                 "chalicelib.notifications.endpoints", "chalicelib.uploads.service")


def model(name: str):
    """The pydantic model of that name in MODEL_MODULES."""
    import importlib
    for module in MODEL_MODULES:
        found = getattr(importlib.import_module(module), name, None)
        if found is not None:
            return found
    raise KeyError(f"no model named {name}")


@dataclass(frozen=True)
class Operation:
    """What one route takes and answers, for the document; models by class name, so
    declaring a route does not import them."""
    summary: str
    responses: Dict[int, Optional[str]]
    request: Optional[str] = None
    query: Optional[str] = None
    access: Access = Access.KEY   # who may call it (chalicelib.authorization)
    idempotent: bool = False          # takes an Idempotency-Key header
    rate_limited: bool = False        # answers with the rate-limit headers
    prefer_wait: bool = False         # takes Prefer: wait=N (chalicelib.jobs.waiting)
    content_type: str = "application/json"
    tags: Tuple[str, ...] = ()
    description: str = ""
    # OpenAPI links from a success response: name -> (operationId, {parameter: expression}).
    links: Dict[str, Tuple[str, Dict[str, str]]] = field(default_factory=dict)


def _path_parameters(path: str) -> List[dict]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{([^}]+)}", path)]


def _query_parameters(name: str, schemas: dict) -> List[dict]:
    schema = model(name).model_json_schema(by_alias=True, ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop,
             **({"description": prop["description"]} if "description" in prop else {})}
            for name, prop in schema["properties"].items()]


def _headers(op: Operation, status: int) -> dict:
    headers = {}
    if op.rate_limited and status < 500:
        headers.update({h: {"schema": {"type": "string"}} for h in RATE_LIMIT_HEADERS})
    if status in (429, 503, 409):
        headers["Retry-After"] = {"schema": {"type": "string"}, "description": "Seconds"}
    if op.idempotent and 200 <= status < 300:
        headers["Idempotent-Replayed"] = {"schema": {"type": "string", "enum": ["true"]}}
    if op.prefer_wait and 200 <= status < 300:
        headers["Preference-Applied"] = {
            "schema": {"type": "string", "pattern": "^wait=[0-9]+$"},
            "description": "The wait honoured, when the request asked for one"}
    return headers


def document(routes: Dict[str, Dict[str, object]], operations: Dict[Tuple[str, str], Operation],
             title: str, version: str) -> dict:
    """``routes``: Chalice's route table (path -> method -> entry). Every route and
    method must have its Operation, and every Operation a route (KeyError otherwise)."""
    declared = {(path, method) for path, methods in routes.items() for method in methods
                if method not in ("HEAD", "OPTIONS")}
    missing, extra = declared - set(operations), set(operations) - declared
    if missing or extra:
        raise KeyError(f"routes without documentation: {sorted(missing)}; "
                       f"documentation without a route: {sorted(extra)}")
    from pydantic.json_schema import models_json_schema
    names = {m for op in operations.values()
             for m in [op.request, *op.responses.values()] if m is not None} | {"ErrorBody"}
    _, defs = models_json_schema([(model(n), "validation") for n in sorted(names)],
                                 by_alias=True, ref_template=REF)
    schemas = dict(defs.get("$defs", {}))
    paths: Dict[str, dict] = {}
    for (path, method), op in sorted(operations.items()):
        responses = {}
        for status, name in sorted(op.responses.items()):
            doc = model(name).__doc__ if name is not None else None
            response = {"description": doc.strip().splitlines()[0] if doc else "OK"}
            if name is not None:
                response["content"] = {op.content_type: {
                    "schema": {"$ref": REF.format(model=name)}}}
            elif op.content_type != "application/json":
                response["content"] = {op.content_type: {"schema": {"type": "string"}}}
            if _headers(op, status):
                response["headers"] = _headers(op, status)
            if op.links and 200 <= status < 300:
                response["links"] = {name: {"operationId": target, "parameters": params}
                                     for name, (target, params) in op.links.items()}
            responses[str(status)] = response
        for status_range, description in (("4XX", "The request cannot be served as it is"),
                                          ("5XX", "A failure on our side or a dependency's")):
            responses[status_range] = {
                "description": description,
                "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}},
                "headers": _headers(op, 429 if status_range == "4XX" else 503)}
        operation = {"summary": op.summary, "operationId": f"{method.lower()}_{path}",
                     "responses": responses, "tags": list(op.tags)}
        if op.description:
            operation["description"] = op.description
        parameters = _path_parameters(path)
        if op.query is not None:
            parameters += _query_parameters(op.query, schemas)
        if op.idempotent:
            parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "description": "Makes a retry replay the first response",
                               "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
        if op.prefer_wait:
            parameters.append({
                "name": "Prefer", "in": "header", "required": False,
                "description": f"wait=N: answer once the job ends, waiting at most N seconds "
                               f"(1 to {MAX_WAIT_S}; wait alone: {MAX_WAIT_S})",
                "schema": {"type": "string", "example": "wait=10"}})
        if parameters:
            operation["parameters"] = parameters
        if op.request is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": REF.format(model=op.request)}}}}
        operation["security"] = [] if op.access is Access.PUBLIC else [{"ApiKey": []}]
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Asynchronous media generation on Replicate's models: submit a "
                                "job, follow it by polling or webhooks, get stored results."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
    }


def reference_page(doc: dict) -> str:
    """A plain HTML reference of the document (GET /docs): every operation with its
    summary, and a link to the machine-readable document. No script, no CDN."""
    from html import escape
    rows = []
    for path, operations in sorted(doc["paths"].items()):
        for method, op in sorted(operations.items()):
            statuses = ", ".join(s for s in op["responses"] if s[0] in "23")
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}"
                        f"</code></td><td>{escape(op['summary'])}</td><td>{statuses}</td>"
                        f"<td>{'key' if op['security'] else 'none'}</td></tr>")
    return ("<!doctype html><html lang=en><meta charset=utf-8><title>"
            f"{escape(doc['info']['title'])} reference</title><style>body{{font:15px system-ui;"
            "margin:2em auto;max-width:60em}td,th{padding:.3em .6em;text-align:left;"
            "border-bottom:1px solid #ddd}</style>"
            f"<h1>{escape(doc['info']['title'])}</h1><p>{escape(doc['info']['description'])}</p>"
            "<p>The full document: <a href=openapi.json>openapi.json</a> (OpenAPI 3.1). "
            "Try it in the <a href=./>playground</a>. Send your key as "
            "<code>X-API-Key</code>; errors are <code>{\"error\", \"details\", \"code\"}</code>."
            "</p><table><tr><th>method</th><th>path</th><th>what</th><th>success</th>"
            "<th>auth</th></tr>" + "".join(rows) + "</table></html>")

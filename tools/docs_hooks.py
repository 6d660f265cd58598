"""MkDocs hooks of the documentation site (mkdocs.yml `hooks:`).

- The API reference page, `api-reference.md`, is generated at every build from the
  OpenAPI document the API serves at /openapi.json (chalicelib/openapi.py builds it
  from the routes and their models), with the document itself beside it: the
  reference is never written twice.
- A page under docs/ that `nav` leaves out is added at the end, under "More", so a
  new page is on the site without anyone editing mkdocs.yml (list it there to place it).
"""
import json
import re
import sys
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PAGE = "api-reference.md"
DOCUMENT_FILE = "openapi.json"


# ---- the nav ------------------------------------------------------------------------

def _listed(nav) -> set:
    """Every page path the nav names."""
    found = set()
    for item in nav or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            found |= _listed(value)
        elif isinstance(value, str):
            found.add(value)
    return found


def _title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return page.stem.replace("-", " ").capitalize()


def unlisted_pages(docs_dir: Path, nav) -> List[dict]:
    """Nav entries for the Markdown pages under docs_dir that nav does not name."""
    listed = _listed(nav)
    pages = sorted(p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*.md"))
    return [{_title(docs_dir / p): p} for p in pages if p not in listed]


def on_config(config):
    more = unlisted_pages(Path(config["docs_dir"]), config["nav"])
    if more and config["nav"] is not None:
        config["nav"].append({"More": more})
    return config


# ---- the API reference --------------------------------------------------------------

def openapi_document() -> dict:
    """What GET /openapi.json answers, without a server."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import app
    return app._openapi()


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|") if text not in (None, "") else ""


def _anchor(kind: str, name: str) -> str:
    return f"{kind}-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict) -> str:
    """A schema as a short Markdown phrase, models linked to their section."""
    if not schema:
        return "any"
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{_anchor('schema', name)})"
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options = [s for s in schema[combinator] if s.get("type") != "null"]
            nullable = len(options) < len(schema[combinator])
            text = " or ".join(type_of(s) for s in options)
            return f"{text} or null" if nullable else text
    if "enum" in schema:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        return f"array of {type_of(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {type_of(schema['additionalProperties'])}"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def constraints(schema: dict) -> str:
    """Default, range, length and pattern of a schema, in words."""
    inner = next((s for s in schema.get("anyOf", []) if s.get("type") != "null"), schema)
    parts = []
    low = inner.get("minimum", inner.get("minLength", inner.get("minItems")))
    high = inner.get("maximum", inner.get("maxLength", inner.get("maxItems")))
    if "exclusiveMinimum" in inner:
        parts.append(f"above {inner['exclusiveMinimum']}")
    if low is not None and high is not None:
        parts.append(f"{low} to {high}")
    elif low is not None:
        parts.append(f"at least {low}")
    elif high is not None:
        parts.append(f"at most {high}")
    if "multipleOf" in inner:
        parts.append(f"a multiple of {inner['multipleOf']}")
    if "pattern" in inner:
        parts.append(f"pattern `{inner['pattern']}`")
    if schema.get("default") is not None:
        parts.append(f"default `{json.dumps(schema['default'])}`")
    return "; ".join(parts)


def _describe(schema: dict) -> str:
    return _cell("; ".join(p for p in (schema.get("description"), constraints(schema)) if p))


def _operation(path: str, method: str, op: dict) -> List[str]:
    anchor = _anchor("op", f"{method}-{path}")
    lines = [f"### {method.upper()} {path} {{#{anchor}}}", "", op["summary"] + ".", ""]
    if op.get("description"):
        lines += [op["description"], ""]
    lines += ["Needs `X-API-Key`." if op.get("security") else "No key needed.", ""]
    parameters = op.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | required | type | what |", "|---|---|---|---|---|"]
        lines += [f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
                  f"{type_of(p.get('schema', {}))} | "
                  f"{_describe({**p.get('schema', {}), 'description': p.get('description')})} |"
                  for p in parameters]
        lines.append("")
    body = op.get("requestBody")
    if body:
        schema = next(iter(body["content"].values()))["schema"]
        lines += [f"Body (JSON): {type_of(schema)}.", ""]
    lines += ["| status | what | body | headers |", "|---|---|---|---|"]
    for status, response in op["responses"].items():
        content = response.get("content", {})
        shown = ", ".join(f"{type_of(c.get('schema', {}))} (`{kind}`)"
                          for kind, c in content.items())
        headers = ", ".join(f"`{h}`" for h in response.get("headers", {}))
        lines.append(f"| {status} | {_cell(response.get('description'))} | {shown} | {headers} |")
    return lines + [""]


def _schema(name: str, schema: dict) -> List[str]:
    lines = [f"### {name} {{#{_anchor('schema', name)}}}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    properties = schema.get("properties")
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | what |", "|---|---|---|---|"]
        lines += [f"| `{field}` | {type_of(prop)} | {'yes' if field in required else 'no'} | "
                  f"{_describe(prop)} |" for field, prop in properties.items()]
    else:
        lines.append(f"{type_of({k: v for k, v in schema.items() if k != 'description'})}.")
    return lines + [""]


def reference_markdown(doc: dict, document_link: Optional[str] = DOCUMENT_FILE) -> str:
    """The whole OpenAPI document as one Markdown page."""
    info = doc["info"]
    lines = ["# API reference", "",
             f"{info['description']} ({info['title']} {info['version']}, OpenAPI "
             f"{doc['openapi']}.)", "",
             "This page is generated from the OpenAPI document a running API serves at "
             "`/openapi.json` (`chalicelib/openapi.py` builds it from the routes and their "
             "models)" + (f"; here it is: [{DOCUMENT_FILE}]({document_link})." if document_link
                          else ".") +
             " Every route answers errors as `{\"error\", \"details\", \"code\"}` "
             "([Errors](errors.md)).", "",
             "## Operations", "",
             "| method | path | what | key |", "|---|---|---|---|"]
    operations = [(path, method, op) for path, ops in sorted(doc["paths"].items())
                  for method, op in sorted(ops.items())]
    lines += [f"| {method.upper()} | [`{path}`](#{_anchor('op', f'{method}-{path}')}) | "
              f"{_cell(op['summary'])} | {'yes' if op.get('security') else 'no'} |"
              for path, method, op in operations]
    lines.append("")
    for path, method, op in operations:
        lines += _operation(path, method, op)
    lines += ["## Schemas", ""]
    for name, schema in sorted(doc["components"]["schemas"].items()):
        lines += _schema(name, schema)
    return "\n".join(lines)


def on_files(files, config):
    from mkdocs.structure.files import File
    doc = openapi_document()
    files.append(File.generated(config, REFERENCE_PAGE, content=reference_markdown(doc)))
    files.append(File.generated(config, DOCUMENT_FILE, content=json.dumps(doc, indent=2)))
    return files

"""The configuration table of the docs, generated from chalicelib.config.Settings:
each setting's variable, default and meaning, from its one declaration.

    python -m tools.settings_table           # print the table
    python -m tools.settings_table --write   # rewrite it in place between its markers
"""
import argparse
import re
import sys
from pathlib import Path

from pydantic_core import PydanticUndefined

from chalicelib.config import Settings

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"
# Settings of the local stack alone (local/), not of the service.
LOCAL_ONLY = {
    "VSL_SWEEP_INTERVAL_S": ("60", "local stack only: seconds between sweeps (the deployed "
                             "schedule runs every minute; the tests use 3)"),
}


def _variable(name: str, field) -> str:
    alias = field.validation_alias
    return alias.choices[0] if alias is not None else f"VSL_{name.upper()}"


def _default(field) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    if value is None or value == {}:
        return "(none)"
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{_variable(name, field)}` | `{_default(field)}` | "
                    f"{field.description} |")
    for variable, (default, meaning) in LOCAL_ONLY.items():
        rows.append(f"| `{variable}` | `{default}` | {meaning} |")
    return "\n".join(rows)


def documents() -> list:
    """The Markdown files that hold the generated table (between its markers)."""
    return [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
            if p.exists() and START in p.read_text()]


def rewrite(path: Path) -> bool:
    text = path.read_text()
    new = re.sub(re.escape(START) + ".*?" + re.escape(END),
                 lambda _: f"{START}\n{table()}\n{END}", text, flags=re.S)
    if new != text:
        path.write_text(new)
    return new != text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the table in place")
    if not parser.parse_args().write:
        print(table())
        return 0
    for path in documents():
        print(f"{path.relative_to(ROOT)}: {'rewritten' if rewrite(path) else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The examples of the README and of every page under docs/: fenced code blocks in a
language a reader runs (bash, python, javascript). Each is run by
tests/docs/test_examples.py, unless the line just before it says why not:

    <!-- example: not run: needs an AWS account -->

Blocks of output or payloads are fenced as `text` or `json`, and are not examples.
"""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = ("bash", "python", "javascript")
NOT_RUN = "not run: "
_FENCE = re.compile(r"(?:^<!-- example: (?P<marker>.*?) -->\n)?^```(?P<lang>[^\n`]*)\n"
                    r"(?P<code>.*?)^```[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class Example:
    page: str            # path from the repository root
    line: int
    lang: str            # the fence's language, "" when it names none
    code: str
    marker: Optional[str]  # the `<!-- example: ... -->` text before it, if any

    @property
    def runs(self) -> bool:
        return self.lang in RUNNABLE and not (self.marker or "").startswith(NOT_RUN)

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> List[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def examples(page: Path) -> List[Example]:
    text = page.read_text(encoding="utf-8")
    return [Example(page.relative_to(ROOT).as_posix(), text.count("\n", 0, m.start("lang")) + 1,
                    m.group("lang").strip(), m.group("code"), m.group("marker"))
            for m in _FENCE.finditer(text)]


def all_examples() -> List[Example]:
    return [e for page in pages() for e in examples(page)]

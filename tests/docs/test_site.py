"""The documentation site builds with `mkdocs build --strict` (broken links, missing
pages and bad anchors fail it), its API reference is the OpenAPI document's, and every
example in the README and docs/ either runs (tests/docs/test_examples.py) or says why not."""
import subprocess
import sys

import pytest

from tests.docs.examples import NOT_RUN, ROOT, RUNNABLE, all_examples, pages
from tools import docs_hooks

DESCRIBED = ("text", "json")  # output, payloads, shapes: shown, not run


def test_the_site_builds_strict(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                           "--site-dir", str(tmp_path / "site")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={"NO_MKDOCS_2_WARNING": "1", "PATH": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    reference = (tmp_path / "site" / "api-reference" / "index.html").read_text()
    assert "POST /generate-media" in reference and "GenerateBody" in reference
    assert (tmp_path / "site" / "openapi.json").exists()


def test_the_reference_has_every_operation_and_schema_of_the_document():
    doc = docs_hooks.openapi_document()
    page = docs_hooks.reference_markdown(doc)
    for path, operations in doc["paths"].items():
        for method in operations:
            assert f"### {method.upper()} {path} {{#" in page
    for name in doc["components"]["schemas"]:
        assert f"### {name} {{#schema-" in page


def test_a_page_left_out_of_the_nav_is_still_on_the_site(tmp_path):
    (tmp_path / "listed.md").write_text("# Listed\n")
    (tmp_path / "security.md").write_text("# Security\n\ntext\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.md").write_text("no heading\n")
    assert docs_hooks.unlisted_pages(tmp_path, [{"Home": "listed.md"}]) == [
        {"Security": "security.md"}, {"Notes": "sub/notes.md"}]


@pytest.mark.parametrize("example", all_examples(), ids=lambda e: e.name)
def test_every_example_runs_or_says_why_not(example):
    assert example.lang in RUNNABLE + DESCRIBED, \
        f"{example.name}: fence it as one of {RUNNABLE + DESCRIBED}"
    if example.marker is not None:
        assert example.marker.startswith(NOT_RUN) and len(example.marker) > len(NOT_RUN) + 10, \
            f"{example.name}: say why it is not run: <!-- example: {NOT_RUN}REASON -->"


def test_examples_take_the_sample_image_from_the_environment():
    """The simulator's port moves with VSL_SIMULATOR_PORT: an example that names 5060
    failed with a connection error as soon as it did."""
    for example in all_examples():
        if example.lang in RUNNABLE:
            assert ":5060" not in example.code, example.name


def test_the_readme_is_a_landing_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert readme.index("make run") < readme.index("```python")
    assert "/docs" in readme and "/openapi.json" in readme
    assert {p.name for p in pages()} >= {"README.md", "getting-started.md"}

"""Every example of the README and of docs/ runs as written against the local stack,
so none can rot (tests/docs/examples.py says which are examples).

The reader's setup is reproduced: a folder like the repository (its files linked),
with the `.local/` that `make run` writes (`env`, `api-keys`, `ports.json`) pointing at
the test stack and holding, as `make run`'s does, a key bound to `user123` and the same
client's own key, and a copy of
`sdk/js/vsl-client.js`. The environment is what `source .local/env` and
`source .venv/bin/activate` give. The only rewrite is `make run`'s default API URL,
http://127.0.0.1:8000, into the test stack's. A page's shell blocks run in order in one
shell, as a reader types them in one terminal; each Python and JavaScript block runs
alone.
"""
import os
import re
import shutil
import subprocess
import sys
import uuid
import wave
from pathlib import Path

import pytest
from PIL import Image

from local.stack import LocalStack, write_env, write_ports, write_private
from tests.docs.examples import ROOT, Example, all_examples

pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent
DEFAULT_API = "http://127.0.0.1:8000"
# An answer with one of these codes means the example itself is broken (a wrong key,
# user or placeholder id), even when the shell's exit status says nothing.
BROKEN = re.compile(r'"code": ?"(UNAUTHORIZED|FORBIDDEN|JOB_NOT_FOUND|NOT_FOUND|'
                    r'MISSING_PARAMETER|INVALID_JSON|INTERNAL_ERROR|METHOD_NOT_ALLOWED|'
                    r'UNSUPPORTED_MEDIA_TYPE)"')


def runnable(lang: str):
    return [e for e in all_examples() if e.runs and e.lang == lang]


def shell_pages():
    return sorted({e.page for e in runnable("bash")})


@pytest.fixture
def reader(stack, aws_env, tmp_path):
    """(folder, env): a reader's checkout and terminal after `make run` and the setup."""
    from chalicelib.aws import dynamodb_table
    from chalicelib.keys import ApiKeys
    from chalicelib.resources import resource_names
    from chalicelib.dynamo_stores import DynamoApiKeyStore
    keys = ApiKeys(DynamoApiKeyStore(dynamodb_table(resource_names("local").api_keys_table)))
    client = f"docs-{uuid.uuid4().hex[:8]}"  # a client of its own: its limits are the examples'
    key, client_key = keys.create(client, "user123")[0], keys.create(client)[0]
    for entry in ROOT.iterdir():
        if entry.name not in (".local", ".git", "build"):
            (tmp_path / entry.name).symlink_to(entry)
    shutil.copy(ROOT / "sdk" / "js" / "vsl-client.js", tmp_path / "vsl-client.js")
    local = tmp_path / ".local"
    write_private(local / "api-keys", f"{key}\n{client_key}\n")
    write_env(stack, [key, client_key], local / "env")
    write_ports(stack, local / "ports.json")  # the key CLI's --local finds the emulator here
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSL_", "AWS_"))}
    env.update(VSL_BASE_URL=stack.api_url, VSL_API_KEY=key, VSL_CLIENT_KEY=client_key,
               VSL_SAMPLE_IMAGE=stack.sample_image_url, VSL_LOCAL_DIR=str(local),
               PATH=f"{VENV_BIN}:{env['PATH']}")
    env.pop("VIRTUAL_ENV", None)
    return tmp_path, env


def rewrite(code: str, stack: LocalStack) -> str:
    return code.replace(DEFAULT_API, stack.api_url)


def assert_not_broken(example_or_page, output: str):
    found = BROKEN.search(output)
    assert not found, \
        f"{example_or_page}: an answer says the example is broken: {found.group(0)}\n{output}"


@pytest.mark.parametrize("page", shell_pages())
def test_shell_examples(page, reader, stack):
    cwd, env = reader
    blocks = [e for e in runnable("bash") if e.page == page]
    script = "set -euo pipefail\n" + "\n".join(
        f"# {e.name}\n{rewrite(e.code, stack)}" for e in blocks)
    proc = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, (page, proc.stdout, proc.stderr)
    assert_not_broken(page, proc.stdout)
    if "--out city.png" in script:   # the CLI page's examples
        with Image.open(cwd / "city.png") as image:
            assert image.size[0] == 1024
        with Image.open(cwd / "fox.png") as image:
            assert image.format == "PNG"
        assert (cwd / "clip.mp4").read_bytes()[4:8] == b"ftyp"
        with wave.open(str(cwd / "song.wav")) as w:
            assert w.getnframes() / w.getframerate() == pytest.approx(8, abs=0.1)
    if "--out cat.mp4" in script:    # an image file on disk became a video
        assert (cwd / "cat.mp4").read_bytes()[4:8] == b"ftyp"
        assert re.search(r"^upload:upl_\S+$", proc.stdout, re.M), proc.stdout
    if "vsl jobs" in script:
        assert re.search(r"^JOB +STATUS +MODEL +USER +CREATED$", proc.stdout, re.M), proc.stdout
    if "vsl cancel" in script:
        assert re.search(r"^\S+: cancelled$|^too late", proc.stdout, re.M), proc.stdout
    if "--local revoke" in script:
        assert re.search(r"^revoked \w+ \(client acme\)$", proc.stdout, re.M), proc.stdout


def check_output(example: Example, code: str, stdout: str, cwd: Path):
    assert_not_broken(example.name, stdout)
    if "Video URL" in code:
        assert re.search(r"^Video URL: http://\S+original\.mp4", stdout, re.M), stdout
    if "Image URL" in code:
        assert re.search(r"^Image URL: http://\S+original\.png", stdout, re.M), stdout
    if "city.png" in code:
        with Image.open(cwd / "city.png") as image:
            assert image.format == "PNG"
    if "width=5000" in code:
        assert "400 OUT_OF_RANGE" in stdout
    if "client.cancel(" in code:
        # Cancelled while running, or refused as already ended: either is what the text says.
        assert re.search(r"^(cancelled|JOB_NOT_CANCELLABLE completed)$", stdout, re.M), stdout


@pytest.mark.parametrize("example", runnable("python"), ids=lambda e: e.name)
def test_python_example(example, reader, stack):
    cwd, env = reader
    code = rewrite(example.code, stack)
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    check_output(example, code, proc.stdout, cwd)


@pytest.mark.parametrize("example", runnable("javascript"), ids=lambda e: e.name)
def test_javascript_example(example, reader, stack):
    node = shutil.which("node")
    assert node, "node (18+) is needed to run the JavaScript examples"
    cwd, env = reader
    code = rewrite(example.code, stack)
    proc = subprocess.run([node, "-"], input=code, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    check_output(example, code, proc.stdout, cwd)


def test_the_examples_are_found():
    assert len(runnable("python")) >= 4 and len(runnable("javascript")) >= 3
    python = "".join(e.code for e in runnable("python"))
    assert "client.wait_for_completion(job['jobId'])" in python
    assert "getting-started.md" in " ".join(shell_pages())

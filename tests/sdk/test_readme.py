"""The README's "## SDKs" examples run as written against the local stack, so they cannot rot.

The examples name `make run`'s default ports; here they point at the test stack's.
Shell blocks run in order in one shell (as a reader types them in one terminal),
in a scratch directory with its own `.local/api-keys` and `.venv` link.
"""
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from PIL import Image

from local.stack import ROOT
from tests.support.keys import CLIENT_A_KEY

pytestmark = pytest.mark.integration

VENV = Path(sys.executable).parent.parent


def sdk_section() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## SDKs\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README.md has no '## SDKs' section"
    return match.group(1)


def blocks(language: str) -> list:
    return re.findall(rf"^```{language}\n(.*?)^```", sdk_section(), re.S | re.M)


@pytest.fixture
def local(stack, sim, tmp_path):
    """(rewrite, env, cwd): the examples' local URLs mapped to the test stack."""
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "api-keys").write_text(CLIENT_A_KEY + "\n")
    (tmp_path / ".venv").symlink_to(VENV)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSL_")}
    env.update(VSL_BASE_URL=stack.api_url, VSL_API_KEY=CLIENT_A_KEY, VSL_USER_ID="readme-user")

    def rewrite(code: str) -> str:
        return (code.replace("http://127.0.0.1:8000", stack.api_url)
                    .replace("http://127.0.0.1:5060", stack.simulator_url))
    return rewrite, env, tmp_path


def test_the_section_has_python_shell_and_javascript_examples():
    assert len(blocks("python")) >= 2 and blocks("bash") and len(blocks("javascript")) >= 2
    assert "client.wait_for_completion(job['jobId'])" in blocks("python")[0]
    assert "client.waitForCompletion(job.jobId)" in blocks("javascript")[0]


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_example(local, index):
    rewrite, env, cwd = local
    code = rewrite(blocks("python")[index])
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    if "Video URL" in code:
        assert re.search(r"^Video URL: http://\S+original\.mp4", proc.stdout, re.M), proc.stdout
    if "city.png" in code:
        with Image.open(cwd / "city.png") as image:
            assert image.format == "PNG"
        assert "400 OUT_OF_RANGE" in proc.stdout
    if "client.cancel(" in code:
        # Cancelled while running, or refused as already ended: either is what the text says.
        assert re.search(r"^(cancelled|JOB_NOT_CANCELLABLE completed)$", proc.stdout, re.M), \
            proc.stdout


def test_shell_examples(local):
    rewrite, env, cwd = local
    script = "set -euo pipefail\n" + "\n".join(rewrite(b) for b in blocks("bash"))
    env = {k: v for k, v in env.items() if k != "VIRTUAL_ENV"}
    proc = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    with Image.open(cwd / "city.png") as image:
        assert image.size[0] == 1024
    with Image.open(cwd / "fox.png") as image:
        assert image.format == "PNG"
    assert (cwd / "clip.mp4").read_bytes()[4:8] == b"ftyp"
    with wave.open(str(cwd / "song.wav")) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(8, abs=0.1)
    if "vsl jobs" in script:
        assert re.search(r"^JOB +STATUS +MODEL +USER +CREATED$", proc.stdout, re.M), proc.stdout
    if "vsl cancel" in script:
        assert re.search(r"^\S+: cancelled$|^too late", proc.stdout, re.M), proc.stdout


@pytest.mark.parametrize("index", range(len(blocks("javascript"))))
def test_javascript_example(local, index):
    if shutil.which("node") is None:
        pytest.fail("node is needed to run the README's JavaScript example")
    rewrite, env, _ = local
    code = rewrite(blocks("javascript")[index])
    proc = subprocess.run(["node", "-"], input=code, cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    if "waitForCompletion" in code:
        assert re.search(r"^Image URL: http://\S+", proc.stdout, re.M), proc.stdout
    if "client.cancel(" in code:
        assert re.search(r"^(cancelled|JOB_NOT_CANCELLABLE completed)$", proc.stdout, re.M), \
            proc.stdout

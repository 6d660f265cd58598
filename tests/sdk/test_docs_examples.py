"""docs/uploads-and-runs.md: every example runs as written against the local stack
(its `make run` ports pointed at the test stack's), in a scratch directory that
holds the `cat.png` the examples upload."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from local.stack import ROOT
from tests.support.keys import CLIENT_A_KEY

pytestmark = pytest.mark.integration

PAGE = ROOT / "docs" / "uploads-and-runs.md"


def blocks(language: str) -> list:
    return re.findall(rf"^```{language}\n(.*?)^```", PAGE.read_text(), re.S | re.M)


@pytest.fixture
def local(stack, sim, tmp_path):
    Image.new("RGB", (320, 180), (200, 120, 40)).save(tmp_path / "cat.png", "PNG")
    (tmp_path / "sdk").symlink_to(ROOT / "sdk")        # require('./sdk/js') from here
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSL_")}
    env.update(VSL_BASE_URL=stack.api_url, VSL_API_KEY=CLIENT_A_KEY, VSL_USER_ID="docs-user",
               PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")

    def rewrite(code: str) -> str:
        return (code.replace("http://127.0.0.1:8000", stack.api_url)
                    .replace("http://127.0.0.1:5060", stack.simulator_url))
    return rewrite, env, tmp_path


def test_the_page_has_each_kind_of_example():
    assert len(blocks("bash")) >= 3 and len(blocks("python")) >= 2
    assert len(blocks("javascript")) >= 2


def test_shell_examples(local):
    rewrite, env, cwd = local
    script = "set -euo pipefail\n" + "\n".join(rewrite(b) for b in blocks("bash"))
    proc = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert re.search(r'"uploadId": ?"upl_', proc.stdout)
    assert re.search(r'"status": ?"pending"', proc.stdout)
    assert re.search(r'"status": ?"completed"', proc.stdout)   # the Prefer: wait example
    assert (cwd / "cat.mp4").read_bytes()[4:8] == b"ftyp"
    assert re.search(r"^upload:upl_\S+$", proc.stdout, re.M)


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_example(local, index):
    rewrite, env, cwd = local
    proc = subprocess.run([sys.executable, "-c", rewrite(blocks("python")[index])], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^(upload:upl_|http://)", proc.stdout, re.M), proc.stdout


@pytest.mark.parametrize("index", range(len(blocks("javascript"))))
def test_javascript_example(local, index):
    if shutil.which("node") is None:
        pytest.fail("node is needed to run the page's JavaScript examples")
    rewrite, env, cwd = local
    proc = subprocess.run(["node", "-"], input=rewrite(blocks("javascript")[index]), cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^http://\S+original\.\w+", proc.stdout, re.M), proc.stdout

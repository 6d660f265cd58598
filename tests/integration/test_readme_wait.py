"""The docs' "submit and wait" (docs/getting-started.md) runs as written (its URL
pointed at the test stack) and ends with the finished job, not whatever the status
was after a sleep."""
import json
import os
import re
import subprocess

import pytest

from local.stack import ROOT
from tests.support.keys import CLIENT_A_KEY

pytestmark = pytest.mark.integration


def wait_example() -> str:
    page = (ROOT / "docs" / "getting-started.md").read_text()
    match = re.search(r"^Or submit and wait in one go.*?```bash\n(.*?)^```", page, re.S | re.M)
    assert match, "docs/getting-started.md has no 'submit and wait' example"
    return match.group(1)


def test_the_readme_submit_and_wait_example_prints_the_finished_job(stack, sim):
    sim.faults(latency_s=3)  # longer than a fixed short sleep would wait
    script = wait_example().replace("http://127.0.0.1:8000", stack.api_url)
    assert "while" in script
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "VSL_API_KEY": CLIENT_A_KEY})
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["status"] == "completed" and job["result"]["originalUrl"]

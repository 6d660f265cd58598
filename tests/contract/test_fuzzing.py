"""Contract fuzzing: Schemathesis generates requests from /openapi.json (valid
and invalid ones) against the running local stack and checks every answer
against the document: no 5xx, no undocumented status, header, content type or
body, invalid input rejected, authentication enforced."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.keys import new_key

pytestmark = pytest.mark.integration

# Every check but positive_data_acceptance: a request valid by the schema may still
# be refused for what a schema cannot say (a job id that does not exist, a model's
# own parameters, a spent rate limit), and those refusals are documented 4xx.
EXCLUDED_CHECKS = "positive_data_acceptance"
MIN_REQUESTS = 1000


def test_the_api_honours_its_openapi_document(stack, tmp_path):
    key, _ = new_key(stack, "--client", "fuzzer")
    report = tmp_path / "schemathesis.json"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "run",
         f"{stack.api_url}/openapi.json", "-H", f"X-API-Key: {key}",
         "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
         "--max-examples", "60", "--seed", "1", "--workers", "1",
         "--report", "json", "--report-json-path", str(report)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    output = done.stdout + done.stderr
    summary = output[output.find("SUMMARY"):]
    assert done.returncode == 0, output[-6000:]
    generated = int(re.search(r"(\d+) generated", summary).group(1))
    assert generated >= MIN_REQUESTS, summary
    tested = summary.split("Tested:")[1].split()[0]
    assert tested == summary.split("Selected:")[1].split()[0].split("/")[1], summary
    assert report.exists() and json.loads(report.read_text())

"""The JavaScript client's own test suite (`node --test sdk/js/test/`), run against the
session's local stack with the keys its integration tests need."""
import os
import shutil
import subprocess

import pytest

from local.stack import ROOT, SIMULATOR_TOKEN
from tests.support.keys import CLIENT_A_KEY

pytestmark = pytest.mark.integration

BOUND_USER = "js-sdk-bound-user"


@pytest.fixture
def js_keys(stack):
    """A key bound to one user and a key with tiny limits, created like the key CLI does."""
    from chalicelib.aws import Table
    from chalicelib.dynamo_stores import DynamoApiKeyStore
    from chalicelib.keys import ApiKeys
    from tests.support.stack import operator_client
    keys = ApiKeys(DynamoApiKeyStore(Table("vsl-media-local-api-keys",
                                           operator_client(stack, "dynamodb"))))
    bound, _ = keys.create("js-sdk-bound", user_id=BOUND_USER)
    limited, _ = keys.create("js-sdk-limited",
                             limits={"submissions_per_hour": 1, "status_per_minute": 2})
    return {"VSL_TEST_BOUND_KEY": bound, "VSL_TEST_BOUND_USER": BOUND_USER,
            "VSL_TEST_LIMITED_KEY": limited}


def test_js_sdk_suite(stack, sim, js_keys):
    node = shutil.which("node")
    assert node, "Node.js 18+ is needed for the JavaScript SDK tests"
    assert (ROOT / "sdk" / "js" / "node_modules" / "typescript").is_dir(), \
        "the declarations' tests need TypeScript: make install (npm ci in sdk/js)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSL_")}
    env.update(js_keys, VSL_BASE_URL=stack.api_url, VSL_API_KEY=CLIENT_A_KEY,
               VSL_USER_ID="js-sdk-user", VSL_SIMULATOR_URL=stack.simulator_url,
               VSL_SIMULATOR_TOKEN=SIMULATOR_TOKEN, VSL_JS_REQUIRE_INTEGRATION="1")
    # The files by name: Node 21+ reads --test arguments as globs, Node 18-20 as paths.
    # The simulator's faults are global, so every test that sets them is in one file.
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "sdk" / "js" / "test").glob("*.test.js"))
    run = subprocess.run([node, "--test", *files], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    summary = dict(line[2:].split(" ", 1) for line in run.stdout.splitlines()
                   if line.startswith("# ") and line[2:].split(" ", 1)[0] in
                   ("tests", "pass", "fail", "skipped", "cancelled", "todo"))
    # Nothing may be skipped here: a skipped integration test would hide a missing setting.
    assert summary.get("skipped") == "0" and summary.get("fail") == "0", output
    assert int(summary["pass"]) == int(summary["tests"]) > 0, output

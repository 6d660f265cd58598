"""The stack's test keys and secrets, and keys made with the key command."""
import base64
import subprocess
import sys
import uuid

from local.stack import ROOT

# The two clients whose keys the test stack provisions, and its stage-wide webhook secret.
CLIENT_A_KEY = "vsl_test_client_a_" + uuid.uuid4().hex
CLIENT_B_KEY = "vsl_test_client_b_" + uuid.uuid4().hex
STAGE_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"stage-wide webhook secret, tests").decode()


def api_key_cli(stack, *args) -> str:
    out = subprocess.run([sys.executable, "-m", "tools.api_keys", *args], cwd=ROOT,
                         env=stack.env(), capture_output=True, text=True, check=True).stdout
    return out


def new_key(stack, *args) -> tuple:
    out = api_key_cli(stack, "create", *args)
    key_id = out.split("key id:")[1].split()[0]
    return out.strip().splitlines()[-1], key_id

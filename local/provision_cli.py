"""Provision the emulator and create the local API keys (run by local.stack).

VSL_PROVISION=terraform provisions the service's resources with Terraform
(terraform/emulator, functions off: the event delivery loop plays them);
otherwise with local.provision, from the same resources.json. Keys come from
VSL_LOCAL_API_KEYS (comma-separated, one client each); otherwise one is
generated. They are printed and written to .local/api-keys.
"""
import os
from pathlib import Path

from chalicelib.aws import dynamodb_table
from chalicelib.keys import ApiKeys
from chalicelib.store import ApiKeyStore
from chalicelib.resources import resource_names
from local.provision import provision, provision_local_events

KEYS_DIR = Path(__file__).resolve().parent.parent / ".local"
DEFAULT_KEYS_FILE = KEYS_DIR / "api-keys"


def main():
    stage = os.environ.get("VSL_STAGE", "local")
    if os.environ.get("VSL_PROVISION", "quick") == "terraform":
        from local.terraform import Terraform
        tf = Terraform(work_dir=KEYS_DIR / "terraform")
        tf.init()
        tf.apply({"emulator_url": os.environ["AWS_ENDPOINT_URL"], "stage": stage,
                  "enable_functions": False})
        print("provisioned with Terraform (terraform/emulator)", flush=True)
    else:
        provision(stage)
    provision_local_events(stage)
    keys = ApiKeys(ApiKeyStore(dynamodb_table(resource_names(stage).api_keys_table)))
    wanted = [k.strip() for k in os.environ.get("VSL_LOCAL_API_KEYS", "").split(",") if k.strip()]
    issued = [keys.create(key=k)[0] for k in wanted] if wanted else [keys.create()[0]]
    keys_file = Path(os.environ.get("VSL_LOCAL_KEYS_FILE") or DEFAULT_KEYS_FILE)
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys_file.write_text("\n".join(issued) + "\n")
    for key in issued:
        print(f"API key: {key}", flush=True)


if __name__ == "__main__":
    main()

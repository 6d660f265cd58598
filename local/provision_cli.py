"""Provision the emulator, create the local API keys, then the principals: each
function's IAM user and the operator's, written to VSL_LOCAL_PRINCIPALS; from
then on the emulator enforces IAM (run by local.stack).

VSL_PROVISION=terraform provisions the service's resources with Terraform
(terraform/emulator, functions off: the event delivery loop plays them);
otherwise with local.provision, from the same resources.json. Keys come from
VSL_LOCAL_API_KEYS (comma-separated, one client each); otherwise one is
generated. They are written to .local/api-keys (readable by its owner only);
`make run` shows them in its banner.
"""
import json
import os
from pathlib import Path

from chalicelib.aws import dynamodb_table
from chalicelib.keys import ApiKeys
from chalicelib.store import ApiKeyStore
from chalicelib.resources import resource_names
from local import iam
from local.provision import provision, provision_local_events, provision_token_secret
from local.stack import local_dir


def main():
    stage = os.environ.get("VSL_STAGE", "local")
    if os.environ.get("VSL_PROVISION", "quick") == "terraform":
        from local.terraform import Terraform
        tf = Terraform(work_dir=local_dir() / "terraform")
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
    keys_file = Path(os.environ.get("VSL_LOCAL_KEYS_FILE") or local_dir() / "api-keys")
    write_private(keys_file, "\n".join(issued) + "\n")
    # The keys themselves stay out of this output (it goes to a log file).
    print(f"{len(issued)} API key(s) written to {keys_file}", flush=True)
    write_principals(stage, Path(os.environ[iam.PRINCIPALS_ENV]))
    iam.enforce(os.environ["AWS_ENDPOINT_URL"])
    print("IAM enforced: each function has its own user (local/iam.py)", flush=True)


def write_principals(stage: str, path: Path) -> None:
    import boto3
    from chalicelib.resources import load_spec
    prefix = f"{load_spec()['service']}-{stage}"
    principals = iam.create_principals(boto3.client("iam"), prefix)
    principals.update(prefix=prefix, account=iam.LOCAL_ACCOUNT, region=iam.LOCAL_REGION,
                      bucket=resource_names(stage).media_bucket,
                      secret_arn=provision_token_secret(stage, os.environ["REPLICATE_API_TOKEN"]))
    write_private(path, json.dumps(principals, indent=2) + "\n")


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, also when it exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode otherwise
    with os.fdopen(fd, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()

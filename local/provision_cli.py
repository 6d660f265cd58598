"""Provision the emulator, register the local API keys, then the principals: each
function's IAM user and the operator's, written to VSL_LOCAL_PRINCIPALS; from then
on the emulator enforces IAM (run by local.stack).

VSL_PROVISION=terraform provisions the service's resources with Terraform
(terraform/emulator, functions off: the event delivery loop plays them);
otherwise with local.provision, from the same resources.json.

Keys: VSL_LOCAL_API_KEYS (comma-separated, each its own client, bound to no
user) when set, written to the keys file. Otherwise the client LOCAL_CLIENT_ID
gets two keys: the first line of the keys file, bound to the default user (what
the examples use), and the second, the client's own unbound key (for what only
a client may do: its webhook endpoints and signing secret). The file's keys come
back at every start (the emulator forgot them when it stopped, but a key you
exported must keep working); a missing one is generated and the file written.
The file is readable by its owner only; `make run` shows both keys in its banner.
"""
import json
import os
from pathlib import Path
from typing import List

from chalicelib.aws import dynamodb_table
from chalicelib.keys import ApiKeys
from chalicelib.resources import resource_names
from chalicelib.dynamo_stores import DynamoApiKeyStore
from local import iam
from local.provision import provision, provision_local_events, provision_secret
from local.stack import DEFAULT_USER_ID, LOCAL_CLIENT_ID, keys_file, local_dir, write_private


def register_keys(keys: ApiKeys, wanted: List[str], kept: List[str]) -> List[str]:
    """Register the keys the stack runs with; the ones to write to the keys file
    (none when the file's own keys all came back: it is left as it is)."""
    if wanted:
        for key in wanted:
            keys.create(key=key)
        return wanted
    user_key = keys.create(LOCAL_CLIENT_ID, DEFAULT_USER_ID, key=kept[0] if kept else None)[0]
    client_key = keys.create(LOCAL_CLIENT_ID, key=kept[1] if len(kept) > 1 else None)[0]
    return [] if len(kept) >= 2 else [user_key, client_key]


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
    keys = ApiKeys(DynamoApiKeyStore(dynamodb_table(resource_names(stage).api_keys_table)))
    wanted = [k.strip() for k in os.environ.get("VSL_LOCAL_API_KEYS", "").split(",") if k.strip()]
    path = keys_file()
    kept = path.read_text().split() if path.exists() else []
    written = register_keys(keys, wanted, kept)
    if written:
        write_private(path, "\n".join(written) + "\n")
    # The keys themselves stay out of this output (it goes to a log file).
    print(f"{len(written)} API key(s) written to {path}" if written else
          f"the API keys in {path} registered again", flush=True)
    write_principals(stage, Path(os.environ[iam.PRINCIPALS_ENV]))
    iam.enforce(os.environ["AWS_ENDPOINT_URL"])
    print("IAM enforced: each function has its own user (local/iam.py)", flush=True)


def write_principals(stage: str, path: Path) -> None:
    import boto3
    from chalicelib.resources import load_spec
    prefix = f"{load_spec()['service']}-{stage}"
    principals = iam.create_principals(boto3.client("iam"), prefix)
    # fal's key's secret only with fal, as on AWS (terraform/modules/service: fal_key).
    fal_key = os.environ.get("FAL_KEY")
    principals.update(prefix=prefix, account=iam.LOCAL_ACCOUNT, region=iam.LOCAL_REGION,
                      bucket=resource_names(stage).media_bucket,
                      secret_arn=provision_secret(stage, iam.SECRET_NAME,
                                                  os.environ["REPLICATE_API_TOKEN"]),
                      fal_key_secret_arn=provision_secret(stage, iam.FAL_KEY_SECRET_NAME, fal_key)
                      if fal_key else None)
    write_private(path, json.dumps(principals, indent=2) + "\n")


if __name__ == "__main__":
    main()

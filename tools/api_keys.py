"""Create, list and revoke API keys, against AWS or the local emulator.

    python -m tools.api_keys [--stage homolog] create --client acme [--user user123]
                             [--expires-in-days 30] [--limit submissions_per_hour=500]
    python -m tools.api_keys list
    python -m tools.api_keys revoke KEY_ID

AWS credentials and endpoint come from the usual boto3 settings (AWS_PROFILE,
AWS_ENDPOINT_URL, ...); --local points at the emulator of the running `make run`
(the port it recorded in .local/ports.json; VSL_EMULATOR_PORT overrides), with
the stack's operator credentials (IAM is enforced there: local/iam.py).
A new key is printed once and never stored in clear.
"""
import argparse
import json
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Optional

from chalicelib.clock import SystemClock, iso
from chalicelib.limits import Limits
from local.stack import ports_file as recorded_ports_file


class NoLocalStack(Exception):
    pass


def local_emulator_url(env=None, ports_file: Optional[Path] = None) -> str:
    """The emulator `make run` started: VSL_EMULATOR_PORT, else the port it recorded."""
    env = os.environ if env is None else env
    ports_file = ports_file or recorded_ports_file()
    if env.get("VSL_EMULATOR_PORT"):
        return f"http://127.0.0.1:{int(env['VSL_EMULATOR_PORT'])}"
    try:
        ports = json.loads(ports_file.read_text())
    except FileNotFoundError:
        raise NoLocalStack(f"no local stack is running: `make run` records its ports in "
                           f"{ports_file} (or set VSL_EMULATOR_PORT)") from None
    try:
        os.kill(int(ports["pid"]), 0)
    except ProcessLookupError:
        raise NoLocalStack(f"the stack that wrote {ports_file} (pid {ports['pid']}) is not "
                           f"running any more: start `make run`") from None
    except PermissionError:
        pass  # it runs, as another user
    return f"http://127.0.0.1:{int(ports['emulator'])}"


def local_operator_credentials(ports_file: Optional[Path] = None) -> dict:
    """The operator's credentials of the running `make run` (IAM is enforced there)."""
    from local.iam import credentials_env
    from local.stack import local_dir
    ports_file = ports_file or recorded_ports_file()
    try:
        path = Path(json.loads(ports_file.read_text())["principals"])
    except (FileNotFoundError, KeyError):
        path = local_dir() / "principals.json"
    try:
        return credentials_env(json.loads(path.read_text())["operator"])
    except FileNotFoundError:
        raise NoLocalStack(f"no credentials in {path}: start `make run`") from None


def describe_limits(limits) -> str:
    if not limits:
        return "stage defaults"
    return ", ".join(f"{name}={int(value)}" for name, value in sorted(limits.items()))


def parse_limit(text: str):
    name, _, value = text.partition("=")
    if name not in Limits.model_fields or not value.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected NAME=NUMBER with NAME one of {', '.join(Limits.model_fields)}")
    return name, int(value)


# A key lives at most a century: a longer life is a mistake (and past the year 9999, none).
MAX_DAYS = 36500


def positive_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    # 0 would mean "never expires" by accident; NaN and infinity are no number of days.
    if not 0 < days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"expected a number of days above 0, at most {MAX_DAYS}")
    return days


def client_id(text: str) -> str:
    # It names the client's folder in the media bucket.
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}", text):
        raise argparse.ArgumentTypeError("letters, digits and _ . @ - only, at most 64")
    return text


def aws_region():
    """The region boto3 resolves (AWS_REGION, AWS_DEFAULT_REGION, the profile's)."""
    import boto3
    return boto3.session.Session().region_name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="api-key", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default=os.environ.get("VSL_STAGE", "local"))
    parser.add_argument("--local", action="store_true",
                        help="use the emulator of the running `make run` (its recorded port)")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="issue a new key (printed once)")
    create.add_argument("--client", type=client_id,
                        help="client id (default: derived from the key)")
    create.add_argument("--user", help="bind the key to one userId")
    create.add_argument("--expires-in-days", type=positive_days)
    create.add_argument("--limit", type=parse_limit, action="append", default=[],
                        help="override a rate limit for this client, e.g. submissions_per_hour=500")
    sub.add_parser("list", help="list keys (ids, clients, states; never the keys)")
    revoke = sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)

    if args.local:
        try:
            emulator_url = local_emulator_url()
            credentials = local_operator_credentials()
        except NoLocalStack as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        os.environ.update({"AWS_ENDPOINT_URL": emulator_url, **credentials})
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the emulator takes any
        from chalicelib import aws
        aws.client.cache_clear()  # a client made earlier in this process is another stack's
    elif aws_region() is None:
        print("error: no AWS region: set AWS_REGION, or a region in your AWS profile "
              "(the one you deployed to)", file=sys.stderr)
        return 2
    from chalicelib.keys import ApiKeys
    from chalicelib.resources import resource_names
    from chalicelib.aws import dynamodb_table
    from chalicelib.dynamo_stores import DynamoApiKeyStore
    from chalicelib.store import AlreadyExists
    keys = ApiKeys(DynamoApiKeyStore(dynamodb_table(resource_names(args.stage).api_keys_table)))

    if args.command == "create":
        expires = SystemClock().now() + timedelta(days=args.expires_in_days) if args.expires_in_days else None
        limits = dict(args.limit) or None
        if limits:
            Limits(**limits)  # validates the ranges before anything is stored
        try:
            key, record = keys.create(args.client, args.user, expires, limits=limits)
        except AlreadyExists:
            print("error: that key exists already", file=sys.stderr)
            return 1
        print(f"key id:  {record['keyId']}\nclient:  {record['clientId']}")
        if args.user:
            print(f"user:    {args.user}")
        if expires:
            print(f"expires: {record['expiresAt']}")
        if limits:
            print(f"limits:  {describe_limits(limits)}")
        print(f"\nAPI key (shown once, store it now):\n{key}")
    elif args.command == "list":
        print(f"{'KEY ID':14} {'CLIENT':24} {'USER':16} {'CREATED':21} {'EXPIRES':21} "
              f"{'STATE':8} LIMITS")
        now = iso(SystemClock().now())
        for r in keys.list():
            state = "revoked" if r.get("revokedAt") else (
                "expired" if r.get("expiresAt") and r["expiresAt"] <= now else "active")
            print(f"{r['keyId']:14} {r['clientId']:24} {r.get('userId') or '-':16} "
                  f"{r['createdAt']:21} {r.get('expiresAt') or 'never':21} {state:8} "
                  f"{describe_limits(r.get('limits'))}")
    else:
        try:
            record = keys.revoke(args.key_id)
        except KeyError:
            print(f"error: no key with id {args.key_id}", file=sys.stderr)
            return 1
        print(f"revoked {record['keyId']} (client {record['clientId']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

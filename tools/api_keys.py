"""Create, list and revoke API keys, against AWS or the local emulator.

    python -m tools.api_keys [--stage homolog] create --client acme [--user user123]
                             [--expires-in-days 30] [--limit submissions_per_hour=500]
    python -m tools.api_keys list
    python -m tools.api_keys revoke KEY_ID

AWS credentials and endpoint come from the usual boto3 settings (AWS_PROFILE,
AWS_ENDPOINT_URL, ...); --local points at the emulator `make run` starts.
A new key is printed once and never stored in clear.
"""
import argparse
import os
import re
import sys
from datetime import timedelta

from chalicelib.clock import utcnow
from chalicelib.limits import Limits


def parse_limit(text: str):
    name, _, value = text.partition("=")
    if name not in Limits.model_fields or not value.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected NAME=NUMBER with NAME one of {', '.join(Limits.model_fields)}")
    return name, int(value)


def positive_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    if not days > 0:  # 0 would mean "never expires" by accident; NaN is no number of days
        raise argparse.ArgumentTypeError("expected a number of days above 0")
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
                        help="use the emulator of `make run` (127.0.0.1:$VSL_EMULATOR_PORT)")
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
        os.environ.update({
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{os.environ.get('VSL_EMULATOR_PORT', 5050)}",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the emulator takes any
    elif aws_region() is None:
        print("error: no AWS region: set AWS_REGION, or a region in your AWS profile "
              "(the one you deployed to)", file=sys.stderr)
        return 2
    from chalicelib.keys import ApiKeys
    from chalicelib.resources import resource_names
    from chalicelib.aws import dynamodb_table
    from chalicelib.store import AlreadyExists, ApiKeyStore
    keys = ApiKeys(ApiKeyStore(dynamodb_table(resource_names(args.stage).api_keys_table)))

    if args.command == "create":
        expires = utcnow() + timedelta(days=args.expires_in_days) if args.expires_in_days else None
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
        print(f"\nAPI key (shown once, store it now):\n{key}")
    elif args.command == "list":
        print(f"{'KEY ID':14} {'CLIENT':24} {'USER':16} {'CREATED':21} {'STATE'}")
        now = utcnow()
        for r in keys.list():
            state = "revoked" if r.get("revokedAt") else (
                "expired" if r.get("expiresAt") and r["expiresAt"] <= now.strftime(
                    "%Y-%m-%dT%H:%M:%SZ") else "active")
            print(f"{r['keyId']:14} {r['clientId']:24} {r.get('userId') or '-':16} "
                  f"{r['createdAt']:21} {state}")
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

"""The Replicate token: from the environment locally, from Secrets Manager on AWS.

On AWS the functions' environment holds only the secret's ARN
(REPLICATE_API_TOKEN_SECRET_ARN); the token is read on first use and kept for
the life of the process (one read per cold start, none for requests that never
call Replicate).
"""
import os
from functools import lru_cache
from typing import Optional

TOKEN_ENV = "REPLICATE_API_TOKEN"
SECRET_ARN_ENV = "REPLICATE_API_TOKEN_SECRET_ARN"


def replicate_configured(env=None) -> bool:
    """Whether a token is configured, without reading the secret."""
    env = os.environ if env is None else env
    return bool(env.get(TOKEN_ENV) or env.get(SECRET_ARN_ENV))


@lru_cache(maxsize=1)
def replicate_api_token() -> Optional[str]:
    """REPLICATE_API_TOKEN if set, else the secret's value; None when neither is
    configured. A failed read raises (botocore's error) and is retried on the
    next call: failures are not cached."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    arn = os.environ.get(SECRET_ARN_ENV)
    if not arn:
        return None
    from chalicelib.aws import client
    return client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"].strip() or None

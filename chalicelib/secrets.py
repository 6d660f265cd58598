"""The Replicate token: from the environment locally, from Secrets Manager on AWS.

On AWS the functions' environment holds only the secret's ARN
(REPLICATE_API_TOKEN_SECRET_ARN); the token is read on first use and kept for at
most TOKEN_MAX_AGE_S, then read again: a token rotated in the secret (apply with
the new TF_VAR_replicate_api_token) is used by every running function within
that time, without a cold start. Requests that never call Replicate read nothing.
"""
import os
import threading
import time
from typing import Callable, Optional

TOKEN_ENV = "REPLICATE_API_TOKEN"
SECRET_ARN_ENV = "REPLICATE_API_TOKEN_SECRET_ARN"
# A read costs one Secrets Manager call per function instance per this long.
TOKEN_MAX_AGE_S = 300.0


def replicate_configured(env=None) -> bool:
    """Whether a token is configured, without reading the secret."""
    env = os.environ if env is None else env
    return bool(env.get(TOKEN_ENV) or env.get(SECRET_ARN_ENV))


def _read_secret(arn: str) -> Optional[str]:
    from chalicelib.aws import client
    return client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"].strip() or None


class TokenCache:
    """The secret's value, re-read once older than ``max_age_s``. A failed read
    raises (botocore's error) and is retried on the next call: failures are not
    cached."""

    def __init__(self, max_age_s: float = TOKEN_MAX_AGE_S,
                 read: Callable[[str], Optional[str]] = _read_secret,
                 monotonic: Callable[[], float] = time.monotonic):
        self.max_age_s = max_age_s
        self._read = read
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._value: Optional[str] = None
        self._read_at: Optional[float] = None
        self._arn: Optional[str] = None

    def get(self, arn: str) -> Optional[str]:
        with self._lock:
            if self._arn == arn and self._read_at is not None and \
                    self._monotonic() - self._read_at < self.max_age_s:
                return self._value
        value = self._read(arn)
        with self._lock:
            self._value, self._read_at, self._arn = value, self._monotonic(), arn
        return value

    def forget(self) -> None:
        with self._lock:
            self._value = self._read_at = self._arn = None


_secret = TokenCache()


def replicate_api_token() -> Optional[str]:
    """REPLICATE_API_TOKEN if set, else the secret's value (at most TOKEN_MAX_AGE_S
    old); None when neither is configured."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    arn = os.environ.get(SECRET_ARN_ENV)
    return _secret.get(arn) if arn else None


def forget_token() -> None:
    """The next call reads the secret again (tests)."""
    _secret.forget()

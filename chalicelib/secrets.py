"""The providers' credentials (the Replicate token, the fal key): from the environment
locally, from Secrets Manager on AWS.

On AWS the functions' environment holds only each secret's ARN
(REPLICATE_API_TOKEN_SECRET_ARN, FAL_KEY_SECRET_ARN); the value is read on first use
and kept for at most TOKEN_MAX_AGE_S, then read again: a value rotated in the secret
(apply with the new TF_VAR_replicate_api_token or TF_VAR_fal_key) is used by every
running function within that time, without a cold start. Requests that never call
the provider read nothing.
"""
import os
import threading
import time
from typing import Callable, Optional

# A read costs one Secrets Manager call per secret, function instance and this long.
TOKEN_MAX_AGE_S = 300.0


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


class Secret:
    """A credential: the environment variable ``value_env`` holds it (locally), or
    ``arn_env`` the ARN of the Secrets Manager secret that does (on AWS)."""

    def __init__(self, value_env: str, arn_env: str, cache: Optional[TokenCache] = None):
        self.value_env = value_env
        self.arn_env = arn_env
        self.cache = cache or TokenCache()

    def configured(self, env=None) -> bool:
        """Whether it is configured, without reading the secret."""
        env = os.environ if env is None else env
        return bool(env.get(self.value_env) or env.get(self.arn_env))

    def value(self) -> Optional[str]:
        """``value_env`` if set, else the secret's value (at most the cache's max age
        old); None when neither is configured. A failed read raises."""
        value = os.environ.get(self.value_env)
        if value:
            return value
        arn = os.environ.get(self.arn_env)
        return self.cache.get(arn) if arn else None


REPLICATE_TOKEN = Secret("REPLICATE_API_TOKEN", "REPLICATE_API_TOKEN_SECRET_ARN")
FAL_KEY = Secret("FAL_KEY", "FAL_KEY_SECRET_ARN")


def replicate_configured(env=None) -> bool:
    return REPLICATE_TOKEN.configured(env)


def replicate_api_token() -> Optional[str]:
    return REPLICATE_TOKEN.value()


def fal_configured(env=None) -> bool:
    return FAL_KEY.configured(env)


def fal_key() -> Optional[str]:
    return FAL_KEY.value()


def forget_secrets() -> None:
    """The next calls read the secrets again (tests)."""
    for secret in (REPLICATE_TOKEN, FAL_KEY):
        secret.cache.forget()

"""The Replicate token: the environment's locally, the secret's on AWS, re-read after a
bounded age so a rotation takes effect without a cold start."""
import pytest
from moto import mock_aws

from chalicelib import aws, secrets
from chalicelib.config import REPLICATE_PUBLIC_URL
from tests.support.settings import settings_with


@pytest.fixture
def fresh(monkeypatch):
    for name in ("REPLICATE_API_TOKEN", "REPLICATE_API_TOKEN_SECRET_ARN", "AWS_ENDPOINT_URL",
                 "AWS_PROFILE", "REPLICATE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws.client.cache_clear()
    secrets.forget_token()
    yield monkeypatch
    aws.client.cache_clear()
    secrets.forget_token()


def test_the_environment_token_is_used_as_is(fresh):
    fresh.setenv("REPLICATE_API_TOKEN", "r8_local")
    assert secrets.replicate_api_token() == "r8_local"


def test_nothing_configured_is_none(fresh):
    assert secrets.replicate_api_token() is None
    assert settings_with(fresh, {}).replicate_base_url is None


@mock_aws
def test_the_secret_is_read_once_then_again_after_its_max_age(fresh):
    client = aws.client("secretsmanager")
    arn = client.create_secret(Name="vsl/token", SecretString="r8_from_secret\n")["ARN"]
    fresh.setenv("REPLICATE_API_TOKEN_SECRET_ARN", arn)
    now = [1000.0]
    fresh.setattr(secrets, "_secret", secrets.TokenCache(300, monotonic=lambda: now[0]))
    assert secrets.replicate_api_token() == "r8_from_secret"
    client.put_secret_value(SecretId=arn, SecretString="r8_rotated")
    now[0] += 299
    assert secrets.replicate_api_token() == "r8_from_secret"  # still fresh: no second read
    now[0] += 2
    assert secrets.replicate_api_token() == "r8_rotated"


def test_a_failed_read_is_not_cached():
    answers = iter([ConnectionError("down"), "r8_token"])

    def read(arn):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer
    cache = secrets.TokenCache(300, read=read, monotonic=lambda: 0.0)
    with pytest.raises(ConnectionError):
        cache.get("arn:secret")
    assert cache.get("arn:secret") == "r8_token"


def test_a_rotated_token_gets_a_client_of_its_own(fresh):
    from chalicelib import wiring
    settings = settings_with(fresh, {"REPLICATE_BASE_URL": "http://127.0.0.1:9",
                                     "REPLICATE_API_TOKEN_SECRET_ARN": "arn:x"})
    fresh.setattr(wiring, "get_settings", lambda: settings)
    tokens = iter(["r8_old", "r8_old", "r8_new"])
    fresh.setattr(secrets, "replicate_api_token", lambda: next(tokens))
    first, again, rotated = wiring.replicate_client(), wiring.replicate_client(), \
        wiring.replicate_client()
    assert first is again and rotated is not first
    assert rotated.session.headers["Authorization"] == "Bearer r8_new"


def test_a_secret_arn_alone_means_the_public_replicate_without_reading_it(fresh):
    # No AWS here: reading the secret would fail, so this proves it is not read.
    settings = settings_with(fresh, {"REPLICATE_API_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:x"})
    assert settings.replicate_base_url == REPLICATE_PUBLIC_URL
    assert settings.replicate_api_token is None

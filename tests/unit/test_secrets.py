"""The Replicate token: the environment's locally, the secret's on AWS, read once."""
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
    secrets.replicate_api_token.cache_clear()
    yield monkeypatch
    aws.client.cache_clear()
    secrets.replicate_api_token.cache_clear()


def test_the_environment_token_is_used_as_is(fresh):
    fresh.setenv("REPLICATE_API_TOKEN", "r8_local")
    assert secrets.replicate_api_token() == "r8_local"


def test_nothing_configured_is_none(fresh):
    assert secrets.replicate_api_token() is None
    assert settings_with(fresh, {}).replicate_base_url is None


@mock_aws
def test_the_secret_is_read_once_per_process(fresh):
    client = aws.client("secretsmanager")
    arn = client.create_secret(Name="vsl/token", SecretString="r8_from_secret\n")["ARN"]
    fresh.setenv("REPLICATE_API_TOKEN_SECRET_ARN", arn)
    assert secrets.replicate_api_token() == "r8_from_secret"
    client.put_secret_value(SecretId=arn, SecretString="r8_rotated")
    assert secrets.replicate_api_token() == "r8_from_secret"  # cached: read at cold start only


def test_a_secret_arn_alone_means_the_public_replicate_without_reading_it(fresh):
    # No AWS here: reading the secret would fail, so this proves it is not read.
    settings = settings_with(fresh, {"REPLICATE_API_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:x"})
    assert settings.replicate_base_url == REPLICATE_PUBLIC_URL
    assert settings.replicate_api_token is None

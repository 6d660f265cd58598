"""The providers' credentials (the Replicate token, the fal key): the environment's
locally, the secret's on AWS, re-read after a bounded age so a rotation takes effect
without a cold start; configured or not is known without reading the secret."""
import pytest
from moto import mock_aws

from chalicelib import aws, secrets
from chalicelib.config import REPLICATE_PUBLIC_URL
from tests.support.settings import settings_with


@pytest.fixture
def fresh(monkeypatch):
    for name in ("REPLICATE_API_TOKEN", "REPLICATE_API_TOKEN_SECRET_ARN", "AWS_ENDPOINT_URL",
                 "AWS_PROFILE", "REPLICATE_BASE_URL", "FAL_KEY", "FAL_KEY_SECRET_ARN",
                 "FAL_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws.client.cache_clear()
    secrets.forget_secrets()
    yield monkeypatch
    aws.client.cache_clear()
    secrets.forget_secrets()


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
    fresh.setattr(secrets.REPLICATE_TOKEN, "cache",
                  secrets.TokenCache(300, monotonic=lambda: now[0]))
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


# ---- any credential, the fal key as the example: on fakes of Secrets Manager --------

class FakeSecretsManager:
    """Secret values by ARN; every read recorded."""

    def __init__(self, values):
        self.values = dict(values)
        self.reads = []

    def read(self, arn):
        self.reads.append(arn)
        return self.values[arn]


def never_read(arn):
    raise AssertionError(f"the secret {arn} was read")


def fal_key_in(fresh, read, monotonic=lambda: 0.0) -> None:
    fresh.setattr(secrets, "FAL_KEY", secrets.Secret(
        "FAL_KEY", "FAL_KEY_SECRET_ARN", secrets.TokenCache(300, read=read, monotonic=monotonic)))


def test_a_secret_is_kept_for_its_max_age_then_read_again(fresh):
    manager = FakeSecretsManager({"arn:fal": "key-1"})
    now = [1000.0]
    fal_key_in(fresh, manager.read, lambda: now[0])
    fresh.setenv("FAL_KEY_SECRET_ARN", "arn:fal")
    assert secrets.fal_key() == "key-1"
    manager.values["arn:fal"] = "key-2"  # rotated
    now[0] += 299.9
    assert secrets.fal_key() == "key-1"
    assert manager.reads == ["arn:fal"]
    now[0] += 0.1
    assert secrets.fal_key() == "key-2"
    assert manager.reads == ["arn:fal", "arn:fal"]


def test_each_credential_has_its_own_secret_and_cache(fresh):
    manager = FakeSecretsManager({"arn:fal": "fal-key", "arn:replicate": "r8_token"})
    fal_key_in(fresh, manager.read)
    fresh.setattr(secrets.REPLICATE_TOKEN, "cache", secrets.TokenCache(300, read=manager.read))
    fresh.setenv("FAL_KEY_SECRET_ARN", "arn:fal")
    fresh.setenv("REPLICATE_API_TOKEN_SECRET_ARN", "arn:replicate")
    assert (secrets.fal_key(), secrets.replicate_api_token()) == ("fal-key", "r8_token")
    assert (secrets.fal_key(), secrets.replicate_api_token()) == ("fal-key", "r8_token")
    assert sorted(manager.reads) == ["arn:fal", "arn:replicate"]


def test_the_environments_key_is_used_without_reading_the_secret(fresh):
    fal_key_in(fresh, never_read)
    fresh.setenv("FAL_KEY", "local-id:local-secret")
    fresh.setenv("FAL_KEY_SECRET_ARN", "arn:fal")
    assert secrets.fal_key() == "local-id:local-secret"
    fresh.delenv("FAL_KEY")
    fresh.delenv("FAL_KEY_SECRET_ARN")
    assert secrets.fal_key() is None and not secrets.fal_configured()


def test_fals_secret_arn_alone_configures_fal_without_reading_it(fresh):
    from chalicelib.config import FAL_OUTPUT_ORIGINS, FAL_QUEUE_URL
    from chalicelib.providers.port import FAL, REPLICATE
    from chalicelib.urls import Origin
    fal_key_in(fresh, never_read)
    assert not settings_with(fresh, {}).fal_configured
    settings = settings_with(fresh, {"FAL_KEY_SECRET_ARN": "arn:aws:secretsmanager:x"})
    assert secrets.fal_configured() and settings.fal_configured
    assert settings.fal_key is None
    assert settings.fal_base_url == FAL_QUEUE_URL
    assert settings.routes.order("flux-schnell") == (REPLICATE, FAL)
    assert set(map(Origin.parse, FAL_OUTPUT_ORIGINS)) <= set(settings.output_policy.origins)


class RecordingSession:
    """A requests.Session's request(), answering every call with fal's IN_QUEUE."""

    def __init__(self):
        self.headers = {}
        self.sent = []

    def request(self, method, url, json=None, timeout=None, headers=None,
                allow_redirects=True):
        self.sent.append((method, url, headers))
        return RecordedAnswer()


class RecordedAnswer:
    status_code = 200
    headers = {}

    def json(self):
        return {"status": "IN_QUEUE"}


def test_fal_is_built_without_its_key_and_each_call_uses_the_current_one(fresh):
    from chalicelib import wiring
    from chalicelib.providers.fal import FalProvider, FalUnavailable
    settings = settings_with(fresh, {"FAL_KEY_SECRET_ARN": "arn:fal"})
    fresh.setattr(wiring, "get_settings", lambda: settings)
    answers = []

    def key():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    fresh.setattr(secrets, "fal_key", key)
    wiring.fal_provider.cache_clear()
    try:
        assert wiring.fal_provider().base_url == "https://queue.fal.run"  # no key read yet
    finally:
        wiring.fal_provider.cache_clear()
    session = RecordingSession()
    fal = FalProvider("https://fal.test", wiring.fal_key, timeout_s=1.0,
                      jwks_url="https://fal.test/jwks", jwks_policy=settings.jwks_policy,
                      session=session)
    answers += ["key-1", "key-2", ConnectionError("Secrets Manager unreachable"), None]
    fal.get("flux-schnell", "req-1")
    fal.get("flux-schnell", "req-1")
    assert [h["Authorization"] for _, _, h in session.sent] == ["Key key-1", "Key key-2"]
    for _ in range(2):  # unreadable, then empty: nothing is sent, so another provider may
        with pytest.raises(FalUnavailable) as refused:
            fal.get("flux-schnell", "req-1")
        assert refused.value.outage and not refused.value.sent
    assert len(session.sent) == 2

"""CORS: one allowed origin per stage (API Gateway answers preflights with one
fixed header), from resources.json, overridable by VSL_CORS_ORIGIN."""
import pytest
from tests.support.settings import settings_with



def test_the_cors_origin_comes_from_the_stage_and_the_environment_overrides_it(monkeypatch):
    assert settings_with(monkeypatch, {"VSL_STAGE": "local"}).cors_origin == "*"
    assert settings_with(monkeypatch, {"VSL_STAGE": "homolog", "VSL_CORS_ORIGIN":
                              "https://app.example.com/"}).cors_origin == "https://app.example.com"
    assert settings_with(monkeypatch, {"VSL_STAGE": "homolog", "VSL_CORS_ORIGIN": ""}).cors_origin is None


@pytest.mark.parametrize("origin", ["https://a.example, https://b.example", "ftp://x.example",
                                    "https://*.example.com", "https://x.example/path",
                                    "example.com", "https://user@x.example"])
def test_a_cors_origin_must_be_one_origin(origin, monkeypatch):
    with pytest.raises(ValueError):
        settings_with(monkeypatch, {"VSL_STAGE": "local", "VSL_CORS_ORIGIN": origin})

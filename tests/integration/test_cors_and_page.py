"""The playground page is served without a key, and browsers on other origins
may call the client routes (the local stage allows any origin)."""
import re

import pytest
import requests

pytestmark = pytest.mark.integration

ELSEWHERE = "http://app.example.test:3000"


def test_the_playground_is_served_at_the_root_without_a_key(stack):
    resp = requests.get(stack.api_url + "/", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>VSL Media playground</title>" in resp.text
    csp = resp.headers["Content-Security-Policy"]
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]{44}';", csp)
    assert "connect-src 'self'" in csp
    # Locally the image-to-video input is prefilled with the simulator's sample.
    assert f'content="{stack.simulator_url}/samples/input.jpg"' in resp.text


def test_a_preflight_from_another_origin_is_allowed(stack):
    resp = requests.options(stack.api_url + "/generate-media", timeout=10, headers={
        "Origin": ELSEWHERE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key,idempotency-key"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"].split(",")
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-api-key", "idempotency-key"} <= allowed


def test_a_cross_origin_get_is_readable_with_its_rate_limit_headers(api):
    resp = api.request("GET", "/models", headers={"Origin": ELSEWHERE})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    exposed = resp.headers["Access-Control-Expose-Headers"].split(",")
    assert "X-RateLimit-Remaining" in exposed and "Retry-After" in exposed


def test_a_cross_origin_error_is_readable_too(api):
    resp = api.request("GET", "/status/nope", key="wrong", headers={"Origin": ELSEWHERE})
    assert resp.status_code == 401
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.json()["code"] == "UNAUTHORIZED"


def test_the_gateways_own_errors_are_readable_from_another_origin(stack):
    """An unknown route (API Gateway's own answer: its gateway responses carry the
    stage's origin, terraform/modules/service/api.tf) and an unknown method."""
    resp = requests.get(stack.api_url + "/no/such/route", timeout=10,
                        headers={"Origin": ELSEWHERE})
    assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    resp = requests.request("TRACE", stack.api_url + "/health", timeout=10,
                            headers={"Origin": ELSEWHERE})
    assert resp.status_code == 405 and resp.headers["Access-Control-Allow-Origin"] == "*"


def test_the_replicate_webhook_is_not_open_to_browsers(stack):
    resp = requests.options(stack.api_url + "/webhook/replicate", timeout=10, headers={
        "Origin": ELSEWHERE, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in resp.headers

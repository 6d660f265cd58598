"""Calling the API over HTTP as a client does, and checking its error format."""
import time

import requests

IMAGE_EXAMPLE = {"userId": "user123", "mediaType": "image", "modelId": "flux-schnell",
                 "parameters": {"prompt": "A futuristic cityscape at sunset",
                                "width": 1024, "height": 1024}}


class Api:
    def __init__(self, base_url: str, key: str):
        self.base_url, self.key = base_url, key

    def request(self, method: str, path: str, key=..., **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        key = self.key if key is ... else key
        if key is not None:
            headers["X-API-Key"] = key
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.base_url + path, headers=headers, **kwargs)

    def submit(self, body: dict, **kwargs) -> requests.Response:
        return self.request("POST", "/generate-media", json=body, **kwargs)

    def status(self, job_id: str, **kwargs) -> requests.Response:
        return self.request("GET", f"/status/{job_id}", **kwargs)

    def wait_for(self, job_id: str, statuses=("completed", "failed", "cancelled"),
                 timeout_s: float = 45) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            resp = self.status(job_id)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            if body["status"] in statuses:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {body['status']} after {timeout_s}s")
            time.sleep(0.2)


def assert_error(resp, status: int, code: str = None):
    """The answer has this status and the documented error body (with this code)."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert {"error", "details", "code"} <= set(body), body
    assert all(isinstance(body[k], str) for k in ("error", "details", "code"))
    if code:
        assert body["code"] == code, body
    return body


def wait_health(api: Api, status: int, timeout_s: float = 30) -> dict:
    """GET /health until it answers ``status``; its body."""
    deadline = time.monotonic() + timeout_s
    while True:
        resp = api.request("GET", "/health", key=None)
        if resp.status_code == status:
            return resp.json()
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.5)

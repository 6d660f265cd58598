"""The Python SDK's client on the stack, with a recorder of what it sends."""
import httpx

import vsl
from tests.support.keys import CLIENT_A_KEY


class Recorder:
    """Counts the requests a client sends and records its sleeps (without sleeping:
    the simulator's faults are consumed per request, not per second)."""

    def __init__(self):
        self.requests, self.sleeps, self.events = [], [], []

    def on_request(self, request):
        self.requests.append((request.method, request.url.path))

    def on_response(self, response):
        self.events.append(("response", response.status_code,
                            response.headers.get("Retry-After")))

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.events.append(("sleep", seconds))

    def posts(self):
        return [r for r in self.requests if r[0] == "POST"]


def make_client(stack, key=CLIENT_A_KEY, user_id="sdk-user", recorder=None, **kwargs):
    hooks = ({"request": [recorder.on_request], "response": [recorder.on_response]}
             if recorder else {})
    http = httpx.Client(event_hooks=hooks)
    client = vsl.Client(api_key=key, base_url=stack.api_url, user_id=user_id, http_client=http,
                        **kwargs)
    if recorder:
        client._sleep = recorder.sleep
    return client

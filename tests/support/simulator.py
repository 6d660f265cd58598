"""Driving the Replicate simulator: its fault switches and its predictions."""
import requests

from local.stack import SIMULATOR_TOKEN


class Simulator:
    def __init__(self, base_url: str):
        self.base_url = base_url

    def faults(self, **changes) -> None:
        requests.post(f"{self.base_url}/_sim/faults", json=changes, timeout=5).raise_for_status()

    def reset(self) -> None:
        requests.post(f"{self.base_url}/_sim/reset", timeout=5).raise_for_status()

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.base_url + path, timeout=10, headers={
            "Authorization": f"Bearer {SIMULATOR_TOKEN}"}, **kwargs)

    def secret(self) -> str:
        return self.api("GET", "/v1/webhooks/default/secret").json()["key"]


def predictions_with_prompt(sim, prompt: str) -> int:
    """Predictions at the simulator for this prompt, every page read."""
    count, url = 0, "/v1/predictions"
    while url:
        page = sim.api("GET", url).json()
        count += sum(1 for p in page["results"] if (p.get("input") or {}).get("prompt") == prompt)
        url = page.get("next")
        if url:
            url = url[url.index("/v1/"):]
    return count

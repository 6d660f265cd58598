"""Replicate's HTTP API: predictions, model versions, output files, webhooks.

Talks to whatever base URL it is given: api.replicate.com or the local
simulator answer the same requests.
"""
import json
import logging
from dataclasses import dataclass
from typing import IO, Dict, Iterable, List, Optional

import requests

log = logging.getLogger(__name__)

TERMINAL_STATUSES = ("succeeded", "failed", "canceled")


class ReplicateUnavailable(Exception):
    """Replicate refused or failed a call; ``retry_after`` when it said when to retry."""

    def __init__(self, message: str, status: Optional[int] = None,
                 retry_after: Optional[int] = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def throttled(self) -> bool:
        return self.status == 429


class OutputGone(Exception):
    """An output file no longer exists (expired or removed): retrying cannot help."""


class WebhookRejected(Exception):
    pass


@dataclass(frozen=True)
class ModelRef:
    """``owner/name``; ``official`` models run without a version id."""
    owner_name: str
    official: bool = False


class ReplicateClient:
    def __init__(self, base_url: str, token: str, timeout_s: float = 10.0,
                 versions: Optional[Dict[str, str]] = None):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._token = token
        self._versions = dict(versions or {})
        self._session: Optional[requests.Session] = None
        self._webhook_secret: Optional[str] = None

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            s = requests.Session()
            s.headers.update({"Authorization": f"Bearer {self._token}",
                              "User-Agent": "vsl-media/1"})
            self._session = s
        return self._session

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        url = f"{self.base_url}{path}"
        try:
            resp = self.session.request(method, url, json=body, timeout=self.timeout_s,
                                        allow_redirects=False)
        except requests.RequestException as e:
            raise ReplicateUnavailable(f"{method} {path}: {type(e).__name__}: {e}") from e
        if resp.status_code >= 300:
            raise ReplicateUnavailable(
                f"{method} {path}: HTTP {resp.status_code}: {_problem_detail(resp)}",
                status=resp.status_code, retry_after=_retry_after(resp))
        try:
            return resp.json()
        except ValueError as e:
            raise ReplicateUnavailable(f"{method} {path}: response is not JSON") from e

    def version_of(self, model: ModelRef) -> str:
        """The configured version id, else the model's latest version (cached)."""
        if model.owner_name not in self._versions:
            info = self._call("GET", f"/v1/models/{model.owner_name}")
            version = (info.get("latest_version") or {}).get("id")
            if not version:
                raise ReplicateUnavailable(f"model {model.owner_name} has no latest_version")
            self._versions[model.owner_name] = version
        return self._versions[model.owner_name]

    def create_prediction(self, model: ModelRef, model_input: dict, webhook: str,
                          events: Iterable[str] = ("start", "completed")) -> dict:
        body = {"input": model_input, "webhook": webhook,
                "webhook_events_filter": list(events)}
        if model.official:
            prediction = self._call("POST", f"/v1/models/{model.owner_name}/predictions", body)
        else:
            body["version"] = self.version_of(model)
            prediction = self._call("POST", "/v1/predictions", body)
        if not isinstance(prediction, dict) or not isinstance(prediction.get("id"), str):
            raise ReplicateUnavailable("create prediction: the response has no prediction id")
        return prediction

    def get_prediction(self, prediction_id: str) -> dict:
        return self._call("GET", f"/v1/predictions/{prediction_id}")

    def cancel_prediction(self, prediction_id: str) -> dict:
        return self._call("POST", f"/v1/predictions/{prediction_id}/cancel")

    def webhook_secret(self) -> str:
        if self._webhook_secret is None:
            self._webhook_secret = self._call("GET", "/v1/webhooks/default/secret")["key"]
        return self._webhook_secret

    def download(self, url: str, out: IO[bytes], chunk_size: int = 1 << 20) -> int:
        """Stream one output file into ``out``; returns the byte count."""
        try:
            with requests.get(url, stream=True, timeout=self.timeout_s) as resp:
                if resp.status_code in (404, 410):
                    raise OutputGone(f"output {url} is gone (HTTP {resp.status_code})")
                if resp.status_code != 200:
                    raise ReplicateUnavailable(f"GET {url}: HTTP {resp.status_code}",
                                               status=resp.status_code)
                size = 0
                for chunk in resp.iter_content(chunk_size):
                    out.write(chunk)
                    size += len(chunk)
                return size
        except requests.RequestException as e:
            raise ReplicateUnavailable(f"GET {url}: {type(e).__name__}: {e}") from e


def verify_webhook(secret: str, raw_body: bytes, headers: Dict[str, str]) -> dict:
    """Check a Standard Webhooks signature; returns the parsed body."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
    try:
        payload = Webhook(secret).verify(raw_body, dict(headers))
    except (WebhookVerificationError, ValueError, TypeError) as e:
        # ValueError/TypeError: malformed signature entries or body encoding.
        raise WebhookRejected(str(e) or type(e).__name__) from e
    if not isinstance(payload, dict):
        raise WebhookRejected("webhook body is not a JSON object")
    return payload


def output_urls(output) -> List[str]:
    """Replicate's ``output`` as a list of URLs (single-file models return a string)."""
    if output is None:
        return []
    if isinstance(output, str):
        return [output]
    if isinstance(output, list):
        return [o for o in output if isinstance(o, str)]
    return []


def _problem_detail(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or json.dumps(body)[:200])
    return str(body)[:200]


def _retry_after(resp: requests.Response) -> Optional[int]:
    value = resp.headers.get("Retry-After")
    try:
        return max(0, int(float(value))) if value is not None else None
    except ValueError:
        return None

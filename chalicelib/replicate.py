"""Replicate's HTTP API: predictions, model versions, the webhook secret, and
the verification of its signed webhooks.

Talks to whatever base URL it is given: api.replicate.com or the local
simulator answer the same requests.
"""
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Optional, Protocol

if TYPE_CHECKING:  # imported when first used: off the API's cold-start path
    import requests

from chalicelib.jobs.model import Prediction
from chalicelib.providers.http import call_json
from chalicelib.providers.port import ProviderUnavailable, WebhookRejected

log = logging.getLogger(__name__)


class ReplicateUnavailable(ProviderUnavailable):
    """A call to Replicate did not succeed (``definite``: Replicate certainly did nothing)."""


@dataclass(frozen=True)
class ModelRef:
    """``owner/name``; ``official`` models run without a version id."""
    owner_name: str
    official: bool = False


class Replicate(Protocol):
    def create_prediction(self, model: ModelRef, model_input: dict, webhook: str) -> Prediction:
        ...

    def get_prediction(self, prediction_id: str) -> Prediction: ...

    def cancel_prediction(self, prediction_id: str) -> None: ...

    def webhook_secret(self) -> str: ...

    def check(self) -> None:
        """A real, cheap call: raises ReplicateUnavailable if Replicate does not answer."""


# The webhooks we ask for: the start (the job shows it is processing), the logs
# (their progress bars show how far it is; Replicate sends them at most every
# 500 ms) and the end.
WEBHOOK_EVENTS = ("start", "logs", "completed")


class ReplicateClient:
    def __init__(self, base_url: str, token: str, timeout_s: float,
                 connect_timeout_s: float = 3.0, versions: Optional[Dict[str, str]] = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout_s, timeout_s)
        self._token = token
        self._versions = dict(versions or {})
        self._session: Optional["requests.Session"] = None
        self._webhook_secret: Optional[str] = None

    @property
    def session(self) -> "requests.Session":
        if self._session is None:
            import requests
            s = requests.Session()
            s.headers.update({"Authorization": f"Bearer {self._token}",
                              "User-Agent": "vsl-media/1"})
            self._session = s
        return self._session

    def _call(self, method: str, path: str, body: Optional[dict] = None,
              timeout=None) -> dict:
        return call_json(self.session, method, self.base_url, path, body,
                         timeout or self.timeout, ReplicateUnavailable)

    def version_of(self, model: ModelRef) -> str:
        """The configured version id, else the model's latest version (cached)."""
        if model.owner_name not in self._versions:
            info = self._call("GET", f"/v1/models/{model.owner_name}")
            version = (info.get("latest_version") or {}).get("id")
            if not version:
                raise ReplicateUnavailable(f"model {model.owner_name} has no latest_version",
                                           sent=False)
            self._versions[model.owner_name] = version
        return self._versions[model.owner_name]

    def create_prediction(self, model: ModelRef, model_input: dict, webhook: str) -> Prediction:
        body = {"input": model_input, "webhook": webhook,
                "webhook_events_filter": list(WEBHOOK_EVENTS)}
        if model.official:
            data = self._call("POST", f"/v1/models/{model.owner_name}/predictions", body)
        else:
            body["version"] = self.version_of(model)
            data = self._call("POST", "/v1/predictions", body)
        try:
            return Prediction.from_api(data)
        except ValueError as e:
            # Accepted (2xx) but unreadable: the prediction may exist.
            raise ReplicateUnavailable(f"create prediction: {e}") from e

    def get_prediction(self, prediction_id: str) -> Prediction:
        data = self._call("GET", f"/v1/predictions/{prediction_id}")
        try:
            return Prediction.from_api(data)
        except ValueError as e:
            raise ReplicateUnavailable(f"get prediction: {e}") from e

    def cancel_prediction(self, prediction_id: str) -> None:
        self._call("POST", f"/v1/predictions/{prediction_id}/cancel")

    def webhook_secret(self) -> str:
        if self._webhook_secret is None:
            self._webhook_secret = self._call("GET", "/v1/webhooks/default/secret")["key"]
        return self._webhook_secret

    def check(self) -> None:
        # Uncached, with a short timeout: health must see a Replicate that hangs.
        self._call("GET", "/v1/webhooks/default/secret", timeout=(2.0, 3.0))


def verify_webhook(secret: str, raw_body: bytes, headers: Dict[str, str]) -> None:
    """Check a Standard Webhooks signature over the raw body (parsed by the caller)."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
    try:
        Webhook(secret).verify(raw_body, dict(headers), json_parse=False)
    except (WebhookVerificationError, ValueError, TypeError) as e:
        # ValueError/TypeError: malformed signature entries or body encoding.
        raise WebhookRejected(str(e) or type(e).__name__) from e

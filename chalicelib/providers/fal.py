"""fal.ai's queue API behind the provider port.

``POST {base}/{endpoint}?fal_webhook=URL`` starts a request (``Authorization: Key``);
its status, result and cancel URLs use the model's owner/app only (fal's rule, the
one ``FalModel.app_id`` applies). fal's states are read as a Prediction's:
IN_QUEUE -> starting, IN_PROGRESS -> processing, COMPLETED -> succeeded, or
failed / canceled when it carries an error. Callbacks are signed with ED25519 over
``{request_id}\\n{user_id}\\n{timestamp}\\n{sha256_hex(body)}`` by a key of fal's JWKS,
which is fetched through the URL policy and kept at most ``jwks_max_age_s``.
"""
import base64
import hashlib
import io
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional
from urllib.parse import quote

from chalicelib.catalog import ModelParameters
from chalicelib.jobs.model import Prediction
from chalicelib.providers.fal_models import FAL_MODELS, NotServable
from chalicelib.providers.http import call_json
from chalicelib.providers.port import FAL, ProviderUnavailable, WebhookRejected
from chalicelib.outbound import FetchFailed, fetch
from chalicelib.urls import UrlPolicy, UrlRejected

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

# A signature's timestamp may be this far from our clock (fal's documentation: 5 minutes).
SIGNATURE_TOLERANCE_S = 300
# An unknown key refetches the JWKS (a rotation), but not more often than this.
JWKS_MIN_REFRESH_S = 30
MAX_JWKS_BYTES = 64 * 1024
CANCELLED = "Request was cancelled"


class FalUnavailable(ProviderUnavailable):
    """A call to fal did not succeed (``definite``: fal certainly did nothing)."""


def fal_webhook_url(public_base_url: str, job_id: str) -> str:
    return f"{public_base_url}/webhook/fal?jobId={job_id}"


class FalProvider:
    name = FAL

    def __init__(self, base_url: str, key: Callable[[], Optional[str]], timeout_s: float,
                 jwks_url: str, jwks_policy: UrlPolicy, jwks_max_age_s: float = 3600,
                 connect_timeout_s: float = 3.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 session: Optional["requests.Session"] = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout_s, timeout_s)
        # Asked at each call: the key a rotation put in its secret is used once read.
        self._key = key
        self._jwks_url = jwks_url
        self._jwks_policy = jwks_policy
        self._jwks_max_age_s = jwks_max_age_s
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._session = session  # made on first use when None (requests is imported then)
        self._keys: List[bytes] = []
        self._keys_at = float("-inf")
        self._keys_lock = threading.Lock()

    # ---- the queue API -------------------------------------------------------

    @property
    def session(self) -> "requests.Session":
        if self._session is None:
            import requests
            s = requests.Session()
            s.headers.update({"User-Agent": "vsl-media/1"})
            self._session = s
        return self._session

    def _authorization(self) -> Dict[str, str]:
        try:
            key = self._key()
        except Exception as e:  # the secret could not be read: retried on the next call
            log.error("the fal key could not be read: %s: %s", type(e).__name__, e)
            raise FalUnavailable("fal's key cannot be read now", sent=False) from None
        if not key:
            raise FalUnavailable("fal's key is empty", sent=False)
        return {"Authorization": f"Key {key}"}

    def _call(self, method: str, path: str, body: Optional[dict] = None, timeout=None):
        return call_json(self.session, method, self.base_url, path, body,
                         timeout or self.timeout, FalUnavailable,
                         headers=self._authorization())

    def serves(self, model_id: str, params: ModelParameters) -> bool:
        model = FAL_MODELS.get(model_id)
        if model is None:
            return False
        try:
            model.input_for(params)
            return True
        except NotServable:
            return False

    def expected_input(self, model_id: str, params: ModelParameters) -> Optional[dict]:
        return None  # fal's callbacks and statuses do not report the input

    def create(self, model_id: str, params: ModelParameters, job_id: str,
               public_base_url: str) -> Prediction:
        model = FAL_MODELS[model_id]
        try:
            model_input = model.input_for(params)
        except NotServable as e:
            # Refused before sending, as fal would refuse it: not an outage (routing skips
            # such jobs; this guards a caller that did not ask ``serves`` first).
            raise FalUnavailable(f"fal cannot run this job as asked: {e}", status=422,
                                 sent=False) from e
        webhook = quote(fal_webhook_url(public_base_url, job_id), safe="")
        data = self._call("POST", f"/{model.endpoint_id}?fal_webhook={webhook}", model_input)
        request_id = data.get("request_id") if isinstance(data, dict) else None
        if not isinstance(request_id, str) or not request_id:
            # Accepted (2xx) but unreadable: the request may exist.
            raise FalUnavailable("fal's answer to submit has no request_id")
        return Prediction(id=request_id, status="starting", model=model.endpoint_id)

    def get(self, model_id: str, run_id: str) -> Prediction:
        model = FAL_MODELS[model_id]
        base = f"/{model.app_id}/requests/{quote(run_id, safe='')}"
        status = self._call("GET", f"{base}/status")
        state = status.get("status") if isinstance(status, dict) else None
        if state == "IN_QUEUE":
            return Prediction(id=run_id, status="starting", model=model.endpoint_id)
        if state == "IN_PROGRESS":
            return Prediction(id=run_id, status="processing", model=model.endpoint_id)
        if state != "COMPLETED":
            raise FalUnavailable(f"fal status of {run_id}: unknown state {state!r}")
        metrics = status.get("metrics") if isinstance(status.get("metrics"), dict) else {}
        predict_time = metrics.get("inference_time")
        predict_time = float(predict_time) if isinstance(predict_time, (int, float)) else None
        if status.get("error"):
            return _ended_with_error(run_id, model.endpoint_id, str(status["error"]),
                                     predict_time)
        result = self._call("GET", base)
        return Prediction(id=run_id, status="succeeded", model=model.endpoint_id,
                          output=model.output_urls(result if isinstance(result, dict) else {}),
                          predict_time=predict_time)

    def cancel(self, model_id: Optional[str], run_id: str) -> None:
        model = FAL_MODELS.get(model_id or "")
        if model is None:  # fal's cancel URL needs the model's app
            raise FalUnavailable(f"fal request {run_id}: its model is unknown", sent=False)
        self._call("PUT", f"/{model.app_id}/requests/{quote(run_id, safe='')}/cancel")

    def check(self) -> None:
        # Uncached, short: the status of a request that does not exist costs nothing; any
        # answer but a 5xx or 429 (a 404 here) says fal's queue is up.
        try:
            self._call("GET", "/fal-ai/flux/requests/health-probe/status", timeout=(2.0, 3.0))
        except FalUnavailable as e:
            if e.status is None or e.status >= 500 or e.status == 429:
                raise

    # ---- callbacks -----------------------------------------------------------

    def read_callback(self, model_id: Optional[str], body: dict,
                      headers: Dict[str, str]) -> Prediction:
        request_id = _header(headers, "x-fal-webhook-request-id")
        if not isinstance(body, dict) or body.get("request_id") not in (None, request_id):
            raise ValueError("the body's request_id is not the signed one")
        model = FAL_MODELS.get(model_id) if model_id else None
        endpoint = model.endpoint_id if model else None
        payload = body.get("payload")
        if body.get("status") == "OK":
            urls = model.output_urls(payload) if model and isinstance(payload, dict) else None
            return Prediction(id=request_id, status="succeeded", model=endpoint, output=urls)
        if body.get("status") == "ERROR":
            detail = payload.get("detail") if isinstance(payload, dict) else None
            error = detail if isinstance(detail, str) else body.get("error") or "fal failed"
            return _ended_with_error(request_id, endpoint, str(error), None)
        raise ValueError(f"unknown status {body.get('status')!r}")

    def expected_model(self, model_id: str) -> str:
        return FAL_MODELS[model_id].endpoint_id

    def verify_callback(self, raw_body: bytes, headers: Dict[str, str]) -> None:
        """WebhookRejected unless a key of fal's JWKS signed this body, recently."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        request_id = _header(headers, "x-fal-webhook-request-id")
        user_id = _header(headers, "x-fal-webhook-user-id")
        timestamp = _header(headers, "x-fal-webhook-timestamp")
        signature_hex = _header(headers, "x-fal-webhook-signature")
        try:
            signature = bytes.fromhex(signature_hex)
            sent_at = int(timestamp)
        except ValueError:
            raise WebhookRejected("malformed signature headers") from None
        if abs(self._wall_clock() - sent_at) > SIGNATURE_TOLERANCE_S:
            raise WebhookRejected("the signature's timestamp is too old or in the future")
        message = "\n".join([request_id, user_id, timestamp,
                             hashlib.sha256(raw_body).hexdigest()]).encode()
        for refreshed in (False, True):
            for raw_key in self._jwks(refresh=refreshed):
                try:
                    Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, message)
                    return
                except (InvalidSignature, ValueError):
                    continue
            if self._monotonic() - self._keys_at < JWKS_MIN_REFRESH_S:
                break  # fresh keys already tried: no rotation to catch up with
        raise WebhookRejected("no key of fal's JWKS made this signature")

    def _jwks(self, refresh: bool) -> List[bytes]:
        with self._keys_lock:
            age = self._monotonic() - self._keys_at
            if age > self._jwks_max_age_s or (refresh and age >= JWKS_MIN_REFRESH_S):
                self._keys = self._fetch_jwks()
                self._keys_at = self._monotonic()
            return list(self._keys)

    def _fetch_jwks(self) -> List[bytes]:
        out = io.BytesIO()
        try:
            fetch(self._jwks_policy, self._jwks_url, out, MAX_JWKS_BYTES, timeout_s=5.0)
            document = json.loads(out.getvalue())
        except (FetchFailed, UrlRejected, OSError, ValueError) as e:
            # fal retries a refused delivery: better than accepting it unverified.
            raise FalUnavailable(f"fal's JWKS cannot be read: {e}") from e
        keys = []
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            if isinstance(jwk, dict) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
                x = str(jwk.get("x", ""))
                try:
                    keys.append(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
                except ValueError:
                    continue
        return keys


def _header(headers: Dict[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookRejected(f"the {name} header is missing")


def _ended_with_error(run_id: str, endpoint: Optional[str], error: str,
                      predict_time: Optional[float]) -> Prediction:
    status = "canceled" if error == CANCELLED else "failed"
    return Prediction(id=run_id, status=status, model=endpoint, error=error[:1000],
                      predict_time=predict_time)

"""A provider's JSON API over HTTP, its failures read as ProviderUnavailable: an
error answer or a request that never left is definite (nothing was done), any
other failure leaves the outcome unknown."""
import json
from typing import TYPE_CHECKING, Any, Dict, Optional, Type

from chalicelib.providers.port import ProviderUnavailable

if TYPE_CHECKING:  # imported when first used: off the API's cold-start path
    import requests


def call_json(session: "requests.Session", method: str, base_url: str, path: str,
              body: Optional[dict], timeout, unavailable: Type[ProviderUnavailable],
              headers: Optional[Dict[str, str]] = None) -> Any:
    """The JSON answer to ``method base_url+path`` (``headers`` beside the session's);
    ``unavailable`` otherwise."""
    try:
        resp = session.request(method, f"{base_url}{path}", json=body, timeout=timeout,
                               headers=headers, allow_redirects=False)
    except _request_errors() as e:
        raise unavailable(f"{method} {path}: {type(e).__name__}", sent=_was_sent(e)) from e
    if resp.status_code >= 300:
        raise unavailable(f"{method} {path}: HTTP {resp.status_code}: {_problem_detail(resp)}",
                          status=resp.status_code, retry_after=_retry_after(resp))
    try:
        return resp.json()
    except ValueError as e:
        raise unavailable(f"{method} {path}: the response is not JSON") from e


def _request_errors():
    import requests
    return requests.RequestException


def _was_sent(e: "requests.RequestException") -> bool:
    """False when the connection was never made, so the request cannot have arrived."""
    import requests
    if isinstance(e, requests.ConnectTimeout):
        return False
    if isinstance(e, requests.ConnectionError):
        reason = getattr(e.args[0], "reason", None) if e.args else None
        import urllib3.exceptions
        return not isinstance(reason, (urllib3.exceptions.NewConnectionError,
                                       urllib3.exceptions.NameResolutionError))
    return True


def _problem_detail(resp: "requests.Response") -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or json.dumps(body)[:200])
    return str(body)[:200]


def _retry_after(resp: "requests.Response") -> Optional[int]:
    value = resp.headers.get("Retry-After")
    try:
        return max(0, int(float(value))) if value is not None else None
    except ValueError:
        return None

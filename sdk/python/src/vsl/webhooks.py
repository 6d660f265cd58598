"""Verify VSL Media's webhooks (Standard Webhooks signatures).

    import vsl
    event = vsl.webhooks.verify(request_body, request_headers, secret)  # secret: "whsec_..."

``verify`` checks the signature over the raw body with the client's secret (from
``GET /webhooks/secret``; during a rotation either secret verifies), refuses
timestamps more than 5 minutes away, and returns the event as a dict. Deduplicate
events by their ``webhook-id`` header: it is the same on every retry.
"""
from typing import Any, Dict, Mapping, Union

from standardwebhooks.webhooks import Webhook, WebhookVerificationError as _LibraryError

from ._errors import VSLError


class WebhookVerificationError(VSLError):
    """The webhook is not genuine: wrong or missing signature, or a stale timestamp."""


def verify(body: Union[bytes, str], headers: Mapping[str, str], secret: str) -> Dict[str, Any]:
    """The verified event; WebhookVerificationError if it is not genuine."""
    if not secret:
        raise ValueError("verify() needs the signing secret (whsec_...)")
    try:
        event = Webhook(secret).verify(body, dict(headers))
    except (_LibraryError, ValueError, TypeError) as e:
        raise WebhookVerificationError(str(e) or type(e).__name__) from None
    if not isinstance(event, dict):
        raise WebhookVerificationError("the signed body is not a JSON object")
    return event

"""Webhooks as Replicate sends them."""
import json
from datetime import datetime

from chalicelib.notifications.signing import signed_headers


def signed_webhook(secret: str, payload: dict, *, timestamp: datetime = None,
                   msg_id: str = None):
    """A webhook as Replicate sends it: body plus Standard Webhooks headers."""
    body = json.dumps(payload)
    return body, signed_headers(secret, body, msg_id, timestamp)

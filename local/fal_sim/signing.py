"""Webhook signatures as fal makes them: ED25519 over

    {request id}\\n{user id}\\n{unix timestamp}\\n{hex SHA-256 of the raw body}

sent hex-encoded in ``X-Fal-Webhook-Signature`` beside ``X-Fal-Webhook-Request-Id``,
``X-Fal-Webhook-User-Id`` and ``X-Fal-Webhook-Timestamp``; the public keys are a
JWKS (``kty`` "OKP", ``crv`` "Ed25519", ``x`` base64url) that fal serves at
https://rest.alpha.fal.ai/.well-known/jwks.json and receivers must try in turn.
"""
import base64
import hashlib
import secrets
import time
from typing import Dict, List, Optional

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def signed_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    return "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode()


class WebhookSigner:
    """The simulator's signing keys. The JWKS lists a retired key before the
    current one, as a rotation leaves it: receivers must try every key."""

    def __init__(self, user_id: str):
        self.user_id = user_id
        self._retired = Ed25519PrivateKey.generate()
        self._current = Ed25519PrivateKey.generate()
        self._kids = {id(k): secrets.token_hex(8) for k in (self._retired, self._current)}

    def jwks(self) -> Dict[str, List[dict]]:
        return {"keys": [self._jwk(self._retired), self._jwk(self._current)]}

    def _jwk(self, key: Ed25519PrivateKey) -> dict:
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "kid": self._kids[id(key)],
                "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}

    def headers(self, request_id: str, body: bytes, now: Optional[float] = None) -> dict:
        timestamp = str(int(time.time() if now is None else now))
        signature = self._current.sign(signed_message(request_id, self.user_id, timestamp, body))
        return {"X-Fal-Webhook-Request-Id": request_id, "X-Fal-Webhook-User-Id": self.user_id,
                "X-Fal-Webhook-Timestamp": timestamp, "X-Fal-Webhook-Signature": signature.hex()}

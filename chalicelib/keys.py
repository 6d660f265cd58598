"""API keys: issued once, stored only as SHA-256 hashes, each belonging to a client."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Protocol, Tuple

from chalicelib.clock import Clock, SystemClock, iso, parse_iso
from chalicelib.errors import Unauthorized

KEY_PREFIX = "vsl_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)



class ApiKeyStore(Protocol):
    """Where key records live, by the key's hash (chalicelib/dynamo_stores.py:
    DynamoApiKeyStore); ``put`` raises AlreadyExists for a hash it holds."""

    def put(self, record: dict) -> None: ...

    def get(self, key_hash: str) -> Optional[dict]: ...

    def list(self) -> List[dict]: ...

    def set_revoked(self, key_hash: str, revoked_at: str) -> None: ...

@dataclass(frozen=True)
class Caller:
    """Who is calling: the client owning the key, and the user the key is bound to, if any."""
    client_id: str
    key_id: str
    user_id: Optional[str] = None
    # Per-client overrides of the stage's rate limits (chalicelib.limits.Limits fields).
    limit_overrides: Optional[dict] = None
    # The key's full hash: known to the service and derived from the caller's secret, so
    # it can sign things only this caller may hand back (list cursors).
    key_hash: str = ""


class ApiKeys:
    """Keys are looked up once per ``cache_s`` per process (a warm API answers without
    a database read); a revocation takes effect within that bound everywhere."""

    def __init__(self, store: ApiKeyStore, clock: Clock = SystemClock(), cache_s: float = 0):
        self.store = store
        self.clock = clock
        self.cache_s = cache_s
        self._cache: Dict[str, Tuple[dict, datetime]] = {}

    def _record(self, key_hash: str) -> Optional[dict]:
        now = self.clock.now()
        cached = self._cache.get(key_hash)
        if cached and (now - cached[1]).total_seconds() < self.cache_s:
            return cached[0]
        record = self.store.get(key_hash)
        if record is None:
            self._cache.pop(key_hash, None)  # unknown keys are not cached: no memory to flood
        else:
            self._cache[key_hash] = (record, now)
        return record

    def authenticate(self, presented: Optional[str]) -> Caller:
        if not presented:
            raise Unauthorized("Send your API key in the X-API-Key header.")
        record = self._record(hash_key(presented.strip()))
        if record is None:
            raise Unauthorized("The API key is not valid.")
        if record.get("revokedAt"):
            raise Unauthorized("The API key has been revoked.")
        expires = record.get("expiresAt")
        if expires and parse_iso(expires) <= self.clock.now():
            raise Unauthorized("The API key has expired.")
        return Caller(record["clientId"], record["keyId"], record.get("userId"),
                      record.get("limits"), record["keyHash"])

    def create(self, client_id: Optional[str] = None, user_id: Optional[str] = None,
               expires_at: Optional[datetime] = None, key: Optional[str] = None,
               limits: Optional[dict] = None):
        """Store a new key; returns (the key in clear, its record). The clear key is not kept."""
        key = key or new_key()
        key_hash = hash_key(key)
        record = {"keyHash": key_hash, "keyId": key_hash[:12],
                  "clientId": client_id or f"client-{key_hash[:8]}",
                  "createdAt": iso(self.clock.now())}
        if user_id:
            record["userId"] = user_id
        if expires_at:
            record["expiresAt"] = iso(expires_at)
        if limits:
            record["limits"] = limits
        self.store.put(record)
        return key, record

    def list(self) -> List[dict]:
        return sorted(self.store.list(), key=lambda r: r["createdAt"])

    def revoke(self, key_id: str) -> dict:
        matches = [r for r in self.store.list() if r["keyId"] == key_id]
        if not matches:
            raise KeyError(key_id)
        self.store.set_revoked(matches[0]["keyHash"], iso(self.clock.now()))
        return matches[0]

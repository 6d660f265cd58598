"""The rules of Idempotency-Key.

- A key is scoped to the principal (chalicelib.authorization.scope: the client
  for its unbound key, the user for a key bound to one), 1 to 255 printable ASCII
  characters; the request's fingerprint names the principal too, so a replay
  never crosses from one user to another.
- The first request with a key runs; its response is kept for 24 hours if it
  created something (2xx). Refusals that created nothing (429, 502, 503) are
  not kept, so a retry with the same key runs anew; requests refused by
  validation never reach here.
- A retry gets the kept response again, marked replayed: no job, no model call,
  no rate limit spent. The same key with a different request is refused (422);
  a retry while the first is still running is refused (409).
"""
import hashlib
import json
import re
from datetime import timedelta
from typing import Callable, Optional

from chalicelib.clock import Clock
from chalicelib.errors import IdempotencyKeyInUse, IdempotencyKeyReused, ValidationFailed
from chalicelib.idempotency.persistence import IdempotencyStore, RecordExists
from chalicelib.idempotency.record import IdempotencyRecord, RecordStatus, StoredResponse

KEEP_FOR = timedelta(hours=24)
# An IN_PROGRESS record older than this belongs to a request that died (the API
# function's timeout is 25 s): a retry may take the key over.
IN_FLIGHT_AT_MOST = timedelta(seconds=60)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def fingerprint(principal: str, method: str, route: str, body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{principal}\n{method} {route}\n{canonical}".encode()).hexdigest()


class IdempotencyGuard:
    def __init__(self, store: IdempotencyStore, clock: Clock):
        self.store = store
        self.clock = clock

    def run(self, principal: str, key: Optional[str], request_fingerprint: str,
            execute: Callable[[], StoredResponse]) -> "tuple[StoredResponse, bool]":
        """(response, replayed). Without a key, just runs."""
        if key is None:
            return execute(), False
        if not _KEY.fullmatch(key):
            raise ValidationFailed("Idempotency-Key: 1 to 255 printable ASCII characters, "
                                   "no spaces.", code="INVALID_VALUE")
        now = self.clock.now()
        scoped = f"{principal}#{key}"
        record = IdempotencyRecord(scoped, request_fingerprint, RecordStatus.IN_PROGRESS,
                                   started_at=now, expires_at=now + KEEP_FOR)
        try:
            self.store.claim(record, takeover_before=now - IN_FLIGHT_AT_MOST)
        except RecordExists as e:
            held = e.record
            if held.fingerprint != request_fingerprint:
                raise IdempotencyKeyReused("This Idempotency-Key was used with a different "
                                           "request; use a new key for a new request.") from None
            if held.status == RecordStatus.IN_PROGRESS or held.response is None:
                raise IdempotencyKeyInUse("The first request with this Idempotency-Key is "
                                          "still running; retry shortly.",
                                          retry_after=1) from None
            return held.response, True
        try:
            response = execute()
        except BaseException:
            self.store.release(scoped)
            raise
        if 200 <= response.status < 300:
            self.store.complete(scoped, response)
        else:
            self.store.release(scoped)
        return response, False

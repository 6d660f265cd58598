"""Where idempotency records live: an interface with one backend per file."""
from typing import Optional, Protocol

from chalicelib.idempotency.record import IdempotencyRecord, StoredResponse


class RecordExists(Exception):
    """Another request holds this key; ``record`` is what it holds."""

    def __init__(self, record: IdempotencyRecord):
        super().__init__(record.key)
        self.record = record


class IdempotencyStore(Protocol):
    def claim(self, record: IdempotencyRecord, takeover_before) -> None:
        """Store an IN_PROGRESS record unless the key is held: RecordExists then. An
        expired record, or an IN_PROGRESS one started before ``takeover_before`` (its
        request died), is replaced."""

    def complete(self, key: str, response: StoredResponse) -> None: ...

    def release(self, key: str) -> None:
        """Forget the key: its request stored nothing worth replaying."""

    def get(self, key: str) -> Optional[IdempotencyRecord]: ...

"""Where endpoints, secrets and deliveries live: interfaces; DynamoDB in ``dynamodb``."""
from datetime import datetime
from typing import List, Optional, Protocol

from chalicelib.notifications.model import Delivery, Endpoint, SigningSecrets


class WebhookConfigStore(Protocol):
    def add_endpoint(self, endpoint: Endpoint, max_per_client: int) -> None:
        """Store it unless the client has ``max_per_client`` already: TooManyEndpoints."""

    def endpoints(self, client_id: str) -> List[Endpoint]: ...

    def delete_endpoint(self, client_id: str, endpoint_id: str) -> bool:
        """False when there was no such endpoint."""

    def disable_endpoint(self, client_id: str, endpoint_id: str, at: datetime) -> None: ...

    def take_send_slot(self, client_id: str, slots: int, holder: str, until: datetime,
                       now: datetime) -> Optional[int]:
        """Lease one of the client's ``slots`` send slots to ``holder`` until ``until`` (a
        slot whose lease ran out is free); its number, or None when all are held."""

    def release_send_slot(self, client_id: str, slot: int, holder: str,
                          now: datetime) -> None:
        """Free the slot if ``holder`` still holds it."""

    def secrets(self, client_id: str) -> Optional[SigningSecrets]: ...

    def put_secrets(self, client_id: str, secrets: SigningSecrets,
                    expected_current: Optional[str]) -> bool:
        """Replace the secrets if the current one is still ``expected_current`` (None: none
        exists yet); False when another writer came first."""


class TooManyEndpoints(Exception):
    pass


class DeliveryStore(Protocol):
    def create(self, delivery: Delivery) -> bool:
        """Store a new delivery; False if one with its id exists (a duplicate event)."""

    def get(self, job_id: str, webhook_id: str) -> Optional[Delivery]: ...

    def save_attempt(self, delivery: Delivery, previous_attempts: int) -> bool:
        """Record an attempt if nobody recorded attempt ``previous_attempts + 1`` first."""

    def for_job(self, job_id: str) -> List[Delivery]: ...

"""What clients configure: their webhook endpoints and their signing secret."""
import base64
import secrets
import uuid
from typing import Annotated, Callable, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field, Strict

from chalicelib.clock import Clock, iso
from chalicelib.errors import NotFound, RotationInProgress, ValidationFailed
from chalicelib.keys import Caller
from chalicelib.jobs.model import JobEvent
from chalicelib.notifications.model import (ALL_EVENTS, DEFAULT_EVENTS, ROTATION_OVERLAP_S,
                                            Endpoint, SigningSecrets)
from chalicelib.notifications.persistence import TooManyEndpoints, WebhookConfigStore
from chalicelib.urls import UrlPolicy, UrlRejected
from chalicelib.validation import validate_model

MAX_ENDPOINTS_PER_CLIENT = 10
# Secrets replaced within the overlap that may sign at once, besides the current one.
MAX_RETIRED_SECRETS = 3

class RegisterWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    url: str = Field(min_length=1, max_length=2048, description="https URL of a public host")
    # The events by their names (a JSON string is never a JobEvent instance in strict mode).
    events: List[Annotated[JobEvent, Strict(False)]] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS), min_length=1,
        description="Which job events to send")
    description: Optional[str] = Field(None, max_length=200)


def new_signing_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_view(e: Endpoint) -> Dict:
    from chalicelib.route_models import WebhookEndpointView
    view = WebhookEndpointView(id=e.endpoint_id, url=e.url, events=list(e.events),
                               createdAt=iso(e.created_at))
    if e.description:
        view.description = e.description
    if e.disabled_at:
        view.disabledAt = iso(e.disabled_at)
    return view.model_dump(mode="json", exclude_unset=True)


def check_target(policy: UrlPolicy, field: str, url: str) -> None:
    try:
        policy.check(url)
    except UrlRejected as e:
        raise ValidationFailed(f"{field}: the URL {e}", code="INVALID_VALUE") from None


class WebhookEndpoints:
    def __init__(self, store: WebhookConfigStore, policy: UrlPolicy, clock: Clock,
                 new_id: Callable[[], str] = lambda: f"wh_{uuid.uuid4().hex[:20]}",
                 new_secret: Callable[[], str] = new_signing_secret):
        self.store = store
        self.policy = policy
        self.clock = clock
        self.new_id = new_id
        self.new_secret = new_secret

    def register(self, caller: Caller, body: dict) -> Dict:
        request = validate_model(RegisterWebhook, body, prefix="")
        check_target(self.policy, "url", request.url)
        endpoint = Endpoint(caller.client_id, self.new_id(), request.url,
                            tuple(dict.fromkeys(JobEvent(e).value for e in request.events)),
                            self.clock.now(),
                            request.description)
        # The secret first: an endpoint never exists without one, so the delivery
        # only reads secrets (its role cannot write them).
        self.secrets_of(caller.client_id)
        try:
            self.store.add_endpoint(endpoint, MAX_ENDPOINTS_PER_CLIENT)
        except TooManyEndpoints:
            raise ValidationFailed(f"A client may register at most {MAX_ENDPOINTS_PER_CLIENT} "
                                   "webhook endpoints; delete one first.") from None
        return endpoint_view(endpoint)

    def list(self, caller: Caller) -> Dict:
        return {"webhooks": [endpoint_view(e) for e in self.store.endpoints(caller.client_id)]}

    def delete(self, caller: Caller, endpoint_id: str) -> None:
        if not self.store.delete_endpoint(caller.client_id, endpoint_id[:64]):
            raise NotFound(f"No webhook endpoint with id '{endpoint_id[:64]}'.")

    def secrets_of(self, client_id: str) -> SigningSecrets:
        """The client's secrets, made on first use."""
        current = self.store.secrets(client_id)
        if current is None:
            created = SigningSecrets(self.new_secret())
            if self.store.put_secrets(client_id, created, expected_current=None):
                return created
            current = self.store.secrets(client_id)
        return current

    def secret(self, caller: Caller) -> Dict:
        return {"key": self.secrets_of(caller.client_id).current}

    def rotate(self, caller: Caller) -> Dict:
        """A new current secret; the replaced one signs for ROTATION_OVERLAP_S more, as
        every earlier one signs until its own promised time. Rotations of one client
        are serialized: one that overlaps another, or that would keep more than
        MAX_RETIRED_SECRETS earlier secrets signing, is refused (409), never run."""
        now = self.clock.now()
        old = self.secrets_of(caller.client_id)
        still_valid = old.still_valid(now)
        if len(still_valid) >= MAX_RETIRED_SECRETS:
            raise RotationInProgress(
                f"{len(still_valid)} earlier secrets still sign (the first until "
                f"{iso(still_valid[0].valid_until)}); rotate again after that.")
        rotated = old.rotated(self.new_secret(), now, ROTATION_OVERLAP_S)
        if not self.store.put_secrets(caller.client_id, rotated, expected_current=old.current):
            raise RotationInProgress("Another rotation of this secret ran at the same time; "
                                     "GET /webhooks/secret gives the one it made.")
        return {"key": rotated.current,
                "previousKeyValidUntil": iso(rotated.retired[-1].valid_until)}

    def is_subscribed(self, endpoint: Endpoint, event: str) -> bool:
        return endpoint.disabled_at is None and event in endpoint.events and event in ALL_EVENTS

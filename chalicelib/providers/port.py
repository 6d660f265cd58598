"""The one interface every generation provider is used through.

A provider's run is read as a ``Prediction`` (Replicate's words, which the job
processor already speaks: starting | processing | succeeded | failed | canceled,
with the output URLs), whatever the provider calls its states.
"""
from typing import TYPE_CHECKING, Dict, Optional, Protocol

from chalicelib.jobs.model import Prediction

if TYPE_CHECKING:  # the catalog imports the Replicate client, which imports this
    from chalicelib.catalog import ModelParameters

REPLICATE = "replicate"
FAL = "fal"
PROVIDERS = (REPLICATE, FAL)


class ProviderUnavailable(Exception):
    """A call to a provider did not succeed.

    ``status`` is set when the provider answered with an error (a definite refusal:
    nothing was done); ``sent`` is False when the request never left (nothing was
    done either). Otherwise the outcome is unknown: the request may have been acted on.
    """

    def __init__(self, message: str, status: Optional[int] = None,
                 retry_after: Optional[int] = None, sent: bool = True):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.sent = sent

    @property
    def definite(self) -> bool:
        """The provider certainly did nothing."""
        return self.status is not None or not self.sent

    @property
    def throttled(self) -> bool:
        return self.status == 429

    @property
    def outage(self) -> bool:
        """A definite refusal that says the provider, not the request, is at fault:
        another provider may well accept the same work."""
        return self.definite and (self.throttled or not self.sent or (self.status or 0) >= 500)


class WebhookRejected(Exception):
    pass


class Provider(Protocol):
    name: str

    def serves(self, model_id: str, params: "ModelParameters") -> bool:
        """Whether this provider can run the model with these parameters as asked."""

    def create(self, model_id: str, params: "ModelParameters", job_id: str,
               public_base_url: str) -> Prediction:
        """Start the work, its callbacks to our webhook for the job; ProviderUnavailable
        says how a failure went (definite or not)."""

    def get(self, model_id: str, run_id: str) -> Prediction: ...

    def cancel(self, model_id: str, run_id: str) -> None:
        """Ask the provider to stop (a running request may still complete)."""

    def verify_callback(self, raw_body: bytes, headers: Dict[str, str]) -> None:
        """WebhookRejected unless the provider signed this body; ProviderUnavailable when
        its keys cannot be read now."""

    def read_callback(self, model_id: Optional[str], body: dict,
                      headers: Dict[str, str]) -> Prediction:
        """A verified callback as a Prediction (ValueError if it is not one); ``model_id``
        is the job's model (None when the job is unknown: outputs may then be absent)."""

    def expected_model(self, model_id: str) -> str:
        """The provider's name for the model, as its runs report it."""

    def expected_input(self, model_id: str, params: "ModelParameters") -> Optional[dict]:
        """The input this provider's run of the job would have (for adopting a run whose
        create answer was lost); None when the provider does not report inputs."""

    def check(self) -> None:
        """A real, cheap call: raises ProviderUnavailable if the provider does not answer."""

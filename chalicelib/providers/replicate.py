"""Replicate behind the provider port, over the Replicate client (chalicelib/replicate.py)."""
from typing import Callable, Dict, Optional

from chalicelib.catalog import CATALOG, ModelParameters
from chalicelib.jobs.model import Prediction
from chalicelib.providers.port import REPLICATE
from chalicelib.replicate import Replicate, verify_webhook


def replicate_webhook_url(public_base_url: str, job_id: str) -> str:
    return f"{public_base_url}/webhook/replicate?jobId={job_id}"


class ReplicateProvider:
    name = REPLICATE

    def __init__(self, client: Callable[[], Replicate], webhook_secret: Optional[str] = None):
        self._client = client
        self._webhook_secret = webhook_secret

    def serves(self, model_id: str, params: ModelParameters) -> bool:
        return model_id in CATALOG  # the catalog is Replicate's models

    def create(self, model_id: str, params: ModelParameters, job_id: str,
               public_base_url: str) -> Prediction:
        entry = CATALOG[model_id]
        return self._client().create_prediction(
            entry.replicate_model, entry.to_replicate_input(params),
            replicate_webhook_url(public_base_url, job_id))

    def get(self, model_id: str, run_id: str) -> Prediction:
        return self._client().get_prediction(run_id)

    def cancel(self, model_id: str, run_id: str) -> None:
        self._client().cancel_prediction(run_id)

    def verify_callback(self, raw_body: bytes, headers: Dict[str, str]) -> None:
        verify_webhook(self._webhook_secret or self._client().webhook_secret(), raw_body,
                       headers)

    def read_callback(self, model_id: Optional[str], body: dict,
                      headers: Dict[str, str]) -> Prediction:
        return Prediction.from_api(body)

    def expected_model(self, model_id: str) -> str:
        return CATALOG[model_id].replicate_model.owner_name

    def expected_input(self, model_id: str, params: ModelParameters) -> Optional[dict]:
        return CATALOG[model_id].to_replicate_input(params)

    def check(self) -> None:
        self._client().check()


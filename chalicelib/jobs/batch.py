"""Several submissions in one call: each item validated and admitted on its own,
its prediction started from the queue so the call never waits on Replicate."""
from dataclasses import dataclass
from typing import Callable, List, Optional, Union

from chalicelib.errors import DomainError, ValidationFailed
from chalicelib.jobs.submission import Accepted, Submission
from chalicelib.keys import Caller
from chalicelib.limits import Admission
from chalicelib.urls import UrlPolicy
from chalicelib.validation import parse_generate_request

MAX_ITEMS = 50


@dataclass(frozen=True)
class BatchOutcome:
    items: List[Union[Accepted, DomainError]]
    # The caller's limits after the batch: the last admission's, or the last refusal's.
    quotas: Optional[list]
    now: Optional[float]


class Batch:
    def __init__(self, submission: Submission, input_policy: UrlPolicy,
                 webhook_policy: UrlPolicy,
                 resolve_inputs: Callable[[Caller, dict], dict] = lambda caller, item: item):
        self.submission = submission
        self.input_policy = input_policy
        self.webhook_policy = webhook_policy
        # Uploads and data: URIs in image parameters -> links (chalicelib.uploads).
        self.resolve_inputs = resolve_inputs

    def submit(self, caller: Caller, body: dict, public_base_url: str) -> BatchOutcome:
        items = body.get("items")
        unknown = sorted(set(body) - {"items"})
        if unknown:
            raise ValidationFailed(f"{unknown[0]}: unknown field; allowed: items",
                                   code="UNKNOWN_PARAMETER")
        if not isinstance(items, list):
            raise ValidationFailed("items: a list of submit bodies is required",
                                   code="MISSING_PARAMETER" if items is None else "INVALID_TYPE")
        if not 1 <= len(items) <= MAX_ITEMS:
            raise ValidationFailed(f"items: from 1 to {MAX_ITEMS}; got {len(items)}",
                                   code="OUT_OF_RANGE")
        outcomes: List[Union[Accepted, DomainError]] = []
        quotas, now = None, None
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise ValidationFailed("each item must be a JSON object",
                                           code="INVALID_TYPE")
                request = parse_generate_request(self.resolve_inputs(caller, item),
                                                 self.input_policy,
                                                 bound_user_id=caller.user_id,
                                                 webhook_policy=self.webhook_policy)
                accepted = self.submission.submit(caller, request, public_base_url,
                                                  start_later=True)
                quotas, now = accepted.admission.quotas, accepted.admission.now
                outcomes.append(accepted)
            except DomainError as e:
                if e.quotas:
                    quotas, now = e.quotas, e.now
                outcomes.append(e)
        return BatchOutcome(outcomes, quotas, now)

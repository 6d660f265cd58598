"""Several submissions in one call: each item validated and admitted on its own,
its prediction started from the queue so the call never waits on Replicate.

Every item is validated before any job is created. Once a job is created, nothing
can turn the batch into an error: an item that fails afterwards, whatever the
failure, ends in its own result, so the answer (kept for Idempotency-Key
replays) names every job that was made.
"""
import logging
from dataclasses import dataclass
from typing import Callable, List, Optional, Union

from chalicelib.errors import DomainError, ValidationFailed
from chalicelib.jobs.model import MAX_BATCH_ITEMS
from chalicelib.jobs.submission import Accepted, Submission
from chalicelib.keys import Caller
from chalicelib.urls import UrlPolicy
from chalicelib.validation import GenerateRequest, parse_generate_request

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class BatchOutcome:
    # Per item: accepted, refused (a DomainError), or failed unexpectedly after an
    # earlier item's job was created (any other exception; the edge renders it).
    items: List[Union[Accepted, Exception]]
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
        if not 1 <= len(items) <= MAX_BATCH_ITEMS:
            raise ValidationFailed(f"items: from 1 to {MAX_BATCH_ITEMS}; got {len(items)}",
                                   code="OUT_OF_RANGE")
        requests = [self._parse(caller, item) for item in items]
        outcomes: List[Union[Accepted, Exception]] = []
        quotas, now, created = None, None, False
        for request in requests:
            if isinstance(request, DomainError):
                outcomes.append(request)
                continue
            try:
                accepted = self.submission.submit(caller, request, public_base_url,
                                                  start_later=True)
            except DomainError as e:
                if e.quotas:
                    quotas, now = e.quotas, e.now
                outcomes.append(e)
                continue
            except Exception as e:
                if not created:
                    raise  # nothing was made yet: the batch fails as a whole, and may be retried
                log.exception("batch item failed after jobs were created")
                outcomes.append(e)
                continue
            created = True
            quotas, now = accepted.admission.quotas, accepted.admission.now
            outcomes.append(accepted)
        return BatchOutcome(outcomes, quotas, now)

    def _parse(self, caller: Caller, item) -> Union[GenerateRequest, DomainError]:
        if not isinstance(item, dict):
            return ValidationFailed("each item must be a JSON object", code="INVALID_TYPE")
        try:
            return parse_generate_request(self.resolve_inputs(caller, item), self.input_policy,
                                          bound_user_id=caller.user_id,
                                          webhook_policy=self.webhook_policy)
        except DomainError as e:
            return e

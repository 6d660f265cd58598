"""What every DynamoDB store shares: the outcomes of a conditional write the domain
handles (``StaleTransition``, ``AlreadyExists``) and the encoding of Python values.
Each store lives beside its interface: jobs (chalicelib/jobs/persistence.py and
dynamodb.py), API keys, limits' counters, the start schedule and shared checks
(chalicelib/dynamo_stores.py), idempotency and notifications (their packages)."""
import json
from decimal import Decimal


class StaleTransition(Exception):
    """The job is not in a state from which the change is allowed (or does not exist)."""


class AlreadyExists(Exception):
    pass


def to_dynamo(value):
    """Python values -> DynamoDB-safe values (floats become Decimals)."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value):
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def is_conditional_failure(e: Exception) -> bool:
    """A botocore ClientError saying a conditional write's condition did not hold."""
    return (getattr(e, "response", None) or {}).get("Error", {}).get("Code") == \
        "ConditionalCheckFailedException"

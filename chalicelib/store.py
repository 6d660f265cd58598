"""DynamoDB data layer: jobs and API keys.

Every job state change is an UpdateItem conditioned on the current status, so a
duplicate, late or out-of-order event cannot move a job backwards; a failed
condition becomes ``StaleTransition`` for the domain to ignore.
"""
import json
from decimal import Decimal
from typing import Iterable, List, Optional

from botocore.exceptions import ClientError

from chalicelib.aws import dynamodb_table


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


def _is_conditional_failure(e: ClientError) -> bool:
    return e.response["Error"]["Code"] == "ConditionalCheckFailedException"


class JobStore:
    def __init__(self, table_name: str):
        self.table_name = table_name

    @property
    def table(self):
        return dynamodb_table(self.table_name)

    def create(self, job: dict) -> None:
        try:
            self.table.put_item(Item=to_dynamo(job),
                                ConditionExpression="attribute_not_exists(jobId)")
        except ClientError as e:
            if _is_conditional_failure(e):
                raise AlreadyExists(job["jobId"]) from e
            raise

    def get(self, job_id: str) -> Optional[dict]:
        item = self.table.get_item(Key={"jobId": job_id}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def update(self, job_id: str, changes: dict, from_statuses: Iterable[str],
               require_absent: Iterable[str] = ()) -> dict:
        """Set ``changes`` if the job's status is one of ``from_statuses`` (and the
        ``require_absent`` attributes are not set); returns the new item."""
        names = {"#status": "status"}
        values = {}
        sets = []
        for i, (field, value) in enumerate(changes.items()):
            names[f"#f{i}"] = field
            values[f":v{i}"] = to_dynamo(value)
            sets.append(f"#f{i} = :v{i}")
        allowed = []
        for i, status in enumerate(from_statuses):
            values[f":s{i}"] = status
            allowed.append(f":s{i}")
        condition = f"attribute_exists(jobId) AND #status IN ({', '.join(allowed)})"
        for i, field in enumerate(require_absent):
            names[f"#a{i}"] = field
            condition += f" AND attribute_not_exists(#a{i})"
        try:
            resp = self.table.update_item(
                Key={"jobId": job_id}, UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition, ExpressionAttributeNames=names,
                ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        except ClientError as e:
            if _is_conditional_failure(e):
                raise StaleTransition(job_id) from e
            raise
        return from_dynamo(resp["Attributes"])


class ApiKeyStore:
    def __init__(self, table_name: str):
        self.table_name = table_name

    @property
    def table(self):
        return dynamodb_table(self.table_name)

    def put(self, record: dict) -> None:
        try:
            self.table.put_item(Item=to_dynamo(record),
                                ConditionExpression="attribute_not_exists(keyHash)")
        except ClientError as e:
            if _is_conditional_failure(e):
                raise AlreadyExists(record["keyHash"]) from e
            raise

    def get(self, key_hash: str) -> Optional[dict]:
        item = self.table.get_item(Key={"keyHash": key_hash}).get("Item")
        return from_dynamo(item) if item else None

    def list(self) -> List[dict]:
        items, kwargs = [], {}
        while True:
            page = self.table.scan(**kwargs)
            items.extend(from_dynamo(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_revoked(self, key_hash: str, revoked_at: str) -> None:
        try:
            self.table.update_item(
                Key={"keyHash": key_hash}, UpdateExpression="SET revokedAt = :t",
                ConditionExpression="attribute_exists(keyHash)",
                ExpressionAttributeValues={":t": revoked_at})
        except ClientError as e:
            if _is_conditional_failure(e):
                raise KeyError(key_hash) from e
            raise


class CounterStore:
    """Rate-limit slots and counters: items keyed by (scope, name), expired by TTL.

    Only single-item conditional writes: they are atomic on DynamoDB and on the
    local emulator alike (the emulator's transactions are not isolated)."""

    def __init__(self, table_name: str):
        self.table_name = table_name

    @property
    def table(self):
        return dynamodb_table(self.table_name)

    def query(self, scope: str, prefix: str) -> List[dict]:
        items, kwargs = [], {}
        while True:
            page = self.table.query(
                KeyConditionExpression="#s = :scope AND begins_with(#n, :prefix)",
                ExpressionAttributeNames={"#s": "scope", "#n": "name"},
                ExpressionAttributeValues={":scope": scope, ":prefix": prefix},
                ConsistentRead=True, **kwargs)
            items.extend(from_dynamo(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim(self, scope: str, name: str, used_at: float, free_before: float, token: str,
              expires_at: int) -> bool:
        """Take the slot if it is unused or was last used before ``free_before``."""
        try:
            self.table.update_item(
                Key={"scope": scope, "name": name},
                UpdateExpression="SET usedAt = :now, claimToken = :tok, expiresAt = :exp",
                ConditionExpression="attribute_not_exists(usedAt) OR usedAt <= :free",
                ExpressionAttributeValues=to_dynamo({":now": used_at, ":tok": token,
                                                     ":exp": expires_at, ":free": free_before}))
            return True
        except ClientError as e:
            if _is_conditional_failure(e):
                return False
            raise

    def release(self, scope: str, name: str, token: str) -> None:
        """Give back a slot this caller claimed (and nobody has taken since)."""
        try:
            self.table.update_item(
                Key={"scope": scope, "name": name}, UpdateExpression="SET usedAt = :zero",
                ConditionExpression="claimToken = :tok",
                ExpressionAttributeValues={":zero": 0, ":tok": token})
        except ClientError as e:
            if not _is_conditional_failure(e):
                raise

    def increment_below(self, scope: str, name: str, limit: int, expires_at: int) -> Optional[int]:
        """Add one unless the count has reached ``limit``; the new count, or None."""
        try:
            resp = self.table.update_item(
                Key={"scope": scope, "name": name},
                UpdateExpression="ADD #n :one SET expiresAt = :exp",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames={"#n": "count"},
                ExpressionAttributeValues={":one": 1, ":limit": limit, ":exp": expires_at},
                ReturnValues="UPDATED_NEW")
            return int(resp["Attributes"]["count"])
        except ClientError as e:
            if _is_conditional_failure(e):
                return None
            raise

    def decrement(self, scope: str, name: str) -> None:
        self.table.update_item(Key={"scope": scope, "name": name},
                               UpdateExpression="ADD #n :minus",
                               ConditionExpression="#n > :zero",
                               ExpressionAttributeNames={"#n": "count"},
                               ExpressionAttributeValues={":minus": -1, ":zero": 0})

"""The small DynamoDB stores: API keys (chalicelib/keys.py uses it), the limits'
counters (chalicelib/limits.py), the shared schedule of prediction starts
(chalicelib/jobs/pacing.py) and the shared answers of health checks
(chalicelib/health.py). Each is given its table; only single-item conditional writes."""
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import List, Optional

from botocore.exceptions import ClientError

from chalicelib.errors import ServiceUnavailable
from chalicelib.limits import SubmissionWindow
from chalicelib.store import AlreadyExists, from_dynamo, is_conditional_failure, to_dynamo


class DynamoApiKeyStore:
    def __init__(self, table):
        self.table = table

    def put(self, record: dict) -> None:
        try:
            self.table.put_item(Item=to_dynamo(record),
                                ConditionExpression="attribute_not_exists(keyHash)")
        except ClientError as e:
            if is_conditional_failure(e):
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
            if is_conditional_failure(e):
                raise KeyError(key_hash) from e
            raise


class DynamoCounterStore:
    """Rate-limit state: items keyed by (scope, name), expired by TTL. Only
    single-item conditional writes, atomic on DynamoDB and on the local emulator."""

    WINDOW = "submissions"

    def __init__(self, table):
        self.table = table

    def read_window(self, scope: str) -> SubmissionWindow:
        item = self.table.get_item(Key={"scope": scope, "name": self.WINDOW},
                                   ConsistentRead=True).get("Item")
        if not item:
            return SubmissionWindow()
        item = from_dynamo(item)
        return SubmissionWindow(ring=[float(t) for t in item["ring"]], version=item["version"],
                                day=item["day"], day_count=item["dayCount"],
                                stored_version=item["writes"])

    def write_window(self, scope: str, window: SubmissionWindow,
                     expires_at: int) -> Optional[SubmissionWindow]:
        """Store the window if nobody wrote since it was read; the stored window, or None."""
        writes = (window.stored_version or 0) + 1
        condition = ("attribute_not_exists(writes)" if window.stored_version is None
                     else "writes = :expected")
        values = {} if window.stored_version is None else {":expected": window.stored_version}
        try:
            self.table.put_item(
                Item=to_dynamo({"scope": scope, "name": self.WINDOW, "ring": list(window.ring),
                                "version": window.version, "day": window.day,
                                "dayCount": window.day_count, "writes": writes,
                                "expiresAt": expires_at}),
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": to_dynamo(values)} if values else {}))
        except ClientError as e:
            if is_conditional_failure(e):
                return None
            raise
        return replace(window, stored_version=writes)

    def add_below(self, scope: str, name: str, amount: int, limit: int,
                  expires_at: int) -> Optional[int]:
        """Add ``amount`` unless the count would pass ``limit``; the new count, or None."""
        try:
            resp = self.table.update_item(
                Key={"scope": scope, "name": name},
                UpdateExpression="ADD #n :amount SET expiresAt = :exp",
                ConditionExpression="attribute_not_exists(#n) OR #n <= :room",
                ExpressionAttributeNames={"#n": "count"},
                ExpressionAttributeValues={":amount": amount, ":room": limit - amount,
                                           ":exp": expires_at},
                ReturnValues="UPDATED_NEW")
            return int(resp["Attributes"]["count"])
        except ClientError as e:
            if is_conditional_failure(e):
                return None
            raise


class DynamoStartSchedule:
    """The shared schedule of prediction starts (chalicelib.jobs.pacing): one item
    in the counters table holding the next free start time. Each take is one
    conditional UpdateItem, no read: when the schedule runs ahead, ``nextFree``
    moves on by an interval in place (many starters at once all succeed, each with
    its own time); when it has fallen behind, it is set from now. A starter that
    guessed wrong learns the item from the failed condition and tries the other."""

    SCOPE, NAME = "replicate", "starts"
    MAX_ROUNDS = 20
    # The item outlives its last start by this long (TTL), then an idle schedule starts afresh.
    KEEP_S = 86400

    def __init__(self, table, name: str = NAME):
        self.table = table
        self._key = {"scope": self.SCOPE, "name": name}
        self._last_next_free: Optional[float] = None  # as this process last saw it

    @staticmethod
    def _number(value: float) -> Decimal:
        return Decimal(f"{value:.6f}")

    def _failed_item(self, e: ClientError) -> Optional[float]:
        """The item's next free time, from a failed condition (ALL_OLD), or None."""
        item = e.response.get("Item") or {}
        raw = item.get("nextFree")
        if raw is None:
            return None
        return float(raw["N"] if isinstance(raw, dict) else raw)

    def take(self, earliest: float, interval_s: float, latest: float):
        from chalicelib.jobs.pacing import Taken  # off the API's cold start: first start only
        if earliest > latest:
            return Taken(None, earliest)
        interval = self._number(interval_s)
        ahead = self._last_next_free is not None and self._last_next_free > earliest
        for _ in range(self.MAX_ROUNDS):
            try:
                if ahead:
                    resp = self.table.update_item(
                        Key=self._key, UpdateExpression="SET nextFree = nextFree + :i, "
                                                        "expiresAt = :exp",
                        ConditionExpression="nextFree > :earliest AND nextFree <= :latest",
                        ExpressionAttributeValues={
                            ":i": interval, ":earliest": self._number(earliest),
                            ":latest": self._number(latest),
                            ":exp": int(latest) + self.KEEP_S},
                        ReturnValues="UPDATED_NEW",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD")
                    next_free = float(resp["Attributes"]["nextFree"])
                    self._last_next_free = next_free
                    return Taken(next_free - float(interval), next_free)
                next_free = float(self._number(earliest) + interval)
                self.table.update_item(
                    Key=self._key, UpdateExpression="SET nextFree = :next, expiresAt = :exp",
                    ConditionExpression="attribute_not_exists(nextFree) OR nextFree <= :earliest",
                    ExpressionAttributeValues={
                        ":next": self._number(next_free), ":earliest": self._number(earliest),
                        ":exp": int(next_free) + self.KEEP_S},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD")
                self._last_next_free = next_free
                return Taken(earliest, next_free)
            except ClientError as e:
                if not is_conditional_failure(e):
                    raise
                current = self._failed_item(e)
                self._last_next_free = current
                if current is not None and current > latest:
                    return Taken(None, current)
                ahead = current is not None and current > earliest
        raise ServiceUnavailable("Too much contention on the start schedule; retry.",
                                 retry_after=1)

    def hold(self, until: float) -> None:
        try:
            self.table.update_item(
                Key=self._key, UpdateExpression="SET nextFree = :until, expiresAt = :exp",
                ConditionExpression="attribute_not_exists(nextFree) OR nextFree < :until",
                ExpressionAttributeValues={":until": self._number(until),
                                           ":exp": int(until) + self.KEEP_S})
            self._last_next_free = until
        except ClientError as e:
            if not is_conditional_failure(e):
                raise


class DynamoCheckStore:
    """Shared check answers (chalicelib.health) in the counters table, under the scope
    "health", expired by its TTL a day after the last check."""

    SCOPE = "health"
    KEEP_S = 86400

    def __init__(self, table):
        self.table = table

    def _key(self, name: str) -> dict:
        return {"scope": self.SCOPE, "name": name}

    def read(self, name: str):
        from chalicelib.health import CheckRecord
        item = self.table.get_item(Key=self._key(name)).get("Item")
        if not item:
            return None
        item = from_dynamo(item)
        return CheckRecord(item.get("state"),
                           datetime.fromtimestamp(item["checkedAt"], timezone.utc))

    def claim(self, name: str, now: datetime, stale_before: datetime) -> bool:
        try:
            self.table.update_item(
                Key=self._key(name), UpdateExpression="SET checkedAt = :now, expiresAt = :exp",
                ConditionExpression="attribute_not_exists(checkedAt) OR checkedAt <= :stale",
                ExpressionAttributeValues=to_dynamo({
                    ":now": now.timestamp(), ":stale": stale_before.timestamp(),
                    ":exp": int(now.timestamp()) + self.KEEP_S}))
            return True
        except ClientError as e:
            if is_conditional_failure(e):
                return False
            raise

    def write(self, name: str, state: str, now: datetime) -> None:
        self.table.update_item(
            Key=self._key(name), UpdateExpression="SET #state = :state, checkedAt = :now",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_dynamo({":state": state, ":now": now.timestamp()}))

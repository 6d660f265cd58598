"""DynamoDB data layer: jobs, API keys and counters, each behind a small interface.

Every job state change is an UpdateItem conditioned on the current status, so a
duplicate, late or out-of-order event cannot move a job backwards; a failed
condition becomes ``StaleTransition`` for the domain to ignore. The stores are
given their table; nothing here creates a client from globals.
"""
import json
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Dict, Iterable, Iterator, List, Optional, Protocol

from botocore.exceptions import ClientError

from chalicelib.clock import iso, parse_iso
from chalicelib.errors import ServiceUnavailable
from chalicelib.jobs.model import ACTIVE, Job, JobResult, JobStatus, StoredOutput


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


@dataclass(frozen=True)
class JobQuery:
    """One page of a client's jobs, newest first."""
    owner_id: str
    limit: int
    user_id: Optional[str] = None
    status: Optional[JobStatus] = None
    model_id: Optional[str] = None
    since: Optional[datetime] = None
    # Where the previous page stopped (the store's own position, opaque to the domain).
    start_after: Optional[Dict[str, str]] = None


@dataclass(frozen=True)
class JobPage:
    jobs: List[Job]
    next_position: Optional[Dict[str, str]]


@dataclass(frozen=True)
class UsageRow:
    """What usage needs of a job (read with a projection, not the whole item)."""
    created_at: datetime
    model_id: str
    status: JobStatus
    cached: bool
    estimated_cost: float
    predict_time: Optional[float]


class JobRepository(Protocol):
    def create(self, job: Job) -> None:
        """Store a new job; AlreadyExists if its id is taken."""

    def get(self, job_id: str) -> Optional[Job]:
        ...

    def update(self, job_id: str, changes: Dict[str, Any],
               from_statuses: Iterable[JobStatus]) -> Job:
        """Apply ``changes`` (Job field names) if the job's status is one of
        ``from_statuses``; the job afterwards, or StaleTransition."""

    def claim_copy(self, job_id: str, until: datetime, now: datetime) -> bool:
        """Take the job's copy until ``until`` unless another holder's claim is still
        running; False then (or when the job is no longer active)."""

    def raise_progress(self, job_id: str, progress: float) -> bool:
        """Record ``progress`` if it is higher than the job's and the job is active;
        False when it changed nothing (so concurrent events never lower it)."""

    def list(self, query: JobQuery) -> JobPage:
        """One query of an index: no scan, no per-item read. A page may hold fewer
        than ``limit`` jobs when filters drop some; ``next_position`` says if more follow."""

    def latest_with_cache_key(self, cache_key: str, since: datetime,
                              limit: int = 10) -> List["IndexedJob"]:
        """The newest jobs made with this cache key since ``since``, newest first
        (id, status and what it follows)."""

    def followers_of(self, job_id: str) -> List[str]:
        """The ids of the jobs following this one."""

    def open_jobs(self, updated_before: datetime) -> Iterator["IndexedJob"]:
        """Active jobs, and ended ones whose event is unsent, quiet since
        ``updated_before`` (id, status, update time and expected time)."""

    def usage_rows(self, owner_id: str, user_id: Optional[str], start: datetime,
                   end: datetime) -> Iterator[UsageRow]:
        """Every job of the client (or of one of its users) created in [start, end)."""


@dataclass(frozen=True)
class IndexedJob:
    """What an index holds of a job (resources.json: each index projects only what its
    queries read): enough to choose jobs; get() reads the one to act on."""
    job_id: str
    status: JobStatus
    updated_at: Optional[datetime] = None
    estimated_time: int = 0
    follows: Optional[str] = None


def indexed_job(item: dict) -> IndexedJob:
    item = from_dynamo(item)
    return IndexedJob(item["jobId"], JobStatus(item["status"]),
                      parse_iso(item["updatedAt"]) if item.get("updatedAt") else None,
                      int(item.get("estimatedTime") or 0), item.get("follows"))


# Jobs still needing attention (active, or their end's event unsent) carry this
# attribute; the sparse by-open index holds only them, so the sweep never scans.
SWEEP_KEY, OPEN = "sweepKey", "open"
_DATETIME_FIELDS = {"created_at", "updated_at", "started_at", "completed_at", "reconciled_at",
                    "copying_until", "start_at"}


def _attribute(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.title() for p in rest)


def _encode(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field in _DATETIME_FIELDS:
        return iso(value)
    if isinstance(value, JobStatus):
        return value.value
    if isinstance(value, JobResult):
        return to_dynamo({"s3Path": value.s3_path,
                          "outputs": [{_attribute(k): v for k, v in asdict(o).items()
                                       if v is not None} for o in value.outputs]})
    return to_dynamo(value)


def job_to_item(job: Job) -> dict:
    item = {_attribute(f.name): _encode(f.name, getattr(job, f.name)) for f in fields(Job)
            if getattr(job, f.name) is not None}
    item["ownerUser"] = f"{job.owner_id}#{job.user_id}"  # the by-user index's key
    if job.status in ACTIVE or job.notification_pending:
        item[SWEEP_KEY] = OPEN  # in the sparse by-open index the sweep reads
    return item


def job_from_item(item: dict) -> Job:
    item = from_dynamo(item)
    values = {}
    for f in fields(Job):
        value = item.get(_attribute(f.name))
        if value is not None and f.name in _DATETIME_FIELDS:
            value = parse_iso(value)
        elif f.name == "status":
            value = JobStatus(value)
        elif f.name == "result" and value is not None:
            value = JobResult(value["s3Path"], [StoredOutput(
                **{o.name: out.get(_attribute(o.name)) for o in fields(StoredOutput)})
                for out in value["outputs"]])
        values[f.name] = value
    return Job(**values)


class DynamoJobStore:
    def __init__(self, table):
        self.table = table

    def create(self, job: Job) -> None:
        try:
            self.table.put_item(Item=job_to_item(job),
                                ConditionExpression="attribute_not_exists(jobId)")
        except ClientError as e:
            if _is_conditional_failure(e):
                raise AlreadyExists(job.job_id) from e
            raise

    def get(self, job_id: str) -> Optional[Job]:
        item = self.table.get_item(Key={"jobId": job_id}, ConsistentRead=True).get("Item")
        return job_from_item(item) if item else None

    def update(self, job_id: str, changes: Dict[str, Any],
               from_statuses: Iterable[JobStatus]) -> Job:
        names = {"#status": "status"}
        values: Dict[str, Any] = {}
        sets, removes = [], []
        for i, (field, value) in enumerate(changes.items()):
            names[f"#f{i}"] = _attribute(field)
            if value is None:
                removes.append(f"#f{i}")
            else:
                values[f":v{i}"] = _encode(field, value)
                sets.append(f"#f{i} = :v{i}")
        allowed = []
        for i, status in enumerate(from_statuses):
            values[f":s{i}"] = JobStatus(status).value
            allowed.append(f":s{i}")
        if "notification_pending" in changes and changes["notification_pending"] is None:
            # The end's event is queued: nothing is left for the sweep.
            names["#open"] = SWEEP_KEY
            removes.append("#open")
        expression = ("SET " + ", ".join(sets) if sets else "") + \
                     (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            resp = self.table.update_item(
                Key={"jobId": job_id}, UpdateExpression=expression.strip(),
                ConditionExpression=f"attribute_exists(jobId) AND #status IN ({', '.join(allowed)})",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW")
        except ClientError as e:
            if _is_conditional_failure(e):
                raise StaleTransition(job_id) from e
            raise
        return job_from_item(resp["Attributes"])

    def claim_copy(self, job_id: str, until: datetime, now: datetime) -> bool:
        return self._set_while_active(
            job_id, "SET copyingUntil = :until",
            "attribute_not_exists(copyingUntil) OR copyingUntil <= :now",
            {":until": iso(until), ":now": iso(now)})

    def raise_progress(self, job_id: str, progress: float) -> bool:
        return self._set_while_active(job_id, "SET progress = :p",
                                      "attribute_not_exists(progress) OR progress < :p",
                                      {":p": to_dynamo(progress)})

    def _set_while_active(self, job_id: str, update: str, condition: str, values: dict) -> bool:
        """One write to a pending or processing job, if ``condition`` holds; False if not."""
        try:
            self.table.update_item(
                Key={"jobId": job_id}, UpdateExpression=update,
                ConditionExpression=f"attribute_exists(jobId) AND #s IN (:pending, :processing) "
                                    f"AND ({condition})",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={**values, ":pending": JobStatus.PENDING.value,
                                           ":processing": JobStatus.PROCESSING.value})
            return True
        except ClientError as e:
            if _is_conditional_failure(e):
                return False
            raise

    def list(self, query: JobQuery) -> JobPage:
        names, values = {}, {}
        if query.user_id is not None:
            index, names["#h"] = "by-user", "ownerUser"
            values[":h"] = f"{query.owner_id}#{query.user_id}"
        else:
            index, names["#h"] = "by-owner", "ownerId"
            values[":h"] = query.owner_id
        condition = "#h = :h"
        if query.since is not None:
            condition += " AND #created >= :since"
            names["#created"], values[":since"] = "createdAt", iso(query.since)
        filters = []
        if query.status is not None:
            names["#status"], values[":status"] = "status", JobStatus(query.status).value
            filters.append("#status = :status")
        if query.model_id is not None:
            names["#model"], values[":model"] = "modelId", query.model_id
            filters.append("#model = :model")
        kwargs = {"IndexName": index, "KeyConditionExpression": condition,
                  "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
                  "ScanIndexForward": False, "Limit": query.limit}
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if query.start_after:
            kwargs["ExclusiveStartKey"] = dict(query.start_after)
        page = self.table.query(**kwargs)
        return JobPage([job_from_item(i) for i in page.get("Items", [])],
                       page.get("LastEvaluatedKey"))

    def latest_with_cache_key(self, cache_key: str, since: datetime,
                              limit: int = 10) -> List[Job]:
        page = self.table.query(
            IndexName="by-cache-key",
            KeyConditionExpression="cacheKey = :k AND createdAt >= :since",
            ExpressionAttributeValues={":k": cache_key, ":since": iso(since)},
            ScanIndexForward=False, Limit=limit)
        return [indexed_job(i) for i in page.get("Items", [])]

    def usage_rows(self, owner_id: str, user_id: Optional[str], start: datetime,
                   end: datetime) -> Iterator[UsageRow]:
        index, key = ("by-user", f"{owner_id}#{user_id}") if user_id else ("by-owner", owner_id)
        kwargs = {"IndexName": index,
                  "KeyConditionExpression": "#h = :h AND createdAt BETWEEN :low AND :high",
                  "ExpressionAttributeNames": {"#h": "ownerUser" if user_id else "ownerId",
                                               "#s": "status"},
                  "ExpressionAttributeValues": {":h": key, ":low": iso(start), ":high": iso(end)},
                  "ProjectionExpression": "createdAt, modelId, #s, cached, estimatedCost, "
                                          "predictTime"}
        while True:
            page = self.table.query(**kwargs)
            for item in map(from_dynamo, page.get("Items", [])):
                if item["createdAt"] < iso(end):  # BETWEEN includes the upper bound
                    yield UsageRow(parse_iso(item["createdAt"]), item["modelId"],
                                   JobStatus(item["status"]), bool(item.get("cached")),
                                   float(item.get("estimatedCost") or 0),
                                   item.get("predictTime"))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def open_jobs(self, updated_before: datetime) -> Iterator[Job]:
        kwargs = {"IndexName": "by-open",
                  "KeyConditionExpression": "#k = :open AND updatedAt <= :before",
                  "ExpressionAttributeNames": {"#k": SWEEP_KEY},
                  "ExpressionAttributeValues": {":open": OPEN, ":before": iso(updated_before)}}
        while True:
            page = self.table.query(**kwargs)
            yield from (indexed_job(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def followers_of(self, job_id: str) -> List[str]:
        ids, kwargs = [], {}
        while True:
            page = self.table.query(IndexName="by-follows",
                                    KeyConditionExpression="follows = :j",
                                    ExpressionAttributeValues={":j": job_id}, **kwargs)
            ids += [i["jobId"] for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class ApiKeyStore:
    def __init__(self, table):
        self.table = table

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


@dataclass(frozen=True)
class SubmissionWindow:
    """One end user's submission limits item: the last N submission times (a ring
    whose oldest entry is at ``version % N``), the UTC day and its count."""
    ring: List[float] = ()
    version: int = 0
    day: str = ""
    day_count: int = 0
    # The item's write counter, the condition of the next write (None: no item yet).
    stored_version: Optional[int] = None


class CounterStore:
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
            if _is_conditional_failure(e):
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
            if _is_conditional_failure(e):
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
                if not _is_conditional_failure(e):
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
            if not _is_conditional_failure(e):
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
            if _is_conditional_failure(e):
                return False
            raise

    def write(self, name: str, state: str, now: datetime) -> None:
        self.table.update_item(
            Key=self._key(name), UpdateExpression="SET #state = :state, checkedAt = :now",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_dynamo({":state": state, ":now": now.timestamp()}))

"""In-memory stand-ins for the ports (store, storage, queue, Replicate, clock,
notifier, fetcher), with the same contracts as the adapters, and a ``World``
that wires the real domain services onto them."""
import io
import itertools
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, List, Optional, Tuple

from boto3.dynamodb.types import TypeSerializer

from chalicelib.catalog import CATALOG
from chalicelib.config import Settings
from chalicelib.idempotency.guard import IdempotencyGuard
from chalicelib.idempotency.persistence import RecordExists
from chalicelib.idempotency.record import RecordStatus
from chalicelib.jobs import pacing
from chalicelib.jobs.batch import Batch
from chalicelib.jobs.pacing import Pace, StartPacer, Taken
from chalicelib.jobs.control import JobControl
from chalicelib.jobs.reuse import Reuse
from chalicelib.jobs.starter import PredictionStarter
from chalicelib.jobs.usage import UsageReport
from chalicelib.notifications.delivery import Deliverer
from chalicelib.notifications.dispatch import Dispatcher, QueueNotifier
from chalicelib.notifications.endpoints import WebhookEndpoints
from chalicelib.notifications.model import Delivery, DeliveryState, Endpoint, SigningSecrets
from chalicelib.notifications.persistence import TooManyEndpoints
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.listing import JobListing
from chalicelib.jobs.model import ACTIVE, Job, JobEvent, Prediction
from chalicelib.jobs.outputs import OutputCopier
from chalicelib.jobs.prediction_events import PredictionEvents
from chalicelib.providers.fal_models import FAL_MODELS, NotServable
from chalicelib.providers.health import ProviderHealth
from chalicelib.providers.port import FAL, ProviderUnavailable, WebhookRejected
from chalicelib.providers.replicate import ReplicateProvider
from chalicelib.providers.routing import Routes, stored_provider
from chalicelib.jobs.reconciliation import Reconciler
from chalicelib.jobs.status import JobStatusService
from chalicelib.jobs.submission import Submission
from chalicelib.jobs.sweep import Sweeper
from chalicelib.jobs.thumbnails import Thumbnails
from chalicelib.authorization import Authorizer
from chalicelib.keys import ApiKeys, Caller
from chalicelib.limits import Limits, RateLimiter
from chalicelib.replicate import ModelRef, ReplicateUnavailable
from chalicelib.jobs.items import job_to_item
from chalicelib.jobs.persistence import IndexedJob, JobPage, JobQuery, UsageRow
from chalicelib.limits import SubmissionWindow
from chalicelib.messages import (JobEventMessage, PredictionMessage, StartMessage,
                                 read_jobs_message, read_notification)
from chalicelib.store import AlreadyExists, StaleTransition
from chalicelib.outbound import Answer, FetchFailed
from chalicelib.urls import Origin, UrlPolicy, UrlRejected
from chalicelib.uploads.service import Uploads
from chalicelib.validation import parse_generate_request

T0 = datetime(2030, 1, 1, 1, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, now: datetime = T0):
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


def stored_as_dynamodb_would(job: Job) -> Job:
    """The job, once the real item encoding and boto3's serializer accepted it: they
    raise as they would against DynamoDB (numbers from 1e-130 to below 1e126)."""
    TypeSerializer().serialize(job_to_item(job))
    return job


class InMemoryJobStore:
    def __init__(self):
        self.items: Dict[str, Job] = {}
        self.lock = threading.Lock()
        self.fail_next_update: Optional[Exception] = None
        self.fail_creates: Dict[int, Exception] = {}  # the Nth create (from 1) raises this
        self.creates = 0

    def create(self, job: Job) -> None:
        with self.lock:
            self.creates += 1
            if self.creates in self.fail_creates:
                raise self.fail_creates[self.creates]
            if job.job_id in self.items:
                raise AlreadyExists(job.job_id)
            self.items[job.job_id] = stored_as_dynamodb_would(job)

    def get(self, job_id: str) -> Optional[Job]:
        return self.items.get(job_id)

    def update(self, job_id, changes, from_statuses) -> Job:
        with self.lock:
            if self.fail_next_update is not None:
                error, self.fail_next_update = self.fail_next_update, None
                raise error
            job = self.items.get(job_id)
            if job is None or job.status not in set(from_statuses):
                raise StaleTransition(job_id)
            self.items[job_id] = stored_as_dynamodb_would(replace(job, **changes))
            return self.items[job_id]

    def claim_copy(self, job_id, until, now) -> bool:
        with self.lock:
            job = self.items.get(job_id)
            if job is None or job.status not in ACTIVE or (
                    job.copying_until is not None and job.copying_until > now):
                return False
            self.items[job_id] = replace(job, copying_until=until)
            return True

    def raise_progress(self, job_id, progress) -> bool:
        with self.lock:
            job = self.items.get(job_id)
            if job is None or job.status not in ACTIVE or (
                    job.progress is not None and job.progress >= progress):
                return False
            self.items[job_id] = replace(job, progress=progress)
            return True

    @staticmethod
    def _indexed(job: Job) -> IndexedJob:
        return IndexedJob(job.job_id, job.status, job.updated_at, job.estimated_time, job.follows)

    def latest_with_cache_key(self, cache_key, since, limit=10):
        return [self._indexed(j) for j in sorted(
            (j for j in self.items.values() if j.cache_key == cache_key
             and j.created_at >= since), key=lambda j: j.created_at, reverse=True)[:limit]]

    def followers_of(self, job_id):
        return [j.job_id for j in self.items.values() if j.follows == job_id]

    def open_jobs(self, updated_before):
        return [self._indexed(j) for j in list(self.items.values())
                if (j.status in ACTIVE or j.notification_pending) and j.updated_at <= updated_before]

    def usage_rows(self, owner_id, user_id, start, end):
        for j in self.items.values():
            if j.owner_id == owner_id and (user_id is None or j.user_id == user_id) \
                    and start <= j.created_at < end:
                yield UsageRow(j.created_at, j.model_id, j.status, bool(j.cached),
                               j.estimated_cost, j.predict_time, j.provider)

    def list(self, query: JobQuery) -> JobPage:
        """The index's order (newest first; the id breaks ties) and its page semantics:
        ``limit`` items are read, then the filters drop some."""
        def position(job):
            return {"createdAt": job.created_at.isoformat(), "jobId": job.job_id}
        candidates = sorted((j for j in self.items.values() if j.owner_id == query.owner_id
                             and (query.user_id is None or j.user_id == query.user_id)
                             and (query.since is None or j.created_at >= query.since)),
                            key=lambda j: (j.created_at, j.job_id), reverse=True)
        if query.start_after:
            after = (query.start_after["createdAt"], query.start_after["jobId"])
            candidates = [j for j in candidates
                          if (j.created_at.isoformat(), j.job_id) < after]
        read = candidates[:query.limit]
        jobs = [j for j in read if (query.status is None or j.status == query.status)
                and (query.model_id is None or j.model_id == query.model_id)]
        more = len(candidates) > query.limit
        return JobPage(jobs, position(read[-1]) if more else None)


class InMemoryCounterStore:
    """The CounterStore contract: a conditional submission window and bounded counters."""

    def __init__(self):
        self.windows: Dict[str, "SubmissionWindow"] = {}
        self.counts: Dict[Tuple[str, str], int] = {}
        self.lock = threading.Lock()
        self.writes = 0

    def read_window(self, scope):
        return self.windows.get(scope, SubmissionWindow())

    def write_window(self, scope, window, expires_at):
        with self.lock:
            self.writes += 1
            held = self.windows.get(scope)
            if (held.stored_version if held else None) != window.stored_version:
                return None
            stored = replace(window, stored_version=(window.stored_version or 0) + 1)
            self.windows[scope] = stored
            return stored

    def add_below(self, scope, name, amount, limit, expires_at):
        with self.lock:
            self.writes += 1
            count = self.counts.get((scope, name), 0)
            if count + amount > limit:
                return None
            self.counts[scope, name] = count + amount
            return count + amount


class InMemoryStartSchedule:
    """The StartSchedule contract: the pacing rule, applied under a lock."""

    def __init__(self):
        self.next_free: Optional[float] = None
        self.lock = threading.Lock()
        self.taken: List[float] = []

    def take(self, earliest, interval_s, latest) -> Taken:
        with self.lock:
            taken = pacing.take(self.next_free, earliest, interval_s, latest)
            if taken.start is not None:
                self.next_free = taken.next_free
                self.taken.append(taken.start)
            return taken

    def hold(self, until) -> None:
        with self.lock:
            self.next_free = pacing.hold(self.next_free, until)


class InMemoryCheckStore:
    """The CheckStore contract (chalicelib.health): a record per check, a conditional claim."""

    def __init__(self):
        self.records = {}

    def read(self, name):
        return self.records.get(name)

    def claim(self, name, now, stale_before) -> bool:
        from chalicelib.health import CheckRecord
        record = self.records.get(name)
        if record is not None and record.checked_at > stale_before:
            return False
        self.records[name] = CheckRecord(record.state if record else None, now)
        return True

    def write(self, name, state, now) -> None:
        from chalicelib.health import CheckRecord
        self.records[name] = CheckRecord(state, now)


class FakeStorage:
    """A bucket: every stored object also produces a creation event, as S3 does."""

    def __init__(self):
        self.objects: Dict[str, Tuple[bytes, str, str]] = {}
        self.events: List[str] = []
        self.fail_uploads = 0

    def upload(self, path, key, content_type, kind) -> None:
        if self.fail_uploads:
            self.fail_uploads -= 1
            raise ConnectionError("storage is down (fake)")
        with open(path, "rb") as f:
            self.objects[key] = (f.read(), content_type, kind)
        self.events.append(key)

    def exists(self, key) -> bool:
        return key in self.objects

    def renotify(self, key) -> None:
        self.events.append(key)

    def copy(self, source_key, key) -> None:
        self.objects[key] = self.objects[source_key]
        self.events.append(key)

    def download_file(self, key, path) -> None:
        with open(path, "wb") as f:
            f.write(self.objects[key][0])

    def presigned_url(self, key) -> str:
        return f"https://media.example/{key}?X-Amz-Expires=3600"

    def upload_url(self, key, content_type, size, expires_s) -> str:
        return (f"https://media.example/{key}?X-Amz-Expires={expires_s}"
                f"&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost")

    def input_url(self, key, expires_s) -> str:
        return f"https://media.example/{key}?X-Amz-Expires={expires_s}"

    def size_of(self, key):
        return len(self.objects[key][0]) if key in self.objects else None

    def read_start(self, key, length) -> bytes:
        return self.objects[key][0][:length]

    def put_bytes(self, key, data, content_type) -> None:
        self.objects[key] = (data, content_type, "upload")

    def put_file(self, key, data: bytes) -> None:
        """What a client's PUT to an upload URL leaves (the content type as it was sent)."""
        self.objects[key] = (data, "application/octet-stream", "upload")

    def check(self) -> None:
        pass


class InMemoryUploadStore:
    def __init__(self):
        self.items: Dict[str, object] = {}  # upload id -> chalicelib.uploads.model.Upload

    def put(self, upload) -> None:
        assert upload.upload_id not in self.items
        self.items[upload.upload_id] = upload

    def get(self, upload_id):
        return self.items.get(upload_id)


class FakeQueue:
    def __init__(self, clock: Optional[FakeClock] = None):
        self.messages: List[dict] = []
        self.delays: List[int] = []
        self.clock = clock
        self.sent_at: List[Optional[datetime]] = []  # with a clock: when each was sent

    def send(self, message: dict, delay_s: int = 0) -> None:
        self.messages.append(message)
        self.delays.append(delay_s)
        self.sent_at.append(self.clock.now() if self.clock else None)

    def check(self) -> None:
        pass


OUTPUT_ORIGIN = "https://replicate.delivery"


class FakeReplicate:
    """Predictions that move only when the test says so."""

    def __init__(self):
        self.predictions: Dict[str, Prediction] = {}
        self.created: List[Tuple[ModelRef, dict, str]] = []
        self.cancelled: List[str] = []
        self.create_error: Optional[ReplicateUnavailable] = None
        # An ambiguous create: the prediction is made, the answer is lost.
        self.lose_create_answer = False
        self.get_error: Optional[ReplicateUnavailable] = None

    def create_prediction(self, model, model_input, webhook) -> Prediction:
        if self.create_error is not None:
            error, self.create_error = self.create_error, None
            raise error
        prediction = Prediction(id=f"p{len(self.created) + 1}", status="starting",
                                model=model.owner_name, input=model_input)
        self.created.append((model, model_input, webhook))
        self.predictions[prediction.id] = prediction
        if self.lose_create_answer:
            self.lose_create_answer = False
            raise ReplicateUnavailable("POST /v1/predictions: ReadTimeout")
        return prediction

    def set(self, prediction_id: str, **changes) -> Prediction:
        self.predictions[prediction_id] = replace(self.predictions[prediction_id], **changes)
        return self.predictions[prediction_id]

    def succeed(self, prediction_id: str, files: "FakeFetcher", count: int = 1,
                content: bytes = None) -> Prediction:
        urls = []
        for i in range(count):
            url = f"{OUTPUT_ORIGIN}/{prediction_id}/out-{i}.png"
            files.files[url] = content if content is not None else png_bytes()
            urls.append(url)
        return self.set(prediction_id, status="succeeded", output=urls, predict_time=1.5)

    def get_prediction(self, prediction_id) -> Prediction:
        if self.get_error is not None:
            error, self.get_error = self.get_error, None
            raise error
        return self.predictions[prediction_id]

    def cancel_prediction(self, prediction_id) -> None:
        self.cancelled.append(prediction_id)
        prediction = self.predictions.get(prediction_id)
        if prediction is not None and prediction.is_active:
            self.set(prediction_id, status="canceled")

    def webhook_secret(self) -> str:
        return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    def check(self) -> None:
        pass


FAL_ORIGIN = "https://v3.fal.media"


class FakeFal:
    """fal behind the provider port: requests that move only when the test says so.
    Its callbacks are "verified" by a header the test sets (the real verification is
    the fal adapter's, tested against the simulator)."""
    name = FAL

    def __init__(self):
        self.predictions: Dict[str, Prediction] = {}
        self.created: List[Tuple[str, dict, str]] = []   # (model, input, job id)
        self.cancelled: List[str] = []
        self.create_error: Optional[ProviderUnavailable] = None
        self.lose_create_answer = False
        self.get_error: Optional[ProviderUnavailable] = None

    def serves(self, model_id, params) -> bool:
        try:
            FAL_MODELS[model_id].input_for(params)
            return True
        except (KeyError, NotServable):
            return False

    def create(self, model_id, params, job_id, public_base_url) -> Prediction:
        if self.create_error is not None:
            error, self.create_error = self.create_error, None
            raise error
        model = FAL_MODELS[model_id]
        request = Prediction(id=f"fal-{len(self.created) + 1}", status="starting",
                             model=model.endpoint_id)
        self.created.append((model.endpoint_id, model.input_for(params), job_id))
        self.predictions[request.id] = request
        if self.lose_create_answer:
            self.lose_create_answer = False
            raise ProviderUnavailable("fal POST: ReadTimeout")
        return request

    def set(self, request_id: str, **changes) -> Prediction:
        self.predictions[request_id] = replace(self.predictions[request_id], **changes)
        return self.predictions[request_id]

    def succeed(self, request_id: str, files: "FakeFetcher") -> Prediction:
        url = f"{FAL_ORIGIN}/files/{request_id}/out-0.png"
        files.files[url] = png_bytes()
        return self.set(request_id, status="succeeded", output=[url], predict_time=0.8)

    def get(self, model_id, run_id) -> Prediction:
        if self.get_error is not None:
            error, self.get_error = self.get_error, None
            raise error
        return self.predictions[run_id]

    def cancel(self, model_id, run_id) -> None:
        self.cancelled.append(run_id)
        request = self.predictions.get(run_id)
        if request is not None and request.is_active:
            self.set(run_id, status="canceled")

    def verify_callback(self, raw_body, headers) -> None:
        if headers.get("x-fake-fal-signed") != "yes":
            raise WebhookRejected("unsigned")

    def read_callback(self, model_id, body, headers) -> Prediction:
        return Prediction.from_api(body)

    def expected_model(self, model_id) -> str:
        return FAL_MODELS[model_id].endpoint_id

    def expected_input(self, model_id, params):
        return None

    def check(self) -> None:
        pass


class FakeFetcher:
    """Serves files by URL under the given policy, as ``chalicelib.outbound.fetch`` does."""

    def __init__(self):
        self.files: Dict[str, bytes] = {}
        self.failures: List[FetchFailed] = []
        self.calls = 0

    def __call__(self, policy: UrlPolicy, url: str, out, max_bytes: int) -> int:
        self.calls += 1
        try:
            policy.check(url)
        except UrlRejected as e:
            raise FetchFailed(f"the address {e}", gone=True) from None
        if self.failures:
            raise self.failures.pop(0)
        if url not in self.files:
            raise FetchFailed("the file is gone (HTTP 404)", gone=True)
        data = self.files[url]
        if len(data) > max_bytes:
            raise FetchFailed(f"the file is over the limit of {max_bytes} bytes", gone=True)
        out.write(data)
        return len(data)


class InMemoryIdempotencyStore:
    def __init__(self):
        self.records = {}
        self.lock = threading.Lock()

    def claim(self, record, takeover_before) -> None:
        with self.lock:
            held = self.records.get(record.key)
            if held is not None and held.expires_at > record.started_at and not (
                    held.status == RecordStatus.IN_PROGRESS
                    and held.started_at < takeover_before):
                raise RecordExists(held)
            self.records[record.key] = record

    def complete(self, key, response) -> None:
        with self.lock:
            self.records[key] = replace(self.records[key], status=RecordStatus.COMPLETED,
                                        response=response)

    def release(self, key) -> None:
        with self.lock:
            self.records.pop(key, None)

    def get(self, key):
        return self.records.get(key)


class RecordingNotifier:
    """Records each job event, then queues it as the real notifier does."""

    def __init__(self, queue: "FakeQueue" = None):
        self.events: List[Tuple[str, JobEvent]] = []
        self.queue = queue
        self.fail_next = 0

    def job_ended(self, job: Job, event: JobEvent) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("the notifications queue is down (fake)")
        self.events.append((job.job_id, event))
        if self.queue is not None:
            QueueNotifier(self.queue).job_ended(job, event)


class InMemoryWebhookConfigStore:
    def __init__(self):
        self.endpoint_items: Dict[Tuple[str, str], Endpoint] = {}
        self.secret_items: Dict[str, SigningSecrets] = {}
        self.send_slots: Dict[Tuple[str, int], Tuple[str, datetime]] = {}
        self.lock = threading.Lock()

    def add_endpoint(self, endpoint, max_per_client) -> None:
        with self.lock:
            if sum(1 for c, _ in self.endpoint_items if c == endpoint.client_id) >= max_per_client:
                raise TooManyEndpoints()
            self.endpoint_items[endpoint.client_id, endpoint.endpoint_id] = endpoint

    def endpoints(self, client_id):
        return sorted((e for (c, _), e in self.endpoint_items.items() if c == client_id),
                      key=lambda e: e.created_at)

    def delete_endpoint(self, client_id, endpoint_id) -> bool:
        return self.endpoint_items.pop((client_id, endpoint_id), None) is not None

    def disable_endpoint(self, client_id, endpoint_id, at) -> None:
        if (client_id, endpoint_id) in self.endpoint_items:
            self.endpoint_items[client_id, endpoint_id] = replace(
                self.endpoint_items[client_id, endpoint_id], disabled_at=at)

    def take_send_slot(self, client_id, slots, holder, until, now):
        with self.lock:
            for slot in range(slots):
                held = self.send_slots.get((client_id, slot))
                if held is None or held[1] <= now:
                    self.send_slots[client_id, slot] = (holder, until)
                    return slot
            return None

    def release_send_slot(self, client_id, slot, holder, now) -> None:
        with self.lock:
            held = self.send_slots.get((client_id, slot))
            if held is not None and held[0] == holder:
                self.send_slots[client_id, slot] = (holder, now)

    def secrets(self, client_id):
        return self.secret_items.get(client_id)

    def put_secrets(self, client_id, secrets, expected_current) -> bool:
        with self.lock:
            held = self.secret_items.get(client_id)
            if (held.current if held else None) != expected_current:
                return False
            self.secret_items[client_id] = secrets
            return True


class InMemoryDeliveryStore:
    def __init__(self):
        self.items: Dict[Tuple[str, str], Delivery] = {}
        self.lock = threading.Lock()

    def create(self, delivery) -> bool:
        with self.lock:
            if (delivery.job_id, delivery.webhook_id) in self.items:
                return False
            self.items[delivery.job_id, delivery.webhook_id] = delivery
            return True

    def get(self, job_id, webhook_id):
        return self.items.get((job_id, webhook_id))

    def save_attempt(self, delivery, previous_attempts) -> bool:
        with self.lock:
            held = self.items.get((delivery.job_id, delivery.webhook_id))
            if held is None or held.attempts != previous_attempts or \
                    held.state != DeliveryState.PENDING:
                return False
            self.items[delivery.job_id, delivery.webhook_id] = delivery
            return True

    def for_job(self, job_id):
        return [d for (j, _), d in self.items.items() if j == job_id]


class FakeReceiver:
    """A webhook target: answers from a script (an exception is raised, as the sender
    raises it), records what it got. It applies no URL policy: the real sender does
    (tests/unit/test_urls.py runs it against real servers)."""

    def __init__(self):
        self.answers: List[object] = []
        self.received: List[Tuple[str, bytes, dict]] = []

    def __call__(self, policy, url, body, headers, timeout_s):
        answer = self.answers.pop(0) if self.answers else Answer(200)
        if isinstance(answer, Exception):
            raise answer
        self.received.append((url, body, headers))
        return answer


_PNG: Dict[Tuple[int, int], bytes] = {}


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    if (width, height) not in _PNG:
        from PIL import Image
        buf = io.BytesIO()
        Image.new("RGB", (width, height), (200, 30, 90)).save(buf, "PNG")
        _PNG[width, height] = buf.getvalue()
    return _PNG[width, height]


class InMemoryApiKeyStore:
    def __init__(self):
        self.records: Dict[str, dict] = {}

    def put(self, record: dict) -> None:
        if record["keyHash"] in self.records:
            raise AlreadyExists(record["keyHash"])
        self.records[record["keyHash"]] = dict(record)

    def get(self, key_hash: str) -> Optional[dict]:
        return self.records.get(key_hash)

    def list(self) -> List[dict]:
        return list(self.records.values())

    def set_revoked(self, key_hash: str, revoked_at: str) -> None:
        self.records[key_hash]["revokedAt"] = revoked_at


# The service's own defaults, where a service is built here as wiring builds it.
DEFAULTS = Settings.model_construct()
CLIENT = Caller(client_id="acme", key_id="key-acme")
OTHER_CLIENT = Caller(client_id="globex", key_id="key-globex")
IMAGE_BODY = {"userId": "user123", "mediaType": "image", "modelId": "flux-schnell",
              "parameters": {"prompt": "A futuristic cityscape at sunset"}}
MAX_ATTEMPTS = 5


@dataclass
class World:
    """The real domain services on fakes, with drivers for the queue and the bucket."""
    clock: FakeClock = field(default_factory=FakeClock)
    jobs: InMemoryJobStore = field(default_factory=InMemoryJobStore)
    storage: FakeStorage = field(default_factory=FakeStorage)
    queue: FakeQueue = field(default_factory=FakeQueue)
    replicate: FakeReplicate = field(default_factory=FakeReplicate)
    fal: FakeFal = field(default_factory=FakeFal)
    # Replicate only unless a test routes to fal too.
    routes: Routes = field(default_factory=Routes)
    files: FakeFetcher = field(default_factory=FakeFetcher)
    notifications: FakeQueue = field(default_factory=FakeQueue)
    notifier: RecordingNotifier = None
    counters: InMemoryCounterStore = field(default_factory=InMemoryCounterStore)
    limits: Limits = field(default_factory=Limits)
    max_output_bytes: int = 10_000_000
    max_upload_bytes: int = 1_000_000
    # Starts at Replicate: so fast by default that no test waits for one unless it sets a pace.
    pace: Pace = field(default_factory=lambda: Pace(creates_per_minute=10_000_000,
                                                    max_wait_s=900))
    start_schedule: InMemoryStartSchedule = field(default_factory=InMemoryStartSchedule)

    stage_webhook: Optional[Tuple[str, str]] = None   # (url, secret)
    webhook_policy: UrlPolicy = field(default_factory=lambda: UrlPolicy(
        resolve=lambda host, port: ["93.184.215.14"]))

    def __post_init__(self):
        self.queue.clock = self.queue.clock or self.clock
        self.notifier = self.notifier or RecordingNotifier(self.notifications)
        self.lifecycle = Lifecycle(self.jobs, self.notifier, self.clock)
        self.limiter = RateLimiter(self.counters, self.clock)
        self.reuse = Reuse(self.jobs, self.lifecycle, self.storage, self.clock,
                           window_s=DEFAULTS.cache_window_s)
        self.replicate_provider = ReplicateProvider(lambda: self.replicate)
        self.health = ProviderHealth(threshold=3, cool_down_s=30,
                                     clock=lambda: self.clock.now().timestamp())
        self.reconciler = Reconciler(self.jobs, self.lifecycle, self.queue,
                                     self.provider, self.clock, self.reuse,
                                     quiet_after_s=30)
        self.pacer = StartPacer(self.start_schedule, self.pace, self.clock)
        self.starter = PredictionStarter(self.jobs, self.lifecycle, self.provider,
                                         self.queue, self.pacer, self.routes, self.health)
        self.submission = Submission(self.jobs, self.lifecycle, self.limiter, self.limits,
                                     self.clock, self.reuse, self.starter,
                                     cache_by_default=DEFAULTS.cache_by_default,
                                     new_id=lambda: str(uuid.uuid4()))
        self.usage = UsageReport(self.jobs, self.clock)
        self.sweeper = Sweeper(self.jobs, self.reconciler, self.lifecycle, self.clock)
        self.status_service = JobStatusService(self.jobs, self.storage, self.limiter,
                                               self.limits, self.reconciler)
        policy = UrlPolicy(origins=(Origin.parse(OUTPUT_ORIGIN), Origin.parse(FAL_ORIGIN)),
                           resolve=lambda host, port: ["151.101.1.1"])
        self.outputs = OutputCopier(self.storage, policy, self.max_output_bytes, self.files)
        self.events = PredictionEvents(self.jobs, self.lifecycle, self.queue,
                                       self.provider, self.storage, self.outputs,
                                       copy_lease_s=DEFAULTS.copy_lease_s)
        self.thumbnails = Thumbnails(self.jobs, self.lifecycle, self.storage)
        self.upload_records = InMemoryUploadStore()
        self.uploads = Uploads(self.upload_records, self.storage, self.clock, "uploads/",
                               timedelta(days=1), self.max_upload_bytes)
        self.batch = Batch(self.submission, UrlPolicy(allow_private=True), self.webhook_policy,
                           self.uploads.resolve_inputs)
        self.control = JobControl(self.status_service, self.lifecycle, self.provider)
        self.listing = JobListing(self.jobs, self.storage)
        self.idempotency_store = InMemoryIdempotencyStore()
        self.idempotency = IdempotencyGuard(self.idempotency_store, self.clock)
        self.webhook_config = InMemoryWebhookConfigStore()
        self.deliveries = InMemoryDeliveryStore()
        self.receiver = FakeReceiver()
        self.webhooks = WebhookEndpoints(self.webhook_config, self.webhook_policy, self.clock)
        stage_url, stage_secret = self.stage_webhook or (None, None)
        self.dispatcher = Dispatcher(self.jobs, self.webhooks, self.deliveries,
                                     self.notifications, stage_url)
        self.deliverer = Deliverer(self.jobs, self.webhooks, self.deliveries, self.notifications,
                                   self.webhook_policy, self.clock, self.storage.presigned_url,
                                   (5, 300, 1800), stage_secret=stage_secret,
                                   send=self.receiver)
        self.attempts: Dict[int, int] = {}
        self._sent = itertools.count()  # the order messages were sent, for equal due times
        self.keys = ApiKeys(InMemoryApiKeyStore(), self.clock, cache_s=0)
        self.authorizer = Authorizer(lambda: self.keys, lambda: self.jobs)

    def provider(self, name: str):
        return self.fal if name == FAL else self.replicate_provider

    # ---- the client's side ---------------------------------------------------

    def submit(self, body: dict = None, caller: Caller = CLIENT) -> Job:
        """As POST /generate-media does: image inputs resolved, the body validated, submitted."""
        request = parse_generate_request(self.uploads.resolve_inputs(caller, body or IMAGE_BODY),
                                         UrlPolicy(allow_private=True),
                                         bound_user_id=caller.user_id,
                                         webhook_policy=self.webhook_policy)
        return self.submission.submit(caller, request, "https://api.example").job

    def status(self, job_id: str, caller: Caller = CLIENT) -> dict:
        return self.status_service.status(caller, self.authorizer.job_in_reach(caller, job_id))

    def cancel(self, job_id: str, caller: Caller = CLIENT) -> dict:
        return self.control.cancel(self.authorizer.job_in_reach(caller, job_id))

    def job(self, job_id: str) -> Job:
        return self.jobs.get(job_id)

    # ---- Replicate's side: webhooks go through the queue like the real ones --

    def webhook(self, job: Job, prediction: Prediction = None, provider: str = None) -> None:
        """The provider's callback for the job (its own provider unless told)."""
        provider = provider or stored_provider(self.job(job.job_id).provider)
        runs = self.fal if provider == FAL else self.replicate
        prediction = prediction or runs.predictions[job.replicate_id]
        self.queue.send(PredictionMessage(job.job_id, prediction, provider).body())

    def run_queue(self, crash: Callable[[dict], Optional[Exception]] = None) -> int:
        """Deliver every queued message as Lambda's SQS source does: a handler error
        leaves the message for a redelivery, up to MAX_ATTEMPTS receives. A delayed
        message is delivered when due: the clock moves on to it when nothing is due
        before."""
        handled = 0
        due: List[Tuple[datetime, int, dict]] = []
        while self.queue.messages or due:
            due += [((sent or self.clock.now()) + timedelta(seconds=d), next(self._sent), m)
                    for m, d, sent in zip(self.queue.messages, self.queue.delays,
                                          self.queue.sent_at)]
            self.queue.messages.clear()
            self.queue.delays.clear()
            self.queue.sent_at.clear()
            due.sort(key=lambda x: (x[0], x[1]))
            at, _, message = due.pop(0)
            if at > self.clock.now():
                self.clock._now = at
            attempt = self.attempts.get(id(message), 0) + 1
            self.attempts[id(message)] = attempt
            try:
                read = read_jobs_message(message)
                if isinstance(read, StartMessage):
                    self.starter.start_queued(read)
                else:
                    self.events.handle(read, attempt, MAX_ATTEMPTS)
                handled += 1
            except Exception:
                if attempt < MAX_ATTEMPTS:
                    self.queue.send(message)
        return handled

    def run_storage_events(self) -> int:
        handled = 0
        while self.storage.events:
            self.thumbnails.on_original_stored(self.storage.events.pop(0))
            handled += 1
        return handled

    def run_notifications(self, until_s: float = 0) -> int:
        """Deliver the notifications queue, honouring each message's delay on the fake
        clock, until it is empty or the next message is due after ``until_s`` more seconds."""
        handled, deadline = 0, self.clock.now() + timedelta(seconds=until_s)
        due = [(self.clock.now() + timedelta(seconds=d), m)
               for m, d in zip(self.notifications.messages, self.notifications.delays)]
        self.notifications.messages.clear()
        self.notifications.delays.clear()
        while due:
            due.sort(key=lambda x: x[0])
            at, message = due.pop(0)
            if at > deadline:
                due.insert(0, (at, message))
                break
            if at > self.clock.now():
                self.clock._now = at
            read = read_notification(message)
            if isinstance(read, JobEventMessage):
                self.reuse.settle_followers(read.job_id)
                self.dispatcher.fan_out(read.job_id, read.event)
            else:
                self.deliverer.attempt(read.job_id, read.webhook_id)
            handled += 1
            due += [(self.clock.now() + timedelta(seconds=d), m)
                    for m, d in zip(self.notifications.messages, self.notifications.delays)]
            self.notifications.messages.clear()
            self.notifications.delays.clear()
        for at, message in due:  # not due yet: back in the queue
            self.notifications.messages.append(message)
            self.notifications.delays.append(max(0, int((at - self.clock.now()).total_seconds())))
        return handled

    def run_all(self) -> None:
        while self.queue.messages or self.storage.events:
            self.run_queue()
            self.run_storage_events()

    def complete(self, job: Job) -> Job:
        """The happy path after submit: start, success, copy, thumbnail."""
        self.webhook(job, self.replicate.set(job.replicate_id, status="processing"))
        self.webhook(job, self.replicate.succeed(job.replicate_id, self.files))
        self.run_all()
        return self.job(job.job_id)


def catalog_entry(model_id: str):
    return CATALOG[model_id]

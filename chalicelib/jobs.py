"""The job lifecycle: submit, follow the prediction, store the result, finish.

    pending -> processing -> completed | failed | cancelled   (never backwards)

Every step may run twice, late or out of order (webhook retries, queue
redeliveries, restarts); each one is a conditional state change plus writes
that are safe to repeat.
"""
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Dict, Optional

from chalicelib import media
from chalicelib.clock import iso, parse_iso, utcnow
from chalicelib.errors import (Forbidden, InvalidSignature, JobNotFound, ReplicateError,
                               ServiceUnavailable, ValidationFailed)
from chalicelib.keys import Caller
from chalicelib.limits import Admission, Limits, RateLimiter
from chalicelib.queue import JobQueue
from chalicelib.replicate import (OutputGone, ReplicateClient, ReplicateUnavailable,
                                  WebhookRejected, output_urls, verify_webhook)
from chalicelib.storage import (THUMBNAIL_NAME, MediaStorage, job_prefix, output_name,
                                parse_original_key)
from chalicelib.store import JobStore, StaleTransition
from chalicelib.validation import GenerateRequest

log = logging.getLogger(__name__)

PENDING, PROCESSING, COMPLETED, FAILED, CANCELLED = (
    "pending", "processing", "completed", "failed", "cancelled")
ACTIVE = (PENDING, PROCESSING)
# A pending job with no prediction after this long was never started (crash mid-submit).
START_DEADLINE_S = 120


@dataclass(frozen=True)
class Submitted:
    job: dict
    admission: Admission

    def response(self) -> dict:
        j = self.job
        return {"jobId": j["jobId"], "status": j["status"],
                "estimatedTime": j["estimatedTime"], "estimatedCost": j["estimatedCost"],
                "replicateId": j.get("replicateId"), "message": "Media generation started"}


class JobService:
    def __init__(self, jobs: JobStore, storage: MediaStorage, queue: JobQueue,
                 replicate: Callable[[], ReplicateClient], limiter: RateLimiter,
                 limits: Limits, webhook_secret: Optional[str] = None,
                 reconcile_after_s: int = 30,
                 clock: Callable[[], datetime] = utcnow,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())):
        self.jobs = jobs
        self.storage = storage
        self.queue = queue
        self._replicate = replicate
        self.limiter = limiter
        self.limits = limits
        self._webhook_secret = webhook_secret
        self.reconcile_after_s = reconcile_after_s
        self.clock = clock
        self.new_id = new_id

    @property
    def replicate(self) -> ReplicateClient:
        return self._replicate()

    # ---- API side -------------------------------------------------------------

    def submit(self, caller: Caller, request: GenerateRequest, public_base_url: str) -> Submitted:
        if caller.user_id and caller.user_id != request.user_id:
            raise Forbidden(f"This API key may only submit jobs for userId '{caller.user_id}'.")
        model, params = request.model, request.parameters
        # Rejections before this point (401, 400, 403) cost the caller nothing.
        admission = self.limiter.admit_submission(
            caller.client_id, request.user_id, self.limits.with_overrides(caller.limit_overrides))
        now = iso(self.clock())
        job = {"jobId": self.new_id(), "ownerId": caller.client_id, "userId": request.user_id,
               "mediaType": model.media_type, "modelId": model.model_id,
               "parameters": params.model_dump(mode="json"), "status": PENDING,
               "createdAt": now, "updatedAt": now,
               "estimatedTime": model.estimated_time_s,
               "estimatedCost": model.estimated_cost(params)}
        self.jobs.create(job)
        webhook = f"{public_base_url}/webhook/replicate?jobId={job['jobId']}"
        try:
            prediction = self.replicate.create_prediction(
                model.replicate_model, model.to_replicate_input(params), webhook)
        except ReplicateUnavailable as e:
            self._fail(job["jobId"], f"Replicate did not accept the prediction: {e}")
            admission.refund()
            if e.throttled:
                retry = e.retry_after or 30
                raise ServiceUnavailable("Replicate is throttling new predictions; retry later.",
                                         headers={"Retry-After": str(retry)},
                                         extra={"retryAfter": retry}) from e
            raise ReplicateError(str(e)) from e
        try:
            # The start webhook may have beaten us here and set it already: same value.
            job = self.jobs.update(job["jobId"], {"replicateId": prediction["id"]},
                                   from_statuses=ACTIVE)
        except StaleTransition:
            job = self.jobs.get(job["jobId"])
        return Submitted(job, admission)

    def status(self, caller: Caller, job_id: str) -> dict:
        self.limiter.admit_status_poll(caller.key_id,
                                       self.limits.with_overrides(caller.limit_overrides))
        job = self._owned_job(caller, job_id)
        if job["status"] in ACTIVE:
            job = self._reconcile(job)
        return self._status_view(job)

    def _owned_job(self, caller: Caller, job_id: str) -> dict:
        try:
            uuid.UUID(job_id)
        except ValueError:
            raise JobNotFound(f"No job with id '{job_id[:64]}'.") from None
        job = self.jobs.get(job_id)
        # Another client's job answers exactly like a missing one.
        if job is None or job["ownerId"] != caller.client_id:
            raise JobNotFound(f"No job with id '{job_id}'.")
        return job

    def _status_view(self, job: dict) -> dict:
        view = {k: job.get(k) for k in ("jobId", "status", "mediaType", "modelId", "userId",
                                        "createdAt", "replicateId")}
        if job["status"] in (FAILED, CANCELLED):
            view["error"] = job.get("error")
            view["completedAt"] = job.get("completedAt")
        if job["status"] == COMPLETED:
            view["completedAt"] = job["completedAt"]
            view["processingTime"] = job["processingTime"]
            view["result"] = self._result_view(job)
        return view

    def _result_view(self, job: dict) -> dict:
        stored = job["result"]
        outputs = [{"url": self.storage.presigned_url(o["key"]),
                    **{k: v for k, v in o.items() if k != "key"}} for o in stored["outputs"]]
        first = dict(outputs[0])
        result = {"originalUrl": first.pop("url"),
                  "thumbnailUrl": (self.storage.presigned_url(job["thumbnailKey"])
                                   if job.get("thumbnailKey") else None),
                  "s3Path": stored["s3Path"], **first}
        if len(outputs) > 1:
            result["outputs"] = outputs
        return result

    def _reconcile(self, job: dict) -> dict:
        """Catch up a quiet job with Replicate: webhooks can be lost."""
        now = self.clock()
        if (now - parse_iso(job["updatedAt"])).total_seconds() < self.reconcile_after_s:
            return job
        checked = job.get("reconciledAt")
        if checked and (now - parse_iso(checked)).total_seconds() < self.reconcile_after_s:
            return job
        if not job.get("replicateId"):
            if (now - parse_iso(job["createdAt"])).total_seconds() > START_DEADLINE_S:
                return self._fail(job["jobId"], "The job could not be started.") or job
            return job
        try:
            self.jobs.update(job["jobId"], {"reconciledAt": iso(now)}, from_statuses=ACTIVE)
            prediction = self.replicate.get_prediction(job["replicateId"])
        except (StaleTransition, ReplicateUnavailable) as e:
            log.warning("reconcile %s: %s", job["jobId"], e)
            return job
        if prediction.get("status") in ("succeeded", "failed", "canceled"):
            self.queue.send(prediction_message(job["jobId"], prediction))
        return job

    # ---- webhook -------------------------------------------------------------

    def accept_webhook(self, job_id: Optional[str], raw_body: bytes, headers: Dict[str, str]) -> None:
        """Verify Replicate's signature and hand the event to the processor."""
        try:
            secret = self._webhook_secret or self.replicate.webhook_secret()
        except ReplicateUnavailable as e:
            # Replicate retries a failed delivery; better than accepting it unverified.
            raise ServiceUnavailable(f"Cannot read the webhook signing secret: {e}") from e
        try:
            prediction = verify_webhook(secret, raw_body, headers)
        except WebhookRejected as e:
            raise InvalidSignature(str(e)) from e
        if not job_id or not isinstance(prediction.get("id"), str) or \
                not isinstance(prediction.get("status"), str):
            raise ValidationFailed("The webhook needs a jobId query parameter and a prediction "
                                   "with id and status.")
        self.queue.send(prediction_message(job_id, prediction))

    # ---- processor (SQS) -----------------------------------------------------

    def on_prediction(self, message: dict, attempt: int, max_attempts: int) -> None:
        job = self.jobs.get(message["jobId"])
        prediction = message["prediction"]
        if job is None:
            log.warning("prediction %s for unknown job %s: dropped", prediction["id"],
                        message["jobId"])
            return
        if job.get("replicateId") not in (None, prediction["id"]):
            log.warning("prediction %s does not belong to job %s: dropped", prediction["id"],
                        job["jobId"])
            return
        status = prediction["status"]
        now = iso(self.clock())
        try:
            if status in ("starting", "processing"):
                self.jobs.update(job["jobId"], {"status": PROCESSING, "startedAt": now,
                                                "updatedAt": now,
                                                "replicateId": prediction["id"]},
                                 from_statuses=(PENDING,))
            elif status == "failed":
                self._fail(job["jobId"], prediction.get("error") or "The prediction failed.")
            elif status == "canceled":
                self.jobs.update(job["jobId"], {"status": CANCELLED, "completedAt": now,
                                                "updatedAt": now,
                                                "error": "The job was cancelled."},
                                 from_statuses=ACTIVE)
            elif status == "succeeded":
                self._store_outputs(job, prediction, attempt, max_attempts)
        except StaleTransition:
            log.info("job %s: %s event ignored (job is %s)", job["jobId"], status, job["status"])

    def _store_outputs(self, job: dict, prediction: dict, attempt: int, max_attempts: int) -> None:
        if job["status"] not in ACTIVE:
            return
        original = (job.get("result") or {}).get("outputs", [{}])[0].get("key")
        if original and self.storage.exists(original):
            # Stored already, but never thumbnailed: the S3 event was lost. Replicate's
            # copy may have expired by now; ours has not. (A result recorded whose upload
            # never finished, a crash between the two, is stored again below.)
            self.storage.renotify(original)
            return
        urls = output_urls(prediction.get("output"))
        if not urls:
            self._fail(job["jobId"], "The prediction succeeded but returned no output.")
            return
        prefix = job_prefix(job["mediaType"], job["userId"], parse_iso(job["createdAt"]),
                            job["jobId"])
        try:
            with tempfile.TemporaryDirectory(prefix="vsl-") as tmp:
                stored = []
                for i, url in enumerate(urls):
                    path = os.path.join(tmp, f"output-{i}")
                    with open(path, "wb") as f:
                        self.replicate.download(url, f)
                    info = media.probe(path, job["mediaType"])
                    stored.append((path, f"{prefix}/{output_name(i, info.ext)}", info))
                now = iso(self.clock())
                result = {"s3Path": prefix,
                          "outputs": [{"key": key, **info.as_result()} for _, key, info in stored]}
                metrics = prediction.get("metrics") or {}
                # Recorded before the upload: the thumbnailer, woken by the original's
                # S3 event, finds the result already there.
                self.jobs.update(job["jobId"], {
                    "status": PROCESSING, "result": result, "updatedAt": now,
                    "replicateId": prediction["id"],
                    "predictTime": metrics.get("predict_time")}, from_statuses=ACTIVE)
                for i, (path, key, info) in reversed(list(enumerate(stored))):  # original last
                    self.storage.upload_file(path, key, info.content_type,
                                             "original" if i == 0 else "output")
        except (OutputGone, media.MediaUnreadable) as e:
            self._fail(job["jobId"], f"The result could not be stored: {e}")
        except Exception as e:
            if attempt >= max_attempts:
                self._fail(job["jobId"], f"The result could not be stored after {attempt} "
                                         f"attempts: {type(e).__name__}: {e}")
                return
            raise

    # ---- thumbnailer (S3 event) ----------------------------------------------

    def on_original_stored(self, key: str) -> None:
        job_id = parse_original_key(key)
        if job_id is None:
            return  # thumbnails and extra outputs
        job = self.jobs.get(job_id)
        if job is None or job["status"] != PROCESSING or not job.get("result"):
            log.info("object %s: no job waiting for it", key)
            return
        if job["result"]["outputs"][0]["key"] != key:
            return
        thumbnail_key = f"{job['result']['s3Path']}/{THUMBNAIL_NAME}"
        with tempfile.TemporaryDirectory(prefix="vsl-") as tmp:
            src, dst = os.path.join(tmp, "original"), os.path.join(tmp, THUMBNAIL_NAME)
            self.storage.download_file(key, src)
            try:
                media.make_thumbnail(src, job["mediaType"], dst)
                self.storage.upload_file(dst, thumbnail_key, "image/jpeg", "thumbnail")
            except media.MediaUnreadable as e:
                # The original was probed already; a job is not failed for its preview.
                log.error("job %s: no thumbnail: %s", job_id, e)
                thumbnail_key = None
        finished = self.clock()
        try:
            self.jobs.update(job_id, {
                "status": COMPLETED, "thumbnailKey": thumbnail_key, "completedAt": iso(finished),
                "updatedAt": iso(finished),
                "processingTime": int((finished - parse_iso(job["createdAt"])).total_seconds())},
                from_statuses=(PROCESSING,))
        except StaleTransition:
            pass

    def _fail(self, job_id: str, error: str) -> Optional[dict]:
        now = iso(self.clock())
        try:
            return self.jobs.update(job_id, {"status": FAILED, "error": error,
                                             "completedAt": now, "updatedAt": now},
                                    from_statuses=ACTIVE)
        except StaleTransition:
            return None


def prediction_message(job_id: str, prediction: dict) -> dict:
    """What the processor needs of a prediction (Replicate's logs can be large)."""
    keep = ("id", "status", "output", "error", "metrics", "started_at", "completed_at")
    return {"kind": "prediction", "jobId": job_id,
            "prediction": {k: prediction.get(k) for k in keep}}

"""The providers' webhooks, and the processor that applies them to jobs.

The webhook routes only verify and enqueue (providers want a fast 2xx); the
processor, fed by the queue, moves the job. A run (a Replicate prediction, a fal
request, read as a Prediction) is applied to the job its webhook names only if it
is that job's run on the job's provider, or the job has none yet (a create whose
answer was lost): then it is adopted, provided it is on the provider the job was
sent to and its model and input are the job's own. A run nobody can use is
cancelled at its provider, so nobody pays for it.

The signature covers the body, not the ``jobId`` query parameter. A forged
jobId would need a genuine signed body, within the 5-minute window, for a
prediction of this same model and input: the adoption check refuses anything
else, and a job that has its prediction accepts no other.
"""
import logging
import re
import tempfile
from datetime import timedelta
from typing import Callable, Dict, Optional

from chalicelib.catalog import CATALOG
from chalicelib.errors import InvalidSignature, ServiceUnavailable, ValidationFailed
from chalicelib.jobs import progress
from chalicelib.jobs.lifecycle import Lifecycle
from chalicelib.jobs.model import ACTIVE, Job, JobStatus, Prediction
from chalicelib.jobs.starter import display_name
from chalicelib.jobs.outputs import OutputCopier, OutputUnusable
from chalicelib.messages import PredictionMessage
from chalicelib.queue import MessageQueue
from chalicelib.providers.port import Provider, ProviderUnavailable, WebhookRejected
from chalicelib.providers.routing import stored_provider
from chalicelib.storage import MediaStorage
from chalicelib.jobs.persistence import JobRepository
from chalicelib.store import StaleTransition
from chalicelib.outbound import FetchFailed
from chalicelib.validation import parse_json

log = logging.getLogger(__name__)


class CopyInProgress(Exception):
    """Another processor holds the job's copy; the event is retried later."""


# A model's own error is shown to the client only when it says what went wrong in
# words: an address (a URL, host or port), a traceback or an exception's repr would
# tell them about our network or someone's code, so such a message is only logged.
MODEL_FAILED = ("The model failed at Replicate; its message named addresses or internal "
                "errors, so it is logged, not shown.")
_ADDRESSES = re.compile(r"[a-z][a-z0-9+.-]*://|\b\d{1,3}(?:\.\d{1,3}){3}\b|\b(?:host|port)=|"
                        r"\burl:|\blocalhost\b", re.I)
_INTERNALS = re.compile(r"Traceback \(most recent call last\)|\bFile \"|\w(?:Error|Exception)\(")
# "RuntimeError: CUDA out of memory" says "CUDA out of memory".
_EXCEPTION_NAME = re.compile(r"^(?:\w+\.)*\w*(?:Error|Exception):\s*")


def public_model_error(raw: Optional[str]) -> str:
    """What a client sees of a failed prediction's error: its first line, at most 300
    characters, without an exception's name; MODEL_FAILED when it names addresses
    or internals."""
    text = (raw or "").strip()
    first = _EXCEPTION_NAME.sub("", text.splitlines()[0].strip()) if text else ""
    if not first:
        return "The prediction failed."
    if _ADDRESSES.search(text) or _INTERNALS.search(text):
        return MODEL_FAILED
    return first[:300]


class PredictionEvents:
    def __init__(self, jobs: JobRepository, lifecycle: Lifecycle, queue: MessageQueue,
                 providers: Callable[[str], Provider], storage: MediaStorage,
                 outputs: OutputCopier, *, copy_lease_s: int):
        self.jobs = jobs
        self.lifecycle = lifecycle
        self.queue = queue
        self._providers = providers
        self.storage = storage
        self.outputs = outputs
        # At least the processor's timeout: a live copy cannot hold it longer.
        self.copy_lease = timedelta(seconds=copy_lease_s)

    # ---- the webhook route ----------------------------------------------------

    def accept_webhook(self, provider: str, job_id: Optional[str], raw_body: bytes,
                       headers: Dict[str, str]) -> None:
        """Verify the provider's signature and hand the event to the processor."""
        try:
            self._providers(provider).verify_callback(raw_body, headers)
        except ProviderUnavailable:
            # Providers retry a failed delivery: better than accepting it unverified.
            raise ServiceUnavailable("The webhook signing keys cannot be read now.",
                                     retry_after=5) from None
        except WebhookRejected as e:
            raise InvalidSignature(str(e)) from None
        body = parse_json(raw_body)
        if not job_id:
            raise ValidationFailed("The webhook URL needs its jobId query parameter.")
        job = self.jobs.get(job_id)  # its model says where a fal result keeps its outputs
        try:
            prediction = self._providers(provider).read_callback(
                job.model_id if job else None, body, headers)
        except ValueError as e:
            raise ValidationFailed(f"The body is not a prediction: {e}.") from None
        self.queue.send(PredictionMessage(job_id, prediction, provider).body())

    # ---- the processor -------------------------------------------------------

    def handle(self, message: PredictionMessage, attempt: int, max_attempts: int) -> None:
        prediction, provider = message.prediction, message.provider
        job = self.jobs.get(message.job_id)
        if job is None:
            self._orphan(provider, None, prediction, f"names unknown job {message.job_id}")
            return
        if stored_provider(job.provider) != provider:
            self._orphan(provider, job.model_id, prediction,
                         f"ran on {provider}; job {job.job_id} runs on {job.provider}")
            return
        if job.replicate_id not in (None, prediction.id):
            self._orphan(provider, job.model_id, prediction,
                         f"is not job {job.job_id}'s ({job.replicate_id})")
            return
        if job.replicate_id is None and not self._is_adoptable(provider, job, prediction):
            self._orphan(provider, job.model_id, prediction,
                         f"does not match job {job.job_id}'s model and input")
            return
        if job.status.is_terminal:
            self.lifecycle.resume_notification(job)
            self._orphan(provider, job.model_id, prediction,
                         f"reports for job {job.job_id}, already {job.status.value}")
            return
        status = prediction.status
        try:
            if prediction.is_active:
                self._running(job, prediction)
            elif status == "failed":
                error = public_model_error(prediction.error)
                if error != prediction.error:
                    log.warning("job %s: prediction %s failed: %r (shown as %r)", job.job_id,
                                prediction.id, prediction.error, error)
                self.lifecycle.finish(job.job_id, JobStatus.FAILED, replicate_id=prediction.id,
                                      error=error)
            elif status == "canceled":
                self.lifecycle.finish(job.job_id, JobStatus.CANCELLED, replicate_id=prediction.id,
                                      error="The job was cancelled.")
            elif status == "succeeded":
                self._store_result(job, prediction, attempt, max_attempts)
            else:
                log.warning("job %s: unknown prediction status %r ignored", job.job_id, status)
        except StaleTransition:
            log.info("job %s: %s event ignored (job is %s)", job.job_id, status, job.status.value)

    def _running(self, job: Job, prediction: Prediction) -> None:
        """A start, or the model's logs: the job is processing, as far as the logs say."""
        if job.status == JobStatus.PENDING:
            try:
                self.lifecycle.move(job.job_id, JobStatus.PROCESSING,
                                    only_from=(JobStatus.PENDING,),
                                    started_at=self.lifecycle.clock.now(),
                                    replicate_id=prediction.id)
            except StaleTransition:
                log.info("job %s: start ignored (no longer pending)", job.job_id)
        if prediction.progress is not None:
            self.jobs.raise_progress(job.job_id, progress.generating(prediction.progress))

    def _is_adoptable(self, provider: str, job: Job, prediction: Prediction) -> bool:
        """A run the job never heard of is its own only if it runs the job's work."""
        port = self._providers(provider)
        if prediction.model is not None and prediction.model != port.expected_model(job.model_id):
            return False
        if prediction.input is not None:
            entry = CATALOG[job.model_id]
            expected = port.expected_input(job.model_id,
                                           entry.parameters.model_validate(job.parameters))
            if prediction.input != expected:
                return False
        return True

    def _orphan(self, provider: str, model_id: Optional[str], prediction: Prediction,
                why: str) -> None:
        log.warning("%s run %s %s: dropped", provider, prediction.id, why)
        if not prediction.is_active:
            return
        try:
            self._providers(provider).cancel(model_id, prediction.id)
            log.info("%s run %s cancelled", provider, prediction.id)
        except ProviderUnavailable as e:
            log.error("%s run %s could not be cancelled: %s", provider, prediction.id, e)

    def _store_result(self, job: Job, prediction: Prediction, attempt: int,
                      max_attempts: int) -> None:
        if job.result is not None and self.storage.exists(job.result.original.key):
            # Stored already, but never thumbnailed: the storage event was lost. Replicate's
            # copy may have expired by now; ours has not. (A result recorded whose upload
            # never finished, a crash between the two, is stored again below.)
            self.storage.renotify(job.result.original.key)
            return
        urls = prediction.output_urls
        if not urls:
            self.lifecycle.fail(job.job_id, "The prediction's output expired at "
                                            f"{display_name(stored_provider(job.provider))} "
                                            "before it could be copied." if prediction.data_removed
                                else "The prediction succeeded but returned no output.")
            return
        now = self.lifecycle.clock.now()
        if not self.jobs.claim_copy(job.job_id, now + self.copy_lease, now):
            # Another processor is copying (a duplicate or reconciled event): leave this
            # message for a retry, which finds the job completed, or the copy abandoned.
            raise CopyInProgress(job.job_id)
        self.jobs.raise_progress(job.job_id, progress.STORING)
        try:
            self._copy(job, prediction, urls, attempt, max_attempts)
        finally:
            try:  # done, failed or about to be retried: the next holder need not wait
                self.jobs.update(job.job_id, {"copying_until": None}, ACTIVE)
            except StaleTransition:
                pass

    def _copy(self, job: Job, prediction: Prediction, urls, attempt: int,
              max_attempts: int) -> None:
        try:
            with tempfile.TemporaryDirectory(prefix="vsl-") as workdir:
                downloaded = self.outputs.download(job, urls, workdir)
                thumbnail_key = self.outputs.thumbnail(job, downloaded, workdir)
                # Recorded before the upload: the original's storage event, which completes
                # the job, finds the result (and its preview) already there.
                self.lifecycle.move(job.job_id, JobStatus.PROCESSING, only_from=ACTIVE,
                                    result=self.outputs.result_of(job, downloaded),
                                    thumbnail_key=thumbnail_key, replicate_id=prediction.id,
                                    predict_time=prediction.predict_time)
                self.outputs.upload(downloaded)
        except OutputUnusable as e:
            self.lifecycle.fail(job.job_id, f"The result could not be stored: {e}")
        except (StaleTransition, CopyInProgress):
            raise
        except Exception as e:
            if attempt >= max_attempts:
                log.exception("job %s: storing the result failed on the last attempt", job.job_id)
                reason = str(e) if isinstance(e, FetchFailed) else type(e).__name__
                self.lifecycle.fail(job.job_id, f"The result could not be stored after {attempt} "
                                                f"attempts ({reason}).")
                return
            raise

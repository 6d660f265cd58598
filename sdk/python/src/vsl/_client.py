"""The synchronous :class:`Client` and the asynchronous :class:`AsyncClient`.

Both share everything but the I/O: request building, error mapping, the retry
decision and the poll schedule live in :class:`_BaseClient`.
"""
from __future__ import annotations

import asyncio
import copy
import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import (Any, AsyncIterator, Awaitable, Callable, Dict, Iterator, List, Mapping,
                    Optional, Tuple, TypeVar, Union)
from urllib.parse import quote, urlencode, urlsplit

import httpx

from . import _files, _retry
from ._errors import (APIConnectionError, APIError, APITimeoutError, BadRequestError,
                      JobCancelledError, JobFailedError, RateLimitError, VSLError,
                      WaitTimeoutError, error_class_for)
from ._files import FileInput
from ._pagination import AsyncJobPage, JobPage
from ._types import Job, JobStatus, Model, Result, Upload, job_status
from ._version import __version__

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
DEFAULT_WAIT_TIMEOUT_S = 300.0
# The longest the service waits for a job within one request (Prefer: wait).
MAX_SERVER_WAIT_S = 25

JobRef = Union[str, Mapping[str, Any]]
Since = Union[str, datetime]
ResultRef = Union[str, Mapping[str, Any]]
StatusCallback = Callable[[JobStatus], Any]
PathLike = Union[str, "os.PathLike[str]"]
# An input image: a URL (or upload:<id>, or a data: URI), or a local file to upload.
ImageInput = Union[str, FileInput]
# Seconds per HTTP request (connect: at most 5 s), or an httpx.Timeout.
TimeoutTypes = Union[float, httpx.Timeout]
_ClientT = TypeVar("_ClientT", bound="_BaseClient")


def _as_timeout(timeout: TimeoutTypes) -> httpx.Timeout:
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(
        timeout, connect=min(5.0, timeout))


class _BaseClient:
    def __init__(self, api_key: Optional[str], base_url: Optional[str], user_id: Optional[str],
                 timeout: TimeoutTypes, max_retries: int,
                 idempotent_retries: bool, max_retry_after: float) -> None:
        self.api_key = api_key if api_key is not None else os.environ.get("VSL_API_KEY")
        if not self.api_key:
            raise VSLError("No API key: pass api_key= or set VSL_API_KEY.")
        self.base_url = (base_url or os.environ.get("VSL_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.user_id = user_id if user_id is not None else (os.environ.get("VSL_USER_ID") or None)
        self.timeout = _as_timeout(timeout)
        self.max_retries = max(0, int(max_retries))
        self.idempotent_retries = idempotent_retries
        self.max_retry_after = max_retry_after
        self._models: Optional[List[Model]] = None
        # estimatedTime of the jobs this client submitted, to pace waiting on them.
        self._estimates: Dict[str, float] = {}
        self._clock: Callable[[], float] = time.monotonic

    # ---- options -------------------------------------------------------------------

    def with_options(self: _ClientT, *, timeout: Optional[TimeoutTypes] = None,
                     max_retries: Optional[int] = None) -> _ClientT:
        """A client like this one with another request timeout or retry count, sharing its
        connections: ``client.with_options(timeout=5, max_retries=0).get_status(job)``."""
        clone = copy.copy(self)
        if timeout is not None:
            clone.timeout = _as_timeout(timeout)
        if max_retries is not None:
            clone.max_retries = max(0, int(max_retries))
        clone._owns_http = False  # closing stays this client's business
        return clone

    def _for_call(self: _ClientT, timeout: Optional[TimeoutTypes],
                  max_retries: Optional[int]) -> _ClientT:
        """The client one call runs on: this one, or a copy with the call's options."""
        if timeout is None and max_retries is None:
            return self
        return self.with_options(timeout=timeout, max_retries=max_retries)

    @staticmethod
    def _idempotency(key: Optional[str]) -> Dict[str, str]:
        if key is None:
            return {}
        if not isinstance(key, str) or not key:
            raise ValueError("idempotency_key must be a non-empty string")
        return {"Idempotency-Key": key}

    # ---- requests ------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _headers(self, method: str, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        headers = {"X-API-Key": self.api_key or "", "Accept": "application/json",
                   "User-Agent": f"vsl-python/{__version__}", **(extra or {})}
        if method == "POST":
            # One key per logical POST (the caller's, or ours), the same on every attempt:
            # a retried submission replays the first job instead of making a second one.
            headers.setdefault("Idempotency-Key", f"vsl-python-{uuid.uuid4()}")
        return headers

    def _retry_wait(self, method: str, retries_done: int, *,
                    response: Optional[httpx.Response] = None,
                    error: Optional[BaseException] = None) -> Optional[float]:
        """Seconds before the next attempt, or None to give up now."""
        if retries_done >= self.max_retries:
            return None
        status = response.status_code if response is not None else None
        code = self._error_code(response) if response is not None else None
        if not _retry.should_retry(method, status=status, error=error, code=code,
                                   retry_posts_freely=self.idempotent_retries):
            return None
        retry_after = _retry.parse_retry_after(response.headers) if response is not None else None
        return _retry.retry_delay(retries_done, retry_after, self.max_retry_after)

    @staticmethod
    def _error_code(response: httpx.Response) -> Optional[str]:
        try:
            body = response.json()
        except ValueError:
            return None
        code = body.get("code") if isinstance(body, dict) else None
        return code if isinstance(code, str) else None

    @staticmethod
    def _connection_error(error: httpx.TransportError) -> APIConnectionError:
        if isinstance(error, httpx.TimeoutException):
            return APITimeoutError(f"Request timed out: {error}")
        return APIConnectionError(f"Connection error: {error}")

    @staticmethod
    def _status_error(response: httpx.Response) -> APIError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        retry_after = _retry.parse_retry_after(response.headers)
        if retry_after is None and isinstance(body.get("retryAfter"), (int, float)):
            retry_after = float(body["retryAfter"])
        message = body.get("error") or response.reason_phrase or "HTTP error"
        return error_class_for(response.status_code)(
            str(message), status=response.status_code, code=body.get("code"),
            details=body.get("details"), retry_after=retry_after, body=body, response=response)

    @staticmethod
    def _user_hint(error: BadRequestError, body: Mapping[str, Any]) -> BadRequestError:
        """A key bound to no user needs a userId on every job: say where this client
        takes one from, when it sent none."""
        if error.code == "MISSING_PARAMETER" and "userId" not in body and \
                (error.details or "").startswith("userId"):
            error.details = (f"{error.details}. Pass user_id=... (the vsl command: --user) "
                             "or set VSL_USER_ID.")
        return error

    # ---- bodies --------------------------------------------------------------------

    def _submit_body(self, model_id: str, media_type: str, parameters: Dict[str, Any],
                     user_id: Optional[str], webhook_url: Optional[str] = None,
                     cache: Optional[bool] = None,
                     provider: Optional[str] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"mediaType": media_type, "modelId": model_id,
                                "parameters": {k: v for k, v in parameters.items()
                                               if v is not None}}
        user = user_id if user_id is not None else self.user_id
        if user:
            body["userId"] = user
        for field, value in (("webhookUrl", webhook_url), ("cache", cache),
                             ("provider", provider)):
            if value is not None:
                body[field] = value
        return body

    @staticmethod
    def _media_type_of(model_id: str, models: List[Model]) -> str:
        for model in models:
            if model.model_id == model_id:
                return model.media_type
        known = ", ".join(m.model_id for m in models)
        raise BadRequestError("Unknown model", status=400, code="UNKNOWN_MODEL",
                              details=f"modelId {model_id!r} is not in the catalog ({known}).")

    def _job(self, body: Mapping[str, Any]) -> Job:
        job = Job(body)
        estimate = job.estimated_time
        if isinstance(estimate, (int, float)) and estimate > 0:
            self._estimates[job.job_id] = float(estimate)
        return job

    def _job_id_of(self, job: JobRef) -> str:
        job_id = job if isinstance(job, str) else job.get("jobId")
        if not job_id or not isinstance(job_id, str):
            raise ValueError("a job id (or a job returned by generate_*) is required")
        if not isinstance(job, str) and "estimatedTime" in job:
            self._job(job)
        return job_id

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise APIError("The service answered with something other than JSON",
                           status=response.status_code, response=response) from None

    @staticmethod
    def _status_path(job_id: str) -> str:
        return "/status/" + quote(job_id, safe="")

    @staticmethod
    def _cancel_path(job_id: str) -> str:
        return "/jobs/" + quote(job_id, safe="") + "/cancel"

    @staticmethod
    def _list_query(user_id: Optional[str], status: Optional[str], model_id: Optional[str],
                    since: Optional[Since], page_size: Optional[int]) -> Dict[str, Any]:
        """The filters given, as GET /jobs takes them (checked now, not at the first page)."""
        if isinstance(since, datetime):
            if since.tzinfo is None:
                raise ValueError("since needs a time zone, e.g. datetime.now(timezone.utc)")
            since = since.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        query = {"userId": user_id, "status": status, "modelId": model_id, "since": since,
                 "limit": page_size}
        return {name: value for name, value in query.items() if value is not None}

    @staticmethod
    def _list_path(query: Dict[str, Any], cursor: Optional[str]) -> str:
        # The service binds a cursor to the filters it was issued with: every page of
        # one listing is asked with the same ones.
        if cursor is not None:
            query = {**query, "cursor": cursor}
        return "/jobs" + ("?" + urlencode(query) if query else "")

    @staticmethod
    def _page(body: Any) -> Tuple[List[JobStatus], Optional[str]]:
        if not isinstance(body, dict) or not isinstance(body.get("jobs"), list):
            raise APIError("GET /jobs answered without a list of jobs")
        cursor = body.get("nextCursor")
        return [job_status(view) for view in body["jobs"]], cursor or None

    # ---- running ---------------------------------------------------------------------

    def _server_wait(self, timeout: Optional[float]) -> Optional[int]:
        """Seconds the service may hold a run's submit (Prefer: wait): at most 25, within
        the run's timeout and with room left in this client's read timeout."""
        cap = float(MAX_SERVER_WAIT_S)
        if self.timeout.read is not None:
            cap = min(cap, self.timeout.read - 5)
        if timeout is not None:
            cap = min(cap, timeout)
        return int(cap) if cap >= 1 else None

    @staticmethod
    def _prefer(wait_s: Optional[int]) -> Dict[str, str]:
        return {"Prefer": f"wait={wait_s}"} if wait_s else {}

    @staticmethod
    def _remaining(timeout: Optional[float], started: float, now: float) -> Optional[float]:
        return None if timeout is None else max(0.0, timeout - (now - started))

    # ---- waiting -------------------------------------------------------------------

    @staticmethod
    def _seen(view: JobStatus) -> Tuple[Any, Any, Any]:
        """What on_update is told about when it changes: status, stage and progress."""
        return view.status, view.get("stage"), view.get("progress")

    def _estimate_for(self, view: JobStatus, models: Optional[List[Model]]) -> float:
        if view.job_id in self._estimates:
            return self._estimates[view.job_id]
        for model in models or []:
            if model.model_id == view.model_id and isinstance(model.estimated_time, (int, float)):
                return float(model.estimated_time)
        return 10.0

    @staticmethod
    def _poll_delays(estimate: float) -> Tuple[float, float]:
        """(first delay, cap): a 5 s image is polled every 0.5-1 s, a 60 s video every 3-10 s."""
        first = min(max(estimate / 20, 0.5), 3.0)
        cap = min(max(estimate / 5, 1.0), 10.0)
        return first, cap

    @staticmethod
    def _finish(view: JobStatus) -> Optional[Result]:
        """The result of a terminal job (raises for failed/cancelled); None while running."""
        if view.status == "completed":
            result = view.result
            return result if result is not None else Result()
        if view.status == "failed":
            raise JobFailedError(f"Job {view.job_id} failed: {view.error or 'no reason given'}", view)
        if view.status == "cancelled":
            raise JobCancelledError(f"Job {view.job_id} was cancelled"
                               + (f": {view.error}" if view.error else ""), view)
        return None

    @staticmethod
    def _throttle_wait(error: RateLimitError, retries_done: int) -> float:
        if error.retry_after is not None:
            return error.retry_after
        return _retry.backoff_delay(retries_done)

    # ---- downloads -----------------------------------------------------------------

    @staticmethod
    def _download_target(result: ResultRef, path: PathLike) -> Tuple[str, Path]:
        if isinstance(result, str):
            url = result
        else:
            inner = result.get("result")
            found = (inner if isinstance(inner, Mapping) else result).get("originalUrl")
            if not found or not isinstance(found, str):
                raise ValueError("download() needs a result with originalUrl, or a URL")
            url = found
        target = Path(path)
        if target.is_dir():
            target = target / (Path(urlsplit(url).path).name or "download")
        return url, target


class Client(_BaseClient):
    """Synchronous client of the VSL Media API.

    Args:
        api_key: the ``X-API-Key``; default ``$VSL_API_KEY``.
        base_url: e.g. ``https://{id}.execute-api.{region}.amazonaws.com/homolog``;
            default ``$VSL_BASE_URL``, else ``http://127.0.0.1:8000`` (``make run``).
        user_id: the end user jobs are submitted for; default ``$VSL_USER_ID``. May be
            omitted when the key is bound to a user.
        timeout: seconds per HTTP request (connect: at most 5 s).
        max_retries: retries after the first attempt (connection errors, 408, 429, 5xx).
        idempotent_retries: retry submissions like reads (the default): every POST
            carries an ``Idempotency-Key`` of the client's own, the same on each attempt,
            so the service answers a retry with the first attempt's job instead of
            making a second. Turn off to retry a submission only when nothing was
            created (connection refused, 429, 503).
        max_retry_after: the longest ``Retry-After`` slept through; a longer one raises.
        http_client: an ``httpx.Client`` of your own (proxies, transports, event hooks).
    """

    def __init__(self, api_key: Optional[str] = None, base_url: Optional[str] = None,
                 user_id: Optional[str] = None, *,
                 timeout: Union[float, httpx.Timeout] = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES, idempotent_retries: bool = True,
                 max_retry_after: float = _retry.MAX_RETRY_AFTER_S,
                 http_client: Optional[httpx.Client] = None) -> None:
        super().__init__(api_key, base_url, user_id, timeout, max_retries, idempotent_retries,
                         max_retry_after)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout)
        self._sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        """Close the connections (only those of an HTTP client this client created)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _request(self, method: str, path: str, json: Optional[Dict[str, Any]] = None, *,
                 retry_rate_limits: bool = True, headers: Optional[Mapping[str, str]] = None,
                 with_status: bool = False) -> Any:
        """The decoded answer (with its HTTP status first when ``with_status``)."""
        headers = self._headers(method, headers)
        retries_done = 0
        while True:
            try:
                response = self._http.request(method, self._url(path), json=json, headers=headers,
                                              timeout=self.timeout)
            except httpx.TransportError as error:
                delay = self._retry_wait(method, retries_done, error=error)
                if delay is None:
                    raise self._connection_error(error) from error
            else:
                if response.is_success:
                    body = self._decode(response)
                    return (response.status_code, body) if with_status else body
                delay = None if response.status_code == 429 and not retry_rate_limits \
                    else self._retry_wait(method, retries_done, response=response)
                if delay is None:
                    raise self._status_error(response)
            self._sleep(delay)
            retries_done += 1

    # ---- submitting ------------------------------------------------------------

    def generate(self, model_id: str, *, user_id: Optional[str] = None,
                 media_type: Optional[str] = None, idempotency_key: Optional[str] = None,
                 timeout: Optional[TimeoutTypes] = None, max_retries: Optional[int] = None,
                 webhook_url: Optional[str] = None, cache: Optional[bool] = None,
                 provider: Optional[str] = None, **parameters: Any) -> Job:
        """Submit a job for any model; its media type is looked up in the catalog.

        ``parameters`` are the model's (see :meth:`models`); ``None`` values are left out.
        ``idempotency_key``: yours, to submit the same job again safely later (the service
        answers a repeat with the first job); by default each call gets its own.
        ``timeout``, ``max_retries``: this call's, instead of the client's.
        ``webhook_url``: where this job's events are also posted. ``cache``: reuse an
        identical job's result (``None``: the service's default). ``provider``:
        ``"replicate"`` or ``"fal"`` to run on that provider only, with no failover
        (``None``: the model's routing). The ``generate_*`` helpers take these too.
        """
        client = self._for_call(timeout, max_retries)
        if media_type is None:
            media_type = client._media_type_of(model_id, client.models())
        body = client._submit_body(model_id, media_type, client._inputs(parameters), user_id,
                                   webhook_url, cache, provider)
        try:
            return client._job(client._request("POST", "/generate-media", body,
                                               headers=self._idempotency(idempotency_key)))
        except BadRequestError as error:
            raise client._user_hint(error, body) from None

    def generate_image(self, prompt: str, model_id: str = "flux-schnell", *,
                       user_id: Optional[str] = None, **parameters: Any) -> Job:
        """Submit an image job, e.g. ``generate_image("A red fox", width=1024)``; takes
        :meth:`generate`'s ``idempotency_key``, ``timeout`` and ``max_retries``."""
        return self.generate(model_id, user_id=user_id, media_type="image", prompt=prompt,
                             **parameters)

    def generate_video(self, image: Optional[ImageInput] = None,
                       model_id: str = "stability-video", *, image_url: Optional[str] = None,
                       user_id: Optional[str] = None, **parameters: Any) -> Job:
        """Submit a video job animating ``image``: a local file (a ``Path``, its bytes or
        an open binary file: uploaded first), or a URL string (http(s), ``upload:<id>``
        or a ``data:`` URI). ``image_url=`` is the same as a URL ``image``."""
        return self.generate(model_id, user_id=user_id, media_type="video",
                             image=_one_image(image, image_url), **parameters)

    def run(self, model_id: str, *, user_id: Optional[str] = None,
            media_type: Optional[str] = None,
            timeout: Optional[float] = DEFAULT_WAIT_TIMEOUT_S,
            on_update: Optional[StatusCallback] = None, idempotency_key: Optional[str] = None,
            webhook_url: Optional[str] = None, cache: Optional[bool] = None,
            provider: Optional[str] = None, **parameters: Any) -> Result:
        """Submit a job and return its result: the service holds the submit until the job
        ends (up to 25 s, ``Prefer: wait``), then the client polls as
        :meth:`wait_for_completion` does. Local files among ``parameters`` are uploaded.
        ``timeout`` is the whole run's; each request's comes from :meth:`with_options`.

        Raises what :meth:`wait_for_completion` raises (JobFailedError, JobCancelledError,
        WaitTimeoutError after ``timeout`` seconds in all). ``webhook_url``, ``cache``
        and ``provider`` as for :meth:`generate`.
        """
        started = self._clock()
        if media_type is None:
            media_type = self._media_type_of(model_id, self.models())
        body = self._submit_body(model_id, media_type, self._inputs(parameters), user_id,
                                 webhook_url, cache, provider)
        headers = {**self._prefer(self._server_wait(timeout)), **self._idempotency(idempotency_key)}
        try:
            status, answer = self._request("POST", "/generate-media", body, with_status=True,
                                           headers=headers)
        except BadRequestError as error:
            raise self._user_hint(error, body) from None
        if status == 200:
            view = job_status(answer)
            if on_update is not None:
                on_update(view)
            return self._finish(view) or Result()
        return self.wait_for_completion(self._job(answer),
                                        self._remaining(timeout, started, self._clock()),
                                        on_update=on_update)

    def upload(self, file: FileInput, *, content_type: Optional[str] = None,
               idempotency_key: Optional[str] = None, timeout: Optional[TimeoutTypes] = None,
               max_retries: Optional[int] = None) -> Upload:
        """Upload a local file (a path, bytes or an open binary file) for use as an input
        image; pass ``upload.ref`` (``upload:<id>``) as the parameter. PNG, JPEG or WebP
        of at most 10 MiB; kept for a day. The type is read from the file's first bytes
        unless given."""
        client = self._for_call(timeout, max_retries)
        data, name = _files.read(file)
        kind = content_type or _files.content_type_of(data, name)
        created = Upload(client._request("POST", "/uploads", {"contentType": kind,
                                                              "size": len(data)},
                                         headers=self._idempotency(idempotency_key)))
        client._put(created["uploadUrl"], data, kind)
        return created

    def _inputs(self, parameters: Dict[str, Any]) -> Dict[str, Any]:
        return {name: self.upload(value).ref if _files.is_file_input(value) else value
                for name, value in parameters.items()}

    def _put(self, url: str, data: bytes, content_type: str) -> None:
        """PUT a file to its presigned URL (which carries its own authorization)."""
        retries_done = 0
        while True:
            try:
                response = self._http.put(url, content=data, timeout=self.timeout,
                                          headers={"Content-Type": content_type})
                if response.is_success:
                    return
                delay = self._retry_wait("PUT", retries_done, response=response)
                if delay is None:
                    raise self._status_error(response)
            except httpx.TransportError as error:
                delay = self._retry_wait("PUT", retries_done, error=error)
                if delay is None:
                    raise self._connection_error(error) from error
            self._sleep(delay)
            retries_done += 1

    def generate_audio(self, prompt: str, model_id: str = "musicgen", *,
                       user_id: Optional[str] = None, **parameters: Any) -> Job:
        """Submit an audio job, e.g. ``generate_audio("Epic orchestral", duration=8)``."""
        return self.generate(model_id, user_id=user_id, media_type="audio", prompt=prompt,
                             **parameters)

    # ---- reading ---------------------------------------------------------------

    def get_status(self, job_id: JobRef, *, timeout: Optional[TimeoutTypes] = None,
                   max_retries: Optional[int] = None) -> JobStatus:
        """The job's current status view (``result`` once completed)."""
        client = self._for_call(timeout, max_retries)
        return job_status(client._request("GET", self._status_path(self._job_id_of(job_id))))

    def cancel(self, job_id: JobRef, *, idempotency_key: Optional[str] = None,
               timeout: Optional[TimeoutTypes] = None,
               max_retries: Optional[int] = None) -> JobStatus:
        """Cancel a pending or processing job; return its status view, now ``cancelled``.

        Cancelling a cancelled job answers the same. A job that already completed or
        failed raises :class:`ConflictError` with code ``JOB_NOT_CANCELLABLE`` (its
        ``body["status"]`` says which).
        """
        client = self._for_call(timeout, max_retries)
        return job_status(client._request("POST", self._cancel_path(self._job_id_of(job_id)),
                                          headers=self._idempotency(idempotency_key)))

    def list_jobs(self, *, user_id: Optional[str] = None, status: Optional[str] = None,
                  model_id: Optional[str] = None, since: Optional[Since] = None,
                  page_size: Optional[int] = None, timeout: Optional[TimeoutTypes] = None,
                  max_retries: Optional[int] = None) -> Iterator[JobStatus]:
        """The key's jobs, newest first, as status views; pages are fetched as you iterate.

        Filters: ``user_id``, ``status`` (pending, processing, completed, failed,
        cancelled), ``model_id``, ``since`` (jobs created at or after it: an aware
        ``datetime`` or an ISO 8601 string with a zone). ``page_size`` is jobs per
        request, 1-100 (the service's default: 20). Take the first N with
        ``itertools.islice``; later pages are not fetched. Page by page:
        :meth:`list_jobs_page`.
        """
        query = self._list_query(user_id, status, model_id, since, page_size)
        return self._for_call(timeout, max_retries)._jobs(query)

    def list_jobs_page(self, *, user_id: Optional[str] = None, status: Optional[str] = None,
                       model_id: Optional[str] = None, since: Optional[Since] = None,
                       page_size: Optional[int] = None, cursor: Optional[str] = None,
                       timeout: Optional[TimeoutTypes] = None,
                       max_retries: Optional[int] = None) -> JobPage:
        """One page of :meth:`list_jobs` (the first, or the one ``cursor`` points at, with
        the filters it was issued for): ``.data``, ``.next_cursor``, ``.has_next_page()``,
        ``.next_page()``; iterating it yields every job from it on, page after page."""
        query = self._list_query(user_id, status, model_id, since, page_size)
        return self._for_call(timeout, max_retries)._fetch_page(query, cursor)

    def _fetch_page(self, query: Dict[str, Any], cursor: Optional[str]) -> JobPage:
        # The service binds a cursor to its filters: the next page asks with the same ones.
        jobs, next_cursor = self._page(self._request("GET", self._list_path(query, cursor)))
        return JobPage(jobs, next_cursor, lambda after: self._fetch_page(query, after))

    def _jobs(self, query: Dict[str, Any]) -> Iterator[JobStatus]:
        # A generator, so that nothing is asked before the first job is wanted.
        yield from self._fetch_page(query, None)

    def models(self, *, refresh: bool = False, timeout: Optional[TimeoutTypes] = None,
               max_retries: Optional[int] = None) -> List[Model]:
        """The model catalog (cached after the first call)."""
        if self._models is None or refresh:
            client = self._for_call(timeout, max_retries)
            self._models = [Model(m) for m in client._request("GET", "/models")["models"]]
        return self._models

    def wait_for_completion(self, job_id: JobRef, timeout: Optional[float] = DEFAULT_WAIT_TIMEOUT_S,
                            *, on_update: Optional[StatusCallback] = None) -> Result:
        """Poll until the job ends; return its ``result``.

        Polls at a pace scaled to the job's estimated time, sleeping through a
        ``429``'s ``Retry-After`` when the deadline allows. ``on_update`` is called with
        the status view whenever its status, ``stage`` or ``progress`` changed.

        Raises:
            JobFailedError: the job failed (``.error`` says why, ``.job`` is the status view).
            JobCancelledError: the job was cancelled.
            WaitTimeoutError: still running after ``timeout`` seconds (None: no limit).
            RateLimitError: polls are throttled for longer than the time left.
        """
        job_id = self._job_id_of(job_id)
        deadline = None if timeout is None else self._clock() + timeout
        last_seen: Optional[Tuple[Any, Any, Any]] = None
        delay = cap = 0.0
        throttled = 0
        while True:
            try:
                # A throttled poll is waited out below, where the deadline is known.
                view = job_status(self._request("GET", self._status_path(job_id),
                                                retry_rate_limits=False))
            except RateLimitError as error:
                wait = self._throttle_wait(error, throttled)
                if deadline is not None and self._clock() + wait > deadline:
                    raise
                throttled += 1
                self._sleep(wait)
                continue
            if self._seen(view) != last_seen:
                last_seen = self._seen(view)
                if on_update is not None:
                    on_update(view)
            result = self._finish(view)
            if result is not None:
                return result
            if not delay:
                models = None if job_id in self._estimates else self._models_or_none()
                delay, cap = self._poll_delays(self._estimate_for(view, models))
            remaining = None if deadline is None else deadline - self._clock()
            if remaining is not None and remaining <= 0:
                raise WaitTimeoutError(f"Job {job_id} still {view.status} after {timeout} s",
                                       job_id, float(timeout or 0), view)
            self._sleep(delay if remaining is None else min(delay, remaining))
            delay = min(delay * 1.5, cap)

    def _models_or_none(self) -> Optional[List[Model]]:
        try:
            return self.models()
        except APIError:
            return None

    def download(self, result: ResultRef, path: PathLike, *,
                 timeout: Optional[TimeoutTypes] = None,
                 max_retries: Optional[int] = None) -> Path:
        """Stream a result's original file (or any URL) to ``path``; return the path written.

        ``result`` is a result, a status view or a URL; a directory ``path`` keeps the
        URL's file name. The file appears only once complete.
        """
        return self._for_call(timeout, max_retries)._download(result, path)

    def _download(self, result: ResultRef, path: PathLike) -> Path:
        url, target = self._download_target(result, path)
        partial = target.with_name(target.name + ".part")
        retries_done = 0
        while True:
            try:
                # A presigned URL carries its own authorization: never send our key along.
                with self._http.stream("GET", url, timeout=self.timeout) as response:
                    if response.is_success:
                        with open(partial, "wb") as out:
                            for chunk in response.iter_bytes(64 * 1024):
                                out.write(chunk)
                        os.replace(partial, target)
                        return target
                    response.read()
                    delay = self._retry_wait("GET", retries_done, response=response)
                    if delay is None:
                        raise self._status_error(response)
            except httpx.TransportError as error:
                delay = self._retry_wait("GET", retries_done, error=error)
                if delay is None:
                    raise self._connection_error(error) from error
            finally:
                if partial.exists():
                    partial.unlink()
            self._sleep(delay)
            retries_done += 1


class AsyncClient(_BaseClient):
    """Asynchronous client: the same methods as :class:`Client`, as coroutines.

    Takes the same arguments (``http_client`` is an ``httpx.AsyncClient``); use it as
    ``async with vsl.AsyncClient() as client: ...`` or call ``await client.close()``.
    """

    def __init__(self, api_key: Optional[str] = None, base_url: Optional[str] = None,
                 user_id: Optional[str] = None, *,
                 timeout: Union[float, httpx.Timeout] = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES, idempotent_retries: bool = True,
                 max_retry_after: float = _retry.MAX_RETRY_AFTER_S,
                 http_client: Optional[httpx.AsyncClient] = None) -> None:
        super().__init__(api_key, base_url, user_id, timeout, max_retries, idempotent_retries,
                         max_retry_after)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout)
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _request(self, method: str, path: str,
                       json: Optional[Dict[str, Any]] = None, *,
                       retry_rate_limits: bool = True, headers: Optional[Mapping[str, str]] = None,
                       with_status: bool = False) -> Any:
        headers = self._headers(method, headers)
        retries_done = 0
        while True:
            try:
                response = await self._http.request(method, self._url(path), json=json,
                                                    headers=headers, timeout=self.timeout)
            except httpx.TransportError as error:
                delay = self._retry_wait(method, retries_done, error=error)
                if delay is None:
                    raise self._connection_error(error) from error
            else:
                if response.is_success:
                    body = self._decode(response)
                    return (response.status_code, body) if with_status else body
                delay = None if response.status_code == 429 and not retry_rate_limits \
                    else self._retry_wait(method, retries_done, response=response)
                if delay is None:
                    raise self._status_error(response)
            await self._sleep(delay)
            retries_done += 1

    async def generate(self, model_id: str, *, user_id: Optional[str] = None,
                       media_type: Optional[str] = None, idempotency_key: Optional[str] = None,
                       timeout: Optional[TimeoutTypes] = None, max_retries: Optional[int] = None,
                       webhook_url: Optional[str] = None, cache: Optional[bool] = None,
                       provider: Optional[str] = None, **parameters: Any) -> Job:
        """See :meth:`Client.generate`."""
        client = self._for_call(timeout, max_retries)
        if media_type is None:
            media_type = client._media_type_of(model_id, await client.models())
        body = client._submit_body(model_id, media_type, await client._inputs(parameters),
                                   user_id, webhook_url, cache, provider)
        try:
            return client._job(await client._request("POST", "/generate-media", body,
                                                     headers=self._idempotency(idempotency_key)))
        except BadRequestError as error:
            raise client._user_hint(error, body) from None

    async def run(self, model_id: str, *, user_id: Optional[str] = None,
                  media_type: Optional[str] = None,
                  timeout: Optional[float] = DEFAULT_WAIT_TIMEOUT_S,
                  on_update: Optional[StatusCallback] = None,
                  idempotency_key: Optional[str] = None, webhook_url: Optional[str] = None,
                  cache: Optional[bool] = None, provider: Optional[str] = None,
                  **parameters: Any) -> Result:
        """See :meth:`Client.run`; ``on_update`` may be a coroutine function."""
        started = self._clock()
        if media_type is None:
            media_type = self._media_type_of(model_id, await self.models())
        body = self._submit_body(model_id, media_type, await self._inputs(parameters), user_id,
                                 webhook_url, cache, provider)
        headers = {**self._prefer(self._server_wait(timeout)), **self._idempotency(idempotency_key)}
        try:
            status, answer = await self._request("POST", "/generate-media", body,
                                                 with_status=True, headers=headers)
        except BadRequestError as error:
            raise self._user_hint(error, body) from None
        if status == 200:
            view = job_status(answer)
            if on_update is not None:
                outcome = on_update(view)
                if asyncio.iscoroutine(outcome):
                    await outcome
            return self._finish(view) or Result()
        return await self.wait_for_completion(self._job(answer),
                                              self._remaining(timeout, started, self._clock()),
                                              on_update=on_update)

    async def upload(self, file: FileInput, *, content_type: Optional[str] = None,
                     idempotency_key: Optional[str] = None,
                     timeout: Optional[TimeoutTypes] = None,
                     max_retries: Optional[int] = None) -> Upload:
        """See :meth:`Client.upload`."""
        client = self._for_call(timeout, max_retries)
        data, name = _files.read(file)
        kind = content_type or _files.content_type_of(data, name)
        created = Upload(await client._request("POST", "/uploads", {"contentType": kind,
                                                                    "size": len(data)},
                                               headers=self._idempotency(idempotency_key)))
        await client._put(created["uploadUrl"], data, kind)
        return created

    async def _inputs(self, parameters: Dict[str, Any]) -> Dict[str, Any]:
        return {name: (await self.upload(value)).ref if _files.is_file_input(value) else value
                for name, value in parameters.items()}

    async def _put(self, url: str, data: bytes, content_type: str) -> None:
        retries_done = 0
        while True:
            try:
                response = await self._http.put(url, content=data, timeout=self.timeout,
                                                headers={"Content-Type": content_type})
                if response.is_success:
                    return
                delay = self._retry_wait("PUT", retries_done, response=response)
                if delay is None:
                    raise self._status_error(response)
            except httpx.TransportError as error:
                delay = self._retry_wait("PUT", retries_done, error=error)
                if delay is None:
                    raise self._connection_error(error) from error
            await self._sleep(delay)
            retries_done += 1

    async def generate_image(self, prompt: str, model_id: str = "flux-schnell", *,
                             user_id: Optional[str] = None, **parameters: Any) -> Job:
        return await self.generate(model_id, user_id=user_id, media_type="image", prompt=prompt,
                                   **parameters)

    async def generate_video(self, image: Optional[ImageInput] = None,
                             model_id: str = "stability-video", *,
                             image_url: Optional[str] = None, user_id: Optional[str] = None,
                             **parameters: Any) -> Job:
        """See :meth:`Client.generate_video`."""
        return await self.generate(model_id, user_id=user_id, media_type="video",
                                   image=_one_image(image, image_url), **parameters)

    async def generate_audio(self, prompt: str, model_id: str = "musicgen", *,
                             user_id: Optional[str] = None, **parameters: Any) -> Job:
        return await self.generate(model_id, user_id=user_id, media_type="audio", prompt=prompt,
                                   **parameters)

    async def get_status(self, job_id: JobRef, *, timeout: Optional[TimeoutTypes] = None,
                         max_retries: Optional[int] = None) -> JobStatus:
        client = self._for_call(timeout, max_retries)
        return job_status(await client._request("GET",
                                                self._status_path(self._job_id_of(job_id))))

    async def cancel(self, job_id: JobRef, *, idempotency_key: Optional[str] = None,
                     timeout: Optional[TimeoutTypes] = None,
                     max_retries: Optional[int] = None) -> JobStatus:
        """See :meth:`Client.cancel`."""
        client = self._for_call(timeout, max_retries)
        return job_status(await client._request(
            "POST", self._cancel_path(self._job_id_of(job_id)),
            headers=self._idempotency(idempotency_key)))

    def list_jobs(self, *, user_id: Optional[str] = None, status: Optional[str] = None,
                  model_id: Optional[str] = None, since: Optional[Since] = None,
                  page_size: Optional[int] = None, timeout: Optional[TimeoutTypes] = None,
                  max_retries: Optional[int] = None) -> AsyncIterator[JobStatus]:
        """See :meth:`Client.list_jobs`: ``async for job in client.list_jobs(...)``."""
        query = self._list_query(user_id, status, model_id, since, page_size)
        return self._for_call(timeout, max_retries)._jobs(query)

    async def list_jobs_page(self, *, user_id: Optional[str] = None,
                             status: Optional[str] = None, model_id: Optional[str] = None,
                             since: Optional[Since] = None, page_size: Optional[int] = None,
                             cursor: Optional[str] = None,
                             timeout: Optional[TimeoutTypes] = None,
                             max_retries: Optional[int] = None) -> AsyncJobPage:
        """See :meth:`Client.list_jobs_page`: ``await page.next_page()``,
        ``async for job in page``."""
        query = self._list_query(user_id, status, model_id, since, page_size)
        return await self._for_call(timeout, max_retries)._fetch_page(query, cursor)

    async def _fetch_page(self, query: Dict[str, Any], cursor: Optional[str]) -> AsyncJobPage:
        jobs, next_cursor = self._page(await self._request("GET", self._list_path(query, cursor)))
        return AsyncJobPage(jobs, next_cursor, lambda after: self._fetch_page(query, after))

    async def _jobs(self, query: Dict[str, Any]) -> AsyncIterator[JobStatus]:
        async for job in await self._fetch_page(query, None):
            yield job

    async def models(self, *, refresh: bool = False, timeout: Optional[TimeoutTypes] = None,
                     max_retries: Optional[int] = None) -> List[Model]:
        if self._models is None or refresh:
            client = self._for_call(timeout, max_retries)
            self._models = [Model(m) for m in (await client._request("GET", "/models"))["models"]]
        return self._models

    async def wait_for_completion(self, job_id: JobRef,
                                  timeout: Optional[float] = DEFAULT_WAIT_TIMEOUT_S, *,
                                  on_update: Optional[StatusCallback] = None) -> Result:
        """See :meth:`Client.wait_for_completion`; ``on_update`` may be a coroutine function."""
        job_id = self._job_id_of(job_id)
        deadline = None if timeout is None else self._clock() + timeout
        last_seen: Optional[Tuple[Any, Any, Any]] = None
        delay = cap = 0.0
        throttled = 0
        while True:
            try:
                view = job_status(await self._request("GET", self._status_path(job_id),
                                                      retry_rate_limits=False))
            except RateLimitError as error:
                wait = self._throttle_wait(error, throttled)
                if deadline is not None and self._clock() + wait > deadline:
                    raise
                throttled += 1
                await self._sleep(wait)
                continue
            if self._seen(view) != last_seen:
                last_seen = self._seen(view)
                if on_update is not None:
                    outcome = on_update(view)
                    if asyncio.iscoroutine(outcome):
                        await outcome
            result = self._finish(view)
            if result is not None:
                return result
            if not delay:
                models = None
                if job_id not in self._estimates:
                    try:
                        models = await self.models()
                    except APIError:
                        models = None
                delay, cap = self._poll_delays(self._estimate_for(view, models))
            remaining = None if deadline is None else deadline - self._clock()
            if remaining is not None and remaining <= 0:
                raise WaitTimeoutError(f"Job {job_id} still {view.status} after {timeout} s",
                                       job_id, float(timeout or 0), view)
            await self._sleep(delay if remaining is None else min(delay, remaining))
            delay = min(delay * 1.5, cap)

    async def download(self, result: ResultRef, path: PathLike, *,
                       timeout: Optional[TimeoutTypes] = None,
                       max_retries: Optional[int] = None) -> Path:
        """See :meth:`Client.download`."""
        return await self._for_call(timeout, max_retries)._download(result, path)

    async def _download(self, result: ResultRef, path: PathLike) -> Path:
        url, target = self._download_target(result, path)
        partial = target.with_name(target.name + ".part")
        retries_done = 0
        while True:
            try:
                async with self._http.stream("GET", url, timeout=self.timeout) as response:
                    if response.is_success:
                        with open(partial, "wb") as out:
                            async for chunk in response.aiter_bytes(64 * 1024):
                                out.write(chunk)
                        os.replace(partial, target)
                        return target
                    await response.aread()
                    delay = self._retry_wait("GET", retries_done, response=response)
                    if delay is None:
                        raise self._status_error(response)
            except httpx.TransportError as error:
                delay = self._retry_wait("GET", retries_done, error=error)
                if delay is None:
                    raise self._connection_error(error) from error
            finally:
                if partial.exists():
                    partial.unlink()
            await self._sleep(delay)
            retries_done += 1


def _one_image(image: Optional[ImageInput], image_url: Optional[str]) -> ImageInput:
    if (image is None) == (image_url is None):
        raise TypeError("generate_video() takes one image: image= (a file or a URL) or "
                        "image_url=")
    return image if image is not None else image_url

"""Every error the SDK raises derives from :class:`VSLError`.

The names and the hierarchy are openai-python's, and the JavaScript client's too
(``sdk/js/lib/errors.js``): :class:`APIError` for any failed request,
:class:`APIStatusError` for an HTTP answer (one subclass per documented status) and
:class:`APIConnectionError` / :class:`APITimeoutError` for none.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Type

import httpx


class VSLError(Exception):
    """Base of every error raised by this package."""


class APIError(VSLError):
    """A request did not get a successful answer.

    Attributes:
        status: the HTTP status (``None`` when no answer arrived).
        code: the API's error code, e.g. ``"OUT_OF_RANGE"`` (``None`` when unknown).
        details: the API's explanation of what was wrong.
        retry_after: seconds the API asked us to wait before retrying, if it said.
        body: the decoded error body (``{}`` when there was none or it was not JSON).
        response: the :class:`httpx.Response`, when there was one.
    """

    def __init__(self, message: str, *, status: Optional[int] = None, code: Optional[str] = None,
                 details: Optional[str] = None, retry_after: Optional[float] = None,
                 body: Optional[Dict[str, Any]] = None,
                 response: Optional[httpx.Response] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details
        self.retry_after = retry_after
        self.body = body or {}
        self.response = response

    def __str__(self) -> str:
        parts = [f"{self.status} " if self.status else "", self.message]
        if self.code:
            parts.append(f" [{self.code}]")
        if self.details:
            parts.append(f": {self.details}")
        return "".join(parts)


class APIStatusError(APIError):
    """The service answered with an error status (``status`` is set); the subclasses name
    the documented ones, this class itself any other (405, 413, 415...)."""


class BadRequestError(APIStatusError):
    """400: the request body or parameters are wrong; ``details`` names the field."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, unknown, revoked or expired."""


class PermissionDeniedError(APIStatusError):
    """403: e.g. a key bound to one user submitting for another."""


class NotFoundError(APIStatusError):
    """404: no such job (or it belongs to another client)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the job's state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well formed but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: a limit is spent; ``retry_after`` says when to come back."""


class InternalServerError(APIStatusError):
    """5xx: the service or one of its dependencies failed (503: throttled or unavailable)."""


class APIConnectionError(APIError):
    """The service could not be reached, or the connection broke before an answer."""

    def __init__(self, message: str = "Connection error", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, message: str = "Request timed out", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class JobError(VSLError):
    """A job ended without a result. ``job`` is its last status view."""

    def __init__(self, message: str, job: Dict[str, Any]) -> None:
        super().__init__(message)
        self.job = job
        self.job_id: Optional[str] = job.get("jobId")
        self.error: Optional[str] = job.get("error")


class JobFailedError(JobError):
    """The job failed; ``error`` is the reason the service recorded."""


class JobCancelledError(JobError):
    """The job was cancelled before it produced a result."""


# The names of the first releases, kept working: the same classes.
JobFailed = JobFailedError
JobCancelled = JobCancelledError


class WaitTimeoutError(VSLError, TimeoutError):
    """``wait_for_completion`` gave up; ``job`` is the last status seen (or ``None``)."""

    def __init__(self, message: str, job_id: str, timeout: float,
                 job: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.timeout = timeout
        self.job = job


_STATUS_ERRORS: Dict[int, Type[APIStatusError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 422: UnprocessableEntityError, 429: RateLimitError}


def error_class_for(status: int) -> Type[APIStatusError]:
    """The error class of an HTTP status (APIStatusError itself for undocumented ones)."""
    if status >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status, APIStatusError)

"""Domain errors, one per documented error code.

They know nothing of HTTP: each carries a stable ``code``, a short ``title``
(the body's ``error``) and ``details``; a rate limit or a throttle also says
when to come back. ``app.py`` maps each class to its status, headers and the
documented body at the edge.
"""
from typing import Any, Dict, Optional


class DomainError(Exception):
    code = "INTERNAL_ERROR"
    title = "Internal server error"

    def __init__(self, details: str = "", *, code: Optional[str] = None,
                 retry_after: Optional[int] = None, extra: Optional[Dict[str, Any]] = None,
                 quotas: Optional[list] = None, now: Optional[float] = None):
        super().__init__(details or self.title)
        self.details = details or self.title
        if code:
            self.code = code
        self.retry_after = retry_after
        # More documented fields of the body (e.g. the job's current status).
        self.extra = dict(extra or {})
        # The caller's rate limits after this request (chalicelib.limits.Quota), when known.
        self.quotas, self.now = quotas, now


class InvalidJson(DomainError):
    code, title = "INVALID_JSON", "Request body is not valid JSON"


class ValidationFailed(DomainError):
    """A request that cannot be accepted; ``code`` says which rule it broke:
    MISSING_PARAMETER, UNKNOWN_PARAMETER, INVALID_TYPE, INVALID_VALUE, OUT_OF_RANGE
    or VALIDATION_ERROR (anything else)."""
    code, title = "VALIDATION_ERROR", "Invalid request parameters"


class UnknownModel(DomainError):
    code, title = "UNKNOWN_MODEL", "Unknown model"


class MediaTypeMismatch(DomainError):
    code, title = "MEDIA_TYPE_MISMATCH", "mediaType does not match the model"


class Unauthorized(DomainError):
    code, title = "UNAUTHORIZED", "Invalid or missing API key"


class InvalidSignature(DomainError):
    code, title = "INVALID_SIGNATURE", "Webhook signature verification failed"


class Forbidden(DomainError):
    code, title = "FORBIDDEN", "Not allowed for this API key"


class NotFound(DomainError):
    code, title = "NOT_FOUND", "Not found"


class JobNotFound(NotFound):
    code, title = "JOB_NOT_FOUND", "Job ID not found"


class UploadNotFound(NotFound):
    code, title = "UPLOAD_NOT_FOUND", "Upload not found"


class UploadExpired(DomainError):
    code, title = "UPLOAD_EXPIRED", "Upload expired"


class UploadIncomplete(DomainError):
    code, title = "UPLOAD_INCOMPLETE", "Nothing was uploaded yet"


class UnsupportedUpload(ValidationFailed):
    """Not a PNG, JPEG or WebP image, or not the type it was declared as."""
    code, title = "UNSUPPORTED_UPLOAD", "Unsupported upload"


class JobNotCancellable(DomainError):
    """The job has already ended; ``extra`` carries its status."""
    code, title = "JOB_NOT_CANCELLABLE", "Job cannot be cancelled"


class IdempotencyKeyInUse(DomainError):
    code, title = "IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is in flight"


class IdempotencyKeyReused(DomainError):
    code, title = "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key reused with a different request"


class RotationInProgress(DomainError):
    code, title = "ROTATION_IN_PROGRESS", "The signing secret is being rotated"


class MethodNotAllowed(DomainError):
    code, title = "METHOD_NOT_ALLOWED", "Method not allowed"


class PayloadTooLarge(DomainError):
    code, title = "PAYLOAD_TOO_LARGE", "Request body too large"


class UploadTooLarge(PayloadTooLarge):
    code, title = "UPLOAD_TOO_LARGE", "Upload too large"


class UnsupportedMediaType(DomainError):
    code, title = "UNSUPPORTED_MEDIA_TYPE", "Unsupported Content-Type"


class RateLimited(DomainError):
    code, title = "RATE_LIMIT_EXCEEDED", "Rate limit exceeded"

    def __init__(self, details: str, quotas: list, now: float, retry_after: int):
        super().__init__(details, retry_after=retry_after, quotas=quotas, now=now)


class ReplicateRefused(DomainError):
    """Replicate answered the create with an error: nothing runs, nothing is charged."""
    code, title = "REPLICATE_ERROR", "Replicate API error"


class ServiceUnavailable(DomainError):
    code, title = "SERVICE_UNAVAILABLE", "Service temporarily unavailable"

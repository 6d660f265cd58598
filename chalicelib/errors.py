"""Domain errors, one per documented error code, and their rendering.

``ApiError`` derives from Chalice's ``ChaliceUnhandledError`` so that Chalice
re-raises it to the HTTP middleware instead of turning it into its own 500;
the middleware renders every error in the documented format.
"""
from typing import Dict, Optional

from chalice import ChaliceUnhandledError


class ApiError(ChaliceUnhandledError):
    status = 500
    code = "INTERNAL_ERROR"
    error = "Internal server error"

    def __init__(self, details: str = "", *, error: Optional[str] = None,
                 headers: Optional[Dict[str, str]] = None, extra: Optional[dict] = None):
        super().__init__(details or self.error)
        self.details = details
        if error:
            self.error = error
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict:
        return {"error": self.error, "details": self.details, "code": self.code, **self.extra}


class InvalidJson(ApiError):
    status, code, error = 400, "INVALID_JSON", "Request body is not valid JSON"


class ValidationFailed(ApiError):
    status, code, error = 400, "VALIDATION_ERROR", "Invalid request parameters"


class UnknownModel(ApiError):
    status, code, error = 400, "UNKNOWN_MODEL", "Unknown model"


class MediaTypeMismatch(ApiError):
    status, code, error = 400, "MEDIA_TYPE_MISMATCH", "mediaType does not match the model"


class Unauthorized(ApiError):
    status, code, error = 401, "UNAUTHORIZED", "Invalid or missing API key"


class InvalidSignature(ApiError):
    status, code, error = 401, "INVALID_SIGNATURE", "Webhook signature verification failed"


class Forbidden(ApiError):
    status, code, error = 403, "FORBIDDEN", "Not allowed for this API key"


class NotFound(ApiError):
    status, code, error = 404, "NOT_FOUND", "Not found"


class JobNotFound(NotFound):
    status, code, error = 404, "JOB_NOT_FOUND", "Job ID not found"


class MethodNotAllowed(ApiError):
    status, code, error = 405, "METHOD_NOT_ALLOWED", "Method not allowed"


class PayloadTooLarge(ApiError):
    status, code, error = 413, "PAYLOAD_TOO_LARGE", "Request body too large"


class UnsupportedMediaType(ApiError):
    status, code, error = 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported Content-Type"


class RateLimited(ApiError):
    status, code, error = 429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded"


class ReplicateError(ApiError):
    status, code, error = 502, "REPLICATE_ERROR", "Replicate API error"


class ServiceUnavailable(ApiError):
    status, code, error = 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable"


# Chalice's own error responses ({"Code": ..., "Message": ...}) mapped onto ours.
CHALICE_ERROR_CODES = {
    "MethodNotAllowedError": MethodNotAllowed,
    "UnsupportedMediaType": UnsupportedMediaType,
    "BadRequestError": ValidationFailed,
    "NotFoundError": NotFound,
    "InternalServerError": ApiError,
}

"""Python client of the VSL Media API.

    import vsl

    client = vsl.Client()          # VSL_API_KEY, VSL_BASE_URL, VSL_USER_ID
    job = client.generate_image("A futuristic cityscape", width=1024)
    result = client.wait_for_completion(job["jobId"])
    client.download(result, "city.png")

    # One call: the service waits for the job first, then the client polls.
    result = client.run("stability-video", image=Path("cat.jpg"))   # a local file is uploaded

:class:`AsyncClient` has the same methods as coroutines. Every error derives from
:class:`VSLError`; failed requests from :class:`APIError`, error answers from :class:`APIStatusError`
(``status``, ``code``, ``details``, ``retry_after``): openai-python's names, the
JavaScript client's too.
"""
from ._client import DEFAULT_BASE_URL, AsyncClient, Client
from ._errors import (APIConnectionError, APIError, APIStatusError, APITimeoutError,
                      AuthenticationError, BadRequestError, ConflictError, InternalServerError,
                      JobCancelled, JobCancelledError, JobError, JobFailed, JobFailedError,
                      NotFoundError, PermissionDeniedError, RateLimitError,
                      UnprocessableEntityError, VSLError, WaitTimeoutError)
from ._version import __version__
from ._pagination import AsyncJobPage, JobPage
from ._types import Job, JobStatus, Model, Result, Upload
from . import webhooks  # vsl.webhooks.verify(...) after a plain `import vsl`

__all__ = [
    "Client", "AsyncClient", "DEFAULT_BASE_URL", "__version__",
    "Job", "JobStatus", "Model", "Result", "Upload", "JobPage", "AsyncJobPage",
    "VSLError", "APIError", "APIStatusError", "BadRequestError", "AuthenticationError", "PermissionDeniedError",
    "NotFoundError", "ConflictError", "UnprocessableEntityError", "RateLimitError",
    "InternalServerError", "APIConnectionError", "APITimeoutError",
    "JobError", "JobFailedError", "JobCancelledError", "JobFailed", "JobCancelled",
    "WaitTimeoutError", "webhooks",
]

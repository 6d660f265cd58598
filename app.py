"""VSL Media: HTTP routes and event handlers. Wiring only: each handler turns a
request or event into a call of the domain (chalicelib) and its result back,
and domain errors become HTTP responses here, at the edge, and nowhere else."""
import functools
import json
import logging
import time

from chalice import Chalice, CORSConfig, Rate, Response

from chalicelib import errors, logs, playground, wiring
from chalicelib.authorization import Access, Grant, scope
from chalicelib.idempotency.guard import fingerprint
from chalicelib.idempotency.record import StoredResponse
from chalicelib.jobs.model import MAX_BATCH_ITEMS
from chalicelib.openapi import Operation, document, reference_page
from chalicelib.storage import parse_original_key
# The domain's models (pydantic), the catalog and the services are imported by the
# handlers that use them, not here: a Lambda cold start imports only what it runs.

app = Chalice(app_name="vsl-media")
app.log.setLevel(logging.INFO)
if wiring.settings().stage != "local":
    logs.use_json_lines(app.log)  # deployed: one JSON object per line, jobId on each
logging.getLogger("chalicelib").setLevel(logging.INFO)
logging.getLogger("botocore").setLevel(logging.WARNING)

_names = wiring.settings().names
# Browsers on the stage's allowed origin may call the client routes; they may read
# the rate-limit headers too.
_CORS = CORSConfig(
    allow_origin=wiring.settings().cors_origin, max_age=600,
    allow_headers=["Idempotency-Key", "Prefer"],  # besides Chalice's Content-Type, X-Api-Key, ...
    expose_headers=["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                    "RateLimit", "RateLimit-Policy", "Retry-After", "Idempotent-Replayed",
                    "Preference-Applied"],
) if wiring.settings().cors_origin else None

# Each domain error's HTTP status (the most specific class wins).
HTTP_STATUS = {
    errors.InvalidJson: 400, errors.ValidationFailed: 400, errors.UnknownModel: 400,
    errors.MediaTypeMismatch: 400, errors.Unauthorized: 401, errors.InvalidSignature: 401,
    errors.Forbidden: 403, errors.NotFound: 404, errors.MethodNotAllowed: 405,
    errors.JobNotCancellable: 409, errors.IdempotencyKeyInUse: 409,
    errors.RotationInProgress: 409, errors.UploadIncomplete: 409, errors.UploadExpired: 410,
    errors.IdempotencyKeyReused: 422,
    errors.PayloadTooLarge: 413, errors.UnsupportedMediaType: 415, errors.RateLimited: 429,
    errors.ReplicateRefused: 502, errors.ServiceUnavailable: 503, errors.DomainError: 500,
}
# Chalice's own error responses ({"Code": ..., "Message": ...}) as domain errors.
CHALICE_ERRORS = {
    "MethodNotAllowedError": errors.MethodNotAllowed,
    "UnsupportedMediaType": errors.UnsupportedMediaType,
    "BadRequestError": errors.ValidationFailed,
    "NotFoundError": errors.NotFound,
    "InternalServerError": errors.DomainError,
}


def rate_limit_headers(quotas, now: float) -> dict:
    """The spec's X-RateLimit-* for the limit that binds first, plus the IETF draft fields."""
    from chalicelib.limits import binding_quota
    binding = binding_quota(quotas)
    return {
        "X-RateLimit-Limit": str(binding.limit),
        "X-RateLimit-Remaining": str(binding.remaining),
        "X-RateLimit-Reset": str(binding.reset_at),
        "RateLimit-Policy": ", ".join(f'"{q.policy}";q={q.limit};w={q.window_s}' for q in quotas),
        "RateLimit": f'"{binding.policy}";r={binding.remaining};t={binding.seconds_to_reset(now)}',
    }


def error_response(error: errors.DomainError, headers: dict = None) -> Response:
    status = next(HTTP_STATUS[c] for c in type(error).__mro__ if c in HTTP_STATUS)
    headers = {"Content-Type": "application/json", **(headers or {})}
    body = {"error": error.title, "details": error.details, "code": error.code, **error.extra}
    if error.quotas:
        headers.update(rate_limit_headers(error.quotas, error.now))
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
        body["retryAfter"] = error.retry_after
    return Response(body=body, status_code=status, headers=headers)


@app.middleware("http")
def render_errors(event, get_response):
    """Every error leaves in the documented format, Chalice's own ones too."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        error = CHALICE_ERRORS.get(body["Code"], errors.DomainError)(str(body.get("Message", "")))
        if body["Code"] == "InternalServerError":
            error = errors.DomainError("An internal error occurred; it has been logged.")
        return error_response(error, {k: v for k, v in response.headers.items()
                                      if k.lower() == "allow"})
    return response


# Each route's documentation, by (path, method): /openapi.json is generated from it.
OPERATIONS = {}


# AWS answers that mean "busy or failing, not your fault": a 503 to retry, not a 500.
_OUTAGE_CODES = {"ProvisionedThroughputExceededException", "ThrottlingException",
                 "RequestLimitExceeded", "Throttling", "SlowDown", "InternalError",
                 "InternalServerError", "ServiceUnavailable", "InternalFailure"}


def _is_dependency_outage(error: Exception) -> bool:
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
    from chalicelib.aws import BatchIncomplete
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in _OUTAGE_CODES
    return isinstance(error, (ConnectionError, HTTPClientError, BatchIncomplete))


def api(path: str, doc: Operation, methods=("GET",), json_body: bool = False, cors=_CORS):
    """A route whose domain errors become documented error responses. The operation's
    authorization is decided first, before anything of the route runs, and the route
    is handed the decision (``Grant``: the caller, and the job on job-scoped routes).
    GET routes answer HEAD too; a JSON body must say so in its Content-Type. Client
    routes follow the stage's CORS setting."""
    for method in methods:
        OPERATIONS[path, method] = doc
    methods = list(methods) + (["HEAD"] if "GET" in methods else [])

    def register(view):
        @functools.wraps(view)
        def handle(**kwargs):
            with logs.job_context(kwargs.get("job_id")):
                return answer(**kwargs)

        def answer(**kwargs):
            try:
                request = app.current_request
                # The operation as declared (OPERATIONS, which the OpenAPI document reads too).
                operation = OPERATIONS[path, "GET" if request.method == "HEAD" else request.method]
                grant = wiring.authorizer().decide(operation.access,
                                                   request.headers.get("x-api-key"), kwargs)
                if json_body and "content-type" not in request.headers:
                    raise errors.UnsupportedMediaType("Send the body as application/json.")
                return view(grant, **kwargs)
            except errors.DomainError as e:
                return error_response(e)
            except Exception as e:
                if not _is_dependency_outage(e):
                    raise
                app.log.warning("%s %s: a dependency failed: %s", app.current_request.method,
                                path, e)
                return error_response(errors.ServiceUnavailable(
                    "A dependency is busy or failing; retry shortly.", retry_after=1))
        return app.route(path, methods=methods, cors=cors)(handle)
    return register


def _public_base_url() -> str:
    configured = wiring.settings().public_base_url
    if configured:
        return configured
    ctx = app.current_request.context
    return f"https://{ctx['domainName']}/{ctx['stage']}"


@api("/", Operation("The playground: generate media from the browser", {200: None},
                    access=Access.PUBLIC, content_type="text/html", tags=("docs",)), cors=None)
def playground_page(grant: Grant):
    html, headers = playground.page(wiring.settings().playground_sample_image,
                                    wiring.upload_origin())
    return Response(body=html, headers=headers)


@api("/openapi.json", Operation("This document: OpenAPI 3.1, generated from the code",
                                {200: None}, access=Access.PUBLIC, tags=("docs",)))
def openapi_document(grant: Grant):
    return _openapi()


@api("/docs", Operation("A readable reference of every operation", {200: None},
                        access=Access.PUBLIC, content_type="text/html", tags=("docs",)),
     cors=None)
def reference(grant: Grant):
    return Response(body=reference_page(_openapi()), headers={
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@functools.lru_cache(maxsize=1)
def _openapi() -> dict:
    return document(app.routes, OPERATIONS, "VSL Media API", "1.0.0")


@api("/health", Operation("Whether every dependency answers, each provider listed (503 "
                          "names what does not: AWS, or every provider)",
                          {200: "Health"}, access=Access.PUBLIC, tags=("service",)))
def health(grant: Grant):
    from chalicelib.route_models import Health
    from chalicelib.providers.port import PROVIDERS
    from chalicelib.dependency_checks import health_checks
    checks = health_checks()
    aws_ok = all(v == "ok" for k, v in checks.items() if k not in PROVIDERS)
    providers_ok = [checks[p] == "ok" for p in PROVIDERS if p in checks]
    if aws_ok and (any(providers_ok) or not providers_ok):
        # A provider down is not ours while another serves: jobs fail over to it.
        status = "ok" if all(providers_ok) else "degraded"
        return Health(status=status, checks=checks).model_dump(mode="json")
    raise errors.ServiceUnavailable("Not every dependency is ready.", retry_after=5,
                                    extra={"checks": checks})


@api("/models", Operation("The models, with each one's parameters as JSON Schema",
                          {200: "ModelList"}, tags=("models",)))
def list_models(grant: Grant):
    from chalicelib.catalog import describe_catalog
    return {"models": describe_catalog(wiring.settings().routes.order)}


def _idempotent(caller, route: str, body: dict, execute) -> Response:
    """Run a POST once per Idempotency-Key of the caller's principal; a retry by the
    same principal replays the first response."""
    principal = scope(caller)
    response, replayed = wiring.services().idempotency.run(
        principal, app.current_request.headers.get("idempotency-key"),
        fingerprint(principal, "POST", route, body), execute)
    headers = dict(response.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body=response.body, status_code=response.status, headers=headers)


JOB_LINKS = {name: (f"{method}_{path}", {"job_id": "$response.body#/jobId"})
             for name, method, path in (("status", "get", "/status/{job_id}"),
                                        ("job", "get", "/jobs/{job_id}"),
                                        ("cancel", "post", "/jobs/{job_id}/cancel"),
                                        ("deliveries", "get", "/jobs/{job_id}/deliveries"))}


@api("/generate-media", Operation(
        "Submit a job", {202: "AcceptedJob", 200: "JobView"}, "GenerateBody", idempotent=True,
        rate_limited=True, prefer_wait=True, tags=("jobs",), links=JOB_LINKS,
        description="With `Prefer: wait=N` (1 to 25; `wait` alone: 25) the answer waits up to "
                    "N seconds: 200 with the job's status view if it ended by then, else the "
                    "202 as without it."),
     methods=["POST"], json_body=True)
def generate_media(grant: Grant):
    from chalicelib.authorization import require_user
    from chalicelib.jobs.views import accepted_view
    from chalicelib.jobs.waiting import parse_prefer_wait
    from chalicelib.validation import parse_generate_request, parse_json_body
    arrived = time.monotonic()
    caller = grant.caller
    wait_s = parse_prefer_wait(app.current_request.headers.get("prefer"))
    settings = wiring.settings()
    body = parse_json_body(app.current_request.raw_body, settings.max_body_bytes)
    inputs = wiring.services().uploads.resolve_inputs(caller, body)
    request = parse_generate_request(inputs, settings.input_policy, bound_user_id=caller.user_id,
                                     webhook_policy=settings.webhook_policy)
    require_user(caller, request.user_id, "submit jobs")  # before a replay can answer

    def submit() -> StoredResponse:
        accepted = wiring.services().submission.submit(caller, request, _public_base_url())
        admission = accepted.admission
        return StoredResponse(202, accepted_view(accepted.job),
                              rate_limit_headers(admission.quotas, admission.now))
    response = _idempotent(caller, "/generate-media", body, submit)
    if wait_s is None or response.status_code != 202:
        return response
    return _after_waiting(response, wait_s, min(arrived + wait_s, _function_deadline(arrived)))


# Time the API function keeps for itself after a wait: to render the answer (presigned links).
WAIT_MARGIN_S = 2.0


def _function_deadline(arrived: float) -> float:
    """When the API function must have answered (its timeout, less a margin)."""
    context = getattr(app, "lambda_context", None)
    if context is None:
        return float("inf")
    return arrived + context.get_remaining_time_in_millis() / 1000 - WAIT_MARGIN_S


def _after_waiting(accepted: Response, wait_s: int, deadline: float) -> Response:
    """The submit's 202, or once the job has ended by ``deadline`` its status view (200)."""
    from chalicelib.jobs.views import accepted_view, job_view
    headers = {**accepted.headers, "Preference-Applied": f"wait={wait_s}"}
    job = wiring.services().waiter.wait(accepted.body["jobId"], deadline)
    if job is not None and job.status.is_terminal:
        return Response(body=job_view(job, wiring.services().status.storage), status_code=200,
                        headers=headers)
    body = accepted.body if job is None else {**accepted.body, **accepted_view(job)}
    return Response(body=body, status_code=202, headers=headers)


@api("/uploads", Operation(
        "Announce a file to use as an input image; PUT it to the answer's uploadUrl",
        {201: "UploadView"}, "UploadRequest", tags=("uploads",),
        description="Then name it as `upload:<uploadId>` in an image parameter. PNG, JPEG or "
                    "WebP; the upload expires after a day."),
     methods=["POST"], json_body=True)
def create_upload(grant: Grant):
    from chalicelib.validation import parse_json_body
    body = parse_json_body(app.current_request.raw_body, wiring.settings().max_body_bytes)
    return Response(body=wiring.services().uploads.create(grant.caller, body), status_code=201)


@api("/generate-media/batch",
     Operation(f"Submit up to {MAX_BATCH_ITEMS} jobs; each item is admitted on its own",
               {200: "BatchResponse"}, "BatchBody", idempotent=True,
               rate_limited=True, tags=("jobs",)),
     methods=["POST"], json_body=True)
def generate_media_batch(grant: Grant):
    from chalicelib.jobs.views import accepted_view
    from chalicelib.validation import parse_json_body
    caller = grant.caller
    body = parse_json_body(app.current_request.raw_body, wiring.settings().max_body_bytes * MAX_BATCH_ITEMS)

    def submit_all() -> StoredResponse:
        outcome = wiring.services().batch.submit(caller, body, _public_base_url())
        results = []
        for index, item in enumerate(outcome.items):
            if isinstance(item, Exception):
                rendered = error_response(_item_error(item))
                results.append({"index": index, "httpStatus": rendered.status_code,
                                "error": rendered.body})
            else:
                results.append({"index": index, "httpStatus": 202,
                                "job": accepted_view(item.job)})
        headers = rate_limit_headers(outcome.quotas, outcome.now) if outcome.quotas else {}
        return StoredResponse(200, {"results": results}, headers)
    return _idempotent(caller, "/generate-media/batch", body, submit_all)


def _item_error(error: Exception) -> errors.DomainError:
    """A batch item's failure as the error it answers (the batch itself stands)."""
    if isinstance(error, errors.DomainError):
        return error
    if _is_dependency_outage(error):
        return errors.ServiceUnavailable("A dependency is busy or failing; submit this item "
                                         "again shortly.", retry_after=1)
    return errors.DomainError("An internal error occurred; it has been logged.")


@api("/usage", Operation("What a client's users spent, by model and by day",
                         {200: "UsageResponse"}, query="UsageQuery", tags=("usage",)))
def usage(grant: Grant):
    return wiring.services().usage.report(grant.caller, app.current_request.query_params or {})


@api("/status/{job_id}", Operation("A job's status and, once completed, its result",
                                   {200: "JobView"}, access=Access.JOB, tags=("jobs",)))
def job_status(grant: Grant, job_id):
    return wiring.services().status.status(grant.caller, grant.job)


@api("/jobs/{job_id}", Operation("The same as GET /status/{job_id}", {200: "JobView"},
                                 access=Access.JOB, tags=("jobs",)))
def get_job(grant: Grant, job_id):
    """The same as GET /status/{job_id}."""
    return wiring.services().status.status(grant.caller, grant.job)


@api("/jobs", Operation("The caller's jobs, newest first, a page at a time",
                        {200: "JobList"}, query="JobListQuery", tags=("jobs",)))
def list_jobs(grant: Grant):
    return wiring.services().listing.list(grant.caller, app.current_request.query_params or {})


@api("/jobs/{job_id}/cancel", Operation("Cancel a job (409 if it already completed or failed)",
                                        {200: "JobView"}, access=Access.JOB,
                                        tags=("jobs",)),
     methods=["POST"])
def cancel_job(grant: Grant, job_id):
    return wiring.services().control.cancel(grant.job)


@api("/jobs/{job_id}/deliveries", Operation("Every webhook delivery of the job's events",
                                            {200: "Deliveries"}, access=Access.JOB,
                                            tags=("webhooks",)))
def job_deliveries(grant: Grant, job_id):
    return wiring.services().deliverer.deliveries_of(grant.job.job_id)


@api("/webhooks", Operation("Register a webhook endpoint", {201: "WebhookEndpointView"},
                            "RegisterWebhook", access=Access.CLIENT, tags=("webhooks",),
                            links={"delete": ("delete_/webhooks/{webhook_id}",
                                              {"webhook_id": "$response.body#/id"})}),
     methods=["POST"], json_body=True)
def register_webhook(grant: Grant):
    from chalicelib.validation import parse_json_body
    body = parse_json_body(app.current_request.raw_body, wiring.settings().max_body_bytes)
    return Response(body=wiring.services().webhooks.register(grant.caller, body),
                    status_code=201)


@api("/webhooks", Operation("The client's webhook endpoints", {200: "WebhookList"},
                            access=Access.CLIENT, tags=("webhooks",)))
def list_webhooks(grant: Grant):
    return wiring.services().webhooks.list(grant.caller)


@api("/webhooks/{webhook_id}", Operation("Delete a webhook endpoint", {204: None},
                                         access=Access.CLIENT, tags=("webhooks",)),
     methods=["DELETE"])
def delete_webhook(grant: Grant, webhook_id):
    wiring.services().webhooks.delete(grant.caller, webhook_id)
    return Response(body="", status_code=204)


@api("/webhooks/secret", Operation("The secret our webhooks are signed with",
                                   {200: "SigningSecret"}, access=Access.CLIENT,
                                   tags=("webhooks",)))
def webhook_secret(grant: Grant):
    return wiring.services().webhooks.secret(grant.caller)


@api("/webhooks/secret/rotate",
     Operation("A new signing secret; the previous one signs too for 24 hours",
               {200: "SigningSecret"}, access=Access.CLIENT, tags=("webhooks",)),
     methods=["POST"])
def rotate_webhook_secret(grant: Grant):
    return wiring.services().webhooks.rotate(grant.caller)


@api("/webhook/replicate",
     Operation("Replicate's signed callbacks (internal: not for clients)",
               {200: "WebhookReceived"}, access=Access.PUBLIC, tags=("internal",)),
     methods=["POST"], json_body=True, cors=None)
def replicate_webhook(grant: Grant):
    return _provider_webhook("replicate")


@api("/webhook/fal",
     Operation("fal.ai's signed callbacks (internal: not for clients)",
               {200: "WebhookReceived"}, access=Access.PUBLIC, tags=("internal",)),
     methods=["POST"], json_body=True, cors=None)
def fal_webhook(grant: Grant):
    return _provider_webhook("fal")


def _provider_webhook(provider: str) -> dict:
    """Verified before anything is queued; the processor does the rest."""
    request = app.current_request
    wiring.services().prediction_events.accept_webhook(
        provider, (request.query_params or {}).get("jobId"), request.raw_body or b"",
        dict(request.headers))
    return {"received": True}


@app.on_sqs_message(queue=_names.jobs_queue, batch_size=1)
def process_job_event(event):
    from chalicelib.messages import StartMessage, read_jobs_message
    for record in event:
        body = json.loads(record.body)
        with logs.job_context(body.get("jobId")):
            message = read_jobs_message(body)
            if isinstance(message, StartMessage):
                wiring.services().starter.start_queued(message)
                continue
            attempt = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", 1))
            wiring.services().prediction_events.handle(message, attempt,
                                                       wiring.max_receive_count())


@app.on_sqs_message(queue=_names.notifications_queue, batch_size=1)
def deliver_notifications(event):
    for record in event:
        body = json.loads(record.body)
        with logs.job_context(body.get("jobId")):
            deliver_notification(body)


def deliver_notification(body: dict) -> None:
    from chalicelib.messages import JobEventMessage, read_notification
    message = read_notification(body)
    if isinstance(message, JobEventMessage):
        wiring.services().reuse.settle_followers(message.job_id)
        wiring.services().dispatcher.fan_out(message.job_id, message.event)
    else:
        wiring.services().deliverer.attempt(message.job_id, message.webhook_id)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep_jobs(event):
    wiring.services().sweeper.sweep()


@app.on_s3_event(bucket=_names.media_bucket, events=["s3:ObjectCreated:*"])
def make_thumbnail(event):
    with logs.job_context(parse_original_key(event.key)):
        wiring.services().thumbnails.on_original_stored(event.key)

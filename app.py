"""VSL Media: HTTP routes and event handlers. Wiring only: each handler turns a
request or event into a call of the domain (chalicelib) and its result back."""
import json
import logging

from chalice import Chalice, Response

from chalicelib import wiring
from chalicelib.catalog import describe_catalog
from chalicelib.errors import CHALICE_ERROR_CODES, ApiError, ServiceUnavailable
from chalicelib.validation import parse_generate_request, parse_json_body

app = Chalice(app_name="vsl-media")
app.log.setLevel(logging.INFO)
logging.getLogger("chalicelib").setLevel(logging.INFO)
logging.getLogger("botocore").setLevel(logging.WARNING)

_names = wiring.settings().names


def _error_response(error: ApiError) -> Response:
    return Response(body=error.body(), status_code=error.status,
                    headers={"Content-Type": "application/json", **error.headers})


@app.middleware("http")
def render_errors(event, get_response):
    """Every error leaves in the documented format, Chalice's own ones too."""
    try:
        response = get_response(event)
    except ApiError as e:
        return _error_response(e)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        error_class = CHALICE_ERROR_CODES.get(body["Code"], ApiError)
        return _error_response(error_class(str(body.get("Message", "")),
                                           headers={k: v for k, v in response.headers.items()
                                                    if k.lower() == "allow"}))
    return response


def _caller():
    return wiring.api_keys().authenticate(app.current_request.headers.get("x-api-key"))


def _public_base_url() -> str:
    configured = wiring.settings().public_base_url
    if configured:
        return configured
    ctx = app.current_request.context
    return f"https://{ctx['domainName']}/{ctx['stage']}"


@app.route("/health")
def health():
    checks = wiring.health_checks()
    if all(v == "ok" for v in checks.values()):
        return {"status": "ok", "checks": checks}
    raise ServiceUnavailable("Not every dependency is ready.", extra={"checks": checks})


@app.route("/models")
def list_models():
    _caller()
    return {"models": describe_catalog()}


@app.route("/generate-media", methods=["POST"], content_types=["application/json"])
def generate_media():
    caller = _caller()
    body = parse_json_body(app.current_request.raw_body, wiring.settings().max_body_bytes)
    request = parse_generate_request(body, wiring.settings().allow_private_inputs,
                                     bound_user_id=caller.user_id)
    submitted = wiring.job_service().submit(caller, request, _public_base_url())
    return Response(body=submitted.response(), status_code=202,
                    headers=submitted.admission.headers())


@app.route("/status/{job_id}")
def job_status(job_id):
    return wiring.job_service().status(_caller(), job_id)


@app.route("/webhook/replicate", methods=["POST"], content_types=["application/json"])
def replicate_webhook():
    request = app.current_request
    wiring.job_service().accept_webhook((request.query_params or {}).get("jobId"),
                                        request.raw_body or b"", dict(request.headers))
    return {"received": True}


@app.on_sqs_message(queue=_names.jobs_queue, batch_size=1)
def process_job_event(event):
    for record in event:
        attempt = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", 1))
        wiring.job_service().on_prediction(json.loads(record.body), attempt,
                                           wiring.max_receive_count())


@app.on_s3_event(bucket=_names.media_bucket, events=["s3:ObjectCreated:*"])
def make_thumbnail(event):
    wiring.job_service().on_original_stored(event.key)

"""Who may do what, route by route: the authorization matrix.

Every route of the app's route table is called, through the app itself (Chalice's
test client) on the in-memory fakes, by each kind of principal; each answer is
checked against the route's expected row. A route without a row fails the test,
and so does a route whose authorization is weakened (the last test proves it for
every route)."""
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from chalice.test import Client

import app as app_module
from chalicelib import dependency_checks, wiring
from chalicelib.authorization import Access, reaches_job, scope
from chalicelib.errors import Forbidden, JobNotFound
from chalicelib.keys import Caller
from chalicelib.wiring import Services
from tests.fakes import IMAGE_BODY, World

PRINCIPALS = ("unbound", "owner", "other_user", "other_client", "revoked", "expired", "none")
ALICE_BODY = dict(IMAGE_BODY, userId="alice")
HOOK = "https://hooks.example.com/vsl"


def _row(unbound, owner, other_user, other_client, unauthenticated=401):
    return dict(unbound=unbound, owner=owner, other_user=other_user, other_client=other_client,
                revoked=unauthenticated, expired=unauthenticated, none=unauthenticated)


ANY_KEY = _row(200, 200, 200, 200)
JOB_OF_ALICE = _row(200, 200, 404, 404)      # alice's job: her key and the client's backend key
CLIENT_SETTING = _row(200, 403, 403, 200)    # the client's own settings: unbound keys only

# (method, route) -> (path with ids filled in, JSON body or None, expected status per principal).
# A public route's row is None: every principal gets the same answer, keyed or not.
MATRIX = {
    ("GET", "/"): ("/", None, None),
    ("GET", "/openapi.json"): ("/openapi.json", None, None),
    ("GET", "/docs"): ("/docs", None, None),
    ("GET", "/health"): ("/health", None, None),
    ("POST", "/webhook/replicate"): ("/webhook/replicate?jobId={job}", {}, None),
    ("POST", "/webhook/fal"): ("/webhook/fal?jobId={job}", {}, None),
    ("GET", "/models"): ("/models", None, ANY_KEY),
    ("POST", "/generate-media"): ("/generate-media", ALICE_BODY, _row(202, 202, 403, 202)),
    ("POST", "/generate-media/batch"): ("/generate-media/batch", {"items": [ALICE_BODY]}, ANY_KEY),
    # an upload is its uploader's; which uploads a submit may name: tests/unit/test_uploads.py
    ("POST", "/uploads"): ("/uploads", {"contentType": "image/png", "size": 10},
                           _row(201, 201, 201, 201)),
    ("GET", "/usage"): ("/usage", None, ANY_KEY),
    ("GET", "/jobs"): ("/jobs", None, ANY_KEY),
    ("GET", "/status/{job_id}"): ("/status/{job}", None, JOB_OF_ALICE),
    ("GET", "/jobs/{job_id}"): ("/jobs/{job}", None, JOB_OF_ALICE),
    ("POST", "/jobs/{job_id}/cancel"): ("/jobs/{job}/cancel", None, JOB_OF_ALICE),
    ("GET", "/jobs/{job_id}/deliveries"): ("/jobs/{job}/deliveries", None, JOB_OF_ALICE),
    ("POST", "/webhooks"): ("/webhooks", {"url": HOOK}, _row(201, 403, 403, 201)),
    ("GET", "/webhooks"): ("/webhooks", None, CLIENT_SETTING),
    ("DELETE", "/webhooks/{webhook_id}"): ("/webhooks/{webhook}", None, _row(204, 403, 403, 404)),
    ("GET", "/webhooks/secret"): ("/webhooks/secret", None, CLIENT_SETTING),
    ("POST", "/webhooks/secret/rotate"): ("/webhooks/secret/rotate", None, CLIENT_SETTING),
}


def route_table():
    """(method, route) for every route the app declares; HEAD is checked as its GET."""
    return sorted((method, path) for path, methods in app_module.app.routes.items()
                  for method in methods if method not in ("HEAD", "OPTIONS"))


class Stage:
    """One fresh world behind the app: alice's job, acme's endpoint, and a key of each kind."""

    def __init__(self, monkeypatch):
        world = self.world = World()
        keys = world.keys
        self.keys = {
            "unbound": keys.create("acme")[0],
            "owner": keys.create("acme", user_id="alice")[0],
            "other_user": keys.create("acme", user_id="bob")[0],
            "other_client": keys.create("globex")[0],
            "expired": keys.create("acme", expires_at=world.clock.now() + timedelta(seconds=1))[0],
            "none": None,
        }
        revoked, record = keys.create("acme")
        keys.revoke(record["keyId"])
        self.keys["revoked"] = revoked
        world.clock.advance(2)  # the expiring key is now expired
        acme = Caller("acme", "key-acme")
        self.job = world.submit(ALICE_BODY, acme)
        self.webhook = world.webhooks.register(acme, {"url": HOOK})["id"]
        monkeypatch.setattr(wiring, "services", lambda: Services(
            submission=world.submission, status=world.status_service,
            prediction_events=world.events, thumbnails=world.thumbnails,
            reconciler=world.reconciler, control=world.control, listing=world.listing,
            idempotency=world.idempotency, webhooks=world.webhooks,
            dispatcher=world.dispatcher, deliverer=world.deliverer, reuse=world.reuse,
            starter=world.starter, batch=world.batch, usage=world.usage,
            sweeper=None, uploads=world.uploads, waiter=None))
        monkeypatch.setattr(wiring, "authorizer", lambda: world.authorizer)
        monkeypatch.setattr(dependency_checks, "health_checks", lambda: {"dynamodb": "ok"})
        settings = wiring.get_settings().model_copy(
            update={"public_base_url": "https://api.example"})
        monkeypatch.setattr(wiring, "settings", lambda: settings)
        self.client = Client(app_module.app)

    def call(self, method: str, route: str, principal: str):
        path, body, _ = MATRIX["GET" if method == "HEAD" else method, route]
        path = path.format(job=self.job.job_id, webhook=self.webhook)
        headers = {"Content-Type": "application/json"}
        if self.keys[principal]:
            headers["X-API-Key"] = self.keys[principal]
        raw = json.dumps(body).encode() if body is not None else b""
        return self.client.http.request(method, path, headers=headers, body=raw)


def test_every_route_has_a_row_and_every_row_a_route():
    assert set(route_table()) == set(MATRIX), \
        "a route without a row in MATRIX (or a row without a route): say who may call it"


def test_each_route_declares_the_access_its_row_expects():
    for (method, route), (_, _, row) in MATRIX.items():
        access = app_module.OPERATIONS[route, method].access
        assert (access is Access.PUBLIC) == (row is None), (method, route, access)


@pytest.mark.parametrize("method,route", route_table())
def test_the_matrix(monkeypatch, method, route):
    row = MATRIX[method, route][2]
    answers = {}
    for principal in PRINCIPALS:
        stage = Stage(monkeypatch)
        response = stage.call(method, route, principal)
        assert response.status_code < 500, (principal, response.body)
        if response.status_code >= 400:
            assert set(json.loads(response.body)) >= {"error", "details", "code"}
        answers[principal] = response.status_code
        if method == "GET":
            head = stage.call("HEAD", route, principal)
            assert head.status_code == response.status_code, principal
    if row is None:
        assert len(set(answers.values())) == 1, answers
    else:
        assert answers == row


def _weaker(access: Access) -> Access:
    return {Access.JOB: Access.KEY, Access.CLIENT: Access.KEY, Access.KEY: Access.PUBLIC}[access]


@pytest.mark.parametrize("method,route", [r for r in route_table() if MATRIX[r][2] is not None])
def test_the_matrix_fails_when_a_route_s_check_is_weakened(monkeypatch, method, route):
    """The proof the matrix can fail: each route, its access lowered one step, answers
    some principal otherwise than its row says."""
    operation = app_module.OPERATIONS[route, method]
    monkeypatch.setitem(app_module.OPERATIONS, (route, method),
                        replace(operation, access=_weaker(operation.access)))
    row = MATRIX[method, route][2]
    answers = {p: Stage(monkeypatch).call(method, route, p).status_code for p in PRINCIPALS}
    assert answers != row


# ---- the rules themselves ---------------------------------------------------------------


def test_a_bound_key_reaches_only_its_user_s_jobs_and_the_unbound_key_every_user_s():
    world = World()
    alice_job = world.submit(ALICE_BODY)
    assert reaches_job(Caller("acme", "k", user_id="alice"), alice_job)
    assert reaches_job(Caller("acme", "k"), alice_job)
    assert not reaches_job(Caller("acme", "k", user_id="bob"), alice_job)
    assert not reaches_job(Caller("globex", "k"), alice_job)
    with pytest.raises(JobNotFound):
        world.status(alice_job.job_id, Caller("acme", "k", user_id="bob"))
    with pytest.raises(JobNotFound):
        world.cancel(alice_job.job_id, Caller("acme", "k", user_id="bob"))
    assert world.job(alice_job.job_id).status.value == "pending"


def test_idempotency_is_scoped_to_the_principal():
    assert scope(Caller("acme", "k")) == "acme"
    assert scope(Caller("acme", "k", user_id="bob")) == "acme#bob"


def test_a_bound_key_reuses_only_its_own_user_s_results():
    world = World()
    cached = dict(ALICE_BODY, cache=True)
    alice, bob = Caller("acme", "k1", user_id="alice"), Caller("acme", "k2", user_id="bob")
    source = world.complete(world.submit(dict(ALICE_BODY, cache=False), alice))
    bobs = world.submit(dict(cached, userId="bob"), bob)
    assert not bobs.cached and bobs.follows is None and bobs.replicate_id
    alices = world.submit(cached, alice)
    assert alices.cached
    # The client's unbound key reuses any of its users' results, as it always did.
    backend = world.submit(dict(cached, userId="carol"), Caller("acme", "k3"))
    assert backend.cached and source.status.value == "completed"


def test_a_bound_key_does_not_follow_another_user_s_running_job():
    world = World()
    alice, bob = Caller("acme", "k1", user_id="alice"), Caller("acme", "k2", user_id="bob")
    world.submit(dict(ALICE_BODY, cache=False), alice)  # still running
    bobs = world.submit(dict(ALICE_BODY, userId="bob", cache=True), bob)
    assert bobs.follows is None and not bobs.cached


def test_a_bound_key_may_not_submit_for_another_user():
    world = World()
    with pytest.raises(Forbidden):
        world.submit(ALICE_BODY, Caller("acme", "k", user_id="bob"))


@pytest.mark.parametrize("method,route", [r for r in route_table() if MATRIX[r][2] is JOB_OF_ALICE])
def test_the_matrix_fails_when_a_job_is_reached_by_its_client_alone(monkeypatch, method, route):
    """The bug this matrix was written for: the job's client checked, its user not."""
    import chalicelib.authorization as authorization
    monkeypatch.setattr(authorization, "reaches_job",
                        lambda caller, job: job.owner_id == caller.client_id)
    answers = {p: Stage(monkeypatch).call(method, route, p).status_code for p in PRINCIPALS}
    assert answers["other_user"] == 200 and answers != JOB_OF_ALICE

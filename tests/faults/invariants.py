"""What every fault case asserts once its jobs have ended: each accepted job is
terminal as the fault makes right, no stored result is lost, and nothing is
charged or notified twice (one prediction per job at the simulator, one
stage-wide event per job at the receiver, usage that adds up)."""
import time
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import requests

from tests.support.api import Api
from tests.support.keys import new_key
from tests.support.simulator import Simulator
from tests.support.stack import operator_client

BUCKET = "vsl-media-local-media"
# The first bytes of each kind of stored original.
MAGIC = {"image/png": (b"\x89PNG",), "audio/wav": (b"RIFF",), "audio/mpeg": (b"ID3", b"\xff\xfb"),
         "video/mp4": (b"ftyp",)}
END_EVENTS = {"completed": "job.completed", "failed": "job.failed", "cancelled": "job.cancelled"}

# A small job of each model kind. Each job's prompt (a video's input image URL) is
# made unique, so it finds the job's predictions at the simulator.
KINDS = {
    "video": {"mediaType": "video", "modelId": "stability-video", "parameters": {}},
    "image": {"mediaType": "image", "modelId": "flux-schnell", "parameters": {"width": 512,
                                                                             "height": 512}},
    "audio": {"mediaType": "audio", "modelId": "musicgen", "parameters": {"duration": 1}},
    "mp3": {"mediaType": "audio", "modelId": "musicgen",
            "parameters": {"duration": 1, "output_format": "mp3"}},
}


def fresh_api(stack) -> Api:
    """A client of its own: its usage is this case's alone, and its key's poll limit
    (600 a minute by default) is out of the way of the polling these cases do."""
    key, _ = new_key(stack, "--client", f"faults-{uuid.uuid4().hex[:8]}",
                     "--limit", "status_per_minute=100000")
    return Api(stack.api_url, key)


def emulator_client(stack, service: str):
    """A client straight to the stack's emulator (never through a fault proxy), with
    the operator's credentials."""
    return operator_client(stack, service)


@dataclass
class Submitted:
    marker: str  # the prompt, or a video's input image URL: one job's alone
    body: dict
    status_code: int
    response: dict
    remaining: Optional[str] = None  # X-RateLimit-Remaining

    @property
    def accepted(self) -> bool:
        return self.status_code == 202

    @property
    def job_id(self) -> str:
        return self.response["jobId"]


@dataclass
class Run:
    """The submissions of one case, all for one fresh user."""
    api: Api
    sample_image: str = ""  # the simulator's sample, for video jobs
    user: str = field(default_factory=lambda: f"faults-{uuid.uuid4().hex[:10]}")
    submitted: List[Submitted] = field(default_factory=list)

    def submit(self, kind: str) -> Submitted:
        template = KINDS[kind]
        if kind == "video":
            marker = f"{self.sample_image}?case={uuid.uuid4().hex}"
            params = dict(template["parameters"], image=marker)
        else:
            marker = f"{kind} fault case {uuid.uuid4().hex}"
            params = dict(template["parameters"], prompt=marker)
        body = {"userId": self.user, "mediaType": template["mediaType"],
                "modelId": template["modelId"], "parameters": params}
        resp = self.api.submit(body, timeout=60)
        made = Submitted(marker, body, resp.status_code, resp.json(),
                         resp.headers.get("X-RateLimit-Remaining"))
        self.submitted.append(made)
        return made

    @property
    def accepted(self) -> List[Submitted]:
        return [s for s in self.submitted if s.accepted]


def predictions_for(sim: Simulator, marker: str) -> int:
    """Predictions at the simulator with this input value, every page read."""
    count, url = 0, "/v1/predictions"
    while url:
        page = sim.api("GET", url).json()
        count += sum(1 for p in page["results"] if marker in (p.get("input") or {}).values())
        url = page.get("next")
        if url:
            url = url[url.index("/v1/"):]
    return count


def wait_terminal(api: Api, jobs: List[Submitted], timeout_s: float,
                  poll_5xx_ok: bool = False) -> Dict[str, dict]:
    """Each job's final status view. ``poll_5xx_ok``: a poll answered 5xx is polled
    again, as the SDKs do (for a case whose faults reach the status route too)."""
    deadline = time.monotonic() + timeout_s
    views = {}
    for job in jobs:
        while True:
            resp = api.status(job.job_id)
            if not (poll_5xx_ok and resp.status_code >= 500):
                assert resp.status_code == 200, resp.text
                if resp.json()["status"] in END_EVENTS:
                    views[job.job_id] = resp.json()
                    break
            assert time.monotonic() < deadline, f"job {job.job_id} still running: {resp.text}"
            time.sleep(0.2)
    return views


def wait_quiet(stack, sim: Simulator, api: Api, views: Dict[str, dict],
               timeout_s: float = 90) -> None:
    """Wait until nothing more can happen to these jobs: every webhook their
    predictions will send has been sent (or dropped), each job's stage-wide event
    is recorded delivered (a later message for it is a no-op), and no message is
    waiting or in flight, so a duplicate charge or notification has happened by now.
    (Delayed messages may remain: a redelivered attempt waits out its claim's lease
    before finding the delivery done.)"""
    sqs = emulator_client(stack, "sqs")
    urls = [u for u in sqs.list_queues(QueueNamePrefix="vsl-media-local-").get("QueueUrls", [])
            if "dlq" not in u.rsplit("/", 1)[-1] and "dead" not in u.rsplit("/", 1)[-1]]
    predictions = {v["replicateId"] for v in views.values() if v.get("replicateId")}
    deadline = time.monotonic() + timeout_s
    calm = 0
    while True:
        log = requests.get(f"{sim.base_url}/_sim/webhooks", timeout=10).json()
        sent = {(e["id"], e["event"]) for e in log}
        unsent = [p for p in predictions
                  if (p, "completed") not in sent and
                  sim.api("GET", f"/v1/predictions/{p}").json()["status"] != "canceled"]
        undelivered = [j for j in views if not any(
            d["url"].startswith(stack.env()["VSL_WEBHOOK_URL"]) and d["state"] == "delivered"
            for d in api.request("GET", f"/jobs/{j}/deliveries").json()["deliveries"])]
        busy = sum(int(v) for u in urls for v in sqs.get_queue_attributes(
            QueueUrl=u, AttributeNames=["ApproximateNumberOfMessages",
                                        "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"].values())
        calm = calm + 1 if not (unsent or undelivered or busy) else 0
        if calm >= 3:  # three looks in a row: no message is between two queues
            return
        assert time.monotonic() < deadline, \
            f"still busy: {busy} messages, webhooks of {unsent}, events of {undelivered}"
        time.sleep(0.5)


def assert_invariants(run: Run, stack, sim: Simulator, receiver, path: str,
                      views: Dict[str, dict], expect: str = "completed",
                      error_has: Tuple[str, ...] = (), refused: int = 0,
                      resent_ok: bool = False) -> None:
    """``expect``: the status every accepted job ends in; ``error_has``: words one of
    which a failed job's error says; ``refused``: submissions answered 5xx (recorded
    failed, given back); ``resent_ok``: a webhook may arrive more than once with its
    one webhook-id (a send whose record could not be saved is sent again: receivers
    deduplicate by webhook-id), for faults that can fail that save."""
    s3 = emulator_client(stack, "s3")
    stored = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
              for o in page.get("Contents", [])]
    wait_quiet(stack, sim, run.api, views)
    cost = 0.0
    for job in run.accepted:
        view = views[job.job_id]
        assert view["status"] == expect, view
        assert predictions_for(sim, job.marker) == 1, (job.marker, view)
        events = receiver.received(path, job.job_id)
        deliveries = run.api.request("GET", f"/jobs/{job.job_id}/deliveries").json()
        (delivery,) = [d for d in deliveries["deliveries"] if d["url"] == receiver.url + path]
        if resent_ok:  # one event: every copy carries its one webhook-id
            assert {e["id"] for e in events} == {delivery["webhookId"]}, delivery
        else:
            assert len(events) == 1, [(e["id"], e["payload"]) for e in events]
            assert delivery["attempts"] == 1 and delivery["webhookId"] == events[0]["id"], \
                delivery
        (event,) = events
        assert event["verified"] and event["payload"]["event"] == END_EVENTS[expect], event
        if expect == "completed":
            cost += job.response["estimatedCost"]
            result = view["result"]
            original = requests.get(result["originalUrl"], timeout=60)
            assert original.status_code == 200, original.text[:200]
            assert len(original.content) == result["fileSize"], (len(original.content), result)
            head = original.content[:12]
            assert any(m in head for m in MAGIC[result["contentType"]]), (head, result)
            assert requests.get(result["thumbnailUrl"], timeout=30).content[:2] == b"\xff\xd8"
        else:
            assert error_has and any(e in view["error"] for e in error_has), view
            assert not view.get("result"), view
            assert not [k for k in stored if job.job_id in k], "a failed job left files"
    for job in run.submitted:
        if not job.accepted:
            assert predictions_for(sim, job.marker) == 0, job.response
    usage = run.api.request("GET", "/usage", params={"userId": run.user}).json()["totals"]
    accepted = len(run.accepted)
    assert usage["jobs"] == accepted + refused, usage
    assert usage[expect] == accepted, usage
    assert usage["failed"] == (accepted if expect == "failed" else 0) + refused, usage
    assert abs(usage["cost"] - round(cost, 6)) < 1e-6, (usage, cost)

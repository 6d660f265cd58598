"""At-least-once delivery taken literally: every SQS message and every S3 event
is handed to its handler three times (a stack of its own with
VSL_EVENT_DUPLICATES=3). Each job still runs, stores, charges and notifies once."""
import pytest

from local.stack import wait_until
from tests.support.simulator import Simulator
from tests.faults.conftest import separate_stack
from tests.faults.invariants import Run, assert_invariants, fresh_api, wait_terminal

pytestmark = pytest.mark.integration

PATH = "/stage-duplicates"


@pytest.fixture(scope="module")
def tripled(tmp_path_factory, receiver):
    with separate_stack(tmp_path_factory, receiver, PATH, VSL_EVENT_DUPLICATES="3") as stack:
        yield stack


def test_every_message_and_s3_event_delivered_three_times_changes_nothing(tripled, receiver):
    sim = Simulator(tripled.simulator_url)
    wait_until(lambda: "delivered 3 times" in (tripled.log_dir / "processor.log").read_text(),
               30, "the event delivery's duplicates setting")  # the fault is really on
    sim.faults(latency_s=0.5)
    run = Run(fresh_api(tripled))
    for kind in ("image", "audio", "mp3", "image", "audio"):
        assert run.submit(kind).status_code == 202, run.submitted[-1].response
    views = wait_terminal(run.api, run.accepted, timeout_s=90)
    assert_invariants(run, tripled, sim, receiver, PATH, views)

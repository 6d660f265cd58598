"""Property: whatever body a client sends to POST /generate-media or its batch,
generated from each model's JSON Schema with the extremes mixed in, the answer is
never a 5xx, and a request (or batch item) that is refused creates no job. On the
domain over fakes, whose job store encodes items as DynamoDB's serializer does."""
import json

from hypothesis import HealthCheck, given, settings

import app
from chalicelib.errors import DomainError
from chalicelib.jobs.submission import Accepted
from chalicelib.jobs.views import accepted_view
from chalicelib.validation import parse_generate_request, parse_json_body
from tests.fakes import CLIENT, World
from tests.support.bodies import batch_body, encoded, submit_body

BUDGET = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def status_of(error: DomainError) -> int:
    return app.error_response(error).status_code


@BUDGET
@given(body=submit_body())
def test_a_submit_is_accepted_with_one_job_or_refused_with_a_4xx_and_none(body):
    world = World()
    try:
        request = parse_generate_request(parse_json_body(encoded(body), 65536),
                                         world.batch.input_policy,
                                         webhook_policy=world.webhook_policy)
        accepted = world.submission.submit(CLIENT, request, "https://api.example")
    except DomainError as e:
        assert status_of(e) < 500, (e.code, e.details)
        assert world.jobs.items == {}
        return
    assert list(world.jobs.items) == [accepted.job.job_id]
    json.dumps(accepted_view(accepted.job))  # the 202's body renders


@BUDGET
@given(body=batch_body())
def test_a_batch_answers_each_item_below_500_and_makes_jobs_only_for_accepted_ones(body):
    world = World()
    try:
        outcome = world.batch.submit(CLIENT, parse_json_body(encoded(body), 65536 * 50),
                                     "https://api.example")
    except DomainError as e:
        assert status_of(e) < 500, (e.code, e.details)
        assert world.jobs.items == {}
        return
    accepted = [i.job.job_id for i in outcome.items if isinstance(i, Accepted)]
    for item in outcome.items:
        if not isinstance(item, Accepted):
            assert status_of(app._item_error(item)) < 500, item
    assert sorted(world.jobs.items) == sorted(accepted)

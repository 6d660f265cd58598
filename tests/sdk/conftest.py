"""The SDKs' tests run on a stack with Replicate only: they check how each client
handles the service's answers to Replicate's refusals (503 with Retry-After, 502),
which a stack with fal would turn into failovers (tests/faults/test_provider_failover.py)."""
import pytest

from tests.support.stack import stack_for_tests


@pytest.fixture(scope="session")
def stack(tmp_path_factory, receiver):
    s = stack_for_tests(tmp_path_factory.mktemp("sdk-stack-logs"), receiver.url, with_fal=False)
    s.start()
    yield s
    s.stop()

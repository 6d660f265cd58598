"""The local stack as the integration tests run it: fast sweeps and retries, two
clients' keys, and a stage-wide webhook to the tests' receiver."""
from pathlib import Path

import boto3

from chalicelib.storage import KINDS
from local.stack import LocalStack, free_port
from tests.support.keys import CLIENT_A_KEY, CLIENT_B_KEY, STAGE_WEBHOOK_SECRET


def stack_for_tests(log_dir: Path, webhook_receiver_url: str, with_fal: bool = True
                    ) -> LocalStack:
    """``with_fal``: fal's simulator too, so jobs fail over to it (else Replicate only)."""
    return LocalStack(api_port=free_port(), emulator_port=free_port(), simulator_port=free_port(),
                      fal_simulator_port=free_port() if with_fal else None, log_dir=log_dir,
                      extra_env={
                          "VSL_LOCAL_API_KEYS": f"{CLIENT_A_KEY},{CLIENT_B_KEY}",
                          "VSL_LOCAL_KEYS_FILE": str(log_dir / "api-keys"),
                          "VSL_RECONCILE_AFTER_S": "2",
                          "VSL_SWEEP_INTERVAL_S": "3",
                          "VSL_KEY_CACHE_S": "1",  # revocations show within a second
                          # A provider marked down by one test's refusals is probed again
                          # within a second, not left to the next tests.
                          "VSL_PROVIDER_COOL_DOWN_S": "1",
                          "VSL_WEBHOOK_URL": f"{webhook_receiver_url}/stage",
                          "VSL_WEBHOOK_SECRET": STAGE_WEBHOOK_SECRET,
                          # Webhook retries compressed from about a day to seconds.
                          "VSL_WEBHOOK_RETRY_DELAYS_S": "1,1,1",
                          # Every kind tagged, as on a stage whose rules expire them all:
                          # each path that tags runs with its function's role (test_iam).
                          "VSL_EXPIRING_KINDS": ",".join(KINDS)})


def operator_client(stack: LocalStack, service: str):
    """A boto3 client on the stack's emulator with the operator's credentials (IAM is
    enforced there: the emulator's bootstrap credentials no longer work)."""
    env = stack.env()
    return boto3.client(service, endpoint_url=stack.emulator_url, region_name="us-east-1",
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def emulator_clients(stack: LocalStack):
    """boto3 clients on the stack's emulator, to look at what the service stored."""
    return lambda service: operator_client(stack, service)


# Every stack the tests started, with a reader of its IAM audit (conftest's
# no_aws_call_refused reads them after each test).
AUDITED: list = []


def audited(stack: LocalStack) -> LocalStack:
    from local.iam import AuditReader
    AUDITED.append((stack, AuditReader(stack.audit_dir)))
    return stack


def wait_start_schedule_idle(stack: LocalStack, timeout_s: float = 90) -> None:
    """Until no prediction start is queued for later: the shared start schedule
    (chalicelib/jobs/pacing.py) is free now, and the queued starts have run. A test
    that expects its submit to call Replicate at once must not follow another's burst."""
    import time
    table = operator_client(stack, "dynamodb")
    deadline = time.monotonic() + timeout_s
    while True:
        item = table.get_item(TableName=stack_table(stack, "counters"),
                              Key={"scope": {"S": "replicate"}, "name": {"S": "starts"}}
                              ).get("Item") or {}
        next_free = float(item.get("nextFree", {}).get("N", 0))
        if next_free <= time.time():
            time.sleep(2)  # the last queued start's message (delays are whole seconds) runs
            return
        assert time.monotonic() < deadline, "the start schedule never emptied"
        time.sleep(min(1.0, next_free - time.time()))


def stack_table(stack: LocalStack, logical: str) -> str:
    from chalicelib.resources import resource_names
    return getattr(resource_names(stack.stage), f"{logical}_table")

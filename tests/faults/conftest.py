"""A second local stack, for faults the session stack must not carry (events
delivered three times, a proxy between the service and the emulator). Its
stage-wide webhooks reach the session receiver at a path of its own."""
from contextlib import contextmanager

from local.stack import LocalStack, free_port
from tests.support.keys import CLIENT_A_KEY, CLIENT_B_KEY, STAGE_WEBHOOK_SECRET
from tests.support.stack import audited


@contextmanager
def separate_stack(tmp_path_factory, receiver, path: str, emulator_port: int = None,
                   **extra_env):
    logs = tmp_path_factory.mktemp(f"stack{path.replace('/', '-')}")
    stack = LocalStack(api_port=free_port(), emulator_port=emulator_port or free_port(),
                       simulator_port=free_port(), log_dir=logs, extra_env={
                           "VSL_LOCAL_API_KEYS": f"{CLIENT_A_KEY},{CLIENT_B_KEY}",
                           "VSL_LOCAL_KEYS_FILE": str(logs / "api-keys"),
                           "VSL_RECONCILE_AFTER_S": "2", "VSL_SWEEP_INTERVAL_S": "3",
                           "VSL_WEBHOOK_URL": f"{receiver.url}{path}",
                           "VSL_WEBHOOK_SECRET": STAGE_WEBHOOK_SECRET,
                           "VSL_WEBHOOK_RETRY_DELAYS_S": "1,1,1", **extra_env})
    stack.start()
    try:
        yield audited(stack)
    finally:
        stack.stop()

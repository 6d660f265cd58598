"""The whole service on one machine: AWS emulator (moto server), Replicate
simulator, the API (chalice local) and one event delivery process for each
event-driven function. Every function signs its AWS calls with an IAM user of
its own, and the emulator enforces IAM once provisioning is done (local/iam.py).

    python -m local.stack            # what `make run` does; Ctrl-C stops it all

The terminal shows a banner (URLs, key, commands to try), then one line per job
event; every part's own log goes to .local/logs/. The ports in use are recorded
in .local/ports.json, where `make api-key ARGS="--local ..."` finds them, and
.local/env holds the lines another terminal sources to call the API.

A stack already running from the same folder, or a port taken, stops a second
one before it touches anything. Each part dies with the stack however the stack
dies (local.lifeline). The generated key is kept in .local/api-keys and comes
back with the next start; everything else (jobs, media, other keys) lives in the
emulator's memory and goes with it.
"""
import argparse
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import requests

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR_TOKEN = "r8_local_simulator_token"
FAL_SIMULATOR_KEY = "local-fal-key-id:local-fal-key-secret"
# The user `make run`'s generated key is bound to: the spec's own example user, so
# its examples run as printed, and a body without a userId is this user's.
DEFAULT_USER_ID = "user123"
# The client both of `make run`'s keys belong to: the user's key above, and the
# client's own unbound key for what only a client may do (webhook settings).
LOCAL_CLIENT_ID = "local"
SAMPLE_IMAGE_PATH = "/samples/input.jpg"
# One process per event-driven function (as each Lambda function runs apart), by
# process name; the API's process is "api" (api_handler).
EVENT_PROCESSES = {"processor": "process_job_event", "thumbnailer": "make_thumbnail",
                   "notifications": "deliver_notifications", "sweep": "sweep_jobs"}


def local_dir() -> Path:
    """Where `make run` keeps its keys, ports and logs (VSL_LOCAL_DIR overrides)."""
    return Path(os.environ.get("VSL_LOCAL_DIR") or ROOT / ".local")


def ports_file() -> Path:
    return local_dir() / "ports.json"


def env_file() -> Path:
    return local_dir() / "env"


def keys_file() -> Path:
    return Path(os.environ.get("VSL_LOCAL_KEYS_FILE") or local_dir() / "api-keys")


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, also when it exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode otherwise
    with os.fdopen(fd, "w") as f:
        f.write(text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout_s: float, what: str, procs=()) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{what}: a process exited with code {p.returncode}")
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not ready after {timeout_s}s")


@dataclass
class LocalStack:
    api_port: int = 8000
    emulator_port: int = 5050
    simulator_port: int = 5060
    stage: str = "local"
    # fal's simulator; None: fal is not part of this stack (Replicate only).
    fal_simulator_port: Optional[int] = 5070
    log_dir: Optional[Path] = None   # None: children write to this terminal
    # With a log_dir: the event delivery's one line per job event still goes to
    # this terminal (its detailed log to the log_dir).
    job_events_on_terminal: bool = False
    extra_env: Dict[str, str] = field(default_factory=dict)
    procs: Dict[str, subprocess.Popen] = field(default_factory=dict)
    # Lambda runs a function again after its sandbox dies; the supervisor does the same
    # for every child but the emulator, whose state (every table, queue and object) is
    # lost with it. A child that dies more than this often in a minute is left dead.
    max_restarts_per_minute: int = 5
    restarts: Dict[str, int] = field(default_factory=dict)   # name -> restarts so far
    failed: Optional[str] = None  # why the stack cannot go on, once it cannot
    # principals.json (local/iam.py) and the IAM audit; default: log_dir, else a temp dir.
    state_dir: Optional[Path] = None
    # Each function's IAM user and the operator's (set by provision()).
    principals: Optional[dict] = None
    _commands: Dict[str, Tuple[List[str], bool, Optional[str]]] = field(default_factory=dict,
                                                                          repr=False)
    _recent: Dict[str, List[float]] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _supervising: Optional[threading.Event] = field(default=None, repr=False)
    # Fixed for the stack's life, so a restarted simulator signs as before.
    webhook_secret: str = field(
        default_factory=lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator_port}"

    @property
    def fal_simulator_url(self) -> Optional[str]:
        return f"http://127.0.0.1:{self.fal_simulator_port}" if self.fal_simulator_port else None

    @property
    def sample_image_url(self) -> str:
        """An input image for image-to-video, served by the simulator."""
        return self.simulator_url + SAMPLE_IMAGE_PATH

    @staticmethod
    def _tied(args: List[str]) -> List[str]:
        """The command run so that it dies with this process (local.lifeline)."""
        return [sys.executable, "-m", "local.lifeline", str(os.getpid()), *args]

    @property
    def state(self) -> Path:
        if self.state_dir is None:
            self.state_dir = self.log_dir or Path(tempfile.mkdtemp(prefix="vsl-stack-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return self.state_dir

    @property
    def principals_file(self) -> Path:
        return self.state / "principals.json"

    @property
    def audit_dir(self) -> Path:
        """Every AWS call of every function, as local/iam.py recorded it."""
        return self.state / "iam-audit"

    def env(self) -> Dict[str, str]:
        """The environment of the stack's own tools (provisioning, tests, make api-key):
        the operator's credentials once provisioning made them, before that the
        emulator's unchecked bootstrap ones."""
        from local.provision import EXPIRING_KINDS
        env = dict(os.environ)
        credentials = ({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
                       if self.principals is None else
                       {"AWS_ACCESS_KEY_ID": self.principals["operator"]["access_key_id"],
                        "AWS_SECRET_ACCESS_KEY":
                            self.principals["operator"]["secret_access_key"]})
        env.update(credentials)
        env.update({
            "AWS_ENDPOINT_URL": self.emulator_url, "AWS_DEFAULT_REGION": "us-east-1",
            "VSL_STAGE": self.stage, "REPLICATE_BASE_URL": self.simulator_url,
            "REPLICATE_API_TOKEN": SIMULATOR_TOKEN, "VSL_PUBLIC_BASE_URL": self.api_url,
            "VSL_ALLOW_PRIVATE_INPUTS": "true", "PYTHONUNBUFFERED": "1",
            "VSL_PLAYGROUND_SAMPLE_IMAGE": self.sample_image_url,
            # No function timeout here bounds a dead copy's claim: a short one does.
            "VSL_COPY_LEASE_S": "30",
            "VSL_EXPIRING_KINDS": ",".join(EXPIRING_KINDS),
        })
        if self.fal_simulator_url:
            env.update({"FAL_KEY": FAL_SIMULATOR_KEY, "FAL_BASE_URL": self.fal_simulator_url,
                        "FAL_JWKS_URL": f"{self.fal_simulator_url}/.well-known/jwks.json"})
        env.update(self.extra_env)
        return env

    def function_env(self, function: str) -> Dict[str, str]:
        """A function's environment: its own IAM user's credentials, and the secrets'
        ARNs instead of the Replicate token and the fal key, as on AWS."""
        from local import iam
        if self.principals is None:
            raise RuntimeError("provision() first: the functions' principals do not exist yet")
        env = self.env()
        env.update(iam.credentials_env(self.principals["functions"][function]))
        env.pop("REPLICATE_API_TOKEN", None)
        env.pop("FAL_KEY", None)
        env.update({"REPLICATE_API_TOKEN_SECRET_ARN": self.principals["secret_arn"],
                    iam.FUNCTION_ENV: function, iam.PRINCIPALS_ENV: str(self.principals_file),
                    iam.AUDIT_DIR_ENV: str(self.audit_dir)})
        if self.principals.get("fal_key_secret_arn"):
            env["FAL_KEY_SECRET_ARN"] = self.principals["fal_key_secret_arn"]
        return env

    def log_file(self, name: str) -> Optional[Path]:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self.log_dir / f"{name}.log"

    def _spawn(self, name: str, args: List[str], stdout_on_terminal: bool = False,
               function: Optional[str] = None) -> subprocess.Popen:
        """Start a child; ``function``: it runs that function, with its credentials."""
        log_file = self.log_file(name)
        out = open(log_file, "ab") if log_file else None
        env = self.function_env(function) if function else self.env()
        proc = subprocess.Popen(self._tied(args), cwd=ROOT, env=env,
                                stdout=None if stdout_on_terminal else out,
                                stderr=out if stdout_on_terminal else (
                                    subprocess.STDOUT if out else None),
                                start_new_session=self.log_dir is not None)
        if out:
            out.close()  # the child has its own descriptor
        with self._lock:
            self.procs[name] = proc
            self._commands[name] = (args, stdout_on_terminal, function)
        return proc

    def start_emulator(self) -> None:
        self._spawn("emulator", [sys.executable, "-m", "local.emulator", "-H", "127.0.0.1",
                                 "-p", str(self.emulator_port)])
        wait_until(lambda: requests.get(f"{self.emulator_url}/moto-api/", timeout=1).ok, 30,
                   "AWS emulator", [self.procs["emulator"]])

    def provision(self) -> None:
        """The service's resources, the API keys, then each function's IAM user; IAM is
        enforced from then on (local/provision_cli.py)."""
        from local.iam import PRINCIPALS_ENV
        log_file = self.log_file("provision")
        out = open(log_file, "ab") if log_file else None
        for old in self.audit_dir.glob("*.jsonl"):
            old.unlink()
        try:
            subprocess.run(self._tied([sys.executable, "-m", "local.provision_cli"]), cwd=ROOT,
                           env=dict(self.env(), **{PRINCIPALS_ENV: str(self.principals_file)}),
                           check=True, stdout=out, stderr=subprocess.STDOUT if out else None)
        finally:
            if out:
                out.close()
        self.principals = json.loads(self.principals_file.read_text())

    def start_simulator(self) -> None:
        self._spawn("simulator", [sys.executable, "-m", "local.replicate_sim.server",
                                  "--port", str(self.simulator_port), "--token", SIMULATOR_TOKEN,
                                  "--webhook-secret", self.webhook_secret])
        wait_until(lambda: requests.get(f"{self.simulator_url}/_sim/faults", timeout=1).ok, 30,
                   "Replicate simulator", [self.procs["simulator"]])

    def start_fal_simulator(self) -> None:
        if not self.fal_simulator_port:
            return
        self._spawn("fal-simulator", [sys.executable, "-m", "local.fal_sim.server",
                                      "--port", str(self.fal_simulator_port),
                                      "--key", FAL_SIMULATOR_KEY])
        wait_until(lambda: requests.get(f"{self.fal_simulator_url}/_sim/faults", timeout=1).ok,
                   30, "fal simulator", [self.procs["fal-simulator"]])

    def start_api(self) -> None:
        self._spawn("api", [sys.executable, "-m", "local.api_server", "--stage", self.stage,
                            "--host", "127.0.0.1", "--port", str(self.api_port)],
                    function="api_handler")

    def start_events(self, functions: Optional[List[str]] = None) -> None:
        """The event-driven functions (all, or those named), one process each."""
        for name, function in EVENT_PROCESSES.items():
            if functions is not None and function not in functions:
                continue
            log_file = self.log_file(name)
            self._spawn(name, [sys.executable, "-m", "local.event_delivery",
                               "--function", function,
                               *(["--log-file", str(log_file)] if log_file else [])],
                        stdout_on_terminal=self.job_events_on_terminal, function=function)

    def stop_events(self) -> None:
        for name in EVENT_PROCESSES:
            self.stop(name)

    def wait_healthy(self, timeout_s: float = 60) -> None:
        wait_until(lambda: requests.get(f"{self.api_url}/health", timeout=2).status_code == 200,
                   timeout_s, "API health", list(self.procs.values()))

    def start(self) -> None:
        try:
            self.start_emulator()
            self.provision()
            self.start_simulator()
            self.start_fal_simulator()
            self.start_api()
            self.start_events()
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.supervise()

    # ---- supervision ------------------------------------------------------------

    def supervise(self, interval_s: float = 0.2) -> None:
        """Restart, from a thread, every child that exits without stop() asking it to."""
        if self._supervising is not None:
            return
        self._supervising = stopped = threading.Event()

        def loop():
            while not stopped.wait(interval_s):
                self.check_children()
        threading.Thread(target=loop, daemon=True, name="stack-supervisor").start()

    def check_children(self) -> List[str]:
        """One round of supervision; returns the names restarted."""
        restarted = []
        with self._lock:  # held while spawning, so stop() never races a restart
            for name, proc in list(self.procs.items()):
                if proc.poll() is None or self._supervising is None:
                    continue
                now = time.monotonic()
                recent = [t for t in self._recent.get(name, []) if now - t < 60]
                if name == "emulator" or len(recent) >= self.max_restarts_per_minute:
                    self.failed = self.failed or (
                        f"the {name} process exited with code {proc.returncode}" +
                        ("" if name == "emulator" else
                         f", {len(recent) + 1} times within a minute"))
                    del self.procs[name]
                    continue
                self._recent[name] = recent + [now]
                self.restarts[name] = self.restarts.get(name, 0) + 1
                print(f"{time.strftime('%H:%M:%S')}  the {name} process exited with code "
                      f"{proc.returncode}; restarting it", file=sys.stderr, flush=True)
                self._spawn(name, *self._commands[name])
                restarted.append(name)
        return restarted

    def stop(self, name: Optional[str] = None) -> None:
        """Stop one child (the supervisor leaves it stopped), or everything."""
        with self._lock:
            if name is None and self._supervising is not None:
                self._supervising.set()
                self._supervising = None
        for key in ([name] if name else list(self.procs)[::-1]):
            with self._lock:
                proc = self.procs.pop(key, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _shown(path: Optional[Path]) -> str:
    if path is None:
        return "-"
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def banner(stack: LocalStack, keys: List[str], keys_path: Path,
           bound_user: Optional[str] = DEFAULT_USER_ID) -> str:
    """What `make run` shows once everything answers: where each part is, the
    keys and whom they are bound to, what survives a restart, and what to try next."""
    api, key = stack.api_url, (keys[0] if keys else "(none: see make api-key)")
    if bound_user:
        binding = f"bound to userId {bound_user}: a body without userId is theirs"
        client_key = (f"\n  Client key           {keys[1]}\n                       "
                      f"the client's own key, any userId; only it may manage webhook "
                      f"endpoints and the signing secret") if len(keys) > 1 else ""
    else:
        binding, client_key = "from VSL_LOCAL_API_KEYS, bound to no user: send a userId", ""
    return f"""
VSL Media is running. Ctrl-C stops everything.

  Playground           {api}/   (open it in a browser and paste the key)
  API                  {api}    (reference: {api}/docs, {api}/openapi.json)
  AWS emulator         {stack.emulator_url}
  Replicate simulator  {stack.simulator_url}
  fal simulator        {stack.fal_simulator_url or "(not started)"}
  Sample input image   {stack.sample_image_url}   (for image-to-video)
  Logs                 {_shown(stack.log_dir)}/  (api, processor, thumbnailer, notifications,
                       sweep, emulator, simulator, fal-simulator, provision)
  IAM                  enforced: each function signs with its own user (local/iam.py)

  API key              {key}
                       {binding}{client_key}
                       kept in {_shown(keys_path)} for the next start; jobs, media and
                       other keys live in the emulator's memory and go when it stops
                       more keys: make api-key ARGS="--local create --client NAME"

Try, in another terminal:
  source {_shown(env_file())}   # sets VSL_BASE_URL, VSL_API_KEY, VSL_CLIENT_KEY, VSL_SAMPLE_IMAGE
  curl {api}/models -H "X-API-Key: $VSL_API_KEY"
  curl -X POST {api}/generate-media -H "Content-Type: application/json" \\
    -H "X-API-Key: $VSL_API_KEY" -d '{{"userId": "{DEFAULT_USER_ID}", "mediaType": "image",
    "modelId": "flux-schnell", "parameters": {{"prompt": "A futuristic cityscape at sunset"}}}}'
  curl {api}/status/JOB_ID -H "X-API-Key: $VSL_API_KEY"
  make api-key ARGS="--local list"

Job events (one line each):
"""


def write_ports(stack: LocalStack, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "api": stack.api_port, "emulator": stack.emulator_port,
        "simulator": stack.simulator_port, "fal_simulator": stack.fal_simulator_port,
        "stage": stack.stage, "pid": os.getpid(),
        "principals": str(stack.principals_file)}) + "\n")


def write_env(stack: LocalStack, keys: List[str], path: Path) -> None:
    """The lines another terminal sources to call this stack (readable by its owner
    only): the user's key as VSL_API_KEY, the client's own as VSL_CLIENT_KEY."""
    lines = ["# Written by `make run` (local/stack.py): `source` it in another terminal.",
             f"export VSL_BASE_URL={stack.api_url}"]
    lines += [f"export {name}={key}" for name, key in zip(("VSL_API_KEY", "VSL_CLIENT_KEY"), keys)]
    lines.append(f"export VSL_SAMPLE_IMAGE={stack.sample_image_url}")
    write_private(path, "\n".join(lines) + "\n")


def running_stack(path: Path) -> Optional[dict]:
    """What ports.json records, if the stack that wrote it still runs."""
    try:
        recorded = json.loads(path.read_text())
        pid = int(recorded["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none recorded, unreadable, or its process is gone
    try:  # a pid reused by another program since a hard kill is not our stack
        if b"local.stack" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return None
    except OSError:
        pass  # no /proc here: the live pid is all we can tell
    return recorded


def port_in_use(port: int) -> bool:
    """Whether a server listens there. SO_REUSEADDR, as the servers bind: connections
    of a stopped stack still in TIME_WAIT do not count."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def why_not_start(ports: Dict[str, int], recorded_path: Path) -> Optional[str]:
    """One line saying why a new stack must not start here, or None. Checked before
    anything is touched, so a second `make run` leaves the first as it was."""
    running = running_stack(recorded_path)
    if running is not None:
        return (f"VSL Media is already running from this folder (pid {running['pid']}): "
                f"API http://127.0.0.1:{running['api']}, AWS emulator "
                f"http://127.0.0.1:{running['emulator']}, Replicate simulator "
                f"http://127.0.0.1:{running['simulator']}. Nothing was changed; stop it with "
                f"Ctrl-C in its terminal (or kill {running['pid']}) to start again.")
    taken = [f"{port} ({name})" for name, port in ports.items() if port_in_use(port)]
    if taken:
        return (f"Port {', '.join(taken)} is in use by another program, so nothing was started; "
                f"free it, or choose other ports: PORT, VSL_EMULATOR_PORT, VSL_SIMULATOR_PORT, "
                f"VSL_FAL_SIMULATOR_PORT.")
    return None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description="Run VSL Media locally.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--emulator-port", type=int,
                        default=int(os.environ.get("VSL_EMULATOR_PORT", 5050)))
    parser.add_argument("--simulator-port", type=int,
                        default=int(os.environ.get("VSL_SIMULATOR_PORT", 5060)))
    parser.add_argument("--fal-simulator-port", type=int,
                        default=int(os.environ.get("VSL_FAL_SIMULATOR_PORT", 5070)))
    args = parser.parse_args()
    refusal = why_not_start({"API": args.port, "AWS emulator": args.emulator_port,
                             "Replicate simulator": args.simulator_port,
                             "fal simulator": args.fal_simulator_port}, ports_file())
    if refusal:
        print(refusal, file=sys.stderr)
        sys.exit(1)
    log_dir = local_dir() / "logs"
    for old in log_dir.glob("*.log"):
        old.unlink()
    keys_path = keys_file()
    stack = LocalStack(args.port, args.emulator_port, args.simulator_port,
                       fal_simulator_port=args.fal_simulator_port, log_dir=log_dir,
                       job_events_on_terminal=True, state_dir=local_dir(),
                       extra_env={"VSL_LOCAL_KEYS_FILE": str(keys_path)})
    # Explicit handlers: a shell that starts us in the background ignores SIGINT.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    print("Starting VSL Media (AWS emulator, Replicate and fal simulators, the API and the "
          "four event-driven functions) ...",
          flush=True)
    wrote_ports = False
    try:
        try:
            stack.start()
        except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as e:
            print(f"\nCould not start: {e}\nSee the logs in {log_dir}/", file=sys.stderr)
            sys.exit(1)
        write_ports(stack, ports_file())
        wrote_ports = True
        keys = [k for k in keys_path.read_text().split() if k] if keys_path.exists() else []
        bound = None if os.environ.get("VSL_LOCAL_API_KEYS", "").strip() else DEFAULT_USER_ID
        # VSL_LOCAL_API_KEYS's keys are each their own client: none is the first's client key.
        write_env(stack, keys if bound else keys[:1], env_file())
        print(banner(stack, keys, keys_path, bound), flush=True)
        # The supervisor restarts a child that dies; only what it cannot mend stops us.
        while stack.failed is None:
            time.sleep(0.5)
        print(f"{stack.failed} (see the logs in {log_dir}/); stopping", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        if wrote_ports:  # not another stack's, when this one could not start
            ports_file().unlink(missing_ok=True)


if __name__ == "__main__":
    main()

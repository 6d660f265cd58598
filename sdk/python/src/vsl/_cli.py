"""The ``vsl`` command line: submit, wait, download, inspect (argparse: no dependency)."""
from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple, Union

from ._client import Client, __version__
from ._errors import (APIConnectionError, APIError, JobCancelledError, JobError, VSLError,
                      WaitTimeoutError)
from ._types import Job, JobStatus, Result

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_JOB_FAILED = 3
EXIT_JOB_CANCELLED = 4
EXIT_TIMEOUT = 5
EXIT_UNREACHABLE = 6

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  the API answered with an error (bad parameters, bad key, not found, a job that
     cannot be cancelled, rate limit, 5xx)
  2  usage error (bad arguments, no API key)
  3  the job failed
  4  the job was cancelled
  5  still running when --timeout ran out
  6  the API could not be reached

environment:
  VSL_API_KEY    API key (--api-key)
  VSL_BASE_URL   API base URL (--base-url; default http://127.0.0.1:8000)
  VSL_USER_ID    user the jobs are submitted for (--user)
"""

# Flags for the documented parameters of each media type; any other goes in --param.
_MEDIA_FLAGS: Dict[str, List[Tuple[str, Callable[[str], Any]]]] = {
    "image": [("--width", int), ("--height", int), ("--num-outputs", int),
              ("--negative-prompt", str), ("--num-inference-steps", int),
              ("--guidance-scale", float)],
    "video": [("--motion-bucket-id", int), ("--fps", int), ("--num-frames", int)],
    "audio": [("--duration", int), ("--output-format", str), ("--temperature", float),
              ("--top-k", int), ("--top-p", float)],
}
_DEFAULT_MODELS = {"image": "flux-schnell", "video": "stability-video", "audio": "musicgen"}
_JOB_STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
_PROVIDERS = ("replicate", "fal")
_AGO_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _param(text: str) -> Tuple[str, Any]:
    """``key=value``; the value is JSON when it parses as JSON (42, true, [1,2]), else text."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def _since(text: str) -> str:
    """An ISO 8601 time (sent as given), or an age such as 30m, 2h or 7d."""
    ago = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not ago:
        return text
    moment = datetime.now(timezone.utc) - timedelta(**{_AGO_UNITS[ago[2]]: int(ago[1])})
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _image(text: str) -> Union[str, Path]:
    """A URL (http(s), upload:ID, data:) as given; anything else is a local file."""
    if re.match(r"^(https?://|upload:|data:)", text, re.I):
        return text
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no file {text!r} (give a local file or an "
                                         f"http(s) URL)")
    return path


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 up, got {text!r}")
    return value


def _add_connection_options(parser: argparse.ArgumentParser, top_level: bool) -> None:
    # On the top level and on every command, so they may come before or after it;
    # SUPPRESS keeps a command's parser from resetting what the top level parsed.
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument("--api-key", default=default, help="API key (default: $VSL_API_KEY)")
    parser.add_argument("--base-url", default=default,
                        help="API base URL (default: $VSL_BASE_URL or http://127.0.0.1:8000)")
    parser.add_argument("--user", default=default,
                        help="user id the job is for (default: $VSL_USER_ID; not needed with "
                             "a key bound to a user)")
    parser.add_argument("--json", action="store_true",
                        default=False if top_level else argparse.SUPPRESS,
                        help="print JSON on stdout (for scripts)")


def _add_wait_options(parser: argparse.ArgumentParser, wait_flag: bool) -> None:
    if wait_flag:
        parser.add_argument("--wait", action="store_true",
                            help="wait for the job to finish (implied by --out)")
    parser.add_argument("--out", metavar="FILE",
                        help="download the result's original file to FILE (or into a directory)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds to wait before giving up (default: 300)")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="vsl", description="Generate images, video and audio with the VSL Media API.",
        epilog=EXIT_CODES_HELP, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"vsl {__version__}")
    _add_connection_options(parser, top_level=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="submit a job (image, video or audio)",
                                   epilog=EXIT_CODES_HELP, formatter_class=formatter)
    kinds = generate.add_subparsers(dest="media_type", required=True, metavar="MEDIA")
    for media_type, flags in _MEDIA_FLAGS.items():
        kind = kinds.add_parser(
            media_type, help=f"submit a {media_type} job", epilog=EXIT_CODES_HELP,
            formatter_class=formatter,
            description=f"Submit a {media_type} job (model {_DEFAULT_MODELS[media_type]} unless "
                        f"--model). --param key=value sets any model parameter (JSON values "
                        f"are parsed: --param seed=42); `vsl models` lists them.")
        if media_type == "video":
            kind.add_argument("--image", required=True, type=_image, metavar="FILE_OR_URL",
                              help="the image to animate: a local PNG, JPEG or WebP file "
                                   "(uploaded first), a public http(s) URL, or upload:ID")
        else:
            kind.add_argument("prompt", help="what to generate")
        kind.add_argument("--model", default=_DEFAULT_MODELS[media_type],
                          help=f"model id (default: {_DEFAULT_MODELS[media_type]})")
        for flag, kind_type in flags:
            kind.add_argument(flag, type=kind_type, default=None)
        kind.add_argument("--param", type=_param, action="append", default=[],
                          metavar="KEY=VALUE", help="a model parameter (repeatable)")
        kind.add_argument("--provider", choices=_PROVIDERS, default=None,
                          help="run on this provider only, with no failover (default: the "
                               "model's routing)")
        kind.add_argument("--cache", action=argparse.BooleanOptionalAction, default=None,
                          help="reuse an identical job's result, or not (default: the "
                               "service's setting)")
        kind.add_argument("--webhook-url", metavar="URL", default=None,
                          help="also post this job's events to URL")
        _add_wait_options(kind, wait_flag=True)
        _add_connection_options(kind, top_level=False)

    status = commands.add_parser("status", help="show a job's status",
                                 epilog=EXIT_CODES_HELP, formatter_class=formatter)
    status.add_argument("job_id", metavar="JOB")
    _add_connection_options(status, top_level=False)

    wait = commands.add_parser("wait", help="wait for a job, optionally download its result",
                               epilog=EXIT_CODES_HELP, formatter_class=formatter)
    wait.add_argument("job_id", metavar="JOB")
    _add_wait_options(wait, wait_flag=False)
    _add_connection_options(wait, top_level=False)

    jobs = commands.add_parser(
        "jobs", help="list the key's jobs, newest first", epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
        description="List the API key's jobs, newest first. --user filters by user (the "
                    "environment's VSL_USER_ID does not: without --user every user's jobs "
                    "are listed, or only its own user's for a key bound to one).")
    jobs.add_argument("--status", choices=_JOB_STATUSES, help="only jobs in this status")
    jobs.add_argument("--model", help="only jobs of this model id")
    jobs.add_argument("--since", type=_since, metavar="TIME",
                      help="only jobs created at or after TIME: ISO 8601 with a zone "
                           "(2030-01-01T00:00:00Z) or an age (30m, 2h, 7d)")
    jobs.add_argument("--limit", type=_positive, default=20, metavar="N",
                      help="show at most N jobs (default: 20)")
    _add_connection_options(jobs, top_level=False)

    cancel = commands.add_parser("cancel", help="cancel a pending or processing job",
                                 epilog=EXIT_CODES_HELP, formatter_class=formatter)
    cancel.add_argument("job_id", metavar="JOB")
    _add_connection_options(cancel, top_level=False)

    models = commands.add_parser("models", help="list the models and their parameters",
                                 epilog=EXIT_CODES_HELP, formatter_class=formatter)
    _add_connection_options(models, top_level=False)

    upload = commands.add_parser(
        "upload", help="upload a local image; prints the upload:ID an image parameter takes",
        epilog=EXIT_CODES_HELP, formatter_class=formatter,
        description="Upload a PNG, JPEG or WebP file (at most 10 MiB; kept for a day) and "
                    "print upload:ID, for --image or --param image=upload:ID.")
    upload.add_argument("file", type=_image, metavar="FILE")
    _add_connection_options(upload, top_level=False)
    return parser


def progress_bar(fraction: float, width: int = 20) -> str:
    """``[#########-----------]  45%``"""
    fraction = min(1.0, max(0.0, fraction))
    filled = int(round(fraction * width))
    return f"[{'#' * filled}{'-' * (width - filled)}] {fraction * 100:3.0f}%"


class Progress:
    """Waiting feedback on stderr: one updating line with a progress bar on a terminal,
    a line per change elsewhere."""

    TICK_S = 0.2

    def __init__(self, stream: TextIO, job_id: str, estimate: Optional[float]) -> None:
        self.stream, self.job_id, self.estimate = stream, job_id, estimate
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.status = "submitted"
        self.stage: Optional[str] = None
        self.progress: Optional[float] = None

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        against = f" / ~{self.estimate:.0f}s" if self.estimate else ""
        stage = f" ({self.stage})" if self.stage else ""
        bar = f" {progress_bar(self.progress)}" if self.progress is not None else ""
        return f"job {self.job_id}: {self.status}{stage}{bar} {elapsed:.1f}s{against}"

    def update(self, view: JobStatus) -> None:
        self.status, self.stage, self.progress = view.status, view.stage, view.progress
        if self.tty:
            self._redraw()
        else:
            print(self._line(), file=self.stream, flush=True)

    def _redraw(self) -> None:
        self.stream.write("\r\x1b[2K" + self._line())
        self.stream.flush()

    def sleep(self, seconds: float) -> None:
        """Sleep between polls, keeping the elapsed time on a terminal current."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(self.TICK_S, left) if self.tty else left)
            if self.tty:
                self._redraw()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def _submit(client: Client, args: argparse.Namespace) -> Job:
    parameters: Dict[str, Any] = {}
    for flag, _ in _MEDIA_FLAGS[args.media_type]:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            parameters[flag[2:].replace("-", "_")] = value
    if args.media_type == "video":
        parameters["image"] = args.image
    else:
        parameters["prompt"] = args.prompt
    parameters.update(dict(args.param))
    return client.generate(args.model, user_id=args.user, media_type=args.media_type,
                           webhook_url=args.webhook_url, cache=args.cache,
                           provider=args.provider, **parameters)


def _estimate(client: Client, job: Optional[Job], job_id: str) -> Optional[float]:
    if job is not None and job.estimated_time:
        return float(job.estimated_time)
    try:
        model_id = client.get_status(job_id).model_id
        return next((float(m.estimated_time) for m in client.models()
                     if m.model_id == model_id and m.estimated_time), None)
    except APIError:
        return None


def _wait_and_save(client: Client, args: argparse.Namespace, job_id: str,
                   job: Optional[Job] = None) -> int:
    progress = Progress(sys.stderr, job_id, _estimate(client, job, job_id))
    client._sleep = progress.sleep   # redraw the elapsed time while sleeping between polls
    view: Dict[str, Any] = {}

    def on_update(status: JobStatus) -> None:
        view.clear()
        view.update(status)
        progress.update(status)

    try:
        result = client.wait_for_completion(job_id, timeout=args.timeout, on_update=on_update)
    finally:
        progress.done()
    saved = client.download(result, args.out) if args.out else None
    if args.json:
        _print_json({**view, "file": str(saved) if saved else None})
    else:
        _print_result(result)
        if saved:
            print(f"saved {saved} ({saved.stat().st_size} bytes)")
    return EXIT_OK


def _print_result(result: Result) -> None:
    print(f"originalUrl: {result.get('originalUrl')}")
    if result.get("thumbnailUrl"):
        print(f"thumbnailUrl: {result['thumbnailUrl']}")
    facts = [f"{k}={result[k]}" for k in ("contentType", "fileSize", "width", "height",
                                            "duration", "fps") if result.get(k) is not None]
    if facts:
        print("  " + "  ".join(facts))
    for extra in result.outputs[1:]:
        print(f"also: {extra.get('url') or extra}")


def _list_jobs(client: Client, args: argparse.Namespace) -> int:
    listing = client.list_jobs(user_id=args.user, status=args.status, model_id=args.model,
                               since=args.since, page_size=min(args.limit, 100))
    # One more than shown, to tell whether there are more.
    jobs = list(itertools.islice(listing, args.limit + 1))
    more = len(jobs) > args.limit
    jobs = jobs[:args.limit]
    if args.json:
        _print_json({"jobs": jobs})
        return EXIT_OK
    if not jobs:
        print("no jobs", file=sys.stderr)
        return EXIT_OK
    rows = [("JOB", "STATUS", "MODEL", "USER", "CREATED")] + [
        (j.job_id, j.status, j.model_id or "", j.user_id or "", j.created_at or "")
        for j in jobs]
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) + "  "
              + str(row[4]))
    if more:
        print(f"(more jobs: --limit {args.limit * 2} shows more)", file=sys.stderr)
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    with Client(api_key=args.api_key, base_url=args.base_url, user_id=args.user) as client:
        if args.command == "generate":
            job = _submit(client, args)
            if args.wait or args.out:
                if not args.json:
                    print(f"job {job.job_id} submitted ({args.model}, "
                          f"~{job.estimated_time}s, ${job.estimated_cost})", file=sys.stderr)
                return _wait_and_save(client, args, job.job_id, job)
            if args.json:
                _print_json(job)
            else:
                print(job.job_id)
                print(f"{job.status}: {args.model}, about {job.estimated_time}s, "
                      f"${job.estimated_cost}. `vsl wait {job.job_id}` waits for it.",
                      file=sys.stderr)
            return EXIT_OK
        if args.command == "wait":
            return _wait_and_save(client, args, args.job_id)
        if args.command == "status":
            view = client.get_status(args.job_id)
            if args.json:
                _print_json(view)
            else:
                print(f"{view.job_id}: {view.status} ({view.model_id}, {view.media_type}, "
                      f"user {view.user_id})")
                if view.error:
                    print(f"error: {view.error}")
                if view.result:
                    _print_result(view.result)
            return EXIT_OK
        if args.command == "jobs":
            return _list_jobs(client, args)
        if args.command == "cancel":
            view = client.cancel(args.job_id)
            if args.json:
                _print_json(view)
            else:
                print(f"{view.job_id}: {view.status}")
            return EXIT_OK
        if args.command == "upload":
            created = client.upload(args.file)
            if args.json:
                _print_json(created)
            else:
                print(created.ref)
                print(f"kept until {created.expires_at}", file=sys.stderr)
            return EXIT_OK
        if args.command == "models":
            models = client.models()
            if args.json:
                _print_json({"models": models})
            else:
                for model in models:
                    params = ", ".join(model.parameters.get("properties", {}))
                    print(f"{model.model_id:<16} {model.media_type:<6} "
                          f"~{model.estimated_time}s  {model.description or ''}")
                    print(f"{'':<16} parameters: {params}")
            return EXIT_OK
    raise AssertionError(f"unhandled command {args.command}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``vsl`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Path(args.out) if getattr(args, "out", None) else None
    if out is not None and not out.is_dir() and not out.parent.is_dir():
        # Refused before submitting: a job whose result cannot be saved is money spent.
        parser.error(f"--out {out}: no directory {out.parent}")
    as_json = args.json
    try:
        return _run(args)
    except JobError as error:
        print(f"error: {error}", file=sys.stderr)
        if as_json:
            _print_json({**error.job})
        return EXIT_JOB_CANCELLED if isinstance(error, JobCancelledError) else EXIT_JOB_FAILED
    except WaitTimeoutError as error:
        print(f"error: {error}", file=sys.stderr)
        if as_json:
            _print_json({**(error.job or {"jobId": error.job_id})})
        return EXIT_TIMEOUT
    except APIError as error:
        print(f"error: {error}", file=sys.stderr)
        if as_json:
            _print_json(error.body or {"error": error.message, "status": error.status})
        return EXIT_UNREACHABLE if isinstance(error, APIConnectionError) else EXIT_API_ERROR
    except BrokenPipeError:
        # The reader left (`vsl models | head -1`): nothing more to say, and Python
        # must not complain when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (VSLError, OSError) as error:   # no API key; an --out that cannot be written
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

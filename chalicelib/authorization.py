"""Who may do what: one decision per operation, taken before anything else runs.

The principal is the API key's client plus, for a key bound to a user, that user:

- an unbound key is the client's backend key: it acts for any of the client's users;
- a bound key is that user's key: it reaches that user's jobs, idempotent replays and
  reusable results only, and none of the client-wide settings (webhook endpoints and the
  signing secret, which decide where and how every user's events go).

A job or an upload outside the principal's reach answers exactly as a missing one
(404), so a key learns nothing of what it may not see. Every route declares its
``Access``; the edge asks ``Authorizer.decide`` for it before the route's own code runs,
and job-scoped routes get their job from that decision, never by reading it themselves.
Uploads are named in a submit's body, not its path: the submit checks each one with
``reaches_upload``.
"""
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Callable, Mapping, Optional

from chalicelib.errors import Forbidden, JobNotFound
from chalicelib.keys import ApiKeys, Caller
from chalicelib.jobs.model import Job
from chalicelib.jobs.persistence import JobRepository

if TYPE_CHECKING:
    from chalicelib.uploads.model import Upload


class Access(Enum):
    """What an operation asks of its caller."""
    PUBLIC = "public"    # no key: the page, the docs, health, Replicate's signed callbacks
    KEY = "key"          # a valid key; the operation narrows itself to the principal's users
    JOB = "job"          # a valid key that reaches the job named in the path
    CLIENT = "client"    # a valid unbound key: the client's own settings


def reaches_user(caller: Caller, user_id: Optional[str]) -> bool:
    return caller.user_id is None or caller.user_id == user_id


def reaches_job(caller: Caller, job: Job) -> bool:
    return job.owner_id == caller.client_id and reaches_user(caller, job.user_id)


def reaches_upload(caller: Caller, upload: "Upload") -> bool:
    """An upload is its uploader's: the same client, and for a bound key the same user
    (an unbound key reaches every upload of its client; an upload made with an unbound
    key is no bound key's). One outside reach answers as a missing one (404)."""
    return upload.client_id == caller.client_id and reaches_user(caller, upload.user_id)


def require_user(caller: Caller, user_id: Optional[str], doing: str) -> None:
    """A bound key acts for its own user only (``doing``: "submit jobs", "list jobs"...)."""
    if not reaches_user(caller, user_id):
        raise Forbidden(f"This API key may only {doing} for userId '{caller.user_id}'.")


def scope(caller: Caller) -> str:
    """The namespace of what a principal keeps (idempotency records): the client's for
    an unbound key, the user's own for a bound one."""
    return caller.client_id if caller.user_id is None else f"{caller.client_id}#{caller.user_id}"


@dataclass(frozen=True)
class Grant:
    """What the decision allows: the principal (None on public routes) and, on
    job-scoped routes, the job it reaches."""
    caller: Optional[Caller] = None
    job: Optional[Job] = None


class Authorizer:
    def __init__(self, keys: Callable[[], ApiKeys], jobs: Callable[[], JobRepository]):
        self._keys = keys
        self._jobs = jobs

    def decide(self, access: Access, presented_key: Optional[str],
               path: Mapping[str, str]) -> Grant:
        if access is Access.PUBLIC:
            return Grant()
        caller = self._keys().authenticate(presented_key)
        if access is Access.CLIENT and caller.user_id is not None:
            raise Forbidden(f"This API key is bound to userId '{caller.user_id}'; webhook "
                            "endpoints and the signing secret belong to the whole client: "
                            "use the client's unbound key.")
        if access is Access.JOB:
            return Grant(caller, self.job_in_reach(caller, path["job_id"]))
        return Grant(caller)

    def job_in_reach(self, caller: Caller, job_id: str) -> Job:
        try:
            uuid.UUID(job_id)
        except ValueError:
            raise JobNotFound(f"No job with id '{job_id[:64]}'.") from None
        job = self._jobs().get(job_id)
        if job is None or not reaches_job(caller, job):
            raise JobNotFound(f"No job with id '{job_id}'.")
        return job

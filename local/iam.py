"""Each function its own principal, on AWS and on the local stack, from one declaration.

``terraform/modules/service/permissions.json`` says, for each of the five
functions, which actions its code uses on which of the service's resources.
Terraform renders each function's role policy from it (modules/service/iam.tf);
this module renders the same policies in Python, for the local stack:

- the emulator (moto server) enforces IAM once provisioning is done: every
  function process signs its calls with the access key of an IAM user of its
  own, whose policy holds exactly the declared actions (moto matches actions
  only, so its resources are ``*``);
- resources are checked here: a botocore hook in each function process maps
  every call to the IAM actions and resource ARNs it needs (as AWS authorizes
  it: a CopyObject needs s3:GetObject on its source, for instance), refuses it
  with AccessDenied when the function's rendered policy does not allow one of
  them, and records it in an audit file the tests read.

So a missing permission fails locally, naming the function and the call, as
it would on AWS; and a declared action no call needs shows up in the audit.
"""
import fnmatch
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PERMISSIONS_FILE = ROOT / "terraform" / "modules" / "service" / "permissions.json"
# The emulator's account (moto's default) and the local stack's region.
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"
# The secrets' names (${prefix}/NAME, as in Terraform), which permissions.json's
# secret:NAME references name.
SECRET_NAME = "replicate-api-token"
FAL_KEY_SECRET_NAME = "fal-key"
# Names the emulator gives actions differently from IAM: granted beside the real one.
# moto (5.2.6 on) checks an S3 call by its operation's name, where IAM has one action
# for several operations (HeadObject is s3:GetObject; a copy or a multipart part,
# s3:PutObject). The resources are still checked against the real actions
# (``allows``, in each function's process).
EMULATOR_ALIASES = {
    "s3:ListBucket": ("s3:HeadBucket", "s3:ListObjects", "s3:ListObjectsV2"),
    "s3:GetObject": ("s3:HeadObject",),
    "s3:PutObject": ("s3:CopyObject", "s3:CreateMultipartUpload", "s3:UploadPart",
                     "s3:UploadPartCopy", "s3:CompleteMultipartUpload"),
    "s3:ListBucketMultipartUploads": ("s3:ListMultipartUploads",),
}


def declaration() -> dict:
    return json.loads(PERMISSIONS_FILE.read_text())


def functions() -> Tuple[str, ...]:
    return tuple(declaration()["functions"])


def function_name(prefix: str, function: str) -> str:
    """The Lambda function's name, as Chalice names it (the API's is the prefix)."""
    return prefix if function == "api_handler" else f"{prefix}-{function}"


def function_arn(prefix: str, function: str, account: str = LOCAL_ACCOUNT,
                 region: str = LOCAL_REGION) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{function_name(prefix, function)}"


@dataclass(frozen=True)
class Place:
    """Where a stage's resources are: what turns a declared reference into an ARN."""
    prefix: str                 # SERVICE-STAGE
    bucket: str
    secret_arn: str             # the Replicate token's
    account: str = LOCAL_ACCOUNT
    region: str = LOCAL_REGION
    partition: str = "aws"
    # fal's key's; None: fal is not deployed, and the statements on it are left out.
    fal_key_secret_arn: Optional[str] = None

    def arn(self, reference: str, function: str) -> Optional[str]:
        """The reference's ARN; None for what the stage does not have (fal's key
        without fal)."""
        kind, _, name = reference.partition(":")
        region, account, part = self.region, self.account, self.partition
        if reference == "*":
            return "*"
        if kind == "table":
            table, sep, index = name.partition("/index/")
            return f"arn:{part}:dynamodb:{region}:{account}:table/{self.prefix}-{table}" + \
                (f"/index/{index}" if sep else "")
        if kind == "queue":
            return f"arn:{part}:sqs:{region}:{account}:{self.prefix}-{name}"
        if kind == "bucket":
            return f"arn:{part}:s3:::{self.bucket}"
        if kind == "objects":
            return f"arn:{part}:s3:::{self.bucket}/*"
        if reference == f"secret:{SECRET_NAME}":
            return self.secret_arn
        if reference == f"secret:{FAL_KEY_SECRET_NAME}":
            return self.fal_key_secret_arn
        if reference == "log-group:own":
            return (f"arn:{part}:logs:{region}:{account}:log-group:/aws/lambda/"
                    f"{function_name(self.prefix, function)}:*")
        raise ValueError(f"unknown resource reference {reference!r} in {PERMISSIONS_FILE.name}")


def statements(function: str, runtime: bool = True, place: Optional[Place] = None) -> List[dict]:
    """The function's declared statements; ``runtime``: with Lambda's own (logs, X-Ray);
    ``place``: only those on what the stage has (as Terraform renders them, iam.tf)."""
    spec = declaration()
    if function not in spec["functions"]:
        raise KeyError(f"{function} is not declared in {PERMISSIONS_FILE}")
    declared = (spec["runtime"] if runtime else []) + spec["functions"][function]
    if place is None:
        return declared
    return [s for s in declared
            if all(place.arn(r, function) is not None for r in s["resources"])]


def rendered_policy(function: str, place: Place) -> dict:
    """The role policy Terraform renders for the function (modules/service/iam.tf)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": s["sid"], "Effect": "Allow", "Action": s["actions"],
         "Resource": [place.arn(r, function) for r in s["resources"]]}
        for s in statements(function, place=place)]}


def emulator_policy(function: str) -> dict:
    """The local user's policy: the same actions (and the emulator's aliases), on ``*``."""
    actions = []
    for s in statements(function, runtime=False):
        for action in s["actions"]:
            actions += [action, *EMULATOR_ALIASES.get(action, ())]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Declared", "Effect": "Allow", "Action": sorted(set(actions)), "Resource": "*"}]}


def allows(policy: dict, action: str, resource: str) -> bool:
    """Whether an Allow statement matches: IAM's wildcards (* and ?), actions ignoring case."""
    for s in policy["Statement"]:
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        if s["Effect"] == "Allow" and \
                any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions) and \
                any(fnmatch.fnmatchcase(resource, r) for r in resources):
            return True
    return False


# ---- what a call needs ------------------------------------------------------------

class UnmappedCall(Exception):
    """A call this module cannot map to IAM actions yet: add it to needs()."""


def _s3_object(place: Place, bucket: str, key: str) -> str:
    return f"arn:{place.partition}:s3:::{bucket}/{key}"


def _copy_source(value) -> Tuple[str, str]:
    if isinstance(value, dict):
        return value["Bucket"], value["Key"]
    bucket, _, key = unquote(value.lstrip("/")).partition("/")
    return bucket, key.split("?versionId=")[0]


def needs(service: str, operation: str, params: dict, place: Place) -> List[Tuple[str, str]]:
    """(action, resource ARN) pairs AWS authorizes the call against."""
    part, region, account = place.partition, place.region, place.account
    if service == "dynamodb":
        if "RequestItems" in params:  # a batch: each of its tables
            return [(f"dynamodb:{operation}", f"arn:{part}:dynamodb:{region}:{account}:table/{t}")
                    for t in params["RequestItems"]]
        table = f"arn:{part}:dynamodb:{region}:{account}:table/{params['TableName']}"
        if params.get("IndexName"):
            table += f"/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", table)]
    if service == "sqs":
        name = params.get("QueueName") or urlsplit(params["QueueUrl"]).path.rsplit("/", 1)[-1]
        return [(f"sqs:{operation}", f"arn:{part}:sqs:{region}:{account}:{name}")]
    if service == "secretsmanager":
        secret = params["SecretId"]
        if not secret.startswith("arn:"):
            secret = f"arn:{part}:secretsmanager:{region}:{account}:secret:{secret}-??????"
        return [(f"secretsmanager:{operation}", secret)]
    if service == "sts" and operation == "GetCallerIdentity":
        return []  # allowed to every principal
    if service == "s3":
        bucket = f"arn:{part}:s3:::{params['Bucket']}"
        if operation in ("HeadBucket", "ListObjects", "ListObjectsV2"):
            return [("s3:ListBucket", bucket)]
        if operation == "ListMultipartUploads":
            return [("s3:ListBucketMultipartUploads", bucket)]
        key = _s3_object(place, params["Bucket"], params["Key"])
        if operation in ("HeadObject", "GetObject"):
            return [("s3:GetObject", key)]
        if operation in ("PutObject", "CreateMultipartUpload"):
            return [("s3:PutObject", key)] + \
                ([("s3:PutObjectTagging", key)] if params.get("Tagging") else [])
        if operation in ("UploadPart", "CompleteMultipartUpload"):
            return [("s3:PutObject", key)]
        if operation == "AbortMultipartUpload":
            return [("s3:AbortMultipartUpload", key)]
        if operation in ("CopyObject", "UploadPartCopy"):
            source = _s3_object(place, *_copy_source(params["CopySource"]))
            pairs = [("s3:PutObject", key), ("s3:GetObject", source)]
            if operation == "CopyObject":
                # Tags go with a copy unless replaced (COPY is S3's default directive).
                if params.get("TaggingDirective", "COPY") == "COPY":
                    pairs.append(("s3:GetObjectTagging", source))
                elif params.get("Tagging"):
                    pairs.append(("s3:PutObjectTagging", key))
            return pairs
        if operation in ("GetObjectTagging", "PutObjectTagging"):
            version = "Version" if params.get("VersionId") else ""
            return [(f"s3:{operation[:3]}Object{version}Tagging", key)]
    raise UnmappedCall(f"{service}.{operation}: local/iam.py does not know what it needs")


# ---- the local principals ------------------------------------------------------------

def create_principals(client, prefix: str) -> dict:
    """An operator (everything: provisioning, tests, tools) and one user per function,
    named as the function; ``client``: boto3's IAM client."""
    def user(name: str, policy: dict) -> dict:
        client.create_user(UserName=name)
        client.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
        key = client.create_access_key(UserName=name)["AccessKey"]
        return {"user": name, "access_key_id": key["AccessKeyId"],
                "secret_access_key": key["SecretAccessKey"]}
    operator = user(f"{prefix}-operator", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    return {"operator": operator,
            "functions": {fn: user(function_name(prefix, fn), emulator_policy(fn))
                          for fn in functions()}}


def enforce(emulator_url: str) -> None:
    """From now on the emulator checks every request's signature and policy."""
    import requests
    requests.post(f"{emulator_url}/moto-api/reset-auth", data="0", timeout=10).raise_for_status()


def credentials_env(principal: dict) -> Dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": principal["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": principal["secret_access_key"]}


def place_of(principals: dict) -> Place:
    return Place(prefix=principals["prefix"], bucket=principals["bucket"],
                 secret_arn=principals["secret_arn"], account=principals["account"],
                 region=principals["region"],
                 fal_key_secret_arn=principals.get("fal_key_secret_arn"))


# ---- the audit of every call a function makes ------------------------------------------

AUDIT_DIR_ENV = "VSL_IAM_AUDIT_DIR"
FUNCTION_ENV = "VSL_LOCAL_FUNCTION"
PRINCIPALS_ENV = "VSL_LOCAL_PRINCIPALS"


class Audit:
    """Checks each call of one function against its rendered policy, and records it."""

    def __init__(self, function: str, place: Place, out_dir: Path):
        self.function = function
        self.policy = rendered_policy(function, place)
        self.place = place
        out_dir.mkdir(parents=True, exist_ok=True)
        self._file = open(out_dir / f"{function}-{os.getpid()}.jsonl", "a", buffering=1)
        self._seen = set()
        self._lock = threading.Lock()

    def record(self, call: str, action: str, resource: str, outcome: str) -> None:
        entry = (call, action, resource, outcome)
        with self._lock:
            if outcome == "allowed" and entry in self._seen:
                return
            self._seen.add(entry)
            self._file.write(json.dumps({"function": self.function, "call": call,
                                         "action": action, "resource": resource,
                                         "outcome": outcome}) + "\n")

    def before_call(self, params, model, **_):
        from botocore.exceptions import ClientError
        service, operation = model.service_model.service_name, model.name
        call = f"{service}.{operation}"
        try:
            pairs = needs(service, operation, params, self.place)
        except (UnmappedCall, KeyError) as e:
            self.record(call, "?", "?", f"unmapped: {e}")
            raise
        for action, resource in pairs:
            if not allows(self.policy, action, resource):
                self.record(call, action, resource, "denied by the policy")
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": (
                    f"{self.function} may not {action} on {resource} "
                    f"(terraform/modules/service/permissions.json)")}}, operation)
        for action, resource in pairs:
            self.record(call, action, resource, "allowed")

    def after_call(self, http_response, parsed, model, **_):
        code = (parsed or {}).get("Error", {}).get("Code") if http_response.status_code >= 400 \
            else None
        if code in ("AccessDenied", "AccessDeniedException", "403",
                    "InvalidClientTokenId", "SignatureDoesNotMatch"):
            self.record(f"{model.service_model.service_name}.{model.name}", "?", "?",
                        f"denied by the emulator: {code}: "
                        f"{parsed.get('Error', {}).get('Message', '')}")

    def install(self, session=None) -> None:
        """On boto3's default session: every client the function's code creates."""
        import boto3
        session = session or boto3._get_default_session()
        session.events.register("before-parameter-build", self.before_call)
        session.events.register("after-call", self.after_call)


def install_audit_from_env(env=None) -> Optional[Audit]:
    """In a function process of the local stack (the stack sets these variables)."""
    env = os.environ if env is None else env
    if not (env.get(FUNCTION_ENV) and env.get(PRINCIPALS_ENV) and env.get(AUDIT_DIR_ENV)):
        return None
    principals = json.loads(Path(env[PRINCIPALS_ENV]).read_text())
    audit = Audit(env[FUNCTION_ENV], place_of(principals), Path(env[AUDIT_DIR_ENV]))
    audit.install()
    return audit


def read_audit(audit_dir: Path) -> List[dict]:
    return AuditReader(audit_dir).new_records()


class AuditReader:
    """Reads an audit directory's records as they are written: each call, the new ones."""

    def __init__(self, audit_dir: Path):
        self.audit_dir = Path(audit_dir)
        self._offsets: Dict[Path, int] = {}

    def new_records(self) -> List[dict]:
        records = []
        for path in sorted(self.audit_dir.glob("*.jsonl")):
            with open(path, "rb") as f:
                f.seek(self._offsets.get(path, 0))
                data = f.read()
            complete = data[:data.rfind(b"\n") + 1]  # a line being written waits
            self._offsets[path] = self._offsets.get(path, 0) + len(complete)
            records += [json.loads(line) for line in complete.decode().splitlines()
                        if line.strip()]
        return records


def refusals(records: Iterable[dict]) -> List[str]:
    """One line per refused or unmapped call: the function, the call, what it lacked."""
    return sorted({f"{r['function']}: {r['call']} needs {r['action']} on {r['resource']}: "
                   f"{r['outcome']}" for r in records if r["outcome"] != "allowed"})


def unused(records: Iterable[dict], place: Place) -> List[str]:
    """Each declared grant (an action on one resource; Lambda's own excepted) of what
    the stage has that no recorded call of its function needed: more than the code
    uses, or untested."""
    used = {}
    for r in records:
        if r["outcome"] == "allowed":
            used.setdefault((r["function"], r["action"].lower()), []).append(r["resource"])
    out = []
    for fn in functions():
        for s in statements(fn, runtime=False, place=place):
            for action in s["actions"]:
                for reference in s["resources"]:
                    pattern = place.arn(reference, fn)
                    if not any(fnmatch.fnmatchcase(arn, pattern)
                               for arn in used.get((fn, action.lower()), ())):
                        out.append(f"{fn}: {action} on {reference}")
    return out

"""checkov on what Terraform would ask AWS for: the plan of the AWS root.

    python -m tools.checkov_plan        # what `make checkov` runs (after `make package`)

A scan of the directories sees no resource of the functions module (JSON made
by tools/package_terraform.py, all behind variables); the plan has every
resource with its values. The plan is made as the tests make theirs: the AWS
root with homolog.tfvars, every AWS call sent to a throwaway moto server.
Skip comments in the .tf files still apply (checkov maps the plan back to
them); the functions module's skips, with their reasons, are CHECKOV_SKIPS in
tools/package_terraform.py (build/chalice/.checkov.yaml).
"""
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
SKIPS = ROOT / "build" / "chalice" / ".checkov.yaml"


def scan(plan_json: Path, *options: str) -> subprocess.CompletedProcess:
    """checkov on the plan; ``options``: checkov's (default: the failures, compact)."""
    return subprocess.run([str(CHECKOV), "-f", str(plan_json), "--framework", "terraform_plan",
                           "--repo-root-for-plan-enrichment", str(ROOT / "terraform"),
                           "--config-file", str(SKIPS), "--skip-download",
                           *(options or ("--compact", "--quiet"))],
                          cwd=ROOT, capture_output=True, text=True)


def main() -> int:
    import json
    from moto.server import ThreadedMotoServer
    from local.stack import free_port
    from local.terraform import aws_root, plan_json
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="vsl-plan-") as work:
            plan = plan_json(aws_root(f"http://127.0.0.1:{port}", Path(work)))
    finally:
        server.stop()
    out = ROOT / "build" / "plan.json"
    out.write_text(json.dumps(plan))
    done = scan(out)
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

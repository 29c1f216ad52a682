"""The CLI starts fast: `orchestrator --help` (and every command's help) loads typer and the command
modules, not boto3, rich, YAML or HCL parsers, the sandbox or the domain modules (`make bench` measures
the time against `aws --version`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("boto3", "botocore", "rich", "yaml", "hcl2", "lark", "moto", "python_terraform", "click")
DOMAIN = ("orchestrator.sandbox", "orchestrator.aws", "orchestrator.plan", "orchestrator.policy", "orchestrator.report")

PROBE = """
import json, sys
from orchestrator import cli
code = cli.run(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("args", [["--help"], ["release", "-h"], ["sandbox", "status", "-h"], ["infra", "plan", "-h"]])
def test_help_loads_nothing_heavy(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    loaded = set(result["modules"])
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], heavy
    domain = sorted(m for m in loaded if m.startswith(DOMAIN))
    assert domain == [], domain

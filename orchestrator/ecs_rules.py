"""What ECS refuses (or would run wrongly) in a task definition that botocore's model cannot express.

botocore checks types, required fields and enums; these are the server-side rules, each from the ECS
API reference (RegisterTaskDefinition, ContainerDefinition, HealthCheck: the member documentation in
botocore's bundled ECS model) or the Amazon ECS Developer Guide:

- `cpu` "can be expressed as an integer using CPU units (for example, 1024) or as a string using vCPUs
  (for example, 1 vCPU or 1 vcpu)"; "supported values are between 128 CPU units (0.125 vCPUs) and
  196608 CPU units (192 vCPUs)". `memory` "as an integer using MiB (for example, 1024) or as a string
  using GB (for example, 1GB or 1 GB)" (RegisterTaskDefinition cpu/memory).
- Fargate's valid cpu/memory pairs: the table in RegisterTaskDefinition's `memory` and in the Developer
  Guide's "Troubleshoot Amazon ECS task definition invalid CPU or memory errors" (otherwise
  `ClientException: Invalid 'cpu' setting for task` / "No Fargate configuration exists for given
  values").
- Container memory: "The total amount of memory reserved for all containers within a task must be lower
  than the task memory value, if one is specified"; with both set, `memory` must exceed
  `memoryReservation`; without a task memory, each container needs one of them (ContainerDefinition
  memory/memoryReservation). The docs say "lower than", yet AWS's own examples give one container all of
  the task's memory (as this project's taskdef.json does): only more than the task's is refused.
  Container cpu: "the total amount of CPU reserved for all containers within a task be lower than the
  task-level cpu value" (ContainerDefinition cpu), read the same way.
- "All tasks must have at least one essential container"; an omitted `essential` is true.
- Health checks: interval 5-300 s, timeout 2-60 s, retries 1-10, startPeriod 0-300 s (HealthCheck).
- An environment variable needs a name (KeyValuePair name: "the name of the environment variable"); an
  empty name or one holding `=` cannot be set in a process environment.
- `executionRoleArn` is an IAM role ARN; `taskRoleArn` "the short name or full ARN of the IAM role".
- Image references: ECS's characters and length (ContainerDefinition image), tag and digest syntax (OCI
  distribution spec), and a repository path in lowercase: the Docker reference grammar's path
  components, the pattern of ECR's RepositoryName `[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/...)*` (botocore
  ECR model); a registry would refuse the pull of `Repo/Web` and the tasks never start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TypeGuard

_FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# ECS: letters, numbers, hyphens, underscores, colons, periods, forward slashes, number signs, at signs.
_IMAGE = re.compile(r"^[A-Za-z0-9._:/#@+-]{1,255}$")
# The tag and digest grammar of image references (OCI distribution spec / Docker reference grammar):
# a tag is up to 128 of [A-Za-z0-9_.-], not starting with . or -; a digest is algorithm:encoded, and a
# sha256 digest has exactly 64 lowercase hex digits.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")

_PARTITION = r"arn:aws[a-z-]*"
ROLE_ARN = re.compile(rf"^{_PARTITION}:iam::\d{{12}}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{{1,64}}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")

CPU_UNITS = (128, 196_608)
# Fargate: task cpu units -> the memory values (MiB) it takes.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
HEALTH_CHECK_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}

_UNITS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def task_size(value: str, unit: str, per_unit: int) -> int | None:
    """A task cpu/memory string as ECS converts it: "1024" -> 1024, "1 vCPU"/"1vcpu" -> 1024 (unit
    "vcpu"), "1 GB"/"0.5GB" -> 1024/512 (unit "gb"). None when ECS would not take the form."""
    m = _UNITS.match(value)
    if not m:
        return None
    number, suffix = m.group(1), m.group(2).lower()
    if not suffix:
        return int(number) if number.isdigit() else None
    if suffix != unit:
        return None
    amount = float(number) * per_unit
    return int(amount) if amount.is_integer() else None


def image_problem(image: str) -> str | None:
    """What is wrong with an image reference (None if nothing): ECS's characters, then tag and digest
    syntax, then the repository path's lowercase grammar."""
    if not _IMAGE.match(image):
        return "letters, digits and . _ : / # @ - only, up to 255 characters"
    name, at, digest = image.partition("@")
    if at and (not _DIGEST.match(digest) or (digest.startswith("sha256:") and not _SHA256.match(digest))):
        return f"digest {digest!r} is not algorithm:hex (sha256: 64 lowercase hex digits)"
    head, slash, last = name.rpartition("/")  # a registry host:port comes before the last slash
    repo, colon, tag = last.partition(":")
    if not repo or not name or name.startswith("/") or name.endswith("/") or "//" in name:
        return "no repository name"
    if colon and not _TAG.match(tag):
        return f"tag {tag!r} must be 1-128 letters, digits, _ . - (not starting with . or -)"
    parts = [*head.split("/"), repo] if slash else [repo]
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # the registry host (case-insensitive, like any DNS name)
    path = "/".join(parts)
    if not all(_PATH_COMPONENT.match(p) for p in parts):
        return (
            f"repository {path!r} must be lowercase letters and digits, separated by . _ __ or - "
            "(a registry refuses the pull otherwise)"
        )
    return None


def _task_size(taskdef: dict[str, Any], source: str, fargate: bool) -> tuple[list[str], int | None, int | None]:
    """Problems with the task's cpu and memory, and both as ECS would convert them (None: absent or bad)."""
    cpu_raw, memory_raw = taskdef.get("cpu"), taskdef.get("memory")
    cpu = task_size(cpu_raw, "vcpu", 1024) if isinstance(cpu_raw, str) else None
    memory = task_size(memory_raw, "gb", 1024) if isinstance(memory_raw, str) else None
    found: list[str] = []
    if isinstance(cpu_raw, str) and cpu is None:
        found.append(f'{source}: cpu: {cpu_raw!r} is not CPU units (like "1024") or vCPUs (like "1 vCPU")')
    elif cpu is not None and not CPU_UNITS[0] <= cpu <= CPU_UNITS[1]:
        found.append(f"{source}: cpu: {cpu_raw!r} is outside ECS's {CPU_UNITS[0]}-{CPU_UNITS[1]} CPU units")
        cpu = None
    if isinstance(memory_raw, str) and (memory is None or memory <= 0):
        found.append(f'{source}: memory: {memory_raw!r} is not MiB (like "1024") or GB (like "1 GB")')
        memory = None
    if fargate and cpu is not None and cpu not in FARGATE_SIZES:
        valid = ", ".join(map(str, FARGATE_SIZES))
        found.append(f"{source}: cpu: {cpu_raw!r} is not a Fargate task size; Fargate takes {valid} CPU units")
    elif fargate and cpu is not None and memory is not None and memory not in FARGATE_SIZES[cpu]:
        sizes = FARGATE_SIZES[cpu]
        step = sizes[1] - sizes[0]
        takes = ", ".join(map(str, sizes)) if len(sizes) <= 4 else f"{sizes[0]}-{sizes[-1]} in steps of {step}"
        found.append(f"{source}: memory: {memory} MiB does not go with cpu {cpu} on Fargate, which takes {takes} MiB")
    return found, cpu, memory


def _container_problems(c: dict[str, Any], where: str, network_mode: Any) -> Iterator[str]:
    image = c.get("image")
    if image is None:
        yield f"{where}.image: required field missing"
    elif isinstance(image, str) and (problem := image_problem(image)):
        yield f"{where}.image: invalid image reference {image!r}: {problem}"
    for j, pm in enumerate(c.get("portMappings") or []):
        if not isinstance(pm, dict):
            continue
        for key in ("containerPort", "hostPort"):
            port = pm.get(key)
            if _is_int(port) and not 0 <= port <= 65535:
                yield f"{where}.portMappings[{j}].{key}: {port} is not a port (0-65535)"
        host, cont = pm.get("hostPort"), pm.get("containerPort")
        if network_mode == "awsvpc" and host is not None and cont is not None and host != cont:
            yield f"{where}.portMappings[{j}].hostPort: must equal containerPort ({cont}) in awsvpc mode"
    check = c.get("healthCheck")
    for key, (low, high) in HEALTH_CHECK_RANGES.items():
        value = check.get(key) if isinstance(check, dict) else None
        if _is_int(value) and not low <= value <= high:
            yield f"{where}.healthCheck.{key}: {value} is outside ECS's range {low}-{high}"
    for field in ("environment", "secrets"):
        entries = c.get(field)
        for j, entry in enumerate(entries if isinstance(entries, list) else []):
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(entry, dict) and (
                name is None or (isinstance(name, str) and (not name.strip() or "=" in name))
            ):
                yield f"{where}.{field}[{j}].name: a variable needs a name, without '=' (got {name!r})"
    memory, reservation = c.get("memory"), c.get("memoryReservation")
    if _is_int(memory) and _is_int(reservation) and reservation > memory:
        yield f"{where}.memoryReservation: {reservation} MiB is more than the container's memory ({memory} MiB)"


def _resources(containers: list[dict[str, Any]], task: dict[str, Any], source: str) -> Iterator[str]:
    """Container memory and cpu within the task's (task sizes as ECS converts them; None: absent or bad)."""
    cpu, memory, memory_set = task["cpu"], task["memory"], task["memory_set"]
    over = False
    for i, c in enumerate(containers):
        hard = c.get("memory")
        if memory is not None and _is_int(hard) and hard > memory:
            over = True
            yield f"{source}: containerDefinitions[{i}].memory: {hard} MiB is more than the task's ({memory} MiB)"
        if not memory_set and not (c.get("memory") or c.get("memoryReservation")):
            yield f"{source}: containerDefinitions[{i}]: needs memory or memoryReservation when the task sets no memory"
    reserved = sum(r for c in containers if _is_int(r := c.get("memoryReservation") or c.get("memory") or 0))
    if memory is not None and reserved > memory and not over:
        yield f"{source}: containerDefinitions: the containers reserve {reserved} MiB, more than the task's {memory}"
    cpus = sum(v for c in containers if _is_int(v := c.get("cpu") or 0))
    if cpu is not None and cpus > cpu:
        yield f"{source}: containerDefinitions: the containers reserve {cpus} CPU units, more than the task's {cpu}"


def _roles(taskdef: dict[str, Any], source: str) -> Iterator[str]:
    execution, task = taskdef.get("executionRoleArn"), taskdef.get("taskRoleArn")
    if isinstance(execution, str) and not ROLE_ARN.match(execution):
        yield f"{source}: executionRoleArn: {execution!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
    if isinstance(task, str) and task and not (ROLE_ARN.match(task) or _ROLE_NAME.match(task)):
        yield f"{source}: taskRoleArn: {task!r} is neither a role name nor a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"


def problems(taskdef: dict[str, Any], source: str) -> Iterator[str]:
    """Every rule ECS enforces that the API model does not express, one line per problem."""
    family = taskdef.get("family")
    if isinstance(family, str) and not _FAMILY.match(family):
        yield f"{source}: family: {family!r} must be 1-255 letters, digits, hyphens or underscores"
    yield from _roles(taskdef, source)
    fargate = "FARGATE" in (taskdef.get("requiresCompatibilities") or [])
    sizes, cpu, memory = _task_size(taskdef, source, fargate)
    yield from sizes
    raw = taskdef.get("containerDefinitions")
    if isinstance(raw, list) and not raw:
        yield f"{source}: containerDefinitions: at least one container is needed"
    containers = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    network_mode = taskdef.get("networkMode")
    seen: set[str] = set()
    for i, c in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(c, dict):
            continue
        where = f"{source}: containerDefinitions[{i}]"
        name = c.get("name")
        if name is None:
            yield f"{where}.name: required field missing"
        elif isinstance(name, str):
            if not _CONTAINER_NAME.match(name):
                yield f"{where}.name: {name!r} must be 1-255 letters, digits, hyphens or underscores"
            if name in seen:
                yield f"{where}.name: duplicate container name {name!r}"
            seen.add(name)
        yield from _container_problems(c, where, network_mode)
    if containers and all(c.get("essential") is False for c in containers):
        yield f"{source}: containerDefinitions: no essential container; ECS needs at least one (essential: true)"
    # Fargate without a task memory is refused below; the containers' own then do not matter.
    task = {"cpu": cpu, "memory": memory, "memory_set": "memory" in taskdef or fargate}
    yield from _resources(containers, task, source)
    if fargate:
        if network_mode != "awsvpc":
            yield f"{source}: networkMode: FARGATE requires 'awsvpc' (got {network_mode!r})"
        for key in ("cpu", "memory"):
            if key not in taskdef:
                yield f"{source}: {key}: FARGATE requires a task-level {key}"

"""The task definition: load, render and validate it, all before anything is written to AWS.

Placeholders are `${name}` anywhere in a string value; the names are the service's Terraform outputs
(orchestrator.contract.SERVICE_KEYS) plus `aws_region` and `image`. `$${` writes a literal `${`.
A file exported by `aws ecs describe-task-definition` works as it is: its `{"taskDefinition": ...}`
wrapper and the read-only fields are dropped.

Validation uses botocore's own validator against the ECS RegisterTaskDefinition input shape (unknown
keys, wrong types, missing required fields, enum values), then the rules ECS enforces server side that
the model cannot express. Every error is one line naming the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.contract import SERVICE_KEYS, Outputs, ServiceOutputs
from orchestrator.ecs_rules import image_problem
from orchestrator.ecs_rules import problems as ecs_problems
from orchestrator.errors import InputError, InputProblems

PLACEHOLDER_NAMES: tuple[str, ...] = (*SERVICE_KEYS, "aws_region", "image")

# What `describe-task-definition` returns and `register-task-definition` refuses.
READ_ONLY_FIELDS: tuple[str, ...] = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)

_PLACEHOLDER = re.compile(r"\$(\$?)\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def field_path(parts: tuple[str | int, ...]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "(top level)"


def load_json(path: Path, what: str = "file") -> Any:
    """Parse a JSON file (orchestrator.userfile: regular files only, bounded size and depth)."""
    from orchestrator.userfile import load_json as load

    return load(path, what)


def placeholder_values(outputs: Outputs, service: ServiceOutputs, image: str | None) -> dict[str, str]:
    values = {k: str(getattr(service, k)) for k in SERVICE_KEYS}
    values["aws_region"] = outputs.aws_region
    if image is not None:
        values["image"] = image
    return values


def strip_read_only(doc: Any, source: str) -> dict[str, Any]:
    """Accept a plain task definition or the describe output; drop what register refuses."""
    if isinstance(doc, dict) and set(doc) <= {"taskDefinition", "tags"} and isinstance(doc.get("taskDefinition"), dict):
        inner = dict(doc["taskDefinition"])
        if doc.get("tags") and "tags" not in inner:
            inner["tags"] = doc["tags"]
        doc = inner
    if not isinstance(doc, dict):
        raise InputError(f"{source}: expected a JSON object (a task definition), got {type(doc).__name__}")
    return {k: v for k, v in doc.items() if k not in READ_ONLY_FIELDS}


def _substitute(value: Any, values: dict[str, str], source: str, path: tuple[str | int, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, values, source, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, source, (*path, i)) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match[str]) -> str:
        escaped, name = m.group(1), m.group(2)
        if escaped:
            return "${" + name + "}"
        where = f"{source}: {field_path(path)}"
        if not _NAME.match(name):
            raise InputError(f"{where}: malformed placeholder ${{{name}}}", hint="placeholders look like ${name}")
        if name not in values:
            if name == "image":
                raise InputError(f"{where}: unresolved placeholder ${{image}}", hint="pass --image")
            raise InputError(
                f"{where}: unknown placeholder ${{{name}}}; known: {', '.join(PLACEHOLDER_NAMES)}",
            )
        return values[name]

    return _PLACEHOLDER.sub(repl, value)


# The public name: appspec.py fills its hooks' placeholders the same way.
substitute = _substitute


def resolve_placeholders(doc: Any, values: dict[str, str], source: str) -> Any:
    """Replace every `${name}` in the document's strings (`$${name}` stays a literal `${name}`)."""
    return _substitute(doc, values, source, ())


def placeholder_names(doc: Any) -> set[str]:
    """The names of the unescaped `${name}` placeholders anywhere in a document."""
    if isinstance(doc, dict):
        return set().union(*(placeholder_names(v) for v in doc.values()))
    if isinstance(doc, list):
        return set().union(*(placeholder_names(v) for v in doc))
    if isinstance(doc, str):
        return {m.group(2) for m in _PLACEHOLDER.finditer(doc) if not m.group(1)}
    return set()


def find_unresolved(doc: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, str]]:
    """Yield (field, placeholder) for every known `${name}` left in a document.

    Other `${...}` text may be meant literally (an escaped `$${HOME}` renders to `${HOME}`).
    """
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from find_unresolved(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from find_unresolved(v, (*path, i))
    elif isinstance(doc, str):
        for m in _PLACEHOLDER.finditer(doc):
            if not m.group(1) and m.group(2) in PLACEHOLDER_NAMES:
                yield field_path(path), m.group(0)


def parse_env_pairs(pairs: list[str] | None) -> dict[str, str]:
    """`KEY=VALUE` strings from --container-env."""
    result: dict[str, str] = {}
    given = pairs or []
    for number, pair in enumerate(given, 1):
        key, sep, value = pair.partition("=")
        if not sep or not _ENV_NAME.match(key):
            # Nothing of it is shown: without `KEY=` the whole text may be the secret itself
            # (`--container-env "$TOKEN"`), and before a stray `=` (base64 padding) part of it.
            which = f" (the {_ordinal(number)} of {len(given)})" if len(given) > 1 else ""
            raise InputError(
                f"--container-env{which}: expected KEY=VALUE with KEY a variable name "
                "(letters, digits and _, not starting with a digit); what was given is not shown"
            )
        result[key] = value
    return result


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def container_names(taskdef: dict[str, Any]) -> list[str]:
    containers = taskdef.get("containerDefinitions")
    if not isinstance(containers, list):
        return []
    return [str(c.get("name")) for c in containers if isinstance(c, dict)]


def _container(taskdef: dict[str, Any], name: str, source: str, flag: str) -> tuple[int, dict[str, Any]]:
    containers = taskdef.get("containerDefinitions")
    if isinstance(containers, list):
        for i, c in enumerate(containers):
            if isinstance(c, dict) and c.get("name") == name:
                return i, c
    if not container_names(taskdef):
        raise InputError(f"{source}: containerDefinitions: at least one container is needed")
    names = ", ".join(container_names(taskdef))
    raise InputError(f"{source}: containerDefinitions: no container named {name!r} ({flag}); containers: {names}")


@dataclass(frozen=True)
class Rendered:
    """A rendered task definition, ready for register_task_definition(**taskdef)."""

    taskdef: dict[str, Any]
    source: str
    container: str
    image: str


def render(
    doc: Any,
    source: str,
    values: dict[str, str],
    *,
    container: str,
    image: str | None = None,
    container_env: dict[str, str] | None = None,
    container_flag: str = "--container",
) -> Rendered:
    """Resolve placeholders, set the service container's image and environment, drop read-only fields."""
    taskdef = strip_read_only(doc, source)
    if image is not None:
        check_image(image, "--image")
        # The image flag wins over whatever the file says, placeholder or literal.
        index, _ = _container(taskdef, container, source, container_flag)
        taskdef["containerDefinitions"][index] = {**taskdef["containerDefinitions"][index], "image": image}
    taskdef = _substitute(taskdef, values, source, ())
    index, main = _container(taskdef, container, source, container_flag)
    if container_env:
        env = main.get("environment", [])
        if not isinstance(env, list):
            raise InputError(f"{source}: containerDefinitions[{index}].environment: expected a list")
        merged = [e for e in env if not (isinstance(e, dict) and e.get("name") in container_env)]
        merged += [{"name": k, "value": v} for k, v in container_env.items()]
        taskdef["containerDefinitions"][index] = {**main, "environment": merged}
        main = taskdef["containerDefinitions"][index]
    validate(taskdef, source)
    return Rendered(taskdef=taskdef, source=source, container=container, image=str(main.get("image", "")))


def check_image(image: str, where: str) -> None:
    problem = image_problem(image)
    if problem:
        raise InputError(f"{where}: invalid image reference {image!r}: {problem}")


_SHAPE: Any = None


def register_shape() -> Any:
    """The input shape of ecs:RegisterTaskDefinition from botocore's bundled model."""
    global _SHAPE
    if _SHAPE is None:
        from botocore.loaders import create_loader
        from botocore.model import ServiceModel

        # The bundled model itself, not through a Session: a session reads the user's AWS config file,
        # and a garbage one must be reported once, by orchestrator.aws, not here as a traceback.
        model = ServiceModel(create_loader().load_service_model("ecs", "service-2"), "ecs")
        _SHAPE = model.operation_model("RegisterTaskDefinition").input_shape
    return _SHAPE


def _python_type(value: Any) -> str:
    if isinstance(value, str):
        return f"{json.dumps(value)}"
    return (
        type(value).__name__
        if not isinstance(value, dict | list)
        else ("object" if isinstance(value, dict) else "list")
    )


_TYPE_WORDS = {"str": "string", "int": "int", "bool": "boolean", "float": "number", "Decimal": "number"}
_TYPE_WORDS.update({"dict": "object", "list": "list", "tuple": "list"})


def _botocore_errors(taskdef: dict[str, Any], source: str) -> list[str]:
    from botocore.validate import ParamValidator

    errors = ParamValidator().validate(taskdef, register_shape())
    lines: list[str] = []
    for reason, name, extra in errors._errors:  # the structured list behind generate_report()
        where = name.lstrip(".") or "(top level)"
        if reason == "missing required field":
            field = f"{where}.{extra['required_name']}" if name else extra["required_name"]
            lines.append(f"{source}: {field}: required field missing")
        elif reason == "unknown field":
            field = f"{where}.{extra['unknown_param']}" if name else extra["unknown_param"]
            valid = ", ".join(extra["valid_names"])
            lines.append(f"{source}: {field}: unknown field; valid fields here: {valid}")
        elif reason == "invalid type":
            wanted = " or ".join(
                dict.fromkeys(_TYPE_WORDS.get(t.split("'")[1].rsplit(".", 1)[-1], t) for t in extra["valid_types"])
            )
            lines.append(f"{source}: {where}: expected {wanted}, got {_python_type(extra['param'])}")
        elif reason in ("invalid length", "invalid range"):
            lines.append(f"{source}: {where}: below the minimum {extra['min_allowed']} (got {extra['param']!r})")
        else:
            lines.append(f"{source}: {where}: {reason}")
    return lines


def _enum_errors(value: Any, shape: Any, source: str, path: tuple[str | int, ...]) -> Iterator[str]:
    """botocore leaves enum values to the server; check them here so that AWS would accept them too."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for k, v in value.items():
            if k in shape.members:
                yield from _enum_errors(v, shape.members[k], source, (*path, k))
    elif kind == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            yield from _enum_errors(v, shape.member, source, (*path, i))
    elif kind == "map" and isinstance(value, dict):
        for k, v in value.items():
            yield from _enum_errors(v, shape.value, source, (*path, k))
    elif kind == "string" and isinstance(value, str) and getattr(shape, "enum", None) and value not in shape.enum:
        yield f"{source}: {field_path(path)}: {value!r} is not one of {', '.join(shape.enum)}"


# ECS refuses a task definition over 64 KiB ("Task definition max size", 64 KiB, not adjustable:
# Amazon ECS service quotas, Amazon ECS Developer Guide). Measured as the request's compact JSON.
MAX_TASKDEF_BYTES = 64 * 1024


def size_problem(taskdef: dict[str, Any], source: str) -> str | None:
    size = len(json.dumps(taskdef, separators=(",", ":")).encode())
    if size > MAX_TASKDEF_BYTES:
        return (
            f"{source}: the rendered task definition is {size / 1024:.1f} KiB; ECS accepts at most 64 KiB "
            "(move large values out: secrets/valueFrom, environmentFiles, or split the containers)"
        )
    return None


def problems(taskdef: dict[str, Any], source: str) -> list[str]:
    """Every problem found, one line each: the size, botocore's model (fields, types, enums), then the
    rules ECS enforces server side (orchestrator.ecs_rules). Each check reads only the values of the
    type it expects, so one wrong value does not hide another problem."""
    found = [p for p in (size_problem(taskdef, source),) if p]
    found += _botocore_errors(taskdef, source)
    found += _enum_errors(taskdef, register_shape(), source, ())
    found += ecs_problems(taskdef, source)
    # One line per field: a later rule about a field already refused is a consequence, not news
    # (networkMode 'awsvp' is not an enum value, so of course it is not FARGATE's 'awsvpc').
    by_field: dict[str, str] = {}
    for line in found:
        by_field.setdefault(line.removeprefix(f"{source}: ").split(": ", 1)[0], line)
    return list(by_field.values())


def validate(taskdef: dict[str, Any], source: str) -> None:
    """Raise InputProblems listing every problem (one line each) when there is any."""
    found = problems(taskdef, source)
    if found:
        raise InputProblems(found)


def load_and_render(
    path: Path,
    outputs: Outputs,
    service: ServiceOutputs,
    *,
    image: str | None = None,
    container: str | None = None,
    container_env: dict[str, str] | None = None,
) -> Rendered:
    """The whole render step of `orchestrator render` and `release`."""
    doc = load_json(path, "task definition file")
    return render(
        doc,
        str(path),
        placeholder_values(outputs, service, image),
        container=container or service.container_name,
        image=image,
        container_env=container_env,
        container_flag="--container" if container else "container_name from the outputs; override with --container",
    )


def load_prerendered(path: Path) -> Rendered:
    """`deploy FILE`: a task definition rendered earlier (by `render -o`); registered exactly as it is."""
    doc = load_json(path, "task definition file")
    taskdef = strip_read_only(doc, str(path))
    for where, ph in find_unresolved(taskdef):
        raise InputError(f"{path}: {where}: unresolved placeholder {ph}", hint="render it with `orchestrator render`")
    validate(taskdef, str(path))
    refuse_redacted(taskdef, str(path))
    return Rendered(taskdef=taskdef, source=str(path), container="", image="")


# --- environment values: never printed unless asked -------------------------------------------------

REDACTED = "***"
_MASK_KEY: bytes | None = None


def redacted(name: str, value: str) -> str:
    """`***` and 6 hex digits of an HMAC of name=value under a key drawn at random once per run.

    Within a run equal values mask alike and a changed value shows in a diff (the dry run's), yet the
    mask reveals nothing about the value: an unkeyed hash of a 6-digit PIN was found by trying all
    10^6 of them in a second, and without the key (never shown, gone when the process ends) there is
    nothing to try them against. Across runs the masks of one value differ."""
    import hmac
    import secrets

    global _MASK_KEY
    if _MASK_KEY is None:
        _MASK_KEY = secrets.token_bytes(32)
    return REDACTED + hmac.new(_MASK_KEY, f"{name}={value}".encode(), hashlib.sha256).hexdigest()[:6]


def _environments(taskdef: Any) -> Iterator[dict[str, Any]]:
    containers = taskdef.get("containerDefinitions") if isinstance(taskdef, dict) else None
    for c in containers if isinstance(containers, list) else []:
        env = c.get("environment") if isinstance(c, dict) else None
        for entry in env if isinstance(env, list) else []:
            if isinstance(entry, dict) and "value" in entry:
                yield entry


# A value `redacted()` wrote (or a bare `***`, GitHub's mask): never the value the user meant to ship.
_REDACTED_VALUE = re.compile(r"^\*\*\*[0-9a-f]{0,64}$")
# Words in a variable's name that say its value is secret (the GitHub reporter masks those values).
_SECRET_WORDS = ("secret", "token", "password", "passwd", "credential", "private")
_SECRET_PARTS = ("key", "pin", "pwd", "pass")


def is_redacted(value: object) -> bool:
    return isinstance(value, str) and _REDACTED_VALUE.match(value) is not None


def refuse_redacted(taskdef: Any, source: str) -> None:
    """InputError for the first container environment value that is a redaction marker (a task
    definition copied from `render`'s stdout), with how to render one with the real values."""
    for i, c in enumerate(taskdef.get("containerDefinitions") or []):
        for entry in (c.get("environment") or []) if isinstance(c, dict) else []:
            if isinstance(entry, dict) and is_redacted(entry.get("value")):
                raise InputError(
                    f"{source}: containerDefinitions[{i}].environment {entry.get('name')}: the value "
                    f"{entry['value']} is redacted, not the value to deploy",
                    hint="write the file with `orchestrator render --out-file FILE` (render's stdout is redacted)",
                )


def secret_name(name: str) -> bool:
    """Whether a variable's name says it holds a secret (API_KEY, DB_PASSWORD, GITHUB_TOKEN, PIN, ...)."""
    low = name.lower()
    parts = [p for p in re.split(r"[^a-z0-9]+", low) if p]
    return any(w in low for w in _SECRET_WORDS) or any(p in _SECRET_PARTS or p.endswith("key") for p in parts)


def secret_values(taskdef: Any, given: Iterable[str] = ()) -> list[str]:
    """What a CI log must mask: environment values whose name is in `given` (--container-env) or says
    it is secret, and every `secrets` entry's valueFrom. Harmless values (PORT=8080) stay readable."""
    names = set(given)
    values = [
        str(e["value"])
        for e in _environments(taskdef)
        if str(e.get("name", "")) in names or secret_name(str(e.get("name", "")))
    ]
    containers = taskdef.get("containerDefinitions") if isinstance(taskdef, dict) else None
    for c in containers if isinstance(containers, list) else []:
        for entry in (c.get("secrets") or []) if isinstance(c, dict) else []:
            if isinstance(entry, dict) and entry.get("valueFrom"):
                values.append(str(entry["valueFrom"]))
    return [v for v in values if v not in ("", "None")]


def environment_values(taskdef: Any) -> list[str]:
    """Every container environment value (what CI log masking must hide)."""
    return [str(e["value"]) for e in _environments(taskdef) if e.get("value") not in (None, "")]


def redact_environment(taskdef: Any) -> Any:
    """A copy of `taskdef` with each container environment value replaced by `redacted()`.
    `secrets` (valueFrom: ARNs) and `environmentFiles` (S3 ARNs) stay as they are."""
    import copy

    doc = copy.deepcopy(taskdef)
    for entry in _environments(doc):
        entry["value"] = redacted(str(entry.get("name", "")), str(entry["value"]))
    return doc


def image_of(taskdef: dict[str, Any], container: str) -> str:
    for c in taskdef.get("containerDefinitions", []):
        if c.get("name") == container:
            return str(c.get("image", ""))
    return ""

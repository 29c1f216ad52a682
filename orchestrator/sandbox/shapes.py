"""Does a response the sandbox sends match botocore's output shape? (keys, types, enums, no extra keys)

Off by default; the test suite turns it on (`SHAPES.enabled = True`) and fails when anything was
recorded. JSON-protocol services only (CodeDeploy: our engine; ECS: moto plus our task sets). A null
value counts as absent (botocore drops it, as a client would never see it).

ALLOWED lists deviations of moto's that we knowingly leave, each with the reason.
"""

from __future__ import annotations

import json
import threading
from typing import Any

CHECKED_SERVICES = ("codedeploy", "ecs")

# (service, action, path) -> why the deviation is left as moto has it. `*` in a path: any list index.
ALLOWED: dict[tuple[str, str, str], str] = {}


class ShapeChecker:
    def __init__(self) -> None:
        self.enabled = False
        self._lock = threading.Lock()
        self._violations: dict[str, int] = {}
        self._models: dict[str, Any] = {}

    def violations(self) -> list[str]:
        with self._lock:
            return sorted(self._violations)

    def clear(self) -> None:
        with self._lock:
            self._violations.clear()

    def check(self, service: str, action: str, protocol: str, status: str, body: bytes) -> None:
        if not self.enabled or protocol != "json" or service not in CHECKED_SERVICES or not status.startswith("2"):
            return
        try:
            shape = self._operation(service, action)
        except Exception:
            self._record(f"{service}:{action}: not an operation of botocore's model")
            return
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            self._record(f"{service}:{action}: the body is not JSON")
            return
        problems: list[str] = []
        if shape is not None:
            _walk(doc, shape, "", problems)
        elif doc:
            problems.append(": a body where the model has no output")
        for problem in problems:
            path, _, what = problem.partition(": ")
            generic = _generic(path)
            if (service, action, generic) in ALLOWED:
                continue
            self._record(f"{service}:{action} {generic or '/'}: {what}")

    def _record(self, text: str) -> None:
        with self._lock:
            self._violations[text] = self._violations.get(text, 0) + 1

    def _operation(self, service: str, action: str) -> Any:
        if service not in self._models:
            import botocore.session

            self._models[service] = botocore.session.get_session().get_service_model(service)
        return self._models[service].operation_model(action).output_shape


def _generic(path: str) -> str:
    import re

    return re.sub(r"\[\d+\]", "[*]", path)


def _walk(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    if value is None:
        return
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: {type(value).__name__} where the model has a structure")
            return
        members = shape.members
        for key, item in value.items():
            if key not in members:
                problems.append(f"{path}.{key}: a key the model does not have")
            else:
                _walk(item, members[key], f"{path}.{key}", problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: {type(value).__name__} where the model has a list")
            return
        for index, item in enumerate(value):
            _walk(item, shape.member, f"{path}[{index}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: {type(value).__name__} where the model has a map")
            return
        for key, item in value.items():
            _walk(item, shape.value, f"{path}{{{key}}}", problems)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: {type(value).__name__} where the model has a string")
        elif shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of the model's values")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: {type(value).__name__} where the model has an {kind}")
    elif kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{path}: {type(value).__name__} where the model has a {kind}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: {type(value).__name__} where the model has a boolean")
    elif kind == "timestamp" and (isinstance(value, bool) or not isinstance(value, int | float | str)):
        problems.append(f"{path}: {type(value).__name__} where the model has a timestamp")


SHAPES = ShapeChecker()

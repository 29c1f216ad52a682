"""Does a response the sandbox sends match botocore's output shape? (keys, types, enums, no extra keys)

Off by default; the test suite turns it on (`SHAPES.enabled = True`) and fails when anything was
recorded. CodeDeploy (our engine) and ECS (moto plus our task sets) over JSON; ELBv2 over the query
protocol's XML. A null value counts as absent (botocore drops it, as a client would never see it).

ALLOWED lists deviations of moto's that we knowingly leave, each with the reason.
"""

from __future__ import annotations

import json
import threading
from typing import Any

# SigV4 signing name -> botocore service name (elasticloadbalancing: the orchestrator only uses v2).
CHECKED_SERVICES = {"codedeploy": "codedeploy", "ecs": "ecs", "elasticloadbalancing": "elbv2"}

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
        if not self.enabled or service not in CHECKED_SERVICES or not status.startswith("2"):
            return
        if protocol not in ("json", "query"):
            return
        try:
            shape = self._operation(CHECKED_SERVICES[service], action)
        except Exception:
            self._record(f"{service}:{action}: not an operation of botocore's model")
            return
        problems: list[str] = []
        if protocol == "json":
            try:
                doc = json.loads(body or b"{}")
            except ValueError:
                self._record(f"{service}:{action}: the body is not JSON")
                return
            if shape is not None:
                _walk(doc, shape, "", problems)
            elif doc:
                problems.append(": a body where the model has no output")
        else:
            _walk_query(body, action, shape, problems)
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


# ---- query protocol (XML) ---------------------------------------------------------------------------
def _walk_query(body: bytes, action: str, shape: Any, problems: list[str]) -> None:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        problems.append(": the body is not XML")
        return
    if _tag(root) != f"{action}Response":
        problems.append(f": root element {_tag(root)}, expected {action}Response")
        return
    result = next((child for child in root if _tag(child) == f"{action}Result"), None)
    if shape is None or result is None:
        return
    _walk_xml(result, shape, "", problems)


def _tag(element: Any) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


def _walk_xml(element: Any, shape: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        names = {member.serialization.get("name", key): (key, member) for key, member in shape.members.items()}
        for child in element:
            found = names.get(_tag(child))
            if found is None:
                problems.append(f"{path}.{_tag(child)}: a key the model does not have")
                continue
            key, member = found
            if member.type_name == "list" and member.serialization.get("flattened"):
                _walk_xml(child, member.member, f"{path}.{key}[*]", problems)
            else:
                _walk_xml(child, member, f"{path}.{key}", problems)
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        for index, child in enumerate(element):
            if _tag(child) != item_name:
                problems.append(f"{path}[{index}]: element {_tag(child)}, expected {item_name}")
                continue
            _walk_xml(child, shape.member, f"{path}[{index}]", problems)
    elif kind == "map":
        for entry in element:
            value = next((c for c in entry if _tag(c) == shape.value.serialization.get("name", "value")), None)
            if value is not None:
                _walk_xml(value, shape.value, f"{path}{{}}", problems)
    else:
        text = element.text or ""
        if len(element):
            problems.append(f"{path}: child elements where the model has a {kind}")
        elif kind == "string" and shape.enum and text not in shape.enum:
            problems.append(f"{path}: {text!r} is not one of the model's values")
        elif kind in ("integer", "long") and not text.lstrip("-").isdigit():
            problems.append(f"{path}: {text!r} where the model has an {kind}")
        elif kind == "boolean" and text not in ("true", "false"):
            problems.append(f"{path}: {text!r} where the model has a boolean")
        elif kind in ("double", "float"):
            try:
                float(text)
            except ValueError:
                problems.append(f"{path}: {text!r} where the model has a {kind}")

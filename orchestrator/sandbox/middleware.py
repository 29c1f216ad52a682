"""WSGI layer around moto's app: the /_sandbox/ control endpoint, request accounting and per-call faults.

See docs/sandbox-control.md for the endpoint. AWS calls are counted per service (the SigV4 signing name
from the Authorization header's credential scope, e.g. `ecs`, `codedeploy`, `elasticloadbalancing`) and
action (X-Amz-Target's operation, or the query protocol's Action parameter).
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from orchestrator.sandbox.consistency import serving
from orchestrator.sandbox.engine import ENGINE, LOCK
from orchestrator.sandbox.faults import FAULTS, REQUESTS, FaultError
from orchestrator.sandbox.history import HistoryError
from orchestrator.sandbox.hooks import HookRuleError
from orchestrator.sandbox.shapes import SHAPES
from orchestrator.sandbox.tasks import TaskFaultError

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
CONTROL_PREFIX = "/_sandbox"


def classify(environ: dict[str, Any], body: bytes) -> tuple[str, str, str]:
    """(service, action, protocol) of an AWS request; protocol is json, query or rest."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _SCOPE.search(auth)
    service = match.group(1) if match else ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        action = target.rsplit(".", 1)[-1]
        protocol = "json"
        service = service or target.split(".", 1)[0].split("_", 1)[0].lower()
    else:
        params = parse_qs(environ.get("QUERY_STRING", ""))
        content_type = environ.get("CONTENT_TYPE", "")
        if "x-www-form-urlencoded" in content_type:
            params.update(parse_qs(body.decode("utf-8", "replace")))
        if "Action" in params:
            action, protocol = params["Action"][0], "query"
        else:
            action, protocol = f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}", "rest"
    if not service:
        host = environ.get("HTTP_HOST", "")
        service = host.split(".", 1)[0] if ".amazonaws.com" in host else "unknown"
    return service, action, protocol


def _fault_response(service: str, protocol: str, kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    throttled = kind == "throttle"
    if protocol == "query":
        if service == "ec2":
            code, status = ("RequestLimitExceeded", "503") if throttled else ("InternalError", "500")
            message = "Request limit exceeded." if throttled else "An internal error has occurred"
            xml = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>"
            )
        else:
            code, status = ("Throttling", "400") if throttled else ("InternalFailure", "500")
            message = "Rate exceeded" if throttled else "We encountered an internal error. Please try again."
            kind_xml = "Sender" if throttled else "Receiver"
            xml = (
                f"<ErrorResponse><Error><Type>{kind_xml}</Type><Code>{code}</Code><Message>{message}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
        return status, headers, xml.encode()
    code = "ThrottlingException" if throttled else "InternalFailure"
    message = "Rate exceeded" if throttled else "We encountered an internal error. Please try again."
    if protocol == "json":
        status = "400" if throttled else "500"
        content_type = "application/x-amz-json-1.1"
    else:
        status = "429" if throttled else "500"
        content_type = "application/json"
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = [("Content-Type", content_type), ("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", code)]
    return status, headers, body


_REASONS = {
    "200": "OK",
    "400": "Bad Request",
    "404": "Not Found",
    "405": "Method Not Allowed",
    "429": "Too Many Requests",
    "500": "Internal Server Error",
    "503": "Service Unavailable",
}


def deployment_groups() -> list[str]:
    """The names of every CodeDeploy deployment group in the sandbox (all accounts and regions), sorted."""
    from moto.codedeploy.models import codedeploy_backends

    with LOCK:
        return sorted(
            {
                name
                for _, _, backend in codedeploy_backends.iter_backends()
                for groups in backend.deployment_groups.values()  # type: ignore[attr-defined]
                for name in groups
            }
        )


class SandboxMiddleware:
    def __init__(self, app: WsgiApp, reset: Callable[[], None]) -> None:
        self.app = app
        self.reset = reset

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self.control(environ, start_response)
        if path.startswith("/moto-api"):
            with LOCK:
                out = list(self.app(environ, start_response))
                if path.rstrip("/") == "/moto-api/reset":
                    ENGINE.reset()
            return out
        body = self._read_body(environ)
        service, action, protocol = classify(environ, body)
        REQUESTS.add(service, action)
        latency_ms, outcome = FAULTS.call_fault()
        if latency_ms:
            time.sleep(latency_ms / 1000)
        if outcome is not None:
            status, headers, payload = _fault_response(service, protocol, outcome)
            headers.append(("Content-Length", str(len(payload))))
            start_response(f"{status} {_REASONS.get(status, '')}", headers)
            return [payload]
        captured: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured.append((status, headers))
            return lambda data: None

        with LOCK, serving(action):
            out = list(self.app(environ, capture))
        status, headers = captured[-1]
        SHAPES.check(service, action, protocol, status, b"".join(out))
        if status.startswith("2") and FAULTS.error_after(action):
            # Processed (a write is committed), yet the caller sees HTTP 500.
            code, fault_headers, payload = _fault_response(service, protocol, "error")
            fault_headers.append(("Content-Length", str(len(payload))))
            start_response(f"{code} {_REASONS.get(code, '')}", fault_headers)
            return [payload]
        start_response(status, headers)
        return out

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        """Read the body for classification and put it back for moto (only when its length is known)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        stream = environ.get("wsgi.input")
        if stream is None or length <= 0:
            return b""
        body: bytes = stream.read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return body

    # ---- the control endpoint ----------------------------------------------------------------
    def control(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "").rstrip("/")
        try:
            payload = self._json_body(environ)
            status, result = self._route(method, path, payload, environ.get("QUERY_STRING", ""))
        except (FaultError, HookRuleError, TaskFaultError, HistoryError) as exc:
            status, result = "400", {"error": str(exc)}
        except ValueError as exc:
            status, result = "400", {"error": f"bad request: {exc}"}
        body = json.dumps(result, indent=None, sort_keys=True).encode()
        start_response(
            f"{status} {_REASONS.get(status, '')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _json_body(self, environ: dict[str, Any]) -> dict[str, Any]:
        raw = self._read_body(environ)
        if not raw.strip():
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

    @staticmethod
    def _group(payload: dict[str, Any]) -> str | None:
        """The body's "group" (taken out of it): a deployment group that exists, or FaultError."""
        group = payload.pop("group", None)
        if group is None:
            return None
        known = deployment_groups()
        if not isinstance(group, str) or group not in known:
            raise FaultError(f"no deployment group {group!r} in the sandbox; groups: {', '.join(known) or 'none'}")
        return group

    def _route(self, method: str, path: str, payload: dict[str, Any], query: str = "") -> tuple[str, Any]:
        import moto

        route = path[len(CONTROL_PREFIX) :] or "/"
        if route == "/health" and method == "GET":
            with LOCK:
                engine = ENGINE.status()
            return "200", {"status": "ok", "moto": moto.__version__, **engine}
        if route == "/faults":
            group = self._group(payload)
            if method == "GET":
                return "200", FAULTS.get()
            if method in ("POST", "PUT"):
                return "200", FAULTS.update(payload, group=group)
            if method == "DELETE":
                if group is not None:  # only that group's per-deployment faults and hook rules
                    from orchestrator.sandbox.hooks import RULES

                    RULES.clear(group)
                    return "200", FAULTS.clear(group)
                from orchestrator.sandbox.hooks import RULES
                from orchestrator.sandbox.tasks import TASK_FAULTS

                RULES.clear()  # "remove every fault" includes the hook rules
                TASK_FAULTS.clear()  # and the task faults
                return "200", FAULTS.clear()
        if route == "/groups" and method == "GET":
            return "200", {"groups": deployment_groups()}
        if route == "/hooks":
            from orchestrator.sandbox.hooks import control as hook_control

            return hook_control(method, payload, self._group(payload))
        if route == "/tasks":
            from orchestrator.sandbox.tasks import control as task_control

            return task_control(method, payload)
        if route.startswith("/ecs/"):
            from orchestrator.sandbox.ecs_deployments.control import control as ecs_control

            return ecs_control(method, route, payload)
        if route == "/history":
            from orchestrator.sandbox.history import control as history_control

            with LOCK:
                return history_control(method, payload)
        if route == "/requests" and method == "GET":
            return "200", REQUESTS.snapshot()
        if route == "/requests/window" and method == "GET":
            params = parse_qs(query)
            bounds = {k: float(params[k][0]) if k in params else None for k in ("since", "until")}
            return "200", REQUESTS.window(**bounds)
        if route == "/requests/reset" and method == "POST":
            return "200", {"since": REQUESTS.reset()}
        if route == "/reset" and method == "POST":
            self.reset()
            return "200", {"status": "reset"}
        if route == "/config":
            if method == "POST" and "time_scale" in payload:
                scale = float(payload["time_scale"])
                if scale <= 0:
                    raise ValueError("time_scale must be positive")
                with LOCK:
                    ENGINE.time_scale = scale
            if method in ("GET", "POST"):
                return "200", {"time_scale": ENGINE.time_scale}
        return "404", {"error": f"no such control endpoint: {method} {path}"}

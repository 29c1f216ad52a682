"""Run moto's server on 127.0.0.1 with the blue/green engine and the control endpoint installed.

In-process:   server = SandboxServer(port=0, time_scale=0.01); server.start(); ... server.stop()
Foreground:   python -m orchestrator.sandbox.launcher --port 4566 --time-scale 0.05   (until SIGTERM)
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

from orchestrator.sandbox.clock import default_time_scale
from orchestrator.sandbox.engine import ENGINE, LOCK


def _server_class() -> Any:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from orchestrator.sandbox.middleware import SandboxMiddleware

    class _Server(ThreadedMotoServer):
        """ThreadedMotoServer whose WSGI app is wrapped in our middleware."""

        reset_hook: Any = None

        def _server_entry(self) -> None:
            app = SandboxMiddleware(DomainDispatcherApplication(create_backend_app), reset=self.reset_hook)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return _Server


class SandboxServer:
    """moto server + engine on host:port (port 0 picks a free port)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, time_scale: float | None = None, verbose: bool = False
    ) -> None:
        self.host = host
        self.verbose = verbose
        self._requested_port = port
        self.time_scale = time_scale if time_scale is not None else default_time_scale()
        self._server: Any = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        from orchestrator.sandbox import consistency, ecs_deployments, moto_ext, service_tasks, tasks

        moto_ext.install(ENGINE)
        tasks.install()  # RunTask/StopTask and task logs (tasks.py)
        service_tasks.install()  # services' tasks: ListTasks by service, their target health
        consistency.install()  # the list_lag fault: reads that lag behind writes
        ecs_deployments.install(ENGINE)  # ECS's own service deployments (ecs_deployments/)
        # werkzeug logs every request on stderr; only --verbose wants that.
        logging.getLogger("werkzeug").setLevel(logging.INFO if self.verbose else logging.WARNING)
        ENGINE.time_scale = self.time_scale
        ENGINE.start()
        server = _server_class()(ip_address=self.host, port=self._requested_port, verbose=False)
        server.reset_hook = self.reset
        server.start()
        self._server = server
        self.port = int(server.get_host_and_port()[1])
        from orchestrator.sandbox.hooks import set_endpoint

        set_endpoint(self.endpoint)  # hook functions' AWS calls come back here
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
            ENGINE.shutdown()

    def reset(self) -> None:
        """Forget everything: moto's resources, the engine's deployments, faults and request counts."""
        from moto.moto_api._internal.models import moto_api_backend

        from orchestrator.sandbox.faults import FAULTS, REQUESTS

        with LOCK:
            moto_api_backend.reset()
            ENGINE.reset()
        FAULTS.clear()
        REQUESTS.reset()
        from orchestrator.sandbox.hooks import EXECUTIONS, RULES

        RULES.clear()
        EXECUTIONS.clear()
        from orchestrator.sandbox.tasks import TASK_FAULTS

        TASK_FAULTS.clear()
        from orchestrator.sandbox import ecs_deployments

        ecs_deployments.reset()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.sandbox.launcher", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--time-scale", type=float, default=None, help="wall seconds per simulated second")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.time_scale is not None and args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    server = SandboxServer(args.host, args.port, args.time_scale, verbose=args.verbose).start()
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(f"sandbox listening on {server.endpoint} (time scale {server.time_scale:g})", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

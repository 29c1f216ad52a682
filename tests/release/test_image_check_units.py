"""The image check and the CI masking rules, without the sandbox: references, a registry's Bearer
challenge (the registry token protocol), and which values the GitHub reporter masks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from orchestrator.errors import ExitCode, InputError
from orchestrator.imagecheck import check_reference, images_of, verify_images
from orchestrator.taskdef import is_redacted, redacted, refuse_redacted, secret_name, secret_values


@pytest.mark.parametrize(
    "image", ["repo/web", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo/web", "localhost:5000/x"]
)
def test_an_image_without_tag_or_digest_is_refused(image: str) -> None:
    with pytest.raises(InputError) as err:
        check_reference(image, "taskdef.json")
    assert err.value.exit_code == ExitCode.BAD_INPUT and "no tag or digest" in err.value.message


@pytest.mark.parametrize("image", ["repo/web:latest", "repo/web@sha256:" + "a" * 64, "localhost:5000/x:1"])
def test_latest_named_explicitly_or_a_digest_is_accepted(image: str) -> None:
    assert check_reference(image, "taskdef.json")


def test_images_of_names_each_container_image_once() -> None:
    td = {"containerDefinitions": [{"image": "a:1"}, {"image": "b:2"}, {"image": "a:1"}, {"name": "x"}]}
    assert images_of(td) == ["a:1", "b:2"]


class _TokenRegistry(BaseHTTPRequestHandler):
    """A registry that answers a Bearer challenge, and the token endpoint it names."""

    asked: ClassVar[list[str]] = []

    def do_HEAD(self) -> None:
        if self.headers.get("Authorization") != "Bearer t0k":
            self.send_response(401)
            realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
            self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="reg.test"')
            self.end_headers()
            return
        self.send_response(200 if self.path == "/v2/demo/web/manifests/v1" else 404)
        self.end_headers()

    def do_GET(self) -> None:
        self.asked.append(self.path)
        body = json.dumps({"token": "t0k"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def token_registry() -> Iterator[tuple[str, list[str]]]:
    handler = type("Reg", (_TokenRegistry,), {"asked": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", handler.asked
    finally:
        server.shutdown()
        server.server_close()


def test_a_bearer_challenge_is_followed_for_a_pull_token(token_registry: Any) -> None:
    host, asked = token_registry
    warnings: list[str] = []
    verdicts = verify_images(None, [f"{host}/demo/web:v1"], "t.json", warnings.append)  # type: ignore[arg-type]
    assert [v.present for v in verdicts] == [True] and warnings == []
    assert asked == ["/token?service=reg.test&scope=repository%3Ademo%2Fweb%3Apull"]
    with pytest.raises(InputError, match="has no manifest v2 for demo/web"):
        verify_images(None, [f"{host}/demo/web:v2"], "t.json", warnings.append)  # type: ignore[arg-type]


def test_only_what_is_secret_is_masked() -> None:
    td = {
        "containerDefinitions": [
            {
                "environment": [
                    {"name": "PORT", "value": "8080"},
                    {"name": "DEBUG", "value": "true"},
                    {"name": "GREETING", "value": "hello"},
                    {"name": "DB_PASSWORD", "value": "pw"},
                    {"name": "API_KEY", "value": "k"},
                    {"name": "GITHUB_TOKEN", "value": "t"},
                    {"name": "CARD_PIN", "value": "1234"},
                    {"name": "clientSecret", "value": "s"},
                ],
                "secrets": [{"name": "DB_URL", "valueFrom": "arn:aws:ssm:eu-west-1:1:parameter/db"}],
            }
        ]
    }
    masked = secret_values(td)
    assert set(masked) == {"pw", "k", "t", "1234", "s", "arn:aws:ssm:eu-west-1:1:parameter/db"}
    assert set(secret_values(td, ["GREETING"])) == {*masked, "hello"}  # given with --container-env
    assert not secret_name("PORT") and not secret_name("SPINNER_STYLE") and secret_name("AWS_ACCESS_KEY_ID")


def test_a_redacted_value_is_refused_with_how_to_render_a_real_one() -> None:
    assert is_redacted(redacted("PORT", "8080")) and is_redacted("***") and not is_redacted("**x")
    td = {"containerDefinitions": [{"environment": [{"name": "PORT", "value": redacted("PORT", "8080")}]}]}
    with pytest.raises(InputError) as err:
        refuse_redacted(td, "td.json")
    assert err.value.message.startswith("td.json: containerDefinitions[0].environment PORT: the value ***")
    assert "render --out-file" in (err.value.hint or "")

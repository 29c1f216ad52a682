"""The smoke-test hook's Lambda package (modules/smoke-test-hook): one deterministic zip of its handler.

The Terraform module uploads the committed handler.zip; the sandbox creates the same function from the
same handler.py. Deterministic (fixed timestamps and mode) so the committed zip can be checked against
the source: `python -m orchestrator.smoke_hook` rewrites it.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

MODULE_DIR = Path("modules") / "smoke-test-hook"
HANDLER = MODULE_DIR / "src" / "handler.py"
PACKAGE = MODULE_DIR / "handler.zip"
HANDLER_NAME = "handler.handler"
RUNTIME = "python3.12"


def package(handler_source: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("handler.py", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, handler_source)
    return buffer.getvalue()


def main(root: Path) -> int:
    (root / PACKAGE).write_bytes(package((root / HANDLER).read_bytes()))
    print(f"wrote {root / PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()))

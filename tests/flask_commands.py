"""`python -m tests.flask_commands '<json list of argument lists>'`: several `flask --app wsgi`
commands, one after another, in one process, stopping at the first that fails.

Each command line is the documented CLI (flask's own command group, the same arguments); only the
import of the app is shared, which costs a test server three seconds per command otherwise.
Each command's output is printed after a line `--- <command>`."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import FlaskGroup


def main(commands: list[list[str]]) -> int:
    group = FlaskGroup(name="flask")
    for args in commands:
        print(f"--- {' '.join(args[:2])}", flush=True)
        try:
            # standalone_mode=False: click returns ctx.exit()'s code instead of leaving the process
            code = group.main(["--app", "wsgi", *args], prog_name="flask", standalone_mode=False)
        except SystemExit as stopped:
            code = stopped.code
        except click.ClickException as failed:  # usage errors and the commands' own refusals
            failed.show()
            return failed.exit_code
        if isinstance(code, int) and code:
            return code
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))

"""Starts Ralph's own `ralph runserver` (run with Ralph's venv: .venv-ralph/bin/python ralph_server.py runserver ...).

Ralph 5.1.0's file-system LRS backend writes every POST with the "create" operation, which
refuses to write to its statements file once it exists: every batch after the first gets a
500. Appending is what a file LRS must do, so this launcher sets the backend's default
operation to "append" and then runs Ralph's CLI unchanged. It sits at module level because
uvicorn's reloader starts the server in a spawned process that imports this file again.
"""

import sys

from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

if __name__ == "__main__":
    from ralph.cli import cli

    sys.exit(cli())

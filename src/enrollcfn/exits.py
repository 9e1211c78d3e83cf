"""The exit codes of the command line, in one place (cli.py maps errors to them; commands that
report a state rather than fail return one)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1  # bad input or a failed AWS call, one line on stderr
EXIT_PENDING = 2  # plan: changes pending; drift: something drifted; a result, not a failure
EXIT_DEGRADED = 3  # status: the stack answers but something is unhealthy
EXIT_USAGE = 64  # argparse refused the command line (EX_USAGE)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)

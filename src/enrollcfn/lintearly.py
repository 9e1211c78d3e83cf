"""Load cfn-lint in a forked process while the caller compiles.

Importing cfn-lint and loading its rules takes about 0.9 s of CPU, compiling the templates and
checking the config about as long, and neither needs the other. `start(rc_file)`, called before
the config is read, forks a process that loads the rules on another core; the next `lint` hands
it the templates that missed the cache (it lints them, in its own forked workers, and answers
through a pipe) or, when everything was cached, kills it. Only where this process may use more
than one CPU, and only while one of them is idle: otherwise the loading only takes turns with
the compile, and is wasted when everything was cached.

Any failure of the early process (it died, the pipe broke) is not an error: `lint` then lints in
this process as it would have without it. Nothing here imports cfn-lint in the caller.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import traceback
from pathlib import Path
from typing import Mapping

def start(rc_file: Path | None) -> None:
    """Begin loading cfn-lint's rules for this `.cfnlintrc` in a forked process (see module doc)
    and hand it to the next `lint.lint`."""
    from enrollcfn import lint

    # A fork copies only the calling thread: with others running, a lock one of them holds (the
    # import lock, logging's) would never be released in the child.
    if lint.helper_waiting() or lint.loaded() or lint.allowed_cpus() < 2 or not hasattr(os, "fork") or threading.active_count() > 1:
        return
    # Measured on a shared 2-core machine under a load of about 3, loading early took a warm
    # build from 0.95 s to 1.57 s and gained nothing cold; with a core idle it took 0.8 s off cold.
    if lint.free_cpus() < 1:
        return
    lint.hand_off(_Early.fork(rc_file))


class _Early:
    """The forked process: its id and our ends of the two pipes."""

    def __init__(self, pid: int, send: int, receive: int, rc_file: Path | None):
        self.pid, self.send, self.receive, self.rc_file = pid, send, receive, rc_file

    @classmethod
    def fork(cls, rc_file: Path | None) -> "_Early":
        """Fork the process, connected by a request pipe and a reply pipe."""
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(request_w)
            os.close(reply_r)
            _serve(request_r, reply_w, rc_file)  # never returns
        os.close(request_r)
        os.close(reply_w)
        return cls(pid, request_w, reply_r, rc_file)

    def stop(self) -> None:
        """Kill the process: everything was cached."""
        self.close(kill=True)

    def lint(self, templates: Mapping[str, str], names: list[str], regions: list[str], rc_file: Path | None) -> dict | None:
        """The process's findings for `names`, or None when it loaded another `.cfnlintrc` or
        failed (the caller then lints in its own process)."""
        if self.rc_file != rc_file:
            self.close(kill=True)
            return None
        try:
            send, self.send = self.send, -1  # the file object owns the descriptor from here on
            with os.fdopen(send, "wb") as f:
                pickle.dump((dict(templates), list(names), list(regions)), f)
            receive, self.receive = self.receive, -1
            with os.fdopen(receive, "rb") as f:
                ok, value = pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError):
            ok, value = False, None
        self.close(kill=not ok)
        return value if ok else None

    def close(self, kill: bool) -> None:
        """Close our pipe ends and reap the process; `kill`: with its workers (its own group)."""
        if kill:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for fd in (self.send, self.receive):
            if fd >= 0:
                os.close(fd)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _serve(request: int, reply: int, rc_file: Path | None) -> None:
    """In the forked process: load the rules, lint what is asked, answer, exit without cleanup
    (os._exit: the parent's buffered output and exit handlers are not ours to run)."""
    code = 0
    try:
        os.setpgid(0, 0)  # our own group, so the parent can kill us with any workers we forked
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; it ends us by closing the pipe
        from enrollcfn import lint

        lint.rules(rc_file)
        with os.fdopen(request, "rb") as f:
            try:
                templates, names, regions = pickle.load(f)
            except EOFError:  # the parent needed nothing, or exited
                os._exit(0)
        try:
            answer = (True, lint._lint_uncached(templates, names, regions, rc_file))
        except Exception:
            answer = (False, traceback.format_exc())
        with os.fdopen(reply, "wb") as f:
            pickle.dump(answer, f)
    except BaseException:
        code = 1
    finally:
        os._exit(code)

"""A local stand-in for the RDS MySQL instance: MariaDB on 127.0.0.1 that, as the parameter group
this project compiles, refuses connections without TLS (`require_secure_transport=ON`), with a
certificate signed by a CA made for the run, which plays the RDS CA bundle's part.

MariaDB reports an insecure connection under that rule as error 1045 (Access denied); MySQL 8
and RDS report 3159. Tests check that the connection fails, not its text.
"""

from __future__ import annotations

import http.server
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from enrollcfn.local import free_port


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    name: str
    username: str
    password: str  # the master user's; never printed
    ca: Path  # the CA bundle that verifies the server's certificate
    socket: Path  # the server's unix socket, where root administers it without TLS

    def __repr__(self) -> str:  # keep the password out of test output
        return f"Database({self.host}:{self.port}/{self.name} as {self.username})"


def _sql(socket_path: Path, statements: str) -> None:
    subprocess.run(["mariadb", "--no-defaults", f"--socket={socket_path}", "-uroot", "-e", statements], check=True, capture_output=True)


@contextmanager
def serving_ca(db: Database) -> Iterator[str]:
    """The database's CA over http on 127.0.0.1, where AWS serves the RDS bundle over https; its URL."""
    body = db.ca.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/rds-ca-bundle.pem"
    finally:
        httpd.shutdown()


def missing() -> list[str]:
    """What this machine lacks to run the database: [] when it can."""
    return [f"{tool} (apt-get install mariadb-server openssl)" for tool in ("mariadbd", "mariadb-install-db", "mariadb", "openssl") if not shutil.which(tool)]


@contextmanager
def running(name: str = "collage", username: str = "collage_admin", workdir: Path | None = None) -> Iterator[Database]:
    """A MariaDB server for the duration of the block, with database `name` and a user `username`
    (a random password) that may do everything in it, as the RDS master user can."""
    base = Path(tempfile.mkdtemp(prefix="enrollcfn-db-", dir=workdir))
    base.chmod(0o755)  # the server runs as nobody
    try:
        certs = _certificates(base / "certs")
        data, run = base / "data", base / "run"
        for d in (data, run):
            d.mkdir()
            shutil.chown(d, "nobody", "nogroup")
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        subprocess.run([*as_nobody, "mariadb-install-db", "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                        "--skip-test-db"], check=True, capture_output=True)
        port = free_port()
        sock = run / "mysqld.sock"
        server = subprocess.Popen([*as_nobody, "mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--pid-file={run / 'pid'}",
                                   f"--port={port}", "--bind-address=127.0.0.1", f"--log-error={run / 'error.log'}", "--skip-name-resolve",
                                   "--innodb-buffer-pool-size=32M", f"--ssl-ca={certs / 'ca.pem'}", f"--ssl-cert={certs / 'server.pem'}",
                                   f"--ssl-key={certs / 'server-key.pem'}", "--require-secure-transport=ON"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(sock, server, run / "error.log")
            password = secrets.token_urlsafe(18)
            sql = (f"CREATE DATABASE `{name}`; CREATE USER '{username}'@'%' IDENTIFIED BY '{password}'; "
                   f"GRANT ALL PRIVILEGES ON *.* TO '{username}'@'%' WITH GRANT OPTION;")
            # The unix socket counts as secure transport; only TCP needs TLS.
            _sql(sock, sql)
            yield Database("127.0.0.1", port, name, username, password, certs / "ca.pem", sock)
        finally:
            server.terminate()
            server.wait(30)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _wait(sock: Path, server: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not sock.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise RuntimeError(f"MariaDB did not start: {tail}")
        time.sleep(0.05)


def _certificates(out: Path) -> Path:
    """A CA, and a server certificate for 127.0.0.1 and localhost signed by it."""
    out.mkdir()

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=out)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=enrollcfn local RDS CA", "-keyout", "ca-key.pem", "-out", "ca.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server-key.pem", "-out", "server.csr")
    (out / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", "san.cnf",
        "-out", "server.pem")
    for f in out.iterdir():
        shutil.chown(f, "nobody", "nogroup")
    (out / "ca.pem").chmod(0o644)
    out.chmod(0o755)
    return out

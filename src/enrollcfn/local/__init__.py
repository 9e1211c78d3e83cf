"""The local AWS: a patched moto server on 127.0.0.1 (server.py) and the `make demo` script that
deploys through it (demo.py), kept running by session.py (`enrollcfn local`). server.py needs the
`local` extra (moto); this package's own names below do not import it.
"""

REGION = "ap-southeast-2"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


def environment(endpoint: str) -> dict[str, str]:
    """The variables that point AWS SDKs and enrollcfn at the local AWS at `endpoint` (dummy
    credentials, its region). Importing this module does not import moto."""
    return {"AWS_ENDPOINT_URL": endpoint, **CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

"""The local AWS: a patched moto server on 127.0.0.1 (server.py) and the `make demo` script that
deploys through it (demo.py). Needs the `local` extra (moto); nothing else in enrollcfn imports it.
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

"""A stand-in for the application's container image, built from Debian bookworm packages.

The seed's image is `php:8.2-fpm-bullseye` with Debian's nginx and a Laravel 10 application.
The stand-in reproduces its facts with Debian packages only (Debian's nginx, php8.2-fpm and
Laravel 8 from `php-laravel-framework`, no Composer): the same processes, users, ports, paths,
configuration and entrypoint, so the local Fargate emulator runs what ECS would run.

Two variants:

- ``seed``: as the seed's Dockerfile builds it (root, port 80 in nginx, 9000 exposed, file
  logs, `usermod -u 1000 www-data && groupmod -g 1001 www-data`, an entrypoint that copies
  `.env`, migrates and starts php-fpm and nginx, without `set -e`).
- ``ported``: the seed with the hardening of "The hardened setting and the porting checklist" (docs/security.md) applied; each
  changed file is under ``files/ported/`` and the image config changes are in ``_CONFIG`` below.

An image is a directory root file system (owned by the real uids an image holds) beside its
OCI config, ``image.json``. The base (mmdebstrap's output) and each variant are cached under
keys of what they are built from; a build writes into a temporary sibling directory and renames
it into place, so an interrupted build leaves no half cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from enrollcfn.local.fargate import Image

FILES = Path(__file__).parent / "files"

SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
PACKAGES = (
    "nginx", "php8.2-fpm", "php8.2-cli", "php8.2-mysql", "php8.2-bcmath", "php8.2-curl",
    "php8.2-mbstring", "php8.2-xml", "php-laravel-framework", "curl", "ca-certificates",
    "bash", "coreutils",
)
MMDEBSTRAP_OPTIONS = (
    "--mode=root",
    "--variant=apt",
    "--format=directory",
    "--aptopt=APT::Install-Recommends \"false\"",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
)

APP = "/var/www"
WWW_DATA_UID, WWW_DATA_GID = 1000, 1001  # the seed's usermod/groupmod
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RDS_CA = "/etc/ssl/rds/ca-bundle.pem"
# Laravel's writable directories, owned by www-data in both variants.
STORAGE_DIRS = (
    "storage/app/public", "storage/framework/cache/data", "storage/framework/sessions",
    "storage/framework/testing", "storage/framework/views", "storage/logs", "bootstrap/cache",
)

# The OCI config of each variant, as `docker inspect` spells it (.Config, plus architecture/os).
_SEED_CONFIG = {
    "User": "",
    "ExposedPorts": {"9000/tcp": {}},  # the official php-fpm image's EXPOSE; nginx listens on 80
    "Env": [f"PATH={PATH}"],
    "Entrypoint": ["/usr/local/bin/entrypoint.sh"],
    "Cmd": None,
    "Volumes": {},
    "WorkingDir": APP,
}
_CONFIG = {
    "seed": _SEED_CONFIG,
    "ported": {
        **_SEED_CONFIG,
        "User": "www-data",                                     # USER www-data
        "ExposedPorts": {"8080/tcp": {}},                        # EXPOSE 8080
        # ADD https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/rds/ca-bundle.pem
        # ENV MYSQL_ATTR_SSL_CA=/etc/ssl/rds/ca-bundle.pem
        "Env": [f"PATH={PATH}", f"MYSQL_ATTR_SSL_CA={RDS_CA}"],
        # VOLUME ["/var/www/storage", "/var/www/bootstrap/cache", "/tmp"]
        "Volumes": {f"{APP}/storage": {}, f"{APP}/bootstrap/cache": {}, "/tmp": {}},
    },
}
# The overlays of files/ each variant copies onto the base, in order.
_LAYERS = {"seed": ("seed",), "ported": ("seed", "ported")}
VARIANTS = tuple(_CONFIG)


def missing_tools() -> list[str]:
    """What this machine lacks to build or run the stand-in; empty when it has everything."""
    missing = [tool for tool in ("mmdebstrap", "bwrap", "cp", "chroot") if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root (mmdebstrap --mode=root and the image's real uids)")
    return missing


def default_cache_dir() -> Path:
    """$ENROLLCFN_STANDIN_CACHE, else $XDG_CACHE_HOME/enrollcfn/standin (~/.cache by default)."""
    if os.environ.get("ENROLLCFN_STANDIN_CACHE"):
        return Path(os.environ["ENROLLCFN_STANDIN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "enrollcfn" / "standin"


def oci_config(variant: str) -> dict:
    """The variant's image config blob as a registry holds it (OCI image spec: architecture, os,
    config); what a pushed stand-in carries on the local AWS."""
    return {"architecture": "amd64", "os": "linux", "config": dict(_CONFIG[variant])}


def build(variant: str = "seed", cache_dir: Path | None = None, progress=print) -> Image:
    """The image of `variant`, built once into `cache_dir` and read from there after."""
    if variant not in _CONFIG:
        raise ValueError(f"unknown stand-in variant {variant!r}: one of {', '.join(VARIANTS)}")
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"cannot build the stand-in image: missing {', '.join(missing)}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    key = variant_key(variant)
    done = cache / f"{variant}-{key[:16]}"
    if not (done / "image.json").is_file():
        base = _base(cache, progress)
        progress(f"building the stand-in {variant} image from the base...")
        _publish(done, lambda tmp: _make_variant(variant, base, tmp))
    return Image(done / "rootfs", json.loads((done / "image.json").read_text())["config"], variant)


def base_key() -> str:
    """sha256 of what mmdebstrap's output depends on: the suite, mirrors, packages and options."""
    spec = {"suite": SUITE, "mirrors": MIRRORS, "packages": PACKAGES, "options": MMDEBSTRAP_OPTIONS}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def variant_key(variant: str) -> str:
    """sha256 of the base key, the variant, its config, every data file and this build code."""
    digest = hashlib.sha256()
    digest.update(base_key().encode())
    digest.update(json.dumps([variant, _CONFIG[variant]], sort_keys=True).encode())
    for path in sorted(p for p in FILES.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(FILES)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def _base(cache: Path, progress) -> Path:
    key = base_key()
    done = cache / f"base-{key[:16]}"
    if not (done / "rootfs" / "usr" / "sbin" / "php-fpm8.2").exists():
        progress("building the stand-in base image with mmdebstrap (about 70 s, once)...")
        _publish(done, _mmdebstrap)
    return done / "rootfs"


def _mmdebstrap(tmp: Path) -> None:
    command = [
        "mmdebstrap", *MMDEBSTRAP_OPTIONS, "--quiet", f"--include={','.join(PACKAGES)}",
        SUITE, str(tmp / "rootfs"), *MIRRORS,
    ]
    _run(command)


def _publish(done: Path, make) -> None:
    """Run make(tmp) in a temporary sibling of `done`, then rename it to `done` in one step."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{done.name}.", dir=done.parent))
    try:
        make(tmp)
        try:
            tmp.rename(done)
        except OSError:
            if not done.is_dir():  # another build got there first otherwise
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _make_variant(variant: str, base: Path, tmp: Path) -> None:
    rootfs = tmp / "rootfs"
    started = time.monotonic()
    _run(["cp", "-a", "--reflink=auto", str(base), str(rootfs)])
    # RUN usermod -u 1000 www-data && groupmod -g 1001 www-data
    _chroot(rootfs, f"usermod -u {WWW_DATA_UID} www-data && groupmod -g {WWW_DATA_GID} www-data")
    (rootfs / "etc/nginx/sites-enabled/default").unlink(missing_ok=True)
    # What a container runtime mounts over, as in an image (mmdebstrap copies the host's
    # resolv.conf): a file must exist for a bind mount onto a read-only root.
    (rootfs / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    for name in ("etc/resolv.conf", "etc/hostname"):
        (rootfs / name).unlink(missing_ok=True)
        (rootfs / name).write_text("")
    # the official image's name for the FastCGI server, on PATH
    php_fpm = rootfs / "usr/local/sbin/php-fpm"
    php_fpm.parent.mkdir(parents=True, exist_ok=True)
    php_fpm.symlink_to("/usr/sbin/php-fpm8.2")
    for layer in _LAYERS[variant]:
        _overlay(FILES / layer, rootfs)
    (rootfs / "usr/local/bin/entrypoint.sh").chmod(0o755)
    (rootfs / "var/www/artisan").chmod(0o755)
    for directory in STORAGE_DIRS:
        (rootfs / "var/www" / directory).mkdir(parents=True, exist_ok=True)
    # the package and service manifests in bootstrap/cache (no config:cache, as the seed)
    _chroot(rootfs, "cd /var/www && php artisan --version")
    # RUN chown -R www-data:www-data /var/www
    _chown_tree(rootfs / "var/www", WWW_DATA_UID, WWW_DATA_GID)
    blob = oci_config(variant)
    config = {**blob["config"], "architecture": blob["architecture"], "os": blob["os"]}
    packages = _chroot(rootfs, "dpkg-query -W -f '${Package} ${Version}\\n'", capture=True)
    (tmp / "image.json").write_text(json.dumps({
        "name": variant, "key": variant_key(variant), "base_key": base_key(), "config": config,
        "packages": packages.split("\n")[:-1], "build_seconds": round(time.monotonic() - started, 1),
    }, indent=2) + "\n")


def _overlay(source: Path, rootfs: Path) -> None:
    """Copy a files/ layer onto the root file system: root-owned, 0644 files and 0755 directories."""
    for path in sorted(source.rglob("*")):
        target = rootfs / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(0o755)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink():
                target.unlink()
            shutil.copyfile(path, target)
            target.chmod(0o644)
            os.chown(target, 0, 0)


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    os.chown(top, uid, gid)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _chroot(rootfs: Path, script: str, capture: bool = False) -> str:
    env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8"}
    return _run(["chroot", str(rootfs), "/bin/sh", "-c", script], env=env, capture=capture)


def _run(command: list[str], env: dict | None = None, capture: bool = False) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result.stdout if capture else ""

"""What deploy's preflight reads from the image it will run: the image config (the JSON document
`docker image inspect` shows as Config), read from ECR before any stack changes.

ECR serves it in two steps, as a registry pull does: BatchGetImage returns the manifest (or, for a
multi-platform image, the index naming one manifest per platform), whose `config` descriptor names
the config blob by digest; GetDownloadUrlForLayer returns a pre-signed URL to that blob. The blob
is trusted only when its sha256 is the digest the manifest names.

`problems` compares it with the config: a wrong architecture or OS never starts; a non-root user
cannot bind below 1024 nor write an empty bind mount Fargate creates owned by root.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from enrollcfn.config import Config
from enrollcfn.changesets import DeployError

# Manifest media types (OCI Image Spec; Docker Image Manifest V2 Schema 2).
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
# The ECR API Reference lists docker v1, docker v2 and OCI manifests as acceptedMediaTypes; the
# two index types are what a multi-platform push stores and what a pull asks for (Accept), so
# they are asked for too: without them a multi-platform image's index could not be read.
INDEXES = (DOCKER_LIST, OCI_INDEX)

# ECS RuntimePlatform.CpuArchitecture -> the image's `architecture` (Go's GOARCH names, OCI spec).
ARCHITECTURE = {"X86_64": "amd64", "ARM64": "arm64"}
BUILDX_PLATFORM = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}

MAX_CONFIG_BYTES = 1 << 20  # an image config is a few KiB; anything past 1 MiB is not one
TIMEOUT_SECONDS = 20

Fetch = Callable[[str], bytes]  # downloadUrl -> the blob's bytes; raises OSError when it cannot


@dataclass(frozen=True)
class ImageConfig:
    """The fields of an image config that decide whether the task can start and run as configured."""

    architecture: str
    os: str
    user: str = ""  # empty: root
    exposed_ports: tuple[int, ...] = ()
    volumes: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str = ""

    @property
    def root(self) -> bool:
        return is_root(self.user)


def is_root(user: str | None) -> bool:
    """`user` (USER's `name|uid[:group|gid]`) is root: empty, `root` or uid 0, whatever the group."""
    name = (user or "").split(":", 1)[0].strip()
    return name in ("", "root", "0")


def parse(blob: bytes) -> ImageConfig:
    """The image config in `blob`; ValueError when it is not one."""
    try:
        doc = json.loads(blob)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("architecture"), str) or not isinstance(doc.get("os"), str):
        raise ValueError("not an image config: no architecture and os")
    inner = doc.get("config") or {}
    ports = []
    for spec in inner.get("ExposedPorts") or {}:  # {"8080/tcp": {}}
        number, _, proto = str(spec).partition("/")
        if number.isdigit() and proto in ("", "tcp"):
            ports.append(int(number))
    return ImageConfig(
        architecture=doc["architecture"], os=doc["os"], user=str(inner.get("User") or ""),
        exposed_ports=tuple(sorted(set(ports))), volumes=tuple(sorted(str(v).rstrip("/") or "/" for v in inner.get("Volumes") or {})),
        entrypoint=tuple(inner.get("Entrypoint") or ()), cmd=tuple(inner.get("Cmd") or ()), working_dir=str(inner.get("WorkingDir") or ""),
    )  # fmt: skip


def problems(cfg: Config, image: ImageConfig) -> tuple[list[DeployError], list[DeployError]]:
    """(errors, warnings) of running `image` as `cfg` says; each names the key that fixes it."""
    errors, warnings = [], []
    s = cfg.service
    want = ARCHITECTURE[s.cpu_architecture]
    if image.os != "linux":
        errors.append(DeployError("service.image_tag", f"the image is built for os {image.os!r}; Fargate runs it as LINUX: "
                                  "build it with `docker buildx build --platform "
                                  f"{BUILDX_PLATFORM[s.cpu_architecture]}`"))
    if image.architecture != want:
        other = next((k for k, v in ARCHITECTURE.items() if v == image.architecture), None)
        fix = f"set service.cpu_architecture: {other}, or " if other else ""
        errors.append(DeployError("service.cpu_architecture", f"the image is built for {image.architecture}, but the task runs "
                                  f"{s.cpu_architecture} ({want}); {fix}build it with `docker buildx build --platform "
                                  f"{BUILDX_PLATFORM[s.cpu_architecture]}`"))

    configured = getattr(s, "container_user", None)  # None: the image's own USER runs
    runs_as = configured if configured else image.user
    if not configured and image.root:
        warnings.append(DeployError("service.container_user", "the image runs as root (Security Hub ECS.20); add a USER to the "
                                    "Dockerfile or set service.container_user to a non-root user"))
    if not configured and not image.root and s.container_port < 1024:
        errors.append(DeployError("service.container_port", f"{s.container_port} is below 1024, which the image's non-root user "
                                  f"{image.user!r} cannot bind on Fargate; listen on 1024-65535 (e.g. 8080) and set it here"))
    if configured and not is_root(configured) and not configured.split(":", 1)[0].isdigit() and configured.split(":", 1)[0] != image.user.split(":", 1)[0]:
        warnings.append(DeployError("service.container_user", f"{configured!r} must be a user the image defines (its /etc/passwd, "
                                    "which the image config does not show); a numeric uid[:gid] needs no entry"))

    init = getattr(s, "init", None)  # an init container that prepares the writable paths, where the config has one
    if not is_root(runs_as) and not getattr(init, "enabled", False):
        for i, path in enumerate(s.writable_paths):
            if path.rstrip("/") not in image.volumes:
                errors.append(DeployError(f"service.writable_paths[{i}]", f"{path} is not a VOLUME of the image, so Fargate mounts "
                                          f"it empty and owned by root, and {runs_as!r} cannot write it; add VOLUME "
                                          f"[\"{path}\"] to the Dockerfile after the chown that gives it to that user"))
    if image.exposed_ports and s.container_port not in image.exposed_ports:
        ports = ", ".join(map(str, image.exposed_ports))
        warnings.append(DeployError("service.container_port", f"{s.container_port} is not a port the image EXPOSEs ({ports}); EXPOSE "
                                    "is documentation, the port the web server listens on decides (e.g. nginx's `listen`)"))
    return errors, warnings


def https_get(url: str, timeout: float = TIMEOUT_SECONDS, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The body at `url` (ECR's pre-signed S3 URL), at most `limit` bytes; OSError when it cannot be read.

    Only https, and plain http on a loopback address (a local AWS on this machine): the sha256 the
    caller checks is what makes the bytes trustworthy, the scheme keeps the URL's signature private.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")):
        raise OSError(f"refusing a download URL that is not https ({parts.scheme or 'no scheme'}://{parts.hostname or ''})")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the scheme is checked above
            body = response.read(limit + 1)
    except urllib.error.URLError as exc:
        raise OSError(str(getattr(exc, "reason", exc))) from None
    if len(body) > limit:
        raise OSError(f"larger than {limit} bytes, which no image config is")
    return body


def read(ecr, repository: str, image_id: dict, cpu_architecture: str, fetch: Fetch = https_get) -> ImageConfig:
    """The config of image `image_id` ({"imageDigest": ...} or {"imageTag": ...}) in `repository`,
    of the platform the task runs when it is a multi-platform index. DeployError when it cannot be read."""
    shown = f"{repository}@{image_id['imageDigest']}" if "imageDigest" in image_id else f"{repository}:{image_id.get('imageTag')}"
    key = "service.image_tag"
    try:
        manifest, media_type = _manifest(ecr, repository, image_id, (*MANIFESTS, *INDEXES), shown)
        if media_type in INDEXES or manifest.get("mediaType") in INDEXES or "manifests" in manifest:
            digest = _platform(manifest, cpu_architecture, shown)
            manifest, media_type = _manifest(ecr, repository, {"imageDigest": digest}, MANIFESTS, shown)
        config = manifest.get("config") or {}
        digest = config.get("digest", "")
        if not digest.startswith("sha256:"):
            raise DeployError(key, f"the manifest of {shown} names no sha256 config blob ({media_type or 'no media type'}); "
                              "push an image built by docker or buildx")
        if int(config.get("size") or 0) > MAX_CONFIG_BYTES:
            raise DeployError(key, f"the config blob of {shown} is {config['size']} bytes, more than any image config")
        url = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=digest)["downloadUrl"]
    except ClientError as exc:
        error = exc.response["Error"]
        raise DeployError(key, f"cannot read the image config of {shown}: {error.get('Code')}: {error.get('Message', '')}".rstrip(": ")) from None
    except BotoCoreError as exc:
        raise DeployError(key, f"cannot read the image config of {shown}: {exc}") from None
    try:
        blob = fetch(url)
    except OSError as exc:
        raise DeployError(key, f"cannot download the image config of {shown} from ECR: {exc}") from None
    if "sha256:" + hashlib.sha256(blob).hexdigest() != digest:
        raise DeployError(key, f"the config blob downloaded for {shown} does not have the digest its manifest names ({digest}); "
                          "not trusting it")
    try:
        return parse(blob)
    except ValueError as exc:
        raise DeployError(key, f"the config blob of {shown} is {exc}") from None


def _manifest(ecr, repository: str, image_id: dict, accepted: tuple[str, ...], shown: str) -> tuple[dict, str]:
    answer = ecr.batch_get_image(repositoryName=repository, imageIds=[image_id], acceptedMediaTypes=list(accepted))
    images = answer.get("images") or []
    if not images:
        reasons = "; ".join(f"{f.get('failureCode')}: {f.get('failureReason')}" for f in answer.get("failures") or [])
        raise DeployError("service.image_tag", f"ECR returned no manifest for {shown}" + (f" ({reasons})" if reasons else ""))
    image = images[0]
    try:
        manifest = json.loads(image["imageManifest"])
    except (KeyError, json.JSONDecodeError):
        raise DeployError("service.image_tag", f"the manifest ECR returned for {shown} is not JSON") from None
    return manifest, image.get("imageManifestMediaType") or manifest.get("mediaType", "")


def _platform(index: dict, cpu_architecture: str, shown: str) -> str:
    """The digest of the index's linux manifest for the task's architecture."""
    want = ARCHITECTURE[cpu_architecture]
    for entry in index.get("manifests") or []:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == want and entry.get("digest"):
            return entry["digest"]
    offered = sorted({f"{p.get('os')}/{p.get('architecture')}" for p in (e.get("platform") or {} for e in index.get("manifests") or [])
                      if p.get("os") not in (None, "unknown")})
    raise DeployError("service.cpu_architecture", f"{shown} has no linux/{want} image (it has {', '.join(offered) or 'none'}); "
                      f"build one with `docker buildx build --platform {BUILDX_PLATFORM[cpu_architecture]}`, or set "
                      "service.cpu_architecture to an architecture it has")

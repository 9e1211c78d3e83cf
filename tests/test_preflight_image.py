"""deploy's preflight reads the config of the image it will run from ECR, under botocore's Stubber
(request and response shapes checked against the ECR service model), and refuses what would never
start or never write: the wrong architecture, a platform missing from an index, a non-root user on
root-owned empty bind mounts, a blob that is not the one the manifest names.

The expected facts are written from the documentation, not from the code's constants:
- ECR BatchGetImage returns images[].imageId, imageManifest (a JSON string) and
  imageManifestMediaType; GetDownloadUrlForLayer returns downloadUrl and layerDigest (ECR API
  Reference).
- media types: application/vnd.docker.distribution.manifest.v2+json and .manifest.list.v2+json
  (Docker Image Manifest V2 Schema 2), application/vnd.oci.image.manifest.v1+json and
  application/vnd.oci.image.index.v1+json (OCI Image Spec).
- an image config's architecture is GOARCH: amd64 for ECS X86_64, arm64 for ARM64.
- AWS Fargate pricing page, US East (N. Virginia): Linux/x86 $0.04048 per vCPU-hour and
  $0.004445 per GB-hour; Linux/ARM $0.03238 and $0.00356 (20 % lower).
"""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from enrollcfn import compiler, cost, imageconfig
from enrollcfn.config import Config
from enrollcfn.errors import Problems
from enrollcfn.local import server as localaws
from enrollcfn.pipeline import Clients, Console, Options, Run, run
from tests.conftest import stubbed

REPO = Config().registry.repository_name
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPTED = [DOCKER_V2, OCI_MANIFEST, DOCKER_LIST, OCI_INDEX]
IMAGE_DIGEST = "sha256:" + "a" * 64
AMD64_DIGEST = "sha256:" + "b" * 64
ARM64_DIGEST = "sha256:" + "c" * 64
URL = "https://prod-ap-southeast-2-starport-layer-bucket.s3.ap-southeast-2.amazonaws.com/blob?X-Amz-Signature=x"
WRITABLE = ("/var/www/storage", "/var/www/bootstrap/cache", "/tmp")


def hardened(**service) -> Config:
    """README, "The hardened setting": a non-root user on 8080, the image's own entrypoint, the
    writable paths declared VOLUME in the image, no init container."""
    return Config(service={"container_user": "www-data", "container_port": 8080, "writable_paths": list(WRITABLE), "entrypoint": None,
                           "command": None, "init": {"enabled": False}, "environment": {"MYSQL_ATTR_SSL_CA": "/etc/ssl/rds/ca-bundle.pem"},
                           **service})


@pytest.fixture
def ecr():
    yield from stubbed("ecr")


@pytest.fixture
def cfn():
    yield from stubbed("cloudformation")


def image_config(architecture="amd64", os="linux", user="www-data", volumes=WRITABLE, ports=(8080,)) -> bytes:
    """An image config as `docker buildx build` writes it (OCI Image Spec, "Image Configuration")."""
    return json.dumps({
        "architecture": architecture, "os": os, "created": "2026-12-01T00:00:00Z",
        "config": {"User": user, "ExposedPorts": {f"{p}/tcp": {} for p in ports}, "Volumes": {v: {} for v in volumes},
                   "Entrypoint": ["docker-php-entrypoint"], "Cmd": ["php-fpm"], "WorkingDir": "/var/www/html"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "d" * 64]},
    }).encode()  # fmt: skip


def sha(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def manifest(blob: bytes, media_type=DOCKER_V2) -> str:
    config_type = "application/vnd.docker.container.image.v1+json" if media_type == DOCKER_V2 else "application/vnd.oci.image.config.v1+json"
    return json.dumps({"schemaVersion": 2, "mediaType": media_type,
                       "config": {"mediaType": config_type, "size": len(blob), "digest": sha(blob)},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": "sha256:" + "d" * 64}]})


def index(*platforms: tuple[str, str], media_type=OCI_INDEX) -> str:
    digests = {"amd64": AMD64_DIGEST, "arm64": ARM64_DIGEST}
    entries = [{"mediaType": OCI_MANIFEST, "size": 500, "digest": digests[arch], "platform": {"os": os, "architecture": arch}}
               for os, arch in platforms]
    # buildx adds an attestation manifest to every index, on the platform unknown/unknown
    entries.append({"mediaType": OCI_MANIFEST, "size": 300, "digest": "sha256:" + "e" * 64,
                    "platform": {"os": "unknown", "architecture": "unknown"}})
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})


def answer_image(ecr, digest: str, body: str, media_type: str, accepted=ACCEPTED):
    ecr.stub.add_response(
        "batch_get_image",
        {"images": [{"registryId": "123456789012", "repositoryName": REPO, "imageId": {"imageDigest": digest},
                     "imageManifest": body, "imageManifestMediaType": media_type}], "failures": []},
        {"repositoryName": REPO, "imageIds": [{"imageDigest": digest}], "acceptedMediaTypes": accepted},
    )


def answer_url(ecr, blob_digest: str):
    ecr.stub.add_response("get_download_url_for_layer", {"downloadUrl": URL, "layerDigest": blob_digest},
                          {"repositoryName": REPO, "layerDigest": blob_digest})


def fetcher(blob: bytes):
    def fetch(url: str) -> bytes:
        assert url == URL
        return blob
    return fetch


def single(ecr, blob: bytes):
    """ECR answers for a single-platform image whose config blob is `blob`."""
    answer_image(ecr, IMAGE_DIGEST, manifest(blob), DOCKER_V2)
    answer_url(ecr, sha(blob))


def read(ecr, blob: bytes, arch="X86_64", fetch=None):
    return imageconfig.read(ecr, REPO, {"imageDigest": IMAGE_DIGEST}, arch, fetch or fetcher(blob))


# --- reading the config from ECR -----------------------------------------------------------------

def test_a_single_platform_image_is_read_through_its_config_blob(ecr):
    blob = image_config()
    single(ecr, blob)
    found = read(ecr, blob)
    assert (found.architecture, found.os, found.user) == ("amd64", "linux", "www-data")
    assert found.exposed_ports == (8080,) and set(found.volumes) == set(WRITABLE)
    assert found.entrypoint == ("docker-php-entrypoint",) and found.cmd == ("php-fpm",) and found.working_dir == "/var/www/html"


@pytest.mark.parametrize("arch,digest,image_arch", [("X86_64", AMD64_DIGEST, "amd64"), ("ARM64", ARM64_DIGEST, "arm64")])
@pytest.mark.parametrize("index_type", [OCI_INDEX, DOCKER_LIST])
def test_an_index_with_both_platforms_gives_the_tasks_one(ecr, arch, digest, image_arch, index_type):
    blob = image_config(architecture=image_arch)
    answer_image(ecr, IMAGE_DIGEST, index(("linux", "amd64"), ("linux", "arm64"), media_type=index_type), index_type)
    answer_image(ecr, digest, manifest(blob, OCI_MANIFEST), OCI_MANIFEST, accepted=[DOCKER_V2, OCI_MANIFEST])
    answer_url(ecr, sha(blob))
    assert read(ecr, blob, arch).architecture == image_arch


def test_an_index_without_the_tasks_platform_is_refused_naming_cpu_architecture(ecr):
    answer_image(ecr, IMAGE_DIGEST, index(("linux", "amd64")), OCI_INDEX)
    with pytest.raises(imageconfig.DeployError) as caught:
        read(ecr, b"", "ARM64")
    assert caught.value.key == "service.cpu_architecture"
    assert "linux/arm64" in caught.value.message and "linux/amd64" in caught.value.message
    assert "unknown" not in caught.value.message  # the attestation manifest is no platform


def test_a_blob_whose_sha256_is_not_the_manifests_digest_is_refused(ecr):
    blob = image_config()
    single(ecr, blob)
    tampered = image_config(user="root")
    with pytest.raises(imageconfig.DeployError) as caught:
        read(ecr, blob, fetch=fetcher(tampered))
    assert caught.value.key == "service.image_tag" and "digest" in caught.value.message and sha(blob) in caught.value.message


def test_a_download_that_fails_is_one_line_naming_the_repository(ecr):
    blob = image_config()
    single(ecr, blob)

    def down(url):
        raise OSError("timed out")

    with pytest.raises(imageconfig.DeployError) as caught:
        read(ecr, blob, fetch=down)
    assert REPO in caught.value.message and "timed out" in caught.value.message and "\n" not in caught.value.message


def test_an_ecr_refusal_is_one_line_not_a_traceback(ecr):
    ecr.stub.add_client_error("batch_get_image", "AccessDeniedException", "not authorized to perform: ecr:BatchGetImage", 400)
    with pytest.raises(imageconfig.DeployError) as caught:
        read(ecr, b"")
    assert "AccessDeniedException" in caught.value.message and REPO in caught.value.message


@pytest.mark.parametrize("url", ["http://example.com/blob", "file:///etc/passwd", "ftp://example.com/x"])
def test_the_real_fetcher_takes_only_https(url):
    with pytest.raises(OSError, match="not https"):
        imageconfig.https_get(url)


# --- what the config says about it -------------------------------------------------------------

def errors_and_warnings(cfg: Config, blob: bytes):
    errors, warnings = imageconfig.problems(cfg, imageconfig.parse(blob))
    return [e.key for e in errors], [w.key for w in warnings]


def test_a_ported_image_fits_the_hardened_setting():
    assert errors_and_warnings(hardened(), image_config()) == ([], [])


def test_the_seed_image_runs_under_the_default_config_with_warnings_only():
    """The seed image (enrollcfn.local.standin reproduces its config: no USER, EXPOSE 9000, no
    VOLUME): it runs as root (ECS.20) and its nginx listens on 80, which EXPOSE does not say."""
    from enrollcfn.local import standin

    assert errors_and_warnings(Config(), json.dumps(standin.oci_config("seed")).encode()) == ([], ["service.container_user", "service.container_port"])


@pytest.mark.parametrize("config_arch,image_arch,platform", [("X86_64", "arm64", "linux/amd64"), ("ARM64", "amd64", "linux/arm64")])
def test_an_architecture_mismatch_names_the_key_and_both_fixes(config_arch, image_arch, platform):
    errors, _ = imageconfig.problems(hardened(cpu_architecture=config_arch), imageconfig.parse(image_config(architecture=image_arch)))
    (error,) = errors
    assert error.key == "service.cpu_architecture"
    other = {"arm64": "ARM64", "amd64": "X86_64"}[image_arch]
    assert f"service.cpu_architecture: {other}" in error.message and f"--platform {platform}" in error.message


def test_a_windows_image_is_refused():
    assert errors_and_warnings(hardened(), image_config(os="windows"))[0] == ["service.image_tag"]


@pytest.mark.parametrize("user", ["", "root", "0", "0:0"])
def test_a_root_image_where_a_non_root_user_is_required_is_refused(user):
    # The config runs the task as www-data (service.container_user), but the image was built to
    # run as root: nothing in it gave www-data the writable paths, and Fargate mounts each of them
    # empty and owned by root unless the image declares it a VOLUME.
    errors, _ = errors_and_warnings(hardened(), image_config(user=user, volumes=()))
    assert errors == [f"service.writable_paths[{i}]" for i in range(3)]


def test_a_path_the_image_declares_a_volume_is_not_refused():
    errors, _ = errors_and_warnings(hardened(), image_config(volumes=WRITABLE[:2]))
    assert errors == ["service.writable_paths[2]"]


def test_a_named_user_the_image_does_not_run_as_is_a_warning():
    # The config blob has no /etc/passwd: the name can only be trusted to exist
    assert errors_and_warnings(hardened(container_user="app"), image_config()) == ([], ["service.container_user"])
    assert errors_and_warnings(hardened(container_user="33:33"), image_config()) == ([], [])


def test_a_port_the_image_does_not_expose_is_a_warning():
    assert errors_and_warnings(hardened(), image_config(ports=(9000,))) == ([], ["service.container_port"])


def test_the_images_own_user_decides_when_the_config_names_none():
    root = imageconfig.problems(Config(), imageconfig.parse(image_config(user="root", volumes=(), ports=(80,))))
    assert [e.key for e in root[0]] == [] and [w.key for w in root[1]] == ["service.container_user"]  # ECS.20
    assert "ECS.20" in root[1][0].message
    low = imageconfig.problems(Config(), imageconfig.parse(image_config(user="www-data", ports=(80,))))
    assert [e.key for e in low[0]] == ["service.container_port"]  # a non-root user cannot bind 80 on Fargate


# --- before any stack changes ------------------------------------------------------------------

@pytest.mark.parametrize("blob,key", [
    (image_config(architecture="arm64"), "service.cpu_architecture"),
    (image_config(user="root", volumes=()), "service.writable_paths[0]"),
])  # fmt: skip
def test_deploy_refuses_before_the_root_stack_is_touched(monkeypatch, ecr, cfn, blob, key):
    """Through the deploy's own entry point: the bootstrap stack and the template upload that come
    first are fakes, and the CloudFormation client has no answers queued, so any call to it (a
    change set on the root) would fail the test instead of the preflight."""
    import enrollcfn.pipeline as pipeline

    cfg = hardened()
    monkeypatch.setattr(pipeline, "bootstrap_stack", lambda *a, **k: {"StackId": "boot", "Outputs": [
        {"OutputKey": "ArtifactBucketName", "OutputValue": "artifacts"},
        {"OutputKey": "RepositoryUri", "OutputValue": f"123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/{REPO}"}]})

    class Package:
        uploaded, artifacts, root, root_doc = [], {}, None, {}

    monkeypatch.setattr(pipeline, "package_templates", lambda *a, **k: Package())
    tag = {"repositoryName": REPO, "imageIds": [{"imageTag": cfg.service.image_tag}]}
    found = {"imageDetails": [{"repositoryName": REPO, "imageDigest": IMAGE_DIGEST, "imageTags": [cfg.service.image_tag]}]}
    ecr.stub.add_response("describe_images", found, tag)  # its digest, which the deploy runs
    single(ecr, blob)
    r = Run(Clients(cfn, ecr=ecr, fetch=fetcher(blob)), Options(stack="se-prod", yes=True), Console(report=lambda line: None))
    with pytest.raises(Problems) as caught:
        run(r, cfg, compiler.compile(cfg))
    assert caught.value.key == "preflight" and key in [p.key for p in caught.value.problems]


# --- the local AWS serves image configs too ----------------------------------------------------

def test_the_local_aws_serves_the_pushed_image_config_to_the_real_fetcher(monkeypatch):
    with localaws.server() as endpoint:
        client = boto3.client("ecr", endpoint_url=endpoint, region_name=localaws.REGION,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_repository(repositoryName=REPO)
        arm = json.loads(image_config(architecture="arm64"))
        digest = localaws.push_image(client, REPO, "v1", "arm", config=arm)
        found = imageconfig.read(client, REPO, {"imageDigest": digest}, "ARM64")  # the real https_get, on loopback
    assert found.architecture == "arm64" and found.user == "www-data"


# --- the estimate prices the chosen architecture -----------------------------------------------

# AWS Fargate pricing page, US East (N. Virginia), per hour
X86_VCPU, X86_GB = 0.04048, 0.004445
ARM_VCPU, ARM_GB = 0.03238, 0.00356


def fargate_line(arch: str):
    cfg = Config(region="us-east-1", service={"cpu_architecture": arch})
    build = compiler.compile(cfg)
    est = cost.estimate({n: s.doc for n, s in build.stacks.items()}, "us-east-1")
    (line,) = [x for x in est.lines if x.item.startswith("Fargate tasks") and x.item.endswith("on FARGATE")]
    return line


def test_arm64_is_priced_at_the_graviton_rates_about_a_fifth_lower():
    x86, arm = fargate_line("X86_64"), fargate_line("ARM64")
    hours = 730.56
    vcpu, gb = Config().service.cpu / 1024, Config().service.memory / 1024
    assert x86.unit_price == round(round(X86_VCPU * vcpu * hours, 2) + round(X86_GB * gb * hours, 2), 2)
    assert arm.unit_price == round(round(ARM_VCPU * vcpu * hours, 2) + round(ARM_GB * gb * hours, 2), 2)
    assert "ARM64" in arm.item and "ARM64" not in x86.item
    assert arm.unit_price / x86.unit_price == pytest.approx(0.80, abs=0.005)


def test_the_task_definition_runs_the_configured_architecture():
    build = compiler.compile(Config(service={"cpu_architecture": "ARM64"}))
    doc = build.stacks["service"].doc if "service" in build.stacks else next(s.doc for n, s in build.stacks.items() if "TaskDefinition" in s.doc.get("Resources", {}))
    assert doc["Resources"]["TaskDefinition"]["Properties"]["RuntimePlatform"] == {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "ARM64"}


def test_cpu_architecture_lists_the_allowed_values():
    from enrollcfn.errors import ConfigErrors

    with pytest.raises(ConfigErrors) as caught:
        Config.model_validate({"service": {"cpu_architecture": "arm64"}})
    (problem,) = caught.value.problems
    assert problem.key == "service.cpu_architecture" and "X86_64" in problem.message and "ARM64" in problem.message

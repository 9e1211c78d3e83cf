"""Packaging: upload the product's templates to the artifact bucket under content-hash keys and
point the root's TemplateURLs at them, each URL pinned to the object version it uploaded.

Children are uploaded first; the root is rewritten with their URLs and then hashed, so the
root's key changes exactly when any template changes. An object already present under its key
is not uploaded again, so a re-run with unchanged content writes nothing, but only when its bytes
hash to the key: a key is a claim about content, and whoever else may write below the prefix could
have put other bytes there first. The check uses S3's SHA-256 checksum (uploads send
`ChecksumAlgorithm=SHA256`; `HeadObject` with `ChecksumMode=ENABLED` returns `ChecksumSHA256`, the
base64 of the digest, "Checking object integrity in Amazon S3",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html); an object
without one, or with a multipart upload's composite checksum (which ends in `-<parts>` and is a
checksum of checksums, not of the object), is read back and hashed instead. A mismatch stops the
run, naming the object. Every URL carries the object's `versionId` (the bucket is versioned), the
version that was checked: a later write to the same key, by anyone, cannot change what
CloudFormation or Service Catalog launches from a URL handed out before.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from enrollcfn.compiler import Stack
from enrollcfn.errors import EnrollcfnError
from enrollcfn.templates import ROOT

NESTED_STACK = "AWS::CloudFormation::Stack"


@dataclass(frozen=True)
class Artifact:
    """One object in the artifact bucket."""

    name: str
    key: str
    url: str
    digest: str  # sha256 of body, hex
    uploaded: bool  # False when the same content was already there
    body: bytes = field(default=b"", repr=False)  # what was (or already had been) uploaded


@dataclass(frozen=True)
class Package:
    """What packaging produced: every artifact by name (the root last), and the root template as
    uploaded (its TemplateURLs pointing at the children's versioned URLs)."""

    artifacts: Mapping[str, Artifact]
    root_doc: Mapping

    @property
    def root(self) -> Artifact:
        return self.artifacts[ROOT]

    @property
    def uploaded(self) -> list[str]:
        return [a.name for a in self.artifacts.values() if a.uploaded]


def digest(body: bytes) -> str:
    """The content hash used in keys (SHA-256, hex)."""
    return hashlib.sha256(body).hexdigest()


def content_key(prefix: str, name: str, body: bytes, suffix: str = ".yaml") -> str:
    """`<prefix>/<name>-<first 16 hex of sha256><suffix>`: the same bytes, the same key."""
    stem = f"{name}-{digest(body)[:16]}{suffix}"
    return f"{prefix.strip('/')}/{stem}" if prefix.strip("/") else stem


def object_url(bucket: str, key: str, region: str, version: str | None = None) -> str:
    """The https URL CloudFormation and Service Catalog read a template from (never s3://),
    pinned to `version` when the bucket returned one."""
    url = f"https://{bucket}.s3.{region}.amazonaws.com/{key}"
    return f"{url}?versionId={version}" if version else url


def nested_templates(root_doc: Mapping) -> dict[str, str]:
    """Logical id -> stack name of each nested Stack whose TemplateURL is a local `<name>.yaml`."""
    found = {}
    for logical_id, resource in root_doc.get("Resources", {}).items():
        if resource.get("Type") != NESTED_STACK:
            continue
        local = resource.get("Properties", {}).get("TemplateURL")
        if not (isinstance(local, str) and local.endswith(".yaml") and "/" not in local):
            raise ValueError(f"nested stack {logical_id} has TemplateURL {local!r}, not a local <name>.yaml")
        found[logical_id] = local[: -len(".yaml")]
    return found


def rewrite_template_urls(root_doc: Mapping, urls: Mapping[str, str]) -> dict:
    """A copy of the root template with each local child file name replaced by `urls[name]`."""
    doc = copy.deepcopy(dict(root_doc))
    for logical_id, name in nested_templates(root_doc).items():
        if name not in urls:
            raise KeyError(f"no packaged template for {name}.yaml (nested stack {logical_id})")
        doc["Resources"][logical_id]["Properties"]["TemplateURL"] = urls[name]
    return doc


class IntegrityError(EnrollcfnError):
    """An object at a content-hash key holds other bytes than the key names."""


def checksum_sha256(body: bytes) -> str:
    """S3's ChecksumSHA256 of a single-part object: the base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def upload(s3, bucket: str, key: str, body: bytes, content_type: str = "application/x-yaml") -> tuple[bool, str | None]:
    """Put `body` at `key` unless an object holding exactly `body` is already there.

    Returns (uploaded, version id). An existing object is used only when its bytes hash to
    `body`'s SHA-256; otherwise IntegrityError names it and nothing is pinned."""
    found, version = existing(s3, bucket, key, body)
    if found:
        return False, version
    put = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256",
                        ChecksumAlgorithm="SHA256")
    return True, put.get("VersionId")


def existing(s3, bucket: str, key: str, body: bytes) -> tuple[bool, str | None]:
    """(True, version id) when an object holding exactly `body` is at `key`; (False, None) when
    nothing is; IntegrityError when other bytes are."""
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        return False, None
    _verify(s3, bucket, key, head.get("VersionId"), head, body)
    return True, head.get("VersionId")


def _verify(s3, bucket: str, key: str, version: str | None, head: Mapping, body: bytes) -> None:
    """Raise IntegrityError unless the object version `head` describes holds exactly `body`."""
    expected = checksum_sha256(body)
    stored = head.get("ChecksumSHA256")
    if stored and "-" not in stored:  # a full-object checksum S3 computed or checked on upload
        if stored == expected:
            return
        found = f"its SHA-256 checksum is {stored}"
    else:  # no checksum, or a multipart composite one: read the very version and hash it
        args = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
        actual = s3.get_object(**args)["Body"].read()
        if hashlib.sha256(actual).digest() == hashlib.sha256(body).digest():
            return
        found = f"it holds {len(actual)} bytes with SHA-256 {digest(actual)}"
    raise IntegrityError(f"s3://{bucket}/{key}", f"holds other bytes than its content-hash name promises ({found}, expected "
                         f"{expected}); not used. Someone with write access below the prefix put it there: find out who "
                         f"(CloudTrail S3 data events), delete that object version, and run again")


def package_templates(s3, bucket: str, prefix: str, region: str, product: Mapping[str, Stack], published: str | None = None) -> Package:
    """Upload every nested child of `product[ROOT]`, then the root rewritten to point at them.
    With `published` (a plan, uploading below its own prefix), a template already published there
    with exactly these bytes is used from there, so an unchanged stack keeps its TemplateURL."""
    from cfn_flip import dump_yaml

    artifacts: dict[str, Artifact] = {}
    for name in sorted(set(nested_templates(product[ROOT].doc).values())):
        artifacts[name] = _put(s3, bucket, prefix, region, name, product[name].body, published)
    root_doc = rewrite_template_urls(product[ROOT].doc, {n: a.url for n, a in artifacts.items()})
    artifacts[ROOT] = _put(s3, bucket, prefix, region, ROOT, dump_yaml(root_doc).encode("utf-8"), published)
    return Package(artifacts, root_doc)


def _put(s3, bucket: str, prefix: str, region: str, name: str, body: bytes, published: str | None = None) -> Artifact:
    if published:
        key = content_key(published, name, body)
        found, version = existing(s3, bucket, key, body)
        if found:
            return Artifact(name, key, object_url(bucket, key, region, version), digest(body), False, body)
    key = content_key(prefix, name, body)
    uploaded, version = upload(s3, bucket, key, body)
    return Artifact(name, key, object_url(bucket, key, region, version), digest(body), uploaded, body)

"""Packaging: upload templates to the artifact bucket under content-hash keys and point the
root's TemplateURLs at them.

Children are uploaded first; the root is rewritten with their URLs and then hashed, so the
root's key changes exactly when any template changes. An object already present under its key
is not uploaded again, so a re-run with unchanged content writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from cfn_flip import dump_yaml, load_yaml

from templates import ROOT


@dataclass(frozen=True)
class Artifact:
    """One object in the artifact bucket."""

    name: str
    key: str
    url: str
    uploaded: bool  # False when the same content was already there
    body: bytes = field(default=b"", repr=False)  # what was (or already had been) uploaded


@dataclass
class Package:
    """What packaging produced: every artifact by name, the root's URL and its content hash."""

    artifacts: dict[str, Artifact] = field(default_factory=dict)

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


def object_url(bucket: str, key: str, region: str) -> str:
    """The https URL CloudFormation and Service Catalog read a template from (never s3://)."""
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def rewrite_template_urls(template_yaml: str, urls: Mapping[str, str]) -> str:
    """Replace local child file names (`network.yaml`) in nested Stack TemplateURLs by `urls[name]`."""
    doc = load_yaml(template_yaml)
    for resource in doc.get("Resources", {}).values():
        if resource.get("Type") != "AWS::CloudFormation::Stack":
            continue
        props = resource["Properties"]
        local = props["TemplateURL"]
        name = local[: -len(".yaml")] if isinstance(local, str) and local.endswith(".yaml") else None
        if name not in urls:
            raise KeyError(f"no packaged template for TemplateURL {local!r}")
        props["TemplateURL"] = urls[name]
    return dump_yaml(doc)


def upload(s3, bucket: str, key: str, body: bytes, content_type: str = "application/x-yaml") -> bool:
    """Put `body` at `key` unless an object is already there; True when it was uploaded.

    The key is derived from the content, so an existing object holds the same bytes.
    """
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256")
    return True


def package_templates(s3, bucket: str, prefix: str, region: str, templates: Mapping[str, str]) -> Package:
    """Upload every nested child, then the root with its TemplateURLs rewritten to them.

    `templates` maps stack name to YAML (as in build/); only the root and the stacks it nests
    are packaged. Returns every artifact with its https URL.
    """
    result = Package()
    root_doc = load_yaml(templates[ROOT])
    children = sorted(
        r["Properties"]["TemplateURL"][: -len(".yaml")]
        for r in root_doc.get("Resources", {}).values()
        if r.get("Type") == "AWS::CloudFormation::Stack"
    )
    for name in children:
        body = templates[name].encode("utf-8")
        key = content_key(prefix, name, body)
        result.artifacts[name] = Artifact(name, key, object_url(bucket, key, region), upload(s3, bucket, key, body), body)
    root_body = rewrite_template_urls(templates[ROOT], {n: result.artifacts[n].url for n in children}).encode("utf-8")
    key = content_key(prefix, ROOT, root_body)
    result.artifacts[ROOT] = Artifact(ROOT, key, object_url(bucket, key, region), upload(s3, bucket, key, root_body), root_body)
    return result

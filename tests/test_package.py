"""Packaging against botocore's Stubber (S3's real request and response shapes): content keys,
skipped uploads, version-pinned URLs, and the root rewritten to its children's URLs."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from cfn_flip import load_yaml

from enrollcfn import catalog
from enrollcfn.package import IntegrityError, content_key, upload, nested_templates, object_url, package_templates, rewrite_template_urls
from tests.conftest import stubbed

BUCKET = "se-prod-bootstrap-artifactbucket-1abc"
REGION = "ap-southeast-2"


@pytest.fixture
def s3():
    yield from stubbed("s3", REGION)


def test_a_key_is_the_name_and_the_first_16_hex_of_the_sha256():
    body = b"Resources: {}\n"
    assert content_key("templates", "network", body) == f"templates/network-{hashlib.sha256(body).hexdigest()[:16]}.yaml"
    assert content_key("", "network", body).startswith("network-")


def test_urls_are_https_virtual_host_style_and_pinned_to_a_version():
    # CloudFormation reads TemplateURL only from https S3 URLs (CreateChangeSet: "must start with https://").
    assert object_url(BUCKET, "templates/a.yaml", REGION) == f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/a.yaml"
    assert object_url(BUCKET, "k", REGION, "v1").endswith("/k?versionId=v1")


def test_local_template_urls_are_found_and_rewritten_on_a_copy():
    root = {"Resources": {"NetworkStack": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "network.yaml"}},
                          "Queue": {"Type": "AWS::SQS::Queue"}}}
    assert nested_templates(root) == {"NetworkStack": "network"}
    new = rewrite_template_urls(root, {"network": "https://b/n.yaml"})
    assert new["Resources"]["NetworkStack"]["Properties"]["TemplateURL"] == "https://b/n.yaml"
    assert root["Resources"]["NetworkStack"]["Properties"]["TemplateURL"] == "network.yaml"
    with pytest.raises(KeyError, match="network.yaml"):
        rewrite_template_urls(root, {})


def test_a_remote_template_url_in_the_compiled_root_is_refused():
    with pytest.raises(ValueError, match="not a local"):
        nested_templates({"Resources": {"X": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://x/y"}}}})


def _missing(s3, key):
    s3.stub.add_client_error("head_object", "404", "Not Found", 404, expected_params={"Bucket": BUCKET, "Key": key, "ChecksumMode": "ENABLED"})


def test_children_then_the_root_are_uploaded_once_with_their_versions(s3, compiled):
    product = compiled.product()
    names = sorted(set(nested_templates(product["root"].doc).values()))
    for name in names:
        key = content_key("templates", name, product[name].body)
        _missing(s3, key)
        s3.stub.add_response("put_object", {"VersionId": f"v-{name}"}, {
            "Bucket": BUCKET, "Key": key, "Body": product[name].body, "ContentType": "application/x-yaml",
            "ServerSideEncryption": "AES256", "ChecksumAlgorithm": "SHA256"})
    s3.stub.add_client_error("head_object", "404", "Not Found", 404)
    s3.stub.add_response("put_object", {"VersionId": "v-root"})
    package = package_templates(s3, BUCKET, "templates", REGION, product)
    assert package.uploaded == [*names, "root"]
    uploaded_root = load_yaml(package.root.body.decode())
    for logical_id, name in nested_templates(product["root"].doc).items():
        url = uploaded_root["Resources"][logical_id]["Properties"]["TemplateURL"]
        assert url == package.artifacts[name].url and url.endswith(f"?versionId=v-{name}")
    assert package.root.digest == hashlib.sha256(package.root.body).hexdigest()
    assert catalog.Release.of(package).digest == package.root.digest[:16]


def _bodies(product, version: str) -> list[bytes]:
    """What packaging uploads, in order: the children, then the root pointing at `version` of each."""
    from cfn_flip import dump_yaml

    names = sorted(set(nested_templates(product["root"].doc).values()))
    urls = {n: object_url(BUCKET, content_key("templates", n, product[n].body), REGION, version) for n in names}
    return [product[n].body for n in names] + [dump_yaml(rewrite_template_urls(product["root"].doc, urls)).encode()]


def _sha256_b64(body: bytes) -> str:
    # S3's ChecksumSHA256: the base64 of the SHA-256 digest (Checking object integrity in Amazon S3).
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_content_already_in_the_bucket_is_not_uploaded_again(s3, compiled):
    product = compiled.product()
    for body in _bodies(product, "same"):
        s3.stub.add_response("head_object", {"VersionId": "same", "ChecksumSHA256": _sha256_b64(body)})
    package = package_templates(s3, BUCKET, "templates", REGION, product)
    assert package.uploaded == []
    assert all(a.url.endswith("?versionId=same") for a in package.artifacts.values())


# ---- an object planted at a content-hash key -----------------------------------------------------

KEY = "templates/service-0123456789abcdef.yaml"
OURS = b"Resources: {Queue: {Type: AWS::SQS::Queue}}\n"
PLANTED = b"Resources: {Admin: {Type: AWS::IAM::Role}}\n"


def test_a_planted_object_with_another_checksum_stops_the_upload_naming_it(s3):
    s3.stub.add_response("head_object", {"VersionId": "planted", "ChecksumSHA256": _sha256_b64(PLANTED)})
    with pytest.raises(IntegrityError, match=f"s3://{BUCKET}/{KEY}") as err:
        upload(s3, BUCKET, KEY, OURS)
    assert "other bytes" in err.value.message and "\n" not in str(err.value)


def test_an_object_without_a_checksum_is_read_back_by_version_and_compared(s3):
    s3.stub.add_response("head_object", {"VersionId": "v7"})
    s3.stub.add_response("get_object", {"Body": io.BytesIO(PLANTED)}, {"Bucket": BUCKET, "Key": KEY, "VersionId": "v7"})
    with pytest.raises(IntegrityError):
        upload(s3, BUCKET, KEY, OURS)
    s3.stub.add_response("head_object", {"VersionId": "v8"})
    s3.stub.add_response("get_object", {"Body": io.BytesIO(OURS)}, {"Bucket": BUCKET, "Key": KEY, "VersionId": "v8"})
    assert upload(s3, BUCKET, KEY, OURS) == (False, "v8")


def test_a_multipart_composite_checksum_is_not_taken_for_the_objects_own(s3):
    # A multipart upload's ChecksumSHA256 is a checksum of the parts' checksums, "-<parts>" at the end.
    composite = _sha256_b64(OURS) + "-3"
    s3.stub.add_response("head_object", {"VersionId": "mp", "ChecksumSHA256": composite})
    s3.stub.add_response("get_object", {"Body": io.BytesIO(PLANTED)}, {"Bucket": BUCKET, "Key": KEY, "VersionId": "mp"})
    with pytest.raises(IntegrityError):
        upload(s3, BUCKET, KEY, OURS)


def test_the_same_bytes_are_reused_and_new_bytes_are_uploaded_with_a_sha256_checksum(s3):
    s3.stub.add_response("head_object", {"VersionId": "ok", "ChecksumSHA256": _sha256_b64(OURS)})
    assert upload(s3, BUCKET, KEY, OURS) == (False, "ok")
    _missing(s3, KEY)
    s3.stub.add_response("put_object", {"VersionId": "new"}, {"Bucket": BUCKET, "Key": KEY, "Body": OURS, "ContentType": "application/x-yaml",
                                                               "ServerSideEncryption": "AES256", "ChecksumAlgorithm": "SHA256"})
    assert upload(s3, BUCKET, KEY, OURS) == (True, "new")


def test_against_the_local_s3_a_planted_template_is_refused_and_our_own_is_reused():
    """moto's S3 stores and returns SHA-256 checksums as S3 does."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=PLANTED)  # e.g. by a principal that may write below templates/
        with pytest.raises(IntegrityError):
            upload(s3, BUCKET, KEY, OURS)
        other = "templates/queue-fedcba9876543210.yaml"
        uploaded, version = upload(s3, BUCKET, other, OURS)
        assert uploaded and version
        assert upload(s3, BUCKET, other, OURS) == (False, version)

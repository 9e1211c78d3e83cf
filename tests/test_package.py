"""Packaging against botocore's Stubber (S3's real request and response shapes): content keys,
skipped uploads, version-pinned URLs, and the root rewritten to its children's URLs."""

from __future__ import annotations

import hashlib

import pytest
from cfn_flip import load_yaml

from enrollcfn import catalog
from enrollcfn.package import content_key, nested_templates, object_url, package_templates, rewrite_template_urls
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
    s3.stub.add_client_error("head_object", "404", "Not Found", 404, expected_params={"Bucket": BUCKET, "Key": key})


def test_children_then_the_root_are_uploaded_once_with_their_versions(s3, compiled):
    product = compiled.product()
    names = sorted(set(nested_templates(product["root"].doc).values()))
    for name in names:
        key = content_key("templates", name, product[name].body)
        _missing(s3, key)
        s3.stub.add_response("put_object", {"VersionId": f"v-{name}"}, {
            "Bucket": BUCKET, "Key": key, "Body": product[name].body, "ContentType": "application/x-yaml",
            "ServerSideEncryption": "AES256"})
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


def test_content_already_in_the_bucket_is_not_uploaded_again(s3, compiled):
    product = compiled.product()
    for _ in range(len(set(nested_templates(product["root"].doc).values())) + 1):
        s3.stub.add_response("head_object", {"VersionId": "same"})
    package = package_templates(s3, BUCKET, "templates", REGION, product)
    assert package.uploaded == []
    assert all(a.url.endswith("?versionId=same") for a in package.artifacts.values())

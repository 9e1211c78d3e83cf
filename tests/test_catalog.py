"""Service Catalog publishing, call by call, with botocore's Stubber: every request and response is
checked against the real Service Catalog (and IAM) service model."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from enrollcfn import catalog
from enrollcfn.errors import CatalogError
from tests.conftest import stubbed

OWNER = catalog.owner_of("api")
ROLE = "student-enrollment-production-launch"  # the launch role's name, as LocalRoleName takes it
PRINCIPAL = "arn:aws:iam::123456789012:role/Developers"
V1 = catalog.Release("https://b.s3.ap-southeast-2.amazonaws.com/templates/root-1111111111111111.yaml", "1" * 16, {"root": "1" * 16, "service": "a" * 16, "network": "c" * 16})
V2 = catalog.Release("https://b.s3.ap-southeast-2.amazonaws.com/templates/root-2222222222222222.yaml", "2" * 16, {"root": "2" * 16, "service": "b" * 16, "network": "c" * 16})
PORTFOLIO = {"Id": "port-1", "DisplayName": "Platform", "ProviderName": OWNER}
PRODUCT = {"ProductViewSummary": {"Id": "prodview-1", "ProductId": "prod-1", "Name": "enrollment-api", "Owner": OWNER}}


def _client(service: str):
    return boto3.client(service, region_name="ap-southeast-2", aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture
def sc():
    yield from stubbed("servicecatalog")


def _artifact(id_: str, name: str, guidance: str = "DEFAULT", active: bool = True, description: str = "") -> dict:
    return {"Id": id_, "Name": name, "Guidance": guidance, "Active": active, "Description": description}


def _inspect(sc, portfolios: list, products: list) -> catalog.Existing:
    sc.stub.add_response("list_portfolios", {"PortfolioDetails": portfolios}, {})
    sc.stub.add_response("search_products_as_admin", {"ProductViewDetails": products}, {"Filters": {"FullTextSearch": ["enrollment-api"]}})
    return catalog.inspect(sc, "Platform", "enrollment-api", OWNER)


def _publish(sc, existing, release, keep=None) -> catalog.Outcome:
    return catalog.publish(sc, existing, release, catalog.Listing("Platform", "enrollment-api", OWNER, ROLE, (PRINCIPAL,), keep))


def _existing_links(sc) -> None:
    """Association, launch constraint and principal already in place."""
    sc.stub.add_response("list_portfolios_for_product", {"PortfolioDetails": [PORTFOLIO]}, {"ProductId": "prod-1"})
    sc.stub.add_response("list_constraints_for_portfolio", {"ConstraintDetails": [{"ConstraintId": "cons-1", "Type": "LAUNCH"}]}, {"PortfolioId": "port-1", "ProductId": "prod-1"})
    sc.stub.add_response("describe_constraint", {"ConstraintParameters": json.dumps({"LocalRoleName": ROLE})}, {"Id": "cons-1"})
    sc.stub.add_response("list_principals_for_portfolio", {"Principals": [{"PrincipalARN": PRINCIPAL, "PrincipalType": "IAM"}]}, {"PortfolioId": "port-1"})


def test_first_publish_creates_portfolio_product_artifact_constraint_and_association(sc):
    existing = _inspect(sc, [], [])
    sc.stub.add_response("create_portfolio", {"PortfolioDetail": PORTFOLIO}, {"DisplayName": "Platform", "ProviderName": OWNER, "IdempotencyToken": ANY})
    v1 = f"v1 {V1.digest}"
    sc.stub.add_response(
        "create_product",
        {"ProductViewDetail": PRODUCT, "ProvisioningArtifactDetail": _artifact("pa-1", v1)},
        {
            "Name": "enrollment-api",
            "Owner": OWNER,
            "Description": ANY,
            "ProductType": "CLOUD_FORMATION_TEMPLATE",
            "ProvisioningArtifactParameters": {
                "Name": v1,
                "Description": "First version. Templates: network=cccccccc root=11111111 service=aaaaaaaa",
                "Info": {"LoadTemplateFromURL": V1.url},
                "Type": "CLOUD_FORMATION_TEMPLATE",
            },
            "IdempotencyToken": ANY,
        },
    )
    sc.stub.add_response("list_portfolios_for_product", {"PortfolioDetails": []}, {"ProductId": "prod-1"})
    sc.stub.add_response("associate_product_with_portfolio", {}, {"ProductId": "prod-1", "PortfolioId": "port-1"})
    sc.stub.add_response("list_constraints_for_portfolio", {"ConstraintDetails": []}, {"PortfolioId": "port-1", "ProductId": "prod-1"})
    sc.stub.add_response(
        "create_constraint",
        {"ConstraintDetail": {"ConstraintId": "cons-1", "Type": "LAUNCH"}},
        {"PortfolioId": "port-1", "ProductId": "prod-1", "Type": "LAUNCH", "Parameters": json.dumps({"LocalRoleName": ROLE}), "Description": ANY, "IdempotencyToken": ANY},
    )
    sc.stub.add_response("list_principals_for_portfolio", {"Principals": []}, {"PortfolioId": "port-1"})
    sc.stub.add_response("associate_principal_with_portfolio", {}, {"PortfolioId": "port-1", "PrincipalARN": PRINCIPAL, "PrincipalType": "IAM"})

    out = _publish(sc, existing, V1)

    assert [e["kind"] for e in out.created] == ["portfolio", "product", "artifact", "association", "launch constraint", "principal"]
    assert out.version == v1 and not out.updated


def test_second_publish_with_the_same_templates_creates_nothing(sc):
    existing = _inspect(sc, [PORTFOLIO], [PRODUCT])
    sc.stub.add_response("list_provisioning_artifacts", {"ProvisioningArtifactDetails": [_artifact("pa-1", f"v1 {V1.digest}")]}, {"ProductId": "prod-1"})
    _existing_links(sc)

    out = _publish(sc, existing, V1)

    assert out.created == [] and out.updated == []
    assert {e["kind"] for e in out.reused} == {"portfolio", "product", "artifact", "association", "launch constraint", "principal"}


def test_changed_template_adds_one_artifact_and_deprecates_the_previous(sc):
    existing = _inspect(sc, [PORTFOLIO], [PRODUCT])
    old = _artifact("pa-1", f"v1 {V1.digest}", description="First version. Templates: network=cccccccc root=11111111 service=aaaaaaaa")
    sc.stub.add_response("list_provisioning_artifacts", {"ProvisioningArtifactDetails": [old]}, {"ProductId": "prod-1"})
    v2 = f"v2 {V2.digest}"
    sc.stub.add_response(
        "create_provisioning_artifact",
        {"ProvisioningArtifactDetail": _artifact("pa-2", v2)},
        {
            "ProductId": "prod-1",
            "Parameters": {
                "Name": v2,
                "Description": "Changed since v1: root, service. Templates: network=cccccccc root=22222222 service=bbbbbbbb",
                "Info": {"LoadTemplateFromURL": V2.url},
                "Type": "CLOUD_FORMATION_TEMPLATE",
            },
            "IdempotencyToken": ANY,
        },
    )
    _existing_links(sc)
    sc.stub.add_response(
        "update_provisioning_artifact", {}, {"ProductId": "prod-1", "ProvisioningArtifactId": "pa-1", "Guidance": "DEPRECATED", "Active": True}
    )

    out = _publish(sc, existing, V2)

    assert [(e["kind"], e["name"]) for e in out.created] == [("artifact", v2)]
    assert [(e["kind"], e["id"]) for e in out.updated] == [("artifact -> DEPRECATED", "pa-1")]


def test_keep_deactivates_versions_beyond_the_newest_n(sc):
    existing = _inspect(sc, [PORTFOLIO], [PRODUCT])
    listed = [
        _artifact("pa-1", f"v1 {'a' * 16}", "DEPRECATED"),
        _artifact("pa-3", f"v3 {V1.digest}"),
        _artifact("pa-2", f"v2 {'b' * 16}", "DEPRECATED"),
    ]
    sc.stub.add_response("list_provisioning_artifacts", {"ProvisioningArtifactDetails": listed}, {"ProductId": "prod-1"})
    _existing_links(sc)
    sc.stub.add_response(
        "update_provisioning_artifact", {}, {"ProductId": "prod-1", "ProvisioningArtifactId": "pa-1", "Guidance": "DEPRECATED", "Active": False}
    )

    out = _publish(sc, existing, V1, keep=2)

    assert out.created == [] and [e["id"] for e in out.updated] == ["pa-1"]


def test_a_constraint_by_role_arn_becomes_one_by_local_role_name(sc):
    existing = _inspect(sc, [PORTFOLIO], [PRODUCT])
    sc.stub.add_response("list_provisioning_artifacts", {"ProvisioningArtifactDetails": [_artifact("pa-1", f"v1 {V1.digest}")]}, {"ProductId": "prod-1"})
    sc.stub.add_response("list_portfolios_for_product", {"PortfolioDetails": [PORTFOLIO]}, {"ProductId": "prod-1"})
    sc.stub.add_response("list_constraints_for_portfolio", {"ConstraintDetails": [{"ConstraintId": "cons-1", "Type": "LAUNCH"}]}, {"PortfolioId": "port-1", "ProductId": "prod-1"})
    # What an earlier publish made: the hub account's role by ARN, which no other account has.
    old = json.dumps({"RoleArn": "arn:aws:iam::123456789012:role/api-catalog-LaunchRole-ABC"})
    sc.stub.add_response("describe_constraint", {"ConstraintParameters": old}, {"Id": "cons-1"})
    sc.stub.add_response("update_constraint", {}, {"Id": "cons-1", "Parameters": json.dumps({"LocalRoleName": ROLE})})
    sc.stub.add_response("list_principals_for_portfolio", {"Principals": [{"PrincipalARN": PRINCIPAL, "PrincipalType": "IAM"}]}, {"PortfolioId": "port-1"})

    out = _publish(sc, existing, V1)

    assert out.created == [] and [e["kind"] for e in out.updated] == ["launch constraint"]


def test_product_name_taken_by_another_product_is_an_error_before_anything_is_created(sc):
    taken = {"ProductViewSummary": {"ProductId": "prod-9", "Name": "enrollment-api", "Owner": "data team"}}
    with pytest.raises(CatalogError, match="already taken by prod-9"):
        _inspect(sc, [], [taken])
    # The Stubber fails any call it was not given, so nothing was created.


def test_two_portfolios_of_the_same_name_are_an_error(sc):
    sc.stub.add_response("list_portfolios", {"PortfolioDetails": [PORTFOLIO, {**PORTFOLIO, "Id": "port-2"}]}, {})
    with pytest.raises(CatalogError, match="2 portfolios have this name"):
        catalog.inspect(sc, "Platform", "enrollment-api", OWNER)


def test_missing_principal_is_an_error_before_anything_is_created(sc):
    _inspect(sc, [], [])
    iam = _client("iam")
    with Stubber(iam) as stub:
        stub.add_client_error("get_role", "NoSuchEntity", "The role cannot be found", 404, expected_params={"RoleName": "Developers"})
        with pytest.raises(CatalogError, match="no such IAM role") as err:
            catalog.check_principals(iam, [PRINCIPAL])
    assert err.value.key == PRINCIPAL


def test_existing_principals_of_every_kind_pass_the_check():
    iam = _client("iam")
    with Stubber(iam) as stub:
        stub.add_response("get_role", {"Role": {"Path": "/", "RoleName": "Dev", "RoleId": "AROAEXAMPLE123456789", "Arn": "arn:aws:iam::123456789012:role/team/Dev", "CreateDate": "2024-01-01"}}, {"RoleName": "Dev"})
        stub.add_response("get_group", {"Group": {"Path": "/", "GroupName": "Ops", "GroupId": "AGPAEXAMPLE123456789", "Arn": "arn:aws:iam::123456789012:group/Ops", "CreateDate": "2024-01-01"}, "Users": []}, {"GroupName": "Ops"})
        catalog.check_principals(iam, ["arn:aws:iam::123456789012:role/team/Dev", "arn:aws:iam::123456789012:group/Ops"])
        stub.assert_no_pending_responses()


def test_principal_that_is_not_an_iam_arn_is_rejected():
    with pytest.raises(CatalogError, match="not an IAM role, group or user ARN"):
        catalog.check_principals(None, ["Developers"])


def test_service_catalog_errors_name_the_operation(sc):
    sc.stub.add_client_error("list_portfolios", "AccessDeniedException", "not allowed")
    with pytest.raises(CatalogError) as err:
        catalog.inspect(sc, "Platform", "enrollment-api", OWNER)
    assert err.value.key == "servicecatalog.list_portfolios" and "AccessDeniedException" in err.value.message


def test_principal_patterns_are_associated_as_iam_pattern_once(sc):
    pattern = "arn:aws:iam:::role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developers_*"
    existing = _inspect(sc, [PORTFOLIO], [PRODUCT])
    sc.stub.add_response("list_provisioning_artifacts", {"ProvisioningArtifactDetails": [_artifact("pa-1", f"v1 {V1.digest}")]}, {"ProductId": "prod-1"})
    sc.stub.add_response("list_portfolios_for_product", {"PortfolioDetails": [PORTFOLIO]}, {"ProductId": "prod-1"})
    sc.stub.add_response("list_constraints_for_portfolio", {"ConstraintDetails": [{"ConstraintId": "cons-1", "Type": "LAUNCH"}]}, {"PortfolioId": "port-1", "ProductId": "prod-1"})
    sc.stub.add_response("describe_constraint", {"ConstraintParameters": json.dumps({"LocalRoleName": ROLE})}, {"Id": "cons-1"})
    # The same ARN associated as IAM is not the pattern: only an IAM_PATTERN association counts.
    listed = [{"PrincipalARN": PRINCIPAL, "PrincipalType": "IAM"}, {"PrincipalARN": pattern, "PrincipalType": "IAM"}]
    sc.stub.add_response("list_principals_for_portfolio", {"Principals": listed}, {"PortfolioId": "port-1"})
    sc.stub.add_response("associate_principal_with_portfolio", {}, {"PortfolioId": "port-1", "PrincipalARN": pattern, "PrincipalType": "IAM_PATTERN"})

    listing = catalog.Listing("Platform", "enrollment-api", OWNER, ROLE, (PRINCIPAL,), None, (pattern,))
    out = catalog.publish(sc, existing, V1, listing)

    assert [(e["kind"], e["name"]) for e in out.created] == [("principal pattern", pattern)]
    assert out.portfolio_id == "port-1"

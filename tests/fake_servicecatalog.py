"""An in-memory Service Catalog with the calls publish uses, behind the boto3 client interface.

Every request is validated against the real service model (as a client would), unknown ids raise
the ClientError the service returns, and every write is recorded in `writes`. Organization shares
behave as the API reference describes them: each create, update or delete returns a token whose
status is IN_PROGRESS on the first DescribePortfolioShareStatus and COMPLETED afterwards.
"""

from __future__ import annotations

import itertools
import json

import botocore.session
from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import ParamValidator

_MODEL = botocore.session.get_session().get_service_model("servicecatalog")
_PAGINATORS = botocore.session.get_session().get_paginator_model("servicecatalog")
_OPERATIONS = {xform_name(op): op for op in _MODEL.operation_names}  # get_aws_organizations_access_status -> GetAWSOrganizations...


def _operation(method):
    """Validate the keyword arguments against the operation's input shape first."""
    op = _OPERATIONS[method.__name__]

    def call(self, **kwargs):
        report = ParamValidator().validate(kwargs, _MODEL.operation_model(op).input_shape)
        if report.has_errors():
            raise ParamValidationError(report=report.generate_report())
        if not op.startswith(("List", "Search", "Describe", "Get")):
            self.writes.append(op)
        return method(self, **kwargs)

    call.__name__ = method.__name__
    return call


def _public(artifact: dict) -> dict:
    """An artifact as the service describes it (the template URL is kept only for assertions)."""
    return {k: v for k, v in artifact.items() if k != "Url"}


def _not_found(what: str) -> ClientError:
    return ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": f"{what} not found"}}, "fake")


class FakeServiceCatalog:
    """Portfolios, products, artifacts, constraints and principal associations, in memory."""

    def __init__(self):
        self.portfolios: dict[str, dict] = {}
        self.products: dict[str, dict] = {}
        self.artifacts: dict[str, list[dict]] = {}
        self.links: set[tuple[str, str]] = set()
        self.constraints: dict[str, dict] = {}
        self.principals: dict[str, list[dict]] = {}
        self.shares: dict[str, dict[tuple[str, str], dict]] = {}  # portfolio -> (Type, Value) -> share
        self.tokens: dict[str, dict] = {}
        self.organizations_access = "ENABLED"
        self.writes: list[str] = []
        self._ids = itertools.count(1)

    def get_paginator(self, operation: str):
        """botocore's own Paginator over this fake's method, configured by the service's paginator model."""
        from botocore.paginate import Paginator

        op = _OPERATIONS[operation]
        config = _PAGINATORS.get_paginator(op)
        return Paginator(getattr(self, operation), config, _MODEL.operation_model(op))

    def add_foreign_product(self, name: str, owner: str) -> None:
        """A product of someone else's, as another team would have made it."""
        self.products[f"prod-{next(self._ids)}"] = {"ProductId": "", "Name": name, "Owner": owner}

    @_operation
    def list_portfolios(self, **_):
        return {"PortfolioDetails": list(self.portfolios.values())}

    @_operation
    def create_portfolio(self, DisplayName, ProviderName, IdempotencyToken, **_):
        pid = f"port-{next(self._ids)}"
        self.portfolios[pid] = {"Id": pid, "DisplayName": DisplayName, "ProviderName": ProviderName}
        self.principals[pid] = []
        return {"PortfolioDetail": self.portfolios[pid]}

    @_operation
    def search_products_as_admin(self, Filters=None, **_):
        words = (Filters or {}).get("FullTextSearch", [])
        found = [{**p, "ProductId": pid} for pid, p in self.products.items() if not words or any(w in p["Name"] for w in words)]
        return {"ProductViewDetails": [{"ProductViewSummary": p} for p in found]}

    @_operation
    def create_product(self, Name, Owner, ProductType, IdempotencyToken, ProvisioningArtifactParameters, **_):
        pid = f"prod-{next(self._ids)}"
        self.products[pid] = {"ProductId": pid, "Name": Name, "Owner": Owner, "Type": ProductType}
        self.artifacts[pid] = []
        detail = self._add_artifact(pid, ProvisioningArtifactParameters)
        return {"ProductViewDetail": {"ProductViewSummary": self.products[pid]}, "ProvisioningArtifactDetail": detail}

    @_operation
    def list_provisioning_artifacts(self, ProductId, **_):
        return {"ProvisioningArtifactDetails": [_public(a) for a in self._artifacts_of(ProductId)]}

    @_operation
    def create_provisioning_artifact(self, ProductId, Parameters, IdempotencyToken, **_):
        self._artifacts_of(ProductId)
        return {"ProvisioningArtifactDetail": self._add_artifact(ProductId, Parameters)}

    @_operation
    def update_provisioning_artifact(self, ProductId, ProvisioningArtifactId, **changes):
        for a in self._artifacts_of(ProductId):
            if a["Id"] == ProvisioningArtifactId:
                a.update({k: v for k, v in changes.items() if k in ("Name", "Description", "Active", "Guidance")})
                return {"ProvisioningArtifactDetail": _public(a)}
        raise _not_found(ProvisioningArtifactId)

    @_operation
    def list_portfolios_for_product(self, ProductId, **_):
        return {"PortfolioDetails": [self.portfolios[port] for port, prod in sorted(self.links) if prod == ProductId]}

    @_operation
    def associate_product_with_portfolio(self, ProductId, PortfolioId, **_):
        self._artifacts_of(ProductId), self._portfolio(PortfolioId)
        self.links.add((PortfolioId, ProductId))
        return {}

    @_operation
    def list_constraints_for_portfolio(self, PortfolioId, ProductId=None, **_):
        found = [c for c in self.constraints.values() if c["PortfolioId"] == PortfolioId and ProductId in (None, c["ProductId"])]
        return {"ConstraintDetails": [{k: v for k, v in c.items() if k != "Parameters"} for c in found]}

    @_operation
    def create_constraint(self, PortfolioId, ProductId, Parameters, Type, IdempotencyToken, **_):
        if (PortfolioId, ProductId) not in self.links:
            raise _not_found(f"product {ProductId} in portfolio {PortfolioId}")
        cid = f"cons-{next(self._ids)}"
        self.constraints[cid] = {"ConstraintId": cid, "Type": Type, "PortfolioId": PortfolioId, "ProductId": ProductId, "Parameters": Parameters}
        return {"ConstraintDetail": {k: v for k, v in self.constraints[cid].items() if k != "Parameters"}}

    @_operation
    def describe_constraint(self, Id, **_):
        if Id not in self.constraints:
            raise _not_found(Id)
        return {"ConstraintDetail": {"ConstraintId": Id}, "ConstraintParameters": self.constraints[Id]["Parameters"]}

    @_operation
    def update_constraint(self, Id, Parameters=None, **_):
        self.constraints[Id]["Parameters"] = Parameters
        return {}

    @_operation
    def list_principals_for_portfolio(self, PortfolioId, **_):
        return {"Principals": list(self._portfolio(PortfolioId))}

    @_operation
    def associate_principal_with_portfolio(self, PortfolioId, PrincipalARN, PrincipalType, **_):
        self._portfolio(PortfolioId).append({"PrincipalARN": PrincipalARN, "PrincipalType": PrincipalType})
        return {}

    @_operation
    def get_aws_organizations_access_status(self, **_):
        return {"AccessStatus": self.organizations_access}

    @_operation
    def describe_portfolio_shares(self, PortfolioId, Type, PageToken=None, **_):
        self._portfolio(PortfolioId)
        # Type ACCOUNT lists account-to-account shares (by AccountId), which this fake never holds.
        listed = {"ORGANIZATION_MEMBER_ACCOUNT": "ACCOUNT", "ACCOUNT": None}.get(Type, Type)
        found = [s for (kind, _), s in sorted(self.shares.get(PortfolioId, {}).items()) if kind == listed]
        # One share per page, so callers must follow NextPageToken.
        start = int(PageToken or 0)
        page = {"PortfolioShareDetails": [{**s, "Type": Type} for s in found[start:start + 1]]}
        return {**page, "NextPageToken": str(start + 1)} if start + 1 < len(found) else page

    @_operation
    def create_portfolio_share(self, PortfolioId, OrganizationNode, SharePrincipals=False, **_):
        self._portfolio(PortfolioId)
        key = (OrganizationNode["Type"], OrganizationNode["Value"])
        if SharePrincipals and key[0] == "ACCOUNT":  # "only supported for ... ORGANIZATION or ORGANIZATIONAL_UNIT"
            raise ClientError({"Error": {"Code": "InvalidParametersException", "Message": "SharePrincipals is not supported for ACCOUNT"}}, "CreatePortfolioShare")
        share = {"PrincipalId": key[1], "Accepted": True, "ShareTagOptions": False, "SharePrincipals": SharePrincipals}
        self.shares.setdefault(PortfolioId, {}).setdefault(key, share)  # an existing share: no effect, no error
        return {"PortfolioShareToken": self._token(PortfolioId, key[1])}

    @_operation
    def update_portfolio_share(self, PortfolioId, OrganizationNode, SharePrincipals=None, **_):
        share = self.shares.get(PortfolioId, {}).get((OrganizationNode["Type"], OrganizationNode["Value"]))
        if share is None:
            raise _not_found(f"share of {PortfolioId} with {OrganizationNode['Value']}")
        if SharePrincipals is not None:
            share["SharePrincipals"] = SharePrincipals
        return {"PortfolioShareToken": self._token(PortfolioId, OrganizationNode["Value"]), "Status": "IN_PROGRESS"}

    @_operation
    def delete_portfolio_share(self, PortfolioId, OrganizationNode, **_):
        if self.shares.get(PortfolioId, {}).pop((OrganizationNode["Type"], OrganizationNode["Value"]), None) is None:
            raise _not_found(f"share of {PortfolioId} with {OrganizationNode['Value']}")
        return {"PortfolioShareToken": self._token(PortfolioId, OrganizationNode["Value"])}

    @_operation
    def describe_portfolio_share_status(self, PortfolioShareToken, **_):
        status = self.tokens[PortfolioShareToken]
        status["polls"] += 1
        state = "IN_PROGRESS" if status["polls"] == 1 else "COMPLETED"
        return {"PortfolioShareToken": PortfolioShareToken, "PortfolioId": status["PortfolioId"],
                "OrganizationNodeValue": status["Value"], "Status": state}

    def launch_role(self, product_id: str) -> str:
        """The LocalRoleName of the product's launch constraint."""
        (c,) = [c for c in self.constraints.values() if c["ProductId"] == product_id and c["Type"] == "LAUNCH"]
        return json.loads(c["Parameters"])["LocalRoleName"]

    def _token(self, portfolio_id: str, value: str) -> str:
        token = f"share-{next(self._ids)}"
        self.tokens[token] = {"PortfolioId": portfolio_id, "Value": value, "polls": 0}
        return token

    def _add_artifact(self, product_id: str, params: dict) -> dict:
        detail = {"Id": f"pa-{next(self._ids)}", "Name": params["Name"], "Description": params.get("Description", ""), "Active": True, "Guidance": "DEFAULT"}
        detail["Url"] = params["Info"]["LoadTemplateFromURL"]
        self.artifacts[product_id].append(detail)
        return _public(detail)

    def _artifacts_of(self, product_id: str) -> list[dict]:
        if product_id not in self.artifacts:
            raise _not_found(product_id)
        return self.artifacts[product_id]

    def _portfolio(self, portfolio_id: str) -> list[dict]:
        if portfolio_id not in self.portfolios:
            raise _not_found(portfolio_id)
        return self.principals[portfolio_id]

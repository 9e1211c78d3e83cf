"""Portfolio shares through AWS Organizations, call by call, with botocore's Stubber (every request
and response is checked against the real Service Catalog model), and the flag checks that run
before any client exists, against the id patterns in botocore's Organizations and IAM models."""

from __future__ import annotations

import re

import botocore.session
import pytest

from enrollcfn import sharing
from enrollcfn.catalog import Outcome
from enrollcfn.errors import CatalogError, Problems
from tests.conftest import stubbed

PORTFOLIO = "port-abc123"
ACCOUNT = "111122223333"
OU = "ou-ab12-cdef3456"
_LOADER = botocore.session.get_session().get_component("data_loader")


def _shape(service: str, name: str) -> dict:
    return _LOADER.load_service_model(service, "service-2")["shapes"][name]


@pytest.fixture
def sc():
    yield from stubbed("servicecatalog")


class Waited:
    """A Wait whose clock advances by each sleep, with the progress lines and sleeps kept."""

    def __init__(self, timeout: float = 1800):
        self.lines, self.sleeps, self.now = [], [], 0.0
        self.wait = sharing.Wait(self.lines.append, self._sleep, lambda: self.now, timeout)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _listed(sc, kind: str, details: list[dict], token: str | None = None, next_token: str | None = None) -> None:
    params = {"PortfolioId": PORTFOLIO, "Type": kind, **({"PageToken": token} if token else {})}
    response = {"PortfolioShareDetails": details, **({"NextPageToken": next_token} if next_token else {})}
    sc.stub.add_response("describe_portfolio_shares", response, params)


def _status(sc, token: str, *states: str, errors: list | None = None) -> None:
    for state in states:
        response = {"PortfolioShareToken": token, "PortfolioId": PORTFOLIO, "Status": state}
        if errors is not None and state != "IN_PROGRESS":
            response["ShareDetails"] = {"SuccessfulShares": [], "ShareErrors": errors}
        sc.stub.add_response("describe_portfolio_share_status", response, {"PortfolioShareToken": token})


def _share(pid: str, kind: str, principals: bool = True) -> dict:
    return {"PrincipalId": pid, "Type": kind, "Accepted": True, "ShareTagOptions": False, "SharePrincipals": principals}


def test_first_run_shares_with_the_account_and_the_ou_and_follows_each_to_the_end(sc):
    _listed(sc, "ORGANIZATIONAL_UNIT", [])
    _listed(sc, "ORGANIZATION_MEMBER_ACCOUNT", [])
    sc.stub.add_response("create_portfolio_share", {"PortfolioShareToken": "share-1"},
                         {"PortfolioId": PORTFOLIO, "OrganizationNode": {"Type": "ACCOUNT", "Value": ACCOUNT}})
    _status(sc, "share-1", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED")
    # Principal sharing only on the OU: SharePrincipals is supported for ORGANIZATION and
    # ORGANIZATIONAL_UNIT nodes only (CreatePortfolioShare).
    sc.stub.add_response("create_portfolio_share", {"PortfolioShareToken": "share-2"},
                         {"PortfolioId": PORTFOLIO, "OrganizationNode": {"Type": "ORGANIZATIONAL_UNIT", "Value": OU}, "SharePrincipals": True})
    _status(sc, "share-2", "COMPLETED")
    out, w = Outcome(), Waited()

    sharing.apply(sc, PORTFOLIO, sharing.parse([ACCOUNT], [OU]), out, w.wait)

    assert [(e["kind"], e["name"]) for e in out.created] == [("account share", ACCOUNT), ("OU share", OU)]
    assert w.lines[:2] == [f"  sharing with {ACCOUNT}: IN_PROGRESS (0 s)", f"  sharing with {ACCOUNT}: IN_PROGRESS (2 s)"]
    assert w.sleeps == [2.0, 4.0]
    # The output says that nobody accepts these shares, and where principals did not go with them.
    account_note, ou_note = w.lines[2:]
    assert account_note.startswith(f"  shared with {ACCOUNT}: imported automatically, no AcceptPortfolioShare needed")
    assert "principals are not shared with a single account" in account_note
    assert ou_note.startswith(f"  shared with {OU}: imported automatically in each account of the OU, with the portfolio's principal patterns")


def test_second_run_creates_no_share(sc):
    _listed(sc, "ORGANIZATIONAL_UNIT", [_share(OU, "ORGANIZATIONAL_UNIT")])
    _listed(sc, "ORGANIZATION_MEMBER_ACCOUNT", [_share(ACCOUNT, "ORGANIZATION_MEMBER_ACCOUNT", principals=False)])
    out = Outcome()

    sharing.apply(sc, PORTFOLIO, sharing.parse([ACCOUNT], [OU]), out, Waited().wait)

    # The Stubber refuses any call it was not given: no create_portfolio_share was made.
    assert out.created == [] and out.updated == []
    assert [(e["kind"], e["name"]) for e in out.reused] == [("account share", ACCOUNT), ("OU share", OU)]


def test_shares_are_read_across_pages(sc):
    other = "ou-ab12-00000000"
    _listed(sc, "ORGANIZATIONAL_UNIT", [_share(other, "ORGANIZATIONAL_UNIT")], next_token="page-2")
    _listed(sc, "ORGANIZATIONAL_UNIT", [_share(OU, "ORGANIZATIONAL_UNIT")], token="page-2")
    out = Outcome()

    sharing.apply(sc, PORTFOLIO, sharing.parse(ous=[OU]), out, Waited().wait)

    assert out.created == [] and [e["name"] for e in out.reused] == [OU]


def test_an_ou_share_without_principal_sharing_gets_it(sc):
    _listed(sc, "ORGANIZATIONAL_UNIT", [_share(OU, "ORGANIZATIONAL_UNIT", principals=False)])
    sc.stub.add_response("update_portfolio_share", {"PortfolioShareToken": "share-3", "Status": "IN_PROGRESS"},
                         {"PortfolioId": PORTFOLIO, "OrganizationNode": {"Type": "ORGANIZATIONAL_UNIT", "Value": OU}, "SharePrincipals": True})
    _status(sc, "share-3", "COMPLETED")
    out = Outcome()

    sharing.apply(sc, PORTFOLIO, sharing.parse(ous=[OU]), out, Waited().wait)

    assert out.created == [] and [(e["kind"], e["name"]) for e in out.updated] == [("OU share -> principals shared", OU)]


def test_unshare_deletes_existing_shares_and_only_those(sc):
    gone = "444455556666"
    _listed(sc, "ORGANIZATIONAL_UNIT", [_share(OU, "ORGANIZATIONAL_UNIT")])
    _listed(sc, "ORGANIZATION_MEMBER_ACCOUNT", [_share(ACCOUNT, "ORGANIZATION_MEMBER_ACCOUNT", principals=False)])
    sc.stub.add_response("delete_portfolio_share", {"PortfolioShareToken": "share-4"},
                         {"PortfolioId": PORTFOLIO, "OrganizationNode": {"Type": "ACCOUNT", "Value": ACCOUNT}})
    _status(sc, "share-4", "IN_PROGRESS", "COMPLETED")
    sc.stub.add_response("delete_portfolio_share", {"PortfolioShareToken": "share-5"},
                         {"PortfolioId": PORTFOLIO, "OrganizationNode": {"Type": "ORGANIZATIONAL_UNIT", "Value": OU}})
    _status(sc, "share-5", "COMPLETED")
    out, w = Outcome(), Waited()

    sharing.apply(sc, PORTFOLIO, sharing.parse(unshare_accounts=[ACCOUNT, gone], unshare_ous=[OU]), out, w.wait)

    assert [(e["kind"], e["name"]) for e in out.removed] == [("account share", ACCOUNT), ("OU share", OU)]
    assert [e["name"] for e in out.reused] == [gone] and out.created == []
    assert w.lines == [f"  unsharing from {ACCOUNT}: IN_PROGRESS (0 s)"]


def test_a_share_that_ends_with_errors_names_the_accounts(sc):
    _listed(sc, "ORGANIZATIONAL_UNIT", [])
    sc.stub.add_response("create_portfolio_share", {"PortfolioShareToken": "share-6"},
                         {"PortfolioId": PORTFOLIO, "OrganizationNode": {"Type": "ORGANIZATIONAL_UNIT", "Value": OU}, "SharePrincipals": True})
    errors = [{"Accounts": ["777788889999"], "Message": "Account is suspended", "Error": "InvalidState"}]
    _status(sc, "share-6", "COMPLETED_WITH_ERRORS", errors=errors)

    with pytest.raises(CatalogError) as err:
        sharing.apply(sc, PORTFOLIO, sharing.parse(ous=[OU]), Outcome(), Waited().wait)

    assert err.value.key == OU
    assert err.value.message == f"sharing with {OU} ended COMPLETED_WITH_ERRORS: 777788889999: InvalidState: Account is suspended"


def test_a_share_that_outlasts_the_wait_says_how_to_look_at_it(sc):
    _listed(sc, "ORGANIZATIONAL_UNIT", [])
    sc.stub.add_response("create_portfolio_share", {"PortfolioShareToken": "share-7"},
                         {"PortfolioId": PORTFOLIO, "OrganizationNode": {"Type": "ORGANIZATIONAL_UNIT", "Value": OU}, "SharePrincipals": True})
    _status(sc, "share-7", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS")
    w = Waited(timeout=5)

    with pytest.raises(CatalogError, match="still IN_PROGRESS after 6 s; it goes on in AWS: aws servicecatalog "
                                           "describe-portfolio-share-status --portfolio-share-token share-7"):
        sharing.apply(sc, PORTFOLIO, sharing.parse(ous=[OU]), Outcome(), w.wait)
    assert w.sleeps == [2.0, 4.0]


def test_organizations_access_is_checked_before_anything_is_shared(sc):
    sc.stub.add_response("get_aws_organizations_access_status", {"AccessStatus": "ENABLED"}, {})
    sharing.check_access(sc)
    sc.stub.add_response("get_aws_organizations_access_status", {"AccessStatus": "DISABLED"}, {})
    with pytest.raises(CatalogError, match="access to AWS Organizations is DISABLED; run `aws servicecatalog enable-aws-organizations-access`"):
        sharing.check_access(sc)
    # A member account that is no delegated administrator is refused by AWS: the hint says who may share.
    sc.stub.add_client_error("get_aws_organizations_access_status", "OperationNotSupportedException", "not a delegated admin")
    with pytest.raises(CatalogError, match="OperationNotSupportedException: not a delegated admin; .*delegated administrator"):
        sharing.check_access(sc)


# ---- the flags, checked before any client exists --------------------------------------------


@pytest.mark.parametrize("value", ["111122223333", "000000000000", "11112222333", "1111222233334", "11112222333a", " 111122223333", "１１１１２２２２３３３３"])
def test_account_ids_are_what_organizations_accepts(value):
    accepted = re.fullmatch(_shape("organizations", "AccountId")["pattern"].strip("^$").replace("\\d", "[0-9]"), value) is not None
    if accepted:
        assert sharing.parse([value]).share == (sharing.Node("ACCOUNT", value),)
    else:
        with pytest.raises(Problems) as err:
            sharing.parse([value])
        assert [(p.key, p.message) for p in err.value.problems] == [("--share-account", f"{value!r} is not an AWS account id (12 digits)")]


@pytest.mark.parametrize("value", ["ou-ab12-cdef3456", "ou-" + "a" * 32 + "-" + "b" * 32, "ou-abc-cdef3456", "ou-ab12-cdef345",
                                   "OU-AB12-CDEF3456", "ou-ab12cdef3456", "o-abcdefghij", "ou-ab12-cdef3456 ", "r-ab12"])
def test_ou_ids_are_what_organizations_accepts(value):
    accepted = re.fullmatch(_shape("organizations", "OrganizationalUnitId")["pattern"].strip("^$"), value) is not None
    if accepted:
        assert sharing.parse(unshare_ous=[value]).unshare == (sharing.Node("ORGANIZATIONAL_UNIT", value),)
    else:
        with pytest.raises(Problems) as err:
            sharing.parse(unshare_ous=[value])
        assert [p.key for p in err.value.problems] == ["--unshare-ou"] and "is not an organizational unit id" in err.value.problems[0].message


def test_principal_patterns_take_iam_names_paths_and_wildcards():
    iam_name = re.compile(_shape("iam", "roleNameType")["pattern"])
    good = ["arn:aws:iam:::role/Developers", "arn:aws:iam:::role/team/platform/Developers",
            "arn:aws:iam:::role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developers_*", "arn:aws:iam:::group/Ops?",
            "arn:aws-us-gov:iam:::user/ci", "arn:aws:iam:::role/" + "r" * 64, "arn:aws:iam:::role/team/??*",
            "arn:aws:iam:::role/aws-reserved/sso.amazonaws.com/*"]
    assert sharing.parse(patterns=good).patterns == tuple(good)
    assert all(iam_name.fullmatch(g.rsplit("/", 1)[1].replace("*", "x").replace("?", "x")) for g in good)


@pytest.mark.parametrize("value, why", [
    ("arn:aws:iam::123456789012:role/Developers", "names an account"),
    ("arn:aws:iam:::role/*", "matches every role in every account"),
    ("arn:aws:iam:::role/*/*", "matches every role in every account"),  # `*` matches `/` too
    ("arn:aws:iam:::group/?*", "matches every group in every account"),
    ("arn:aws:iam:::role/" + "r" * 65, "an IAM role name is at most 64 characters, this one has 65"),
    ("arn:aws:iam:::role/has space", "is not an IAM ARN pattern"),
    ("arn:aws:iam:::policy/Developers", "is not an IAM ARN pattern"),
    ("arn:aws:s3:::role/Developers", "is not an IAM ARN pattern"),
    ("Developers", "is not an IAM ARN pattern"),
])
def test_bad_principal_patterns_are_one_line_each(value, why):
    with pytest.raises(Problems) as err:
        sharing.parse(patterns=[value])
    (problem,) = err.value.problems
    assert problem.key == "--principal-pattern" and why in problem.message


def test_at_most_ten_patterns_and_no_node_both_shared_and_unshared():
    patterns = [f"arn:aws:iam:::role/Team{i}" for i in range(11)]
    with pytest.raises(Problems) as err:
        sharing.parse([ACCOUNT], [OU], [ACCOUNT], [OU], patterns)
    assert [(p.key, p.message.split(";")[0]) for p in err.value.problems] == [
        ("--unshare-account", f"{ACCOUNT} is also to be shared"),
        ("--unshare-ou", f"{OU} is also to be shared"),
        ("--principal-pattern", "11 given"),
    ]
    assert "at most 10 IAM_PATTERN principals" in err.value.problems[-1].message

"""The existing public hosted zone and the API's name in it."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, model_validator
from pydantic_core import PydanticCustomError

from enrollcfn.config._base import Section, Text, check, rules

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def _domain(name: str) -> str:
    """A lower-case DNS name (RFC 1035: labels of 1-63, 253 in all), or a keyed error."""
    problem = None
    if name != name.lower() or name.endswith("."):
        problem = "write it in lower case without a trailing dot"
    elif len(name) > 253:
        problem = "a domain name is at most 253 characters"
    elif name.count(".") < 1:
        problem = "a domain name needs at least two labels, such as example.com"
    else:
        bad = next((label for label in name.split(".") if not _LABEL.fullmatch(label)), None)
        if bad is not None:
            problem = f"label {bad[:70]!r} must be 1-63 of a-z, 0-9 and '-', not starting or ending with '-'"
    if problem:
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise PydanticCustomError("bad_value", "{message}", {"message": f"{shown!r} is not a valid domain name: {problem}"})
    return name


Domain = Annotated[Text, AfterValidator(_domain)]


class Dns(Section):
    """The existing public hosted zone and the API's name in it."""

    zone_name: Domain = "martincaringal.co.nz"  # seed (pre-existing zone, not created here)
    # placeholder: set the real zone id per deployment. The id, not "/hostedzone/ID"; Route 53
    # ids are upper-case letters and digits (at most 32 characters).
    hosted_zone_id: Annotated[
        Text, check(r"[A-Z0-9]{1,32}", "is not a Route53 hosted zone id (upper-case letters and digits, e.g. Z0123456789ABCDEFGHIJ)")
    ] = "Z0000000000000000000"
    # Left out, it is derived from the environment (config.names.api_domain): server.<zone> for
    # production (seed), <environment>-server.<zone> otherwise, so two environments in one zone
    # never claim the same record.
    api_domain: Domain | None = None

    @model_validator(mode="after")
    def _in_zone(self) -> Dns:
        """The API name lies in the zone, one label deep (the certificate covers zone and *.zone)."""
        zone, api = self.zone_name, self.api_domain
        if api is None:
            return self
        if api != zone and not api.endswith("." + zone):
            rules([("dns.api_domain", f"{api} is not in the hosted zone {zone}")])
        if api.count(".") > zone.count(".") + 1:
            rules([("dns.api_domain", f"the certificate covers {zone} and *.{zone}; use one label under the zone")])
        return self

"""Service Catalog: the organization whose accounts launch the shared product."""

from __future__ import annotations

from typing import Annotated

from enrollcfn.config._base import Section, Text, check

# organizations OrganizationId: ^o-[a-z0-9]{10,32}$ (botocore's Organizations service model).
OrganizationId = Annotated[Text, check(r"|o-[a-z0-9]{10,32}", "is not an organization id: o- and 10-32 lower-case letters or digits, "
                                        "as `aws organizations describe-organization` shows it; leave it empty to share with no account")]


class Catalog(Section):
    """Who besides this account may launch the product published from it."""

    # The organization of the accounts the portfolio is shared with (publish --share-*): the
    # artifact bucket lets their launch roles (config.names.launch_role) read the packaged
    # templates. Empty: only this account's launch role reads them.
    organization_id: OrganizationId = ""

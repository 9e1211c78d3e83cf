"""The typed configuration of a deployment, on pydantic models whose defaults reproduce the seed.

Public API: `Config` (frozen; `Config()` is the default deployment), `load(path)` for a YAML file
of overrides and `parse(data)` for its content. Both raise `enrollcfn.errors.ConfigErrors` holding
every problem in the input, each a `ConfigError` with the dotted `key` and a `message` saying what
is wrong and what is allowed. One module per concern: network, dns, registry (and cluster),
load_balancer, service (and environment), database, monitoring (and logs); model holds the root
and the rules joining sections, loading the YAML reading, problems the error translation, regions
the bundled AWS facts.

Values marked "seed" equal the Terraform deployment this project rebuilds
(`reference/seed-inventory.md`). Where the seed was insecure or fragile, the default is the better
practice and the comment says "fix" and why; docs/stacks.md lists every such difference.
"""

from enrollcfn.config.loading import load, parse
from enrollcfn.config.model import Config

__all__ = ["Config", "load", "parse"]

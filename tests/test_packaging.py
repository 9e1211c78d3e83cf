"""What the wheel carries: every package of the source tree is listed in setup.cfg (a package left
out installs nothing and the command line cannot import it), and the `local` extra names the
local AWS's own requirement."""

from __future__ import annotations

import configparser

from tests.conftest import PROJECT_ROOT


def _options() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(PROJECT_ROOT / "setup.cfg", encoding="utf-8")
    return parser["options"]


def test_every_package_of_the_source_tree_is_in_the_wheel():
    options = _options()
    listed = {p.strip() for p in options["packages"].split(",")}
    roots = {}
    for line in options["package_dir"].strip().splitlines():
        name, folder = (part.strip() for part in line.split("="))
        roots[name] = PROJECT_ROOT / folder
    found = set()
    for name, folder in roots.items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            found.add(".".join((name, *parts)))
    assert found - listed == set(), "packages missing from setup.cfg's [options] packages"
    assert listed - found == set(), "packages listed in setup.cfg that do not exist"

"""The AWS Control Tower proactive controls over compiled templates, with cfn-guard.

    python tests/guard.py [--exceptions FILE] DIR [DIR ...]

Every `*.yaml` template of each DIR (a build) is converted to JSON (cfn-guard misreads YAML
short-form intrinsics such as `!Ref`), each `Ref` to one of the template's Parameters replaced by
a value of the Parameter's shape (see `resolve_parameters`), and checked against every Control Tower rule file that
`@cdklabs/cdk-validator-cfnguard` ships (`make scan` installs it into .scan-node). One line is
printed per failing rule per template; the exit code is 1 when a rule fails that the exceptions
file does not accept for that template, or when the file accepts a failure that no longer
happens (so the list never outlives its reasons), and 2 when cfn-guard cannot run.

The exceptions file has one `<template file> <rule name> <control id>` a line (`#` comments):
the rules the default config does not hold, each explained in docs/security.md ("Not held, and why").
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cfn_flip import to_json

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / ".scan-node" / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard"
RULES = PACKAGE / "rules" / "control-tower" / "cfn-guard"
GUARD_VERSION = "3.1.1"
EXCEPTIONS = ROOT / "guard-exceptions.txt"
_CONTROL = re.compile(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]")


def guard_binary(package: Path = PACKAGE) -> Path:
    """The package's cfn-guard for this machine (Linux x86_64 or aarch64)."""
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
    return package / "bin" / "ubuntu" / arch / "cfn-guard"


def installed(package: Path = PACKAGE) -> bool:
    """True when the package's cfn-guard and rules are on disk."""
    return guard_binary(package).is_file() and (package / "rules" / "control-tower" / "cfn-guard").is_dir()


@dataclass(frozen=True)
class Failure:
    """One rule that fails for one template, with the control it enforces and the resources."""

    template: str
    rule: str
    control: str
    resources: tuple[str, ...]

    def line(self, accepted: bool) -> str:
        what = "accepted" if accepted else "FAIL"
        return f"{what:8} {self.template:22} {self.rule} [{self.control}] {', '.join(self.resources)}"


def rule_files(rules: Path = RULES) -> list[Path]:
    return sorted(rules.rglob("*.guard"))


def rule_names(rules: Path = RULES) -> dict[str, str]:
    """Each top-level rule name of the rule files -> its control id, as the files state them."""
    names = {}
    for path in rule_files(rules):
        text = path.read_text(encoding="utf-8")
        control = _CONTROL.search(text)
        for name in re.findall(r"^rule\s+(\w+)\s+when\b", text, re.M):
            names[name] = control.group(1) if control else path.stem
    return names


def _documents(text: str) -> list[dict]:
    """cfn-guard's `-o json` output: one JSON document per rule file and data file, back to back."""
    decoder, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        doc, i = decoder.raw_decode(text, i)
        out.append(doc)


def _walk(node, resources: set[str], controls: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "path" and isinstance(value, str) and value.startswith("/Resources/"):
                resources.add(value.split("/")[2])
            elif key == "custom_message" and isinstance(value, str):
                controls.update(_CONTROL.findall(value))
            _walk(value, resources, controls)
    elif isinstance(node, list):
        for value in node:
            _walk(value, resources, controls)


def resolve_parameters(template: dict) -> dict:
    """`template` with every `{"Ref": P}` to one of its Parameters replaced by a value of P's type,
    as the controls see it when they run: Control Tower runs them as CloudFormation hooks, on each
    resource's properties with the intrinsics resolved (the rules' `is_cfn_hook` branch). Against
    the template text, a rule that wants a string, or a reference to a resource of the same
    template, refuses a Parameter, and a nested stack receives what other stacks made (the
    private subnets, the log key) only as Parameters. Refs to resources and pseudo parameters
    stay as they are, so the rules check those references themselves."""
    params = template.get("Parameters", {})

    def value(name: str):
        p = params[name]
        default = p.get("Default")
        if p["Type"].startswith("List<") or p["Type"] == "CommaDelimitedList":
            return default.split(",") if default else [f"{name}-1", f"{name}-2"]
        if p["Type"] == "Number":
            return default if default is not None else 1
        return default if default not in (None, "") else f"{name}-value"

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in params:
                return value(node["Ref"])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return {**template, "Resources": walk(template.get("Resources", {}))}


def check(build: Path, package: Path = PACKAGE, python_json: bool = True) -> list[Failure]:
    """Every rule that fails for a template of `build`, sorted by template and rule."""
    binary, rules = guard_binary(package), package / "rules" / "control-tower" / "cfn-guard"
    templates = sorted(build.glob("*.yaml"))
    if not templates:
        raise SystemExit(f"error: {build}: no *.yaml templates")
    with tempfile.TemporaryDirectory(prefix="guard-") as tmp:
        for path in templates:
            template = resolve_parameters(json.loads(to_json(path.read_text(encoding="utf-8"))))
            (Path(tmp) / f"{path.stem}.json").write_text(json.dumps(template, indent=1), encoding="utf-8")
        run = subprocess.run([str(binary), "validate", "--rules", str(rules), "--data", tmp, "--output-format", "json", "--show-summary", "none"],
                             capture_output=True, text=True, check=False)  # fmt: skip
    # cfn-guard exits 19 when a rule fails, 0 when none does; anything else is its own error.
    if run.returncode not in (0, 19):
        raise SystemExit(f"error: cfn-guard exited {run.returncode}: {(run.stderr or run.stdout).strip()[:500]}")
    found: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for doc in _documents(run.stdout):
        template = Path(doc["name"]).stem + ".yaml"
        for item in doc.get("not_compliant", []):
            rule = item["Rule"]["name"]
            resources, controls = found.setdefault((template, rule), (set(), set()))
            _walk(item, resources, controls)
    return [Failure(t, r, ",".join(sorted(c)) or "?", tuple(sorted(res))) for (t, r), (res, c) in sorted(found.items())]


def read_exceptions(path: Path) -> dict[tuple[str, str], str]:
    """(template, rule) -> control id of each accepted failure in `path`."""
    out = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or not _CONTROL.fullmatch(f"[{parts[2]}]"):
            raise SystemExit(f"error: {path}:{number}: expected '<template> <rule name> <control id>', got {raw.strip()!r}")
        out[(parts[0], parts[1])] = parts[2]
    return out


def version(package: Path = PACKAGE) -> str:
    run = subprocess.run([str(guard_binary(package)), "--version"], capture_output=True, text=True, check=False)
    return run.stdout.strip().removeprefix("cfn-guard ").strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="AWS Control Tower proactive controls (cfn-guard) over builds")
    parser.add_argument("builds", nargs="+", type=Path, metavar="DIR")
    parser.add_argument("--exceptions", type=Path, help="accepted failures: '<template> <rule name> <control id>' a line")
    parser.add_argument("--package", type=Path, default=PACKAGE, help="the installed @cdklabs/cdk-validator-cfnguard")
    args = parser.parse_args(argv)
    if not installed(args.package):
        print(f"error: cfn-guard is not installed under {args.package}: run make scan", file=sys.stderr)
        return 2
    found = version(args.package)
    if found != GUARD_VERSION:
        print(f"error: {guard_binary(args.package)} is cfn-guard {found!r}, expected {GUARD_VERSION}", file=sys.stderr)
        return 2
    accepted = read_exceptions(args.exceptions) if args.exceptions else {}
    rules = rule_files(args.package / "rules" / "control-tower" / "cfn-guard")
    bad = 0
    for build in args.builds:
        failures = check(build, args.package)
        seen = set()
        for failure in failures:
            key = (failure.template, failure.rule)
            ok = key in accepted
            seen.add(key)
            bad += not ok
            print(failure.line(ok))
        stale = sorted(set(accepted) - seen)
        for template, rule in stale:
            print(f"{'STALE':8} {template:22} {rule} [{accepted[(template, rule)]}] is listed in {args.exceptions} but passes: remove it")
        bad += len(stale)
        templates = len(list(build.glob("*.yaml")))
        print(f"cfn-guard {found}, {len(rules)} Control Tower rule files, {build}: {templates} templates, "
              f"{len({f.rule for f in failures})} rules failing ({len(failures)} rule/template pairs), "
              f"{sum((f.template, f.rule) in accepted for f in failures)} pairs accepted")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

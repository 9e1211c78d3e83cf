"""cfn-lint in-process, with one Runner reused for every template.

`cfnlint.api.lint` rebuilds the Runner and reloads every rule on each call (about 0.4 s); one
`Linter` loads the rules once. Templates are linted from disk so the root's local TemplateURLs
resolve and E3043 checks the nested wiring. Returns findings; never prints.

Linting is CPU-bound (JSON-schema validation of every resource), so on a machine with more than
one core the templates are shared out to forked workers, largest first: each inherits the loaded
rules, so nothing is loaded twice.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

SEVERITY_ORDER = {"error": 0, "warning": 1, "informational": 2}


@dataclass(frozen=True, order=True)
class Finding:
    """One cfn-lint match."""

    file: str
    line: int
    rule: str
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule} ({self.severity}) {self.message}"


def ignored_checks(rc_file: Path) -> list[str]:
    """The rule ids `ignore_checks` lists in a `.cfnlintrc` file."""
    import yaml

    data = yaml.safe_load(rc_file.read_text(encoding="utf-8")) or {}
    return [str(x) for x in data.get("ignore_checks", [])]


class Linter:
    """cfn-lint with its rules loaded once, for the given regions and `.cfnlintrc`."""

    def __init__(self, regions: Iterable[str], rc_file: Path | None = None):
        from cfnlint.config import ConfigMixIn
        from cfnlint.runner import Runner

        ignore = ignored_checks(rc_file) if rc_file and rc_file.exists() else []
        self._config = ConfigMixIn(regions=list(regions), ignore_checks=ignore)
        self._runner = Runner(self._config)

    def lint_files(self, paths: Iterable[Path], jobs: int | None = None) -> list[Finding]:
        """Findings for each template file, sorted by file and line."""
        paths = sorted(paths, key=lambda p: p.stat().st_size, reverse=True)
        jobs = min(jobs or os.cpu_count() or 1, len(paths))
        if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return sorted(f for path in paths for f in self.lint_file(path))
        global _FORKED
        _FORKED = self
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return sorted(f for found in pool.imap_unordered(_lint_in_worker, paths) for f in found)

    def lint_file(self, path: Path) -> list[Finding]:
        """Findings for one template file."""
        from cfnlint.runner.template.runner import run_template_by_file_path

        return [
            Finding(file=path.name, line=m.linenumber, rule=m.rule.id, severity=m.rule.severity, message=m.message)
            for m in run_template_by_file_path(str(path), self._config, self._runner.rules, False)
        ]

    def lint_dir(self, directory: Path) -> list[Finding]:
        """Findings for every `*.yaml` template in `directory`."""
        return self.lint_files(sorted(directory.glob("*.yaml")))


_FORKED: Linter | None = None  # the parent's Linter, inherited by forked workers


def _lint_in_worker(path: Path) -> list[Finding]:
    return _FORKED.lint_file(path)

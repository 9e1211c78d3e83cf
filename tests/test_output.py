"""The output directory: only a new, empty or previous-build directory is written; nothing the
build did not write is ever removed; a failed write leaves the previous build as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from enrollcfn.cli import main
from enrollcfn.output import MANIFEST, OutputError, check_target, read_build, write_build


def test_a_new_directory_gets_the_templates_cost_and_manifest(tmp_path, compiled):
    out = tmp_path / "new"
    written = write_build(compiled, out)
    assert {p.name for p in out.iterdir()} == {*(f"{n}.yaml" for n in compiled.stacks), "cost.json", MANIFEST}
    assert written.changed == frozenset(written.files) | {out / MANIFEST}
    assert write_build(compiled, out).changed == frozenset()  # a rebuild of the same touches nothing


def test_a_foreign_file_survives_and_a_foreign_directory_is_refused(tmp_path, compiled, capsys):
    foreign = tmp_path / "config"
    foreign.mkdir()
    (foreign / "docker-compose.yaml").write_text("services: {}\n")
    assert main(["build", "--out", str(foreign)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {foreign}: holds files of something else")
    assert [p.name for p in foreign.iterdir()] == ["docker-compose.yaml"]
    out = tmp_path / "build"
    write_build(compiled, out)
    (out / "notes.yaml").write_text("mine\n")  # added to a build directory by hand
    write_build(compiled, out)
    assert (out / "notes.yaml").read_text() == "mine\n"


@pytest.mark.parametrize("target", ["/etc", "/etc/enrollcfn", "/usr/local/share", "/", "/var"])
def test_system_directories_are_refused(target):
    with pytest.raises(OutputError, match="system directory"):
        check_target(Path(target))


def test_a_file_is_refused_with_one_line(capsys):
    assert main(["build", "--out", "/etc/passwd"]) == 1
    assert capsys.readouterr().err == "error: /etc/passwd: is a system directory; choose a project directory such as build/ or a new one\n"


def test_a_file_outside_system_directories_is_refused(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_target(f)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any directory; see the next test")
def test_an_unwritable_directory_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    with pytest.raises(OutputError, match="cannot be created"):
        check_target(locked / "out")
    with pytest.raises(OutputError, match="is not writable"):
        check_target(locked)


def test_a_directory_the_user_may_not_write_is_refused(tmp_path, monkeypatch):
    # As root (where the test above cannot run) the kernel's answer is simulated: os.access is
    # what the check asks, the same call it makes for any other user.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match="is not writable"):
        check_target(tmp_path / "d")
    with pytest.raises(OutputError, match="cannot be created"):
        check_target(tmp_path / "new")


def test_a_failure_halfway_leaves_the_previous_build_intact(tmp_path, compiled, monkeypatch):
    out = tmp_path / "build"
    write_build(compiled, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    changed = compiled.stacks["network"]
    fake = type(compiled)(compiled.region, {**compiled.stacks, "network": type(changed)(
        changed.name, changed.body + b"# changed\n", changed.doc, "0" * 64, changed.contract)}, compiled.cost)
    real = os.fsync
    calls = []

    def failing(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OutputError, match="previous build is unchanged"):
        write_build(fake, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_previous_build_reads_back_as_the_same_build(tmp_path, compiled):
    write_build(compiled, tmp_path / "b")
    again = read_build(tmp_path / "b", compiled.region)
    assert {n: s.digest for n, s in again.stacks.items()} == {n: s.digest for n, s in compiled.stacks.items()}
    assert {n: s.doc for n, s in again.stacks.items()} == {n: s.doc for n, s in compiled.stacks.items()}
    assert again.cost == compiled.cost and again.findings == ()


def test_a_template_edited_after_the_build_is_refused(tmp_path, compiled):
    write_build(compiled, tmp_path / "b")
    with (tmp_path / "b" / "network.yaml").open("a") as f:
        f.write("# edited\n")
    with pytest.raises(OutputError, match="changed after the build"):
        read_build(tmp_path / "b", compiled.region)

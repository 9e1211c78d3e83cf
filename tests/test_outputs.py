"""Every writer (build --out, ci-workflow --out, prices --out) follows the same rules: it
replaces only a file it wrote, never an input of the same command, never writes through a link
or into a system directory, and every failure is one line with nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from enrollcfn.cli import main
from enrollcfn.output import OutputError, write_build, write_file

WORKFLOW = "# Written by `enrollcfn ci-workflow --stack se-x`: test\nname: x\n"
PRICES = "# Written by `enrollcfn prices --region ap-southeast-2` on 2024-12-07: test\nregion: ap-southeast-2\n"


def no_aws(service):
    raise AssertionError(f"an AWS client ({service}) was asked for before --out was checked")


def argv(writer: str, out: Path, config: Path | None = None) -> list[str]:
    """The command line of each writer, writing to `out`."""
    if writer == "build":
        return ["build", "--out", str(out), *(["--config", str(config)] if config else [])]
    if writer == "ci-workflow":
        return ["ci-workflow", "--stack", "se-x", "--out", str(out), *(["--config", str(config)] if config else [])]
    return ["prices", "--region", "ap-southeast-2", "--out", str(out)]


def refused(capsys, args: list[str], *words: str) -> str:
    assert main(args, client_factory=no_aws) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


WRITERS = ["build", "ci-workflow", "prices"]


@pytest.mark.parametrize("writer", WRITERS)
def test_an_existing_foreign_file_is_not_overwritten(tmp_path, capsys, writer):
    target = tmp_path / "mine"
    if writer == "build":
        target.mkdir()
        (target / "root.yaml").write_text("my notes\n")
        refused(capsys, argv(writer, target), "something else")
        assert (target / "root.yaml").read_text() == "my notes\n"
    else:
        target.write_text("my notes\n")
        refused(capsys, argv(writer, target), "did not write it")
        assert target.read_text() == "my notes\n"


@pytest.mark.parametrize("writer", WRITERS)
def test_a_symlink_is_not_written_through(tmp_path, capsys, writer):
    real = tmp_path / "real"
    if writer == "build":
        real.mkdir()
    else:
        real.write_text(WORKFLOW if writer == "ci-workflow" else PRICES)  # even a file of ours
    link = tmp_path / "link"
    link.symlink_to(real)
    refused(capsys, argv(writer, link), "symbolic link")
    assert (list(real.iterdir()) == []) if writer == "build" else real.read_text() in (WORKFLOW, PRICES)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("target", ["/etc/enrollcfn-test", "/usr/lib/x.yaml", "/"])
def test_a_system_directory_is_refused(capsys, writer, target):
    refused(capsys, argv(writer, Path(target)), "system directory")
    assert not os.path.exists("/etc/enrollcfn-test")


@pytest.mark.parametrize("writer", ["ci-workflow", "prices"])
def test_a_directory_as_the_target_is_refused(tmp_path, capsys, writer):
    (tmp_path / "d").mkdir()
    refused(capsys, argv(writer, tmp_path / "d"), "is a directory")


@pytest.mark.parametrize("writer", WRITERS)
def test_a_file_as_the_parent_is_refused(tmp_path, capsys, writer):
    (tmp_path / "f").write_text("x")
    refused(capsys, argv(writer, tmp_path / "f" / "out.yaml"), "is a file, not a directory")
    assert (tmp_path / "f").read_text() == "x"


@pytest.mark.parametrize("writer", WRITERS)
def test_an_overlong_or_self_looping_path_is_one_line(tmp_path, capsys, writer):
    refused(capsys, argv(writer, tmp_path / ("x" * 300) / "out.yaml"))
    refused(capsys, argv(writer, tmp_path / ("y" * 5000)))
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    refused(capsys, argv(writer, loop / "out.yaml"))
    refused(capsys, argv(writer, loop))


def test_ci_workflow_never_replaces_its_config(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("# Written by `enrollcfn ci-workflow` -- even a file that looks like ours\nproject: student-enrollment\n")
    before = cfg.read_text()
    refused(capsys, argv("ci-workflow", cfg, config=cfg), "an input of this command")
    refused(capsys, argv("ci-workflow", tmp_path / "." / "c.yaml", config=cfg), "an input of this command")
    assert cfg.read_text() == before


def test_a_build_never_replaces_an_input(tmp_path, compiled):
    out = tmp_path / "b"
    write_build(compiled, out)
    with pytest.raises(OutputError, match="an input of this command"):
        write_build(compiled, out, given=[out / "cost.json"])


def test_a_build_directory_that_is_a_link_is_refused(tmp_path, compiled):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OutputError, match="symbolic link"):
        write_build(compiled, tmp_path / "link")


def test_a_build_does_not_replace_a_file_its_manifest_does_not_list(tmp_path, compiled):
    out = tmp_path / "b"
    write_build(compiled, out)
    (out / "network.yaml").unlink()
    (out / "MANIFEST").write_text((out / "MANIFEST").read_text().replace('"network.yaml"', '"gone.yaml"'))
    (out / "network.yaml").write_text("mine\n")
    with pytest.raises(OutputError, match="did not write it"):
        write_build(compiled, out)
    assert (out / "network.yaml").read_text() == "mine\n"


def test_a_file_of_ours_is_replaced_atomically(tmp_path):
    target = tmp_path / "sub" / "deploy.yml"
    write_file(target, WORKFLOW, "--out", "ci-workflow")
    write_file(target, WORKFLOW + "# again\n", "--out", "ci-workflow")
    assert target.read_text().endswith("# again\n")
    assert [p.name for p in target.parent.iterdir()] == ["deploy.yml"]  # no temporary left behind
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_a_price_file_of_an_older_version_is_ours(tmp_path):
    target = tmp_path / "p.yaml"
    target.write_text("# Prices for `enrollcfn cost` in ap-southeast-2, read by `enrollcfn prices` on 2024-12-07.\n")
    write_file(target, PRICES, "--out", "prices")
    assert target.read_text() == PRICES


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "deploy.yml"

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="no space left"):
        write_file(target, WORKFLOW, "--out", "ci-workflow")
    assert list(tmp_path.iterdir()) == []


def test_a_fifo_where_the_file_goes_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "deploy.yml")
    with pytest.raises(OutputError, match="not a regular file"):
        write_file(tmp_path / "deploy.yml", WORKFLOW, "--out", "ci-workflow")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

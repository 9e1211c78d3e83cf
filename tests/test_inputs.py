"""Bad input files: every one is refused with one line, at once, before anything is compiled,
written or asked of AWS. FIFOs, devices, directories, links in a build, binary data, numbers
that are not finite or not sane, a tampered build directory, and YAML 1.1 spellings that
would change a value."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from enrollcfn.cli import main
from enrollcfn.config import load
from enrollcfn.errors import ConfigErrors
from enrollcfn.output import write_build


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The command line in its own process: a hang fails the test instead of stopping the suite."""
    return subprocess.run([sys.executable, "-m", "enrollcfn", *args], capture_output=True, text=True, timeout=timeout, check=False)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def no_aws(service):
    raise AssertionError(f"an AWS client ({service}) was asked for before every input was checked")


# --- files that are not regular files -------------------------------------------------------


@pytest.mark.parametrize("flag", ["--config", "--usage", "--prices"])
def test_a_fifo_is_refused_at_once(tmp_path, flag):
    fifo = tmp_path / "input.yaml"
    os.mkfifo(fifo)
    done = run_cli("cost", flag, str(fifo), timeout=30)  # nobody ever writes to the FIFO
    assert done.returncode == 1
    assert "FIFO" in one_error_line(done.stderr)


@pytest.mark.parametrize("flag", ["--config", "--usage", "--prices"])
def test_a_device_or_a_directory_is_refused(tmp_path, flag, capsys):
    for path, words in (("/dev/zero", "a device"), (str(tmp_path), "a directory")):
        assert main(["cost", flag, path]) == 1
        assert words in one_error_line(capsys.readouterr().err)


def test_a_symlinked_config_loop_is_one_line(tmp_path, capsys):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    assert main(["cost", "--config", str(loop)]) == 1
    assert "loop of symbolic links" in one_error_line(capsys.readouterr().err)


def test_an_overlong_input_path_is_one_line(tmp_path, capsys):
    assert main(["cost", "--config", str(tmp_path / ("x" * 5000))]) == 1
    assert "too long" in one_error_line(capsys.readouterr().err)


# --- usage and price numbers ----------------------------------------------------------------


def test_binary_usage_is_refused_naming_the_offset(tmp_path, capsys):
    f = tmp_path / "usage.yaml"
    f.write_bytes(b"data_transfer_out_gb: 5\n\xff\xfe\x00\x01")
    assert main(["cost", "--usage", str(f)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert str(f) in line and "not UTF-8" in line and "offset 24" in line


@pytest.mark.parametrize("value", [".nan", ".inf", "1e400", "-1", "1e12", "9" * 400, "true", "'5'", "[1]"])
def test_usage_numbers_are_finite_non_negative_and_bounded(tmp_path, capsys, value):
    f = tmp_path / "usage.yaml"
    f.write_text(f"data_transfer_out_gb: {value}\n")
    assert main(["cost", "--usage", str(f)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("error: usage.data_transfer_out_gb: expected a number of at least 0 and below 1,000,000")


def test_usage_that_is_not_a_mapping_is_refused(tmp_path, capsys):
    f = tmp_path / "usage.yaml"
    f.write_text("- 1\n- 2\n")
    assert main(["cost", "--usage", str(f)]) == 1
    assert one_error_line(capsys.readouterr().err).startswith("error: --usage:")


@pytest.mark.parametrize("usd", ["1e308", "1.0e+308", "999999999", ".inf", ".nan"])
def test_a_price_file_cannot_make_a_huge_budget(tmp_path, capsys, usd):
    from enrollcfn import price_table

    text = price_table.bundled("ap-southeast-2").to_yaml("hand-made")
    line = next(x for x in text.splitlines() if x.startswith("  alb_hour:"))
    f = tmp_path / "prices.yaml"
    f.write_text(text.replace(line, f'  alb_hour: {{usd: {usd}, source: "x", date: "2024-12-07"}}'))
    assert main(["build", "--prices", str(f), "--out", str(tmp_path / "out")]) == 1
    assert "below 1,000,000" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


# --- YAML 1.2 ------------------------------------------------------------------------------


def config(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load(path)


@pytest.mark.parametrize("written", ["1.10", "010", "0o10", "0x1F", "1e3", "1.0", "2024-12-07", "1_000"])
def test_an_image_tag_keeps_exactly_what_was_written(tmp_path, written):
    assert config(tmp_path, f"service:\n  image_tag: {written}\n").service.image_tag == written


def test_environment_values_keep_their_text_and_yaml_1_1_booleans_are_text(tmp_path):
    cfg = config(tmp_path, "service:\n  environment:\n    A: 010\n    B: 1.10\n    C: yes\n    D: 'on'\n"
                           "    E: on\n    F: off\n    G: 20:10\n    H: 0o10\n    I: true\n    APP_DEBUG: ~\n")
    env = cfg.service.environment
    assert [env[k] for k in "ABCDEFGHI"] == ["010", "1.10", "yes", "on", "on", "off", "20:10", "0o10", "true"]
    assert "APP_DEBUG" not in env  # null removes a default variable, as documented


def test_a_leading_zero_number_is_decimal_not_octal(tmp_path):
    assert config(tmp_path, "service:\n  cpu: 01024\n").service.cpu == 1024  # YAML 1.1 read 01024 as octal 532


@pytest.mark.parametrize("value", ["yes", "on", "y", "Yes", "ON"])
def test_yaml_1_1_booleans_are_not_booleans(tmp_path, value):
    with pytest.raises(ConfigErrors) as err:
        config(tmp_path, f"service:\n  exec_enabled: {value}\n")
    assert [p.key for p in err.value.problems] == ["service.exec_enabled"]


def test_base_60_is_text_not_a_number(tmp_path):
    with pytest.raises(ConfigErrors) as err:
        config(tmp_path, "service:\n  cpu: 20:10\n")  # YAML 1.1: 1210
    assert [p.key for p in err.value.problems] == ["service.cpu"]


def test_a_merge_key_is_refused_naming_it(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("base: &base {cpu: 512}\nservice:\n  cpu: 1024\n  <<: *base\n")
    assert main(["cost", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "error: service.<<: is a YAML 1.1 merge key" in err and "Traceback" not in err


def test_a_duplicate_through_a_merge_is_refused(tmp_path):
    with pytest.raises(ConfigErrors) as err:
        config(tmp_path, "a: &a {cpu: 512}\nb: &b {cpu: 256}\nservice:\n  <<: [*a, *b]\n")
    assert "service.<<" in [p.key for p in err.value.problems]


def test_a_key_written_twice_is_refused_naming_it(tmp_path):
    with pytest.raises(ConfigErrors) as err:
        config(tmp_path, "service:\n  cpu: 512\n  cpu: 1024\n")
    assert [p.key for p in err.value.problems] == ["service.cpu"]


# --- a tampered build directory -------------------------------------------------------------


@pytest.fixture
def build_dir(tmp_path, compiled):
    out = tmp_path / "b"
    write_build(compiled, out)
    return out


def relist(out: Path, change) -> None:
    """Rewrite the MANIFEST after `change(files)`, with correct digests, as a tamperer would."""
    manifest = json.loads((out / "MANIFEST").read_text())
    change(manifest["files"])
    (out / "MANIFEST").write_text(json.dumps(manifest))


def rehash(out: Path, name: str) -> None:
    relist(out, lambda files: files.update({name: hashlib.sha256((out / name).read_bytes()).hexdigest()}))


@pytest.mark.parametrize("command", ["deploy", "plan", "publish"])
@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "..", "sub/network.yaml", ".hidden"])
def test_a_manifest_naming_a_path_outside_is_refused_before_any_aws_call(build_dir, capsys, command, name):
    relist(build_dir, lambda files: files.update({name: "0" * 64}))
    extra = ["--portfolio", "P", "--product", "p"] if command == "publish" else []
    assert main([command, "--stack", "se-x", "--build", str(build_dir), *extra], client_factory=no_aws) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "MANIFEST" in line and "plain file name" in line


def test_a_manifest_missing_a_template_is_refused(build_dir, capsys):
    relist(build_dir, lambda files: files.pop("service.yaml"))
    assert main(["deploy", "--stack", "se-x", "--build", str(build_dir)], client_factory=no_aws) == 1
    assert "does not list service.yaml" in one_error_line(capsys.readouterr().err)


def test_a_symlinked_template_is_refused(build_dir, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_bytes((build_dir / "network.yaml").read_bytes())
    (build_dir / "network.yaml").unlink()
    (build_dir / "network.yaml").symlink_to(elsewhere)
    assert main(["deploy", "--stack", "se-x", "--build", str(build_dir)], client_factory=no_aws) == 1
    assert "symbolic link" in one_error_line(capsys.readouterr().err)


def test_a_fifo_in_a_build_is_refused_at_once(build_dir):
    (build_dir / "cost.json").unlink()
    os.mkfifo(build_dir / "cost.json")
    done = run_cli("plan", "--stack", "se-x", "--build", str(build_dir), timeout=60)
    assert done.returncode == 1 and "FIFO" in one_error_line(done.stderr)


@pytest.mark.parametrize("body", ["{", "[]", '{"region": "ap-southeast-2"}', '{"x": NaN}', '{"x": 1e400}', "\xff"])
def test_a_malformed_cost_json_is_one_line(build_dir, capsys, body):
    (build_dir / "cost.json").write_bytes(body.encode("latin-1"))
    rehash(build_dir, "cost.json")
    assert main(["deploy", "--stack", "se-x", "--build", str(build_dir)], client_factory=no_aws) == 1
    assert "cost.json" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("body", ["Resources: [", "- a list\n", "Resources: !Ref\n  - x: [", "\xff\xfe"])
def test_a_malformed_template_is_one_line(build_dir, capsys, body):
    (build_dir / "network.yaml").write_bytes(body.encode("latin-1"))
    rehash(build_dir, "network.yaml")
    assert main(["deploy", "--stack", "se-x", "--build", str(build_dir)], client_factory=no_aws) == 1
    assert "network.yaml" in one_error_line(capsys.readouterr().err)


def test_an_oversized_template_is_refused(build_dir, capsys):
    (build_dir / "network.yaml").write_bytes(b"# pad\n" * 200_000)
    rehash(build_dir, "network.yaml")
    assert main(["deploy", "--stack", "se-x", "--build", str(build_dir)], client_factory=no_aws) == 1
    assert "larger than" in one_error_line(capsys.readouterr().err)


def test_a_build_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["deploy", "--stack", "se-x", "--build", str(tmp_path / "f")], client_factory=no_aws) == 1
    assert "is not a directory" in one_error_line(capsys.readouterr().err)

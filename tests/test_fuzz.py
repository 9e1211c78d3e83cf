"""Property-based fuzzing of the whole input surface, through the real command line.

Inputs: configs generated from the config model's JSON schema; mutations of the shipped configs
(scalars of another type or at an edge, keys deleted, written twice or unknown, look-alike
letters, huge numbers, NaN, long strings, YAML 1.1 spellings); files of every kind where a file
is expected (a directory, a FIFO, links, binary, missing) and `--out` where one exists.

The property, for every case: exit 0 with a lint-clean build whose templates hold the values
written; or exit 1 (64 for a usage error) with one `error: <key or file>: <message>` line per
problem, never a traceback, never a hang, nothing written in the output directory.

Most cases check the config model and the command line's error path (milliseconds each; at
size, one in CLI_SHARE refused configs goes through the command line); a small share runs a full
`build`. `ENROLLCFN_FUZZ_EXAMPLES=N` runs N cases per test at random
(`make fuzz`); without it the runs are small and derandomized, so the suite repeats exactly.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import zlib
from pathlib import Path

import pytest
import yaml
from cfn_flip import load_yaml
from hypothesis import HealthCheck, example, given, note, settings, strategies as st
from hypothesis_jsonschema import from_schema

from enrollcfn import inputs
from enrollcfn.cli import main
from enrollcfn.config import Config, parse
from enrollcfn.errors import ConfigErrors

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {name: (ROOT / "config" / name).read_text(encoding="utf-8") for name in ("production.yaml", "dev.yaml")}

FUZZ = int(os.environ.get("ENROLLCFN_FUZZ_EXAMPLES", "0") or 0)  # cases per test under `make fuzz`
FULL_BUILD_SHARE = 1 / 200 if FUZZ else 1 / 25  # of the valid configs, this share is built in full
FULL_BUILDS_MAX = 8 if FUZZ else 3  # per test and run: a build lints for 1-3 s when nothing is cached
CLI_SHARE = 4 if FUZZ else 1  # of the refused configs, one in this many also goes through the command line


def examples(default: int) -> settings:
    return settings(
        max_examples=FUZZ or default,
        derandomize=not FUZZ,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.function_scoped_fixture],
    )


# --- running the command line ------------------------------------------------------------------


class Hang(Exception):
    """A case ran past its time."""


def run(argv: list[str], seconds: int = 120) -> tuple[int, str, str]:
    """`enrollcfn <argv>` in this process: (exit code, stdout, stderr); Hang past `seconds`."""
    out, err = io.StringIO(), io.StringIO()

    def ring(signum, frame):
        raise Hang(f"enrollcfn {' '.join(argv)[:200]} ran longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


ERROR_LINE = re.compile(r"error: (?P<key>[^\s:][^:]*?|usage): (?P<message>\S.*)")
MAX_LINE = 1000  # characters of one error line


def refused(code: int, err: str, *, keys: tuple[str, ...] = ()) -> list[str]:
    """Assert a refusal of the documented shape; return the keys the error lines name."""
    assert "Traceback" not in err, err
    assert code in (1, 64), f"exit {code}: {err[:2000]}"
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors, f"exit {code} without an error line: {err[:2000]}"
    named = []
    for line in lines:
        assert line.startswith(("error: ", "usage: ", "warning: ", " ")), f"a line of neither shape: {line[:300]}"
        assert len(line) <= MAX_LINE, f"a line of {len(line)} characters: {line[:300]}..."
    for line in errors:
        match = ERROR_LINE.fullmatch(line)
        assert match, f"not `error: <key>: <message>`: {line[:300]}"
        named.append(match["key"])
    if code == 64:
        assert any(k == "usage" for k in named), err
    for key in keys:
        assert any(n == key or n.startswith((key + ".", key + "[")) for n in named), f"{key} not named in {named}"
    return named


def nothing_written(out: Path, before: dict[str, bytes] | None = None) -> None:
    if before is None:
        assert not os.path.lexists(out), f"{out} was created"
    else:
        assert snapshot(out) == before, f"{out} changed"


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() if p.is_file() and not p.is_symlink() else b"<" + str(p.lstat().st_mode).encode() + b">"
            for p in sorted(directory.iterdir())} if directory.is_dir() else {}


# --- the property --------------------------------------------------------------------------------


_full_builds: dict[str, int] = {}


def check_config_text(text: str | bytes, tmp: Path, test: str) -> None:
    """The config model and the command line agree on `text`: refused with errors at keys, or
    accepted (and, for a share of the accepted ones, built in full with the values written)."""
    path = tmp / "config.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    out = tmp / "out"
    try:
        cfg = _load(path)
    except ConfigErrors as exc:
        for p in exc.problems:
            assert p.key and "\n" not in p.key and "\n" not in p.message, p
            assert len(f"error: {p.key}: {p.message}") <= MAX_LINE, str(p)[:300]
        if zlib.crc32(path.read_bytes()) % CLI_SHARE:
            return
        code, _, err = run(["build", "--config", str(path), "--out", str(out)])
        named = refused(code, err)
        assert code == 1
        assert set(named) == {p.key for p in exc.problems}, (named, [p.key for p in exc.problems])
        nothing_written(out)
        return
    digest = zlib.crc32(path.read_bytes())
    if digest % round(1 / FULL_BUILD_SHARE) or _full_builds.get(test, 0) >= FULL_BUILDS_MAX:
        return
    _full_builds[test] = _full_builds.get(test, 0) + 1
    code, stdout, err = run(["build", "--config", str(path), "--out", str(out)], seconds=300)
    if code != 0:  # a compile-time refusal (a quota, the region's types, a lint finding at a key)
        refused(code, err)
        nothing_written(out)
        return
    assert "lint clean" in stdout
    spot_check(cfg, out)


def _load(path: Path) -> Config:
    from enrollcfn.config import load

    return load(path)


def spot_check(cfg: Config, out: Path) -> None:
    """Scalars of the config appear exactly in the compiled templates."""
    service = load_yaml((out / "service.yaml").read_text(encoding="utf-8"))
    task = service["Resources"]["TaskDefinition"]["Properties"]  # the service's own (others run one-off jobs)
    assert task["Cpu"] == str(cfg.service.cpu) and task["Memory"] == str(cfg.service.memory)
    env = {e["Name"]: e["Value"] for c in task["ContainerDefinitions"] for e in c.get("Environment", [])}
    for name, value in cfg.service.environment.items():
        assert env.get(name) == value, (name, value, env.get(name))
    root = load_yaml((out / "root.yaml").read_text(encoding="utf-8"))
    assert root["Parameters"]["ImageTag"]["Default"] == cfg.service.image_tag
    database = load_yaml((out / "database.yaml").read_text(encoding="utf-8"))
    db = next(r["Properties"] for r in database["Resources"].values() if r["Type"] == "AWS::RDS::DBInstance")
    assert str(db["AllocatedStorage"]) == str(cfg.database.allocated_storage_gb)
    assert db["MaxAllocatedStorage"] == cfg.database.max_allocated_storage_gb


# --- 1. configs generated from the model's JSON schema -------------------------------------------


def _schema() -> dict:
    """Config.model_json_schema(), made friendlier to generation: each property's default (and a
    few other good values) is offered beside its type, so valid configs come up often enough
    for full builds; the rest of each type's range stays reachable."""
    schema = Config.model_json_schema()
    good = {
        "cpu": [256, 512, 1024, 2048], "memory": [512, 1024, 2048, 4096], "image_tag": ["latest", "1.10", "v2.0.1", "release-7"],
        "environment": [{"APP_ENV": "staging", "LOG_LEVEL": "info", "FEATURE_X": "on"}, {"APP_NAME": "Enrolment ✓ ünïcode"}],
        "max_allocated_storage_gb": [22, 100, 1000], "allocated_storage_gb": [20, 50, 100], "matcher": ["200", "200-299", "200,302"],
    }

    def offer(props: dict) -> None:
        for name, spec in props.items():
            choices = [spec["default"]] if "default" in spec else []
            choices += good.get(name, [])
            if choices:
                props[name] = {"anyOf": [{"enum": [c for i, c in enumerate(choices) if c not in choices[:i]]}, spec]}

    for definition in schema.get("$defs", {}).values():
        offer(definition.get("properties", {}))
    offer({k: v for k, v in schema["properties"].items() if "$ref" not in v and "allOf" not in v})
    for name in ("project", "environment", "region", "production"):
        if name in schema["properties"] and "anyOf" not in schema["properties"][name]:
            offer_one = {name: schema["properties"][name]}
            offer(offer_one)
            schema["properties"][name] = offer_one[name]
    return schema


SCHEMA = _schema()


@examples(60)
@given(data=from_schema(SCHEMA))
@example(data={"load_balancer": {"ssl_policy": ""}})  # the message quoted nothing: "ssl_policy:  is not a TLS 1.3 policy"
@example(data={"load_balancer": {"ssl_policy": "x\nError"}})  # an unquoted value with a newline made two lines
@example(data={"database": {"engine_version": "8.4\n9"}})
@example(data={"network": {"availability_zones": ["\n", "\n"]}})  # "zones must be distinct, got <newline> twice"  # the same in engine_version's message
@example(data={"service": {"environment": {"A\nB: x": "1"}}})  # a key holding a newline and ': ' in the error's key
@example(data={"service": {"writable_paths": ["/" + "a" * 5000, "/" + "a" * 5000]}})  # a 5 KB path in the key and message
def test_configs_from_the_schema(data, tmp_path_factory):
    note(json.dumps(data)[:2000])
    check_config_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), tmp_path_factory.mktemp("schema"), "schema")


# --- 2. mutations of the shipped configs ---------------------------------------------------------

LOOKALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "x": "\u0445", "i": "\u0456", "-": "\u2010",
              "/": "\u2215", ".": "\u2024", "0": "\u041e"}
EDGE_VALUES = [None, True, False, "", " ", 0, -1, 1, 2**31 - 1, 2**31, 2**63, -(2**63), 10**30, 1e308, -0.0, 0.5, float("nan"),
               float("inf"), float("-inf"), "x" * 10_000, "\u0000", "\u202e", "\ufeff", "\ud7ff", "日本語", [], {}, [None], {"k": None},
               "null", "true", "1.10", "010", "yes"]
YAML11 = ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "010", "0o17", "0x1F", "0b101", "1_000", "20:10", "1:20:30", "1.10", "1e3",
          ".inf", "-.inf", ".nan", "~", "null", "2024-12-07", "2024-12-07T10:00:00Z", "!!binary aGVsbG8=", "!!str 5", "!!int '5'",
          "!!float x", "!!timestamp 2024-02-30", "=", "<<", "&a 1", "*nope", "'unterminated", "\"\\x00\"", "\"\\ud800\"", "[a, b",
          "{a: 1}", "|\n  text", "- item", "? complex", "!!python/object:os.system x", "!!set {a, b}", "!!omap [a: 1]"]


def _paths(data: object, loc: tuple = ()) -> list[tuple]:
    out = [loc]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*loc, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*loc, i))
    return out


def _get(data: object, loc: tuple) -> object:
    for part in loc:
        data = data[part]  # type: ignore[index]
    return data


def _lookalike(text: str, draw) -> str:
    spots = [i for i, c in enumerate(text) if c in LOOKALIKES]
    if not spots:
        return text + "\u200b"
    i = draw(st.sampled_from(spots))
    return text[:i] + LOOKALIKES[text[i]] + text[i + 1:]


@st.composite
def data_mutation(draw) -> str:
    """A shipped config, loaded, with one to three changes at drawn keys, dumped again."""
    name = draw(st.sampled_from(sorted(SHIPPED)))
    data = inputs.parse_yaml(SHIPPED[name], "config")
    data = json.loads(json.dumps(data))  # plain types
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        loc = draw(st.sampled_from(paths))
        parent, last = _get(data, loc[:-1]), loc[-1]
        kind = draw(st.sampled_from(["edge", "edge", "lookalike", "delete", "unknown", "text", "number", "wrap"]))
        if kind == "edge":
            parent[last] = draw(st.sampled_from(EDGE_VALUES))
        elif kind == "lookalike" and isinstance(parent[last], str):
            parent[last] = _lookalike(parent[last], draw)
        elif kind == "delete":
            del parent[last]
        elif kind == "unknown" and isinstance(parent, dict):
            parent[draw(st.sampled_from([f"{last}x", str(last).upper(), f"{last} ", "x" * 200, "\u00e9", "1"]))] = draw(st.sampled_from(EDGE_VALUES[:12]))
        elif kind == "text":
            parent[last] = draw(st.text(max_size=40))
        elif kind == "number":
            parent[last] = draw(st.one_of(st.integers(), st.floats()))
        elif kind == "wrap":
            parent[last] = draw(st.sampled_from([[parent[last]], {"value": parent[last]}]))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)


@st.composite
def text_mutation(draw) -> str | bytes:
    """A shipped config's text with one edit: a value rewritten in a YAML 1.1 spelling (or worse),
    a line written twice, a line cut, indentation broken, bytes that are not UTF-8."""
    name = draw(st.sampled_from(sorted(SHIPPED)))
    lines = SHIPPED[name].splitlines()
    valued = [i for i, line in enumerate(lines) if re.match(r"\s*[a-z_]+: \S", line) and not line.lstrip().startswith("#")]
    i = draw(st.sampled_from(valued))
    kind = draw(st.sampled_from(["yaml11", "yaml11", "twice", "cut", "indent", "bytes", "tab", "bom", "long"]))
    if kind == "yaml11":
        key = lines[i].split(":")[0]
        lines[i] = f"{key}: {draw(st.sampled_from(YAML11))}"
    elif kind == "twice":
        lines.insert(i + 1, lines[i])
    elif kind == "cut":
        lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    elif kind == "indent":
        lines[i] = " " + lines[i]
    elif kind == "tab":
        lines[i] = "\t" + lines[i].lstrip()
    elif kind == "long":
        key = lines[i].split(":")[0]
        lines[i] = f"{key}: {draw(st.sampled_from(['9' * 5000, '1' + '0' * 400, 'x' * 100_000, '-' + '9' * 30, '1e400']))}"
    text = "\n".join(lines) + "\n"
    if kind == "bom":
        return "\ufeff" + text
    if kind == "bytes":
        raw = text.encode()
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80", b"\x1b[31m"])) + raw[at:]
    return text


@examples(150)
@given(text=data_mutation())
@example(text="service:\n  app_bucket_prefixes: ['a*/']\n")  # one bad item of a list of one: no "needs at least 1 items, got 0"
def test_mutated_values_of_the_shipped_configs(text, tmp_path_factory):
    note(text[:3000])
    check_config_text(text, tmp_path_factory.mktemp("data"), "data")


@examples(150)
@given(text=text_mutation())
def test_mutated_text_of_the_shipped_configs(text, tmp_path_factory):
    note(repr(text[:3000]))
    check_config_text(text, tmp_path_factory.mktemp("text"), "text")


def test_the_shipped_configs_build_with_their_values(tmp_path):
    for name in SHIPPED:
        out = tmp_path / name
        code, stdout, err = run(["build", "--config", str(ROOT / "config" / name), "--out", str(out)], seconds=300)
        assert code == 0, err
        from enrollcfn.config import load

        spot_check(load(ROOT / "config" / name), out)


# --- 3. files of every kind, and the command line's arguments ------------------------------------


def _make(kind: str, where: Path, content: bytes = b"service: {cpu: 512, memory: 1024}\n") -> Path:
    """A path of `kind` in `where` (created fresh)."""
    path = where / f"{kind}.in"
    target = where / "target.yaml"
    target.write_bytes(content)
    if kind == "file":
        path.write_bytes(content)
    elif kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "link":
        path.symlink_to(target)
    elif kind == "dangling":
        path.symlink_to(where / "nowhere")
    elif kind == "loop":
        path.symlink_to(path)
    elif kind == "binary":
        path.write_bytes(bytes(range(256)) * 8)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "huge":
        path.write_bytes(b"# " + b"x" * (2 * inputs.MiB) + b"\n")
    elif kind == "missing":
        pass
    elif kind == "under-a-file":
        target.write_bytes(content)
        return target / "x.yaml"
    elif kind == "long-name":
        return where / ("n" * 300)
    elif kind == "list":
        path.write_bytes(b"- a\n- b\n")
    elif kind == "scalar":
        path.write_bytes(b"42\n")
    elif kind == "nan":
        path.write_bytes(b"data_transfer_gb: .nan\n")
    elif kind == "negative":
        path.write_bytes(b"data_transfer_gb: -1\n")
    elif kind == "unknown-key":
        path.write_bytes(("k" * 5000 + ": 1\n").encode())
    elif kind == "deep":
        path.write_bytes(b"a: " + b"[" * 200 + b"]" * 200 + b"\n")
    elif kind == "aliases":
        path.write_bytes(b"a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                         b"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n")
    else:
        raise AssertionError(kind)
    return path


FILE_KINDS = ["file", "directory", "fifo", "link", "dangling", "loop", "binary", "empty", "huge", "missing", "under-a-file",
              "long-name", "list", "scalar", "nan", "negative", "unknown-key", "deep", "aliases"]
OUT_KINDS = ["new", "empty-dir", "foreign-dir", "file", "link-to-dir", "dangling", "under-a-file", "system", "same-as-config", "long-name"]


def _out(kind: str, where: Path, config: Path | None) -> tuple[Path, dict | None]:
    """An --out of `kind`, and what it holds before (None: it must not come to exist)."""
    out = where / "out"
    if kind == "new":
        return out, None
    if kind == "empty-dir":
        out.mkdir()
    elif kind == "foreign-dir":
        out.mkdir()
        (out / "notes.txt").write_text("mine\n")
        (out / "root.yaml").write_text("not a build\n")
    elif kind == "file":
        out.write_text("a file\n")
        return out, {"file": out.read_bytes()}
    elif kind == "link-to-dir":
        (where / "real").mkdir()
        out.symlink_to(where / "real")
        return out, {"link": b"real", "real": b""}
    elif kind == "dangling":
        out.symlink_to(where / "nowhere")
        return out, {"link": b"dangling"}
    elif kind == "under-a-file":
        (where / "afile").write_text("x\n")
        return where / "afile" / "out", {"afile": b"x\n"}
    elif kind == "system":
        return Path("/etc/enrollcfn-fuzz"), None
    elif kind == "same-as-config" and config is not None:
        return config, {"config": _bytes(config)}
    elif kind == "long-name":
        return where / ("o" * 300), None
    return out, snapshot(out)


def _bytes(path: Path) -> bytes:
    """The file's bytes, or b"" for anything that is not a readable regular file."""
    try:
        return path.read_bytes() if path.is_file() else b""
    except OSError:
        return b""


def _unchanged(out: Path, before: dict | None, where: Path) -> None:
    if before is None:
        assert not os.path.lexists(out), f"{out} was created"
    elif "file" in before:
        assert out.read_bytes() == before["file"]
    elif "link" in before:
        assert out.is_symlink()
        if "real" in before:
            assert not any((where / "real").iterdir()), "written through a link"
    elif "afile" in before:
        assert (where / "afile").read_bytes() == before["afile"]
    elif "config" in before:
        assert _bytes(out) == before["config"]
    else:
        assert snapshot(out) == before, f"{out} changed"


ARG_NOISE = ["--bogus", "--config", "--out", "--prices", "--usage", "-", "--", "--json", "--no-cache", "", "\u00e9", "x" * 5000, "-h"]


@examples(80)
@given(command=st.sampled_from(["build", "cost"]), config_kind=st.sampled_from(FILE_KINDS), out_kind=st.sampled_from(OUT_KINDS),
       extra=st.sampled_from([None, "usage", "prices"]), extra_kind=st.sampled_from(FILE_KINDS),
       noise=st.lists(st.sampled_from(ARG_NOISE), max_size=2))
@example(command="cost", config_kind="file", out_kind="new", extra="usage", extra_kind="unknown-key", noise=[])
@example(command="build", config_kind="file", out_kind="new", extra=None, extra_kind="file", noise=["x" * 5000])  # a 5 KB usage line
@example(command="build", config_kind="file", out_kind="new", extra=None, extra_kind="file", noise=["--config", "x" * 5000])  # a 5 KB path
@example(command="cost", config_kind="file", out_kind="new", extra="prices", extra_kind="file", noise=["--usage", "a\nb"])  # a newline in a path
def test_files_and_arguments(command, config_kind, out_kind, extra, extra_kind, noise, tmp_path_factory):
    where = tmp_path_factory.mktemp("files")
    (where / "cfg").mkdir()
    (where / "extra").mkdir()
    config = _make(config_kind, where / "cfg")
    argv = [command, "--config", str(config)]
    if extra == "usage" and command == "cost":
        argv += ["--usage", str(_make(extra_kind, where / "extra", b"data_transfer_gb: 5\n"))]
    elif extra == "prices":
        argv += ["--prices", str(_make(extra_kind, where / "extra", b"{}\n"))]
    out, before = None, None
    if command == "build":
        out, before = _out(out_kind, where, config)
        argv += ["--out", str(out)]
    argv += noise
    note(repr(argv)[:1000])
    code, stdout, err = run(argv, seconds=300)
    if code == 0:
        assert "Traceback" not in err and not err.strip() or all(line.startswith(("warning: ", "  ")) for line in err.splitlines()), err
        assert config_kind in ("file", "link", "empty") and out_kind in ("new", "empty-dir") or command == "cost" or "-h" in noise
        return
    named = refused(code, err)
    if code == 1:
        assert all(n and n != "usage" for n in named)
    if out is not None:
        _unchanged(out, before, where)


# --- regressions found by fuzzing ----------------------------------------------------------------


@pytest.mark.parametrize("word", ["", " bad", "-x" * 40, "a/b"])
def test_a_word_that_cannot_be_an_environment_is_a_usage_error_before_anything(word, tmp_path, capsys):
    """Found by fuzzing: `build --out DIR ''` made the empty word an environment, keyed by itself."""
    for argv in (["build", "--out", str(tmp_path / "out"), "--", word], ["status", "--", word], ["init", "--zone", "example.org", "--", word]):
        assert main(argv) == 64
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"error: usage: ENV {word[:40]!r} is not an environment name")
    assert list(tmp_path.iterdir()) == []


def test_one_bad_item_is_not_also_reported_as_a_short_list():
    with pytest.raises(ConfigErrors) as err:
        parse({"service": {"app_bucket_prefixes": ["a*/"]}})
    assert [p.key for p in err.value.problems] == ["service.app_bucket_prefixes[0]"]

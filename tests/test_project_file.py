"""The project file enrollcfn.yaml without AWS: where it is found, how it is checked (one line per
problem), and how an environment's name becomes its stack and config on the command line (a typo
gets "did you mean", a disagreeing --stack or --config is refused, nothing named is a usage error)."""

from __future__ import annotations

import io

import pytest

from enrollcfn import project as pf
from enrollcfn.cli import main

PROJECT = """\
environments:
  production:
    config: config/production.yaml
    stack: se-prod
    account: "123456789012"
    region: ap-southeast-2
  staging:
    config: config/staging.yaml
    stack: se-stg
    account: "210987654321"
    region: ap-southeast-2
    profile: staging-admin
"""


def never(service):
    raise AssertionError(f"an AWS client ({service}) was created")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with enrollcfn.yaml at its top, entered in a subdirectory."""
    monkeypatch.delenv(pf.ENV_VARIABLE, raising=False)
    (tmp_path / ".git").mkdir()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "production.yaml").write_text("environment: production\n")
    (tmp_path / "config" / "staging.yaml").write_text("environment: staging\nproduction: false\n")
    (tmp_path / pf.FILE_NAME).write_text(PROJECT)
    (tmp_path / "app" / "src").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "app" / "src")
    return tmp_path


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv), client_factory=never)
    out, err = capsys.readouterr()
    return code, out, err


def test_found_upward_with_paths_relative_to_the_file(repo):
    found = pf.find()
    assert found.path == repo / pf.FILE_NAME
    staging = found.get("staging")
    assert (staging.stack, staging.account, staging.region, staging.profile) == ("se-stg", "210987654321", "ap-southeast-2", "staging-admin")
    assert staging.config == repo / "config" / "staging.yaml" and found.by_stack("se-prod").name == "production"


def test_the_search_stops_at_the_top_of_the_repository(tmp_path, monkeypatch):
    monkeypatch.delenv(pf.ENV_VARIABLE, raising=False)
    (tmp_path / pf.FILE_NAME).write_text(PROJECT)  # above the repository: not this repository's
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo")
    assert pf.find() is None
    assert pf.boundary(tmp_path / "repo") == tmp_path / "repo"


def test_a_config_named_enrollcfn_yaml_is_not_a_project_file(repo, monkeypatch):
    (repo / "app" / pf.FILE_NAME).write_text("environment: production\n")  # an application repository's config
    assert pf.find().path == repo / pf.FILE_NAME


def test_every_problem_is_one_line_keyed_by_its_path(repo, capsys):
    (repo / pf.FILE_NAME).write_text("""\
environments:
  production:
    config: config/production.yaml
    stack: 9se-prod
    account: 12345
    region: mars-north-1
    colour: blue
""")
    code, out, err = cli(capsys, "status", "production")
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 4, err
    assert lines[0].startswith("error: environments.production.stack: '9se-prod' is not a CloudFormation stack name")
    assert lines[1].startswith("error: environments.production.account: '12345' is not an AWS account id: 12 digits")
    assert lines[2].startswith("error: environments.production.region: 'mars-north-1' is not a region the stacks can use")
    assert lines[3].startswith("error: environments.production.colour: ")
    assert all(str(repo / pf.FILE_NAME) in line for line in lines)


def test_duplicate_keys_and_a_shared_stack_are_refused(repo, capsys):
    (repo / pf.FILE_NAME).write_text(PROJECT + "  copy:\n    config: c.yaml\n    stack: se-prod\n    account: '123456789012'\n    region: ap-southeast-2\n")
    code, out, err = cli(capsys, "status", "copy")
    assert code == 1 and err.startswith("error: environments.copy.stack: se-prod is environment production's stack too")
    (repo / pf.FILE_NAME).write_text(PROJECT + "  staging:\n    config: x\n")
    code, out, err = cli(capsys, "status", "staging")
    assert code == 1 and "environments.staging" in err and "written twice" in err


def test_a_typo_gets_did_you_mean_and_the_names(repo, capsys):
    code, out, err = cli(capsys, "deploy", "prodution", "--yes")
    assert code == 1
    assert err == ("error: prodution: no such environment in "
                   f"{repo / pf.FILE_NAME}; did you mean production? the environments are: production (se-prod), staging (se-stg)\n")


def test_nothing_named_is_a_usage_error(repo, capsys):
    code, out, err = cli(capsys, "status")
    assert code == 64 and err == "error: usage: name the environment (production, staging) or the stack with --stack NAME\n"


def test_stack_and_config_must_agree_with_the_environment(repo, capsys):
    code, out, err = cli(capsys, "deploy", "production", "--stack", "se-stg", "--yes")
    assert code == 1 and err.startswith("error: --stack: se-stg is not environment production's stack se-prod")
    # the finding: staging's stack with production's config, named by hand
    code, out, err = cli(capsys, "deploy", "--stack", "se-stg", "--config", str(repo / "config" / "production.yaml"), "--yes")
    assert code == 1 and err.startswith(f"error: --config: {repo / 'config' / 'production.yaml'} is not environment staging's config config/staging.yaml")


def test_the_region_of_the_config_must_be_the_environments(repo, capsys):
    (repo / "config" / "production.yaml").write_text("environment: production\nregion: us-east-1\n")
    code, out, err = cli(capsys, "status", "production")
    assert code == 1 and err.startswith("error: environments.production.region: ") and "says region us-east-1; make them agree" in err


def test_an_environment_without_a_project_file_says_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(pf.ENV_VARIABLE, raising=False)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "status", "production")
    assert code == 1 and err.startswith(f"error: production: no project file names environments here (looked for enrollcfn.yaml in {tmp_path}")


def test_run_takes_the_environment_before_dashes_and_the_command_after(repo, capsys, monkeypatch):
    seen = {}

    def located(args):
        seen.update(stack=args.stack, config=args.config, command=args.command)
        raise SystemExit(0)

    monkeypatch.setattr("enrollcfn.commands.day2.located", located)
    with pytest.raises(SystemExit):
        main(["run", "staging", "--", "php", "artisan", "migrate", "--force"], client_factory=never)
    assert seen == {"stack": "se-stg", "config": repo / "config" / "staging.yaml", "command": ["--", "php", "artisan", "migrate", "--force"]}
    code, out, err = cli(capsys, "run", "staging", "extra", "--", "true")
    assert code == 64 and "one environment before --" in err
    code, out, err = cli(capsys, "run", "staging")
    assert code == 64 and err.startswith("error: run: name the command after --")


def test_secrets_set_checks_the_name_before_any_aws_call(repo, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("value"))
    code, out, err = cli(capsys, "secrets", "set", "production", "MAIL_PASWORD")
    assert code == 1 and err == ("error: MAIL_PASWORD: is not a key of the application secret; the config's service.secrets are: "
                                 "APP_KEY, MAIL_PASSWORD, REDIS_PASSWORD, PUSHER_APP_KEY, PUSHER_APP_SECRET, VITE_PUSHER_APP_KEY\n")
    code, out, err = cli(capsys, "secrets", "set", "production", "APP_KEY")
    assert code == 1 and err.startswith("error: APP_KEY: changing it logs every user out") and "--force" in err
    with pytest.raises(SystemExit) as refused:  # argparse's own refusal: a third word
        main(["secrets", "set", "production", "MAIL_PASSWORD", "more"], client_factory=never)
    assert refused.value.code == 64


def test_ls_without_a_project_file_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(pf.ENV_VARIABLE, raising=False)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "ls", "--json")
    assert code == 1 and err.startswith("error: enrollcfn.yaml: not found (looked for enrollcfn.yaml in")
    assert out == ""

"""`make demo`: deploy the default config end to end against a local AWS (a moto server on
127.0.0.1), through the same code a real deploy uses.

It creates the hosted zone the config names (a real account already has it), runs `deploy` (which
stops at the preflight because no image has been pushed, printing the push commands), pushes a
stand-in image manifest, deploys again (preview, progress, outputs), tries a change that would replace the database
(refused), then runs `plan` to show that
nothing is left to change. Then day 2: `status`, a one-off `run -- php artisan migrate --force`
(the local AWS's stand-in task writes one log line and exits 0), a `plan` of a changed config
value with its property-level lines and cost difference, and a `rollback` after deploying a
second image. Then config/dev.yaml is deployed next to it in the same account and region, both
report healthy, dev is destroyed and the first is still healthy. Then it stops the server.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import boto3

from enrollcfn.local import server as localaws

STACK = "se-demo"
DEV_STACK = "se-demo-dev"


def main() -> int:
    with localaws.server() as endpoint, tempfile.TemporaryDirectory(prefix="enrollcfn-demo-") as tmp:
        os.environ.update(localaws.CREDENTIALS, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION=localaws.REGION)
        from enrollcfn.cli import main as enrollcfn
        from enrollcfn.config import Config

        cfg = Config()
        route53 = boto3.client("route53", region_name=localaws.REGION)
        zone = route53.create_hosted_zone(Name=cfg.dns.zone_name, CallerReference="demo")["HostedZone"]["Id"]
        config = Path(tmp) / "demo.yaml"
        config.write_text(f"dns:\n  hosted_zone_id: {zone.rsplit('/', 1)[-1]}\n")
        step(f"local AWS at {endpoint}; hosted zone {cfg.dns.zone_name} created; config {config}")

        step("deploy (no image pushed yet: the preflight stops before the root stack)")
        code = enrollcfn(["deploy", "--stack", STACK, "--config", str(config), "--yes"])
        print(f"exit {code}")

        step(f"push {cfg.registry.repository_name}:{cfg.service.image_tag} (a stand-in manifest)")
        push(cfg, cfg.service.image_tag, "first image")
        step("deploy")
        code = enrollcfn(["deploy", "--stack", STACK, "--config", str(config), "--yes"])
        print(f"exit {code}")
        if code:
            return code

        step("deploy a change that would replace the database (database.name): refused, nothing changes")
        risky = Path(tmp) / "rename-db.yaml"
        risky.write_text(config.read_text() + "database:\n  name: renamed\n")
        print(f"exit {enrollcfn(['deploy', '--stack', STACK, '--config', str(risky), '--yes'])}")

        step("plan (nothing should be left to change)")
        code = enrollcfn(["plan", "--stack", STACK, "--config", str(config)])
        print(f"exit {code}")
        if code:
            return code
        code = day2(enrollcfn, cfg, config, Path(tmp))
        return code or side_by_side(enrollcfn, config, Path(tmp))


def side_by_side(enrollcfn, config: Path, tmp: Path) -> int:
    """config/dev.yaml next to the default in the same account and region, then dev torn down."""
    import yaml

    from enrollcfn.compiler import PROJECT_ROOT
    from enrollcfn.config.loading import load

    data = yaml.safe_load((PROJECT_ROOT / "config" / "dev.yaml").read_text())
    data.setdefault("dns", {}).update(yaml.safe_load(config.read_text())["dns"])  # the local hosted zone
    dev = tmp / "dev.yaml"
    dev.write_text(yaml.safe_dump(data))
    step(f"config/dev.yaml as {DEV_STACK}, next to {STACK} in the same account and region")
    enrollcfn(["deploy", "--stack", DEV_STACK, "--config", str(dev), "--yes"])  # its own repository, then the preflight
    dev_cfg = load(dev)
    push(dev_cfg, dev_cfg.service.image_tag, "dev image")
    if enrollcfn(["deploy", "--stack", DEV_STACK, "--config", str(dev), "--yes"]):
        return 1
    step("status of both")
    codes = [enrollcfn(["status", "--stack", s, "--config", str(c)]) for s, c in ((STACK, config), (DEV_STACK, dev))]
    step(f"destroy {DEV_STACK}; {STACK} is untouched")
    codes.append(enrollcfn(["destroy", "--stack", DEV_STACK, "--config", str(dev), "--yes", "--disable-termination-protection"]))
    codes.append(enrollcfn(["status", "--stack", STACK, "--config", str(config)]))
    print(f"exit {max(codes)}")
    return max(codes)


def day2(enrollcfn, cfg, config: Path, tmp: Path) -> int:
    """status, a one-off migration task, a property-level plan and a rollback."""
    step("status")
    print(f"exit {enrollcfn(['status', '--stack', STACK, '--config', str(config)])}")

    step("run -- php artisan migrate --force (a one-off task in the service's subnets)")
    code = enrollcfn(["run", "--stack", STACK, "--config", str(config), "--", "php", "artisan", "migrate", "--force"])
    print(f"exit {code}")

    step("plan a changed config value (load_balancer.idle_timeout_seconds: 120): property-level lines")
    longer = tmp / "idle-timeout.yaml"
    longer.write_text(config.read_text() + "load_balancer:\n  idle_timeout_seconds: 120\n")
    print(f"exit {enrollcfn(['plan', '--stack', STACK, '--config', str(longer)])}")

    step(f"push {cfg.registry.repository_name}:release-2 and deploy it (--image-tag release-2: by its digest)")
    push(cfg, "release-2", "second image")
    if enrollcfn(["deploy", "--stack", STACK, "--config", str(config), "--image-tag", "release-2", "--yes"]):
        return 1
    step("rollback (to the previous image's digest, through a change set)")
    code = enrollcfn(["rollback", "--stack", STACK, "--config", str(config), "--yes"])
    print(f"exit {code}")
    return code


def push(cfg, tag: str, label: str) -> None:
    """A stand-in image manifest (distinct per label) under `tag`."""
    localaws.push_image(boto3.client("ecr", region_name=localaws.REGION), cfg.registry.repository_name, tag, label)


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""`make bench` (no-op deploy): wall time of `enrollcfn deploy` against a local AWS when nothing changed.

The stacks are created once; then each run is a fresh `enrollcfn deploy --yes` process (compile,
lint, bootstrap check, package check, preflight, root check) that finds nothing to change. The lint
cache is the one the first deploys filled, as after any earlier build. `tests/bench.py` calls
`measure` and prints the figure beside the lint-CLI floor; run alone, this prints the median.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RUNS = max(5, int(os.environ.get("BENCH_RUNS", "5")))


def measure(runs: int = RUNS) -> list[float]:
    """Wall seconds of `runs` fresh no-op `enrollcfn deploy --yes` processes against a local AWS."""
    import boto3

    from enrollcfn.config import Config
    from enrollcfn.local import server as localaws

    cfg = Config()
    with localaws.server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **localaws.environment(endpoint),
               "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        env.pop("ENROLLCFN_NO_CACHE", None)
        aws = boto3.Session(region_name=localaws.REGION, aws_access_key_id="testing", aws_secret_access_key="testing",
                            aws_session_token="testing")
        zone = aws.client("route53", endpoint_url=endpoint).create_hosted_zone(
            Name=cfg.dns.zone_name, CallerReference="bench")["HostedZone"]["Id"]
        config = Path(tmp) / "bench.yaml"
        config.write_text(f"dns:\n  hosted_zone_id: {zone.rsplit('/', 1)[-1]}\n")
        command = [str(Path(sys.executable).with_name("enrollcfn")), "deploy", "--stack", "se-bench", "--config", str(config), "--yes"]
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True)  # bootstrap, stops at the missing image
        localaws.push_image(aws.client("ecr", endpoint_url=endpoint), cfg.registry.repository_name, cfg.service.image_tag, "bench")
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        walls = []
        for _ in range(runs):
            start = time.perf_counter()
            out = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
            walls.append(time.perf_counter() - start)
            assert "se-bench: no changes" in out, out
    return walls


def main() -> int:
    """Print the median of RUNS no-op deploys."""
    walls = measure()
    print(f"no-op deploy against the local AWS, median of {len(walls)} fresh processes: "
          f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

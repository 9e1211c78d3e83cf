"""`make bench` (part 2): wall time of a no-op `enrollcfn deploy` against a local AWS.

The stacks are created once; then each run is a fresh `enrollcfn deploy --yes` process (compile,
lint, bootstrap check, package check, preflight, root check) that finds nothing to change.
Median over RUNS runs; exit 1 if it misses the 3 s target.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))


def main() -> int:
    import boto3

    from enrollcfn.config import Config
    from enrollcfn.local import server as localaws

    cfg = Config()
    with localaws.server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **localaws.CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": localaws.REGION}
        os.environ.update(env)
        zone = boto3.client("route53").create_hosted_zone(Name=cfg.dns.zone_name, CallerReference="bench")["HostedZone"]["Id"]
        config = Path(tmp) / "bench.yaml"
        config.write_text(f"dns:\n  hosted_zone_id: {zone.rsplit('/', 1)[-1]}\n")
        command = [str(Path(sys.executable).with_name("enrollcfn")), "deploy", "--stack", "se-bench", "--config", str(config), "--yes"]
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True)  # bootstrap, stops at the missing image
        boto3.client("ecr").put_image(repositoryName=cfg.registry.repository_name, imageTag=cfg.service.image_tag,
                                      imageManifest=json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}))
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        walls = []
        for _ in range(RUNS):
            start = time.perf_counter()
            out = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
            walls.append(time.perf_counter() - start)
            assert "se-bench: no changes" in out, out
    median = statistics.median(walls)
    print(f"no-op deploy against the local AWS, median of {RUNS} fresh processes:")
    print(f"  enrollcfn deploy (nothing to change)                 {median:.2f} s   (target < 3.00 s; "
          f"min {min(walls):.2f}, max {max(walls):.2f})")
    return 0 if median < 3.0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""`enrollcfn ls` and `enrollcfn show`: what each environment has deployed, read from its root
stack (status, outputs, the ImageDigest and ImageTag parameters). Read-only."""

from __future__ import annotations

from pathlib import Path

from enrollcfn.stacks import describe, output_map
from enrollcfn.templates.load_balancer import API_URL
from enrollcfn.templates.service import IMAGE_DIGEST, IMAGE_TAG

NOT_DEPLOYED = "not deployed"


def parameters(stack: dict) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def row(client, env, base: Path) -> dict:
    """One environment's line of `ls`: its state, or why it was not read."""
    from botocore.exceptions import BotoCoreError, ClientError

    out = {"environment": env.name, "stack": env.stack, "account": env.account, "region": env.region,
           "config": env.shown_config(base), "state": NOT_DEPLOYED, "image_digest": None}
    try:
        caller = client("sts").get_caller_identity()["Account"]
        if caller != env.account:
            out["state"] = f"not checked: the credentials are for account {caller}"
            return out
        stack = describe(client("cloudformation"), env.stack)
    except (BotoCoreError, ClientError) as exc:
        out["state"] = f"not checked: {' '.join(str(exc).split())[:120]}"
        return out
    if stack is not None and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
        out["state"] = stack["StackStatus"]
        out["image_digest"] = parameters(stack).get(IMAGE_DIGEST) or None
    return out


HEADINGS = {"environment": "ENVIRONMENT", "stack": "STACK", "account": "ACCOUNT", "region": "REGION", "state": "STATE", "image_digest": "IMAGE"}


def render_rows(rows: list[dict]) -> list[str]:
    """A heading line, then one line per environment, in columns."""
    table = [HEADINGS, *({**r, "image_digest": r["image_digest"] or "-"} for r in rows)]
    widths = {k: max(len(str(r[k])) for r in table) for k in HEADINGS}
    return ["  ".join(f"{r[k]!s:<{widths[k]}}" for k in HEADINGS).rstrip() for r in table]


def show(stack: dict, env, config: Path | None, cfg, base: Path | None) -> dict:
    """The facts `show` prints."""
    outputs, params = output_map(stack), parameters(stack)
    shown_config = (env.shown_config(base) if env is not None and base is not None else str(config)) if config else None
    return {
        "environment": env.name if env is not None else cfg.environment,
        "stack": stack["StackName"],
        "status": stack["StackStatus"],
        "region": cfg.region,
        "account": env.account if env is not None else _account(stack),
        "api_url": outputs.get(API_URL),
        "image": {"digest": params.get(IMAGE_DIGEST) or None, "tag": params.get(IMAGE_TAG) or None},
        "config": shown_config,
        "outputs": outputs,
    }


def _account(stack: dict) -> str | None:
    parts = stack.get("StackId", "").split(":")
    return parts[4] if len(parts) > 5 else None


def render_show(shown: dict) -> list[str]:
    image = shown["image"]
    lines = [
        f"environment {shown['environment']}, account {shown['account']}, region {shown['region']}, stack {shown['stack']} ({shown['status']})",
        f"api      {shown['api_url'] or '-'}",
        f"image    {image['digest'] or '-'}" + (f" (tag {image['tag']})" if image["tag"] else ""),
        f"config   {shown['config'] or 'the defaults (no --config)'}",
        "outputs:",
    ]
    lines += [f"  {k:<24} {v}" for k, v in sorted(shown["outputs"].items())]
    return lines

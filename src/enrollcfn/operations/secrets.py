"""`enrollcfn secrets`: the application secret (the root output AppSecretArn), a JSON object of
the keys service.secrets lists. `states` says which are set; `put` changes one key and keeps the
others. Values are never returned to be printed."""

from __future__ import annotations

import json

from enrollcfn.errors import EnrollcfnError
from enrollcfn.operations import Deployed
from enrollcfn.templates.cluster import CLUSTER_NAME
from enrollcfn.templates.service import APP_SECRET_ARN, SERVICE_NAME


def arn(dep: Deployed) -> str:
    return dep.require(APP_SECRET_ARN)


def service(dep: Deployed) -> tuple[str, str]:
    """(cluster, service) whose tasks read the secret."""
    return dep.require(CLUSTER_NAME), dep.require(SERVICE_NAME)


def read(sm, dep: Deployed) -> dict:
    """The secret's JSON object (an empty one when it holds no value yet)."""
    secret = arn(dep)
    try:
        text = sm.get_secret_value(SecretId=secret).get("SecretString")
    except sm.exceptions.ResourceNotFoundException:
        raise EnrollcfnError(secret, "the application secret does not exist (deleted outside CloudFormation?); deploy again to restore it") from None
    if not text:
        return {}
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise EnrollcfnError(secret, "does not hold a JSON object of keys; it was changed outside enrollcfn, fix it in the console first")
    return doc


def states(doc: dict, names: tuple[str, ...]) -> list[dict]:
    """For each name of service.secrets: set (a non-empty value) or missing; then keys beyond them."""
    rows = [{"name": n, "state": "set" if isinstance(doc.get(n), str) and doc.get(n) else "missing"} for n in names]
    rows += [{"name": k, "state": "extra (not in service.secrets)"} for k in sorted(doc) if k not in names]
    return rows


def put(sm, dep: Deployed, doc: dict, name: str, value: str) -> None:
    """Write `doc` with key `name` set to `value` as the secret's new current version."""
    updated = {**doc, name: value}
    text = json.dumps(updated, sort_keys=True)
    if len(text.encode("utf-8")) > 65_536:
        raise EnrollcfnError(name, "the secret would exceed 65,536 bytes, the most Secrets Manager holds; nothing was changed")
    sm.put_secret_value(SecretId=arn(dep), SecretString=text)

"""The VPC: two availability zones, a public and a private subnet in each, NAT and flow logs.

Zones are checked against the region's real list in the root model (the region is a root key),
which also fills them in when the file leaves them out (the region's first two zones), and so
is `mode: public`, which only a non-production environment may use."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, model_validator

from enrollcfn.config._base import Bool, Section, Text, rules

# One subnet of each kind per zone; the stacks are written for exactly two zones.
Pair = Annotated[tuple[Text, ...], Field(min_length=2, max_length=2)]


class Network(Section):
    """VPC layout: two AZs, one public and one private subnet in each."""

    vpc_cidr: Text = "192.168.0.0/24"  # seed
    # None: the region's first two zones (data/regions.json), set by the root model; for the
    # seed's region that is the seed's pair, ap-southeast-2a and ap-southeast-2b.
    availability_zones: Annotated[tuple[Text, ...] | None, Field(min_length=2, max_length=2)] = None
    public_subnets: Pair = ("192.168.0.0/26", "192.168.0.64/26")  # seed
    private_subnets: Pair = ("192.168.0.128/26", "192.168.0.192/26")  # seed
    # private (seed): tasks in the private subnets, out through NAT. public: no NAT gateway and no
    # EIP; tasks in the public subnets with a public IP, reachable only from the ALB's group.
    mode: Literal["private", "public"] = "private"
    nat_gateways: Literal["single", "per_az"] = "single"  # seed: one NAT in the first AZ; per_az for AZ-independent egress
    s3_gateway_endpoint: Bool = True  # seed
    flow_logs_traffic: Literal["ACCEPT", "REJECT", "ALL"] = "REJECT"  # fix: the seed had no flow logs (EC2.6)

    @model_validator(mode="after")
    def _layout(self) -> Network:
        """CIDRs parse, sit inside the VPC, do not overlap; zones are distinct."""
        out: list[tuple[str, str]] = []
        vpc = _cidr(self.vpc_cidr, "network.vpc_cidr", out)
        if self.availability_zones is not None and len(set(self.availability_zones)) < 2:
            out.append(("network.availability_zones", f"zones must be distinct, got {self.availability_zones[0][:40]!r} twice"))
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for kind in ("public_subnets", "private_subnets"):
            for i, cidr in enumerate(getattr(self, kind)):
                key = f"network.{kind}[{i}]"
                net = _cidr(cidr, key, out)
                if net is None:
                    continue
                if vpc is not None and not net.subnet_of(vpc):
                    out.append((key, f"{net} is outside the VPC {vpc}"))
                out += [(key, f"{net} overlaps {k} ({o})") for k, o in seen if net.overlaps(o)]
                seen.append((key, net))
        if self.mode == "public" and "nat_gateways" in self.model_fields_set:
            out.append(("network.nat_gateways", "has no effect with network.mode public, which has no NAT gateway; remove it or use mode private"))
        rules(out)
        return self


def _cidr(text: str, key: str, out: list[tuple[str, str]]) -> ipaddress.IPv4Network | None:
    """Parse an IPv4 CIDR of /16 to /28 (the VPC and subnet sizes AWS allows), or record why not."""
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            out.append((key, f"{text} has host bits set; the network is {ipaddress.IPv4Network(text, strict=False)}"))
        else:
            out.append((key, f"{text[:60]!r} is not an IPv4 CIDR such as 10.0.0.0/24"))
        return None
    # Amazon VPC: "The allowed block size is between a /16 netmask and /28 netmask" (VPCs and subnets).
    if not 16 <= net.prefixlen <= 28:
        what = "a VPC" if key == "network.vpc_cidr" else "a subnet"
        out.append((key, f"{what} prefix must be /16 to /28, got /{net.prefixlen}"))
        return None
    return net

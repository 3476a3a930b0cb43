"""The EC2 instance types a node group may list: those EC2 sells, by family and size.

The list is pulumi-aws's (7.51.1, `pulumi_aws.ec2.InstanceType`, generated from the EC2 API's
instance types; the families and sizes of docs.aws.amazon.com/ec2/latest/instancetypes/
instance-types.html), pinned with the package in requirements.txt, so a made-up family (`m6x`) or
size (`m6i.7xlarge`) is refused before EKS refuses it halfway through an update. A family newer
than the pinned pulumi-aws is refused too: upgrading pulumi-aws brings it. Mac families are refused:
EC2 Mac instances run macOS on Dedicated Hosts only (EC2 user guide, ec2-mac-instances.html), and
no EKS AMI is macOS.
"""

from __future__ import annotations

import difflib
from collections import defaultdict

from pulumi_aws.ec2 import _enums as ec2_enums

from components.config.validate import Problems

EC2_INSTANCE_TYPES = frozenset(t.value for t in ec2_enums.InstanceType)
_SIZES: dict[str, list[str]] = defaultdict(list)
for _type in sorted(EC2_INSTANCE_TYPES):
    _SIZES[_type.split(".", 1)[0]].append(_type.split(".", 1)[1])
EC2_FAMILIES = frozenset(_SIZES)


def check_listed(instance_type: str, path: str, problems: Problems) -> bool:
    """False, with the problem, for a type EC2 does not sell or EKS cannot run."""
    family, size = instance_type.split(".", 1)
    if family.startswith("mac"):
        problems.add(path, f"{instance_type} is an EC2 Mac instance (macOS on Dedicated Hosts only): no EKS node AMI")
        return False
    if family not in EC2_FAMILIES:
        close = difflib.get_close_matches(family, sorted(EC2_FAMILIES), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        problems.add(
            path,
            f"{instance_type}: {family!r} is not an EC2 instance family{hint}; the families are EC2's instance types"
            " (docs.aws.amazon.com/ec2/latest/instancetypes/instance-types.html) as pulumi-aws 7.51.1 lists them",
        )
        return False
    if size not in _SIZES[family]:
        problems.add(path, f"{instance_type}: {family} comes in {', '.join(_SIZES[family])}, not {size}")
        return False
    return True

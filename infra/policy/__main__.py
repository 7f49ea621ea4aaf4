"""The platform's PolicyPack (`pulumi preview --policy-pack infra/policy`).

Never import this module: constructing a PolicyPack starts its gRPC server and blocks.
The policies themselves are in `policies.py` (imported by tests).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pulumi_policy import PolicyPack

from infra.policy.policies import POLICIES

PolicyPack(name="platform", policies=list(POLICIES))

"""What would have changed: sharing and logging policies applied to the searches in a store.

:mod:`auditor.whatif.policy` reads policy files (``auditor/data/policies``) and judges one search's
facts; :mod:`auditor.whatif.apply` applies policies to an audited store and counts what each would
have blocked and let through, with the simulator's truth beside the counts where there is some.
"""
from auditor.whatif.apply import WhatIf, apply_policies, format_whatif, policy_comparison, rows_behind
from auditor.whatif.policy import Policy, load_policy, shipped_policies

__all__ = ["Policy", "WhatIf", "apply_policies", "format_whatif", "load_policy", "policy_comparison", "rows_behind", "shipped_policies"]

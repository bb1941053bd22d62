"""Rules, laws and aggregate measures: what the audit checks, and what each finding cites.

- :mod:`auditor.rules.core`: the rule model and its condition language;
- :mod:`auditor.rules.laws`: laws as elements, one file per jurisdiction;
- :mod:`auditor.rules.loader`: reads rule files and laws into rules;
- :mod:`auditor.rules.citations`: what a finding cites (the law, or the practice and related law);
- :mod:`auditor.rules.measures`: the aggregate measures behind aggregate rules;
- :mod:`auditor.rules.buckets`: classes of compared facts the scan keys its memo on;
- :mod:`auditor.rules.review`: the review copy of the laws for a lawyer.
"""
from __future__ import annotations

from auditor.rules.core import GROUNDS, SEVERITIES, Rule, describe, evaluate, ruleset_hash, statement
from auditor.rules.loader import load_rules, shipped_rule_paths

__all__ = ["GROUNDS", "SEVERITIES", "Rule", "describe", "evaluate", "load_rules", "ruleset_hash",
           "shipped_rule_paths", "statement"]

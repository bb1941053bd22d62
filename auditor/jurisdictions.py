"""Former home of laws and citations, kept so old imports work: see :mod:`auditor.rules.laws`,
:mod:`auditor.rules.citations` and :mod:`auditor.rules.buckets`."""
from auditor.rules.buckets import bucket_bounds, bucket_sql, bucket_value, fact_thresholds  # noqa: F401
from auditor.facts import OWNER_MEASURES, finding_role  # noqa: F401 (the judging state is a fact)
from auditor.rules.citations import PRACTICE, RELATED, Citation, Citer, applied, cite  # noqa: F401
from auditor.rules.laws import (BINDS, CONDUCTS, FEDERAL, Jurisdiction, Law, Source, case_table,  # noqa: F401
                                compile_law, law_condition, laws_for, load_jurisdictions, load_laws, shipped)

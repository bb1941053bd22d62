"""Former home of the aggregate measures, kept so old imports work: see :mod:`auditor.rules.measures`."""
from auditor.rules.measures import MEASURES, Candidate  # noqa: F401
from auditor.rules.measures.searches import NO_PURPOSE_SQL  # noqa: F401

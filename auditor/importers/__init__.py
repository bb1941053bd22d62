"""Importers of released logs: Flock audits, portal audits, reason sheets, sharing lists, generic CSV.

Use :func:`import_files` (or :func:`import_file`); each release comes back as a
:class:`ReleaseAccount` whose rows read = rows imported + rows rejected.
"""
from auditor.importers.headers import FORMATS, detect
from auditor.importers.release import (ImportOptions, ReleaseAccount, import_file, import_files, unfinished_releases,
                                       unfinished_warning)

__all__ = ["FORMATS", "ImportOptions", "ReleaseAccount", "detect", "import_file", "import_files", "unfinished_releases",
           "unfinished_warning"]

"""proxytrace's auditor: import releases, resolve agencies, trace searches, apply rules, report."""

import os as _os

__version__ = "0.1.0"

# Worker threads of the columnar libraries (polars, arrow, rayon), here and in the columnar child
# (auditor.isolated). Each thread reserves address space (a stack, a malloc arena), so under a
# memory limit (ulimit -v) a pool sized to a large machine's cores can fail to start ("OS can't
# spawn worker thread"); the work is streamed in batches, which a few threads keep busy. Set before
# any of them is imported; a value the user set wins.
COLUMNAR_THREADS = str(max(1, min(_os.cpu_count() or 1, 4)))
for _name in ("POLARS_MAX_THREADS", "RAYON_NUM_THREADS", "OMP_NUM_THREADS"):
    _os.environ.setdefault(_name, COLUMNAR_THREADS)

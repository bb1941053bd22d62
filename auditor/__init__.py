"""proxytrace's auditor: import releases, resolve agencies, trace searches, apply rules, report."""

__version__ = "0.1.0"

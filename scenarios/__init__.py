"""Scenario files (TOML) shipped with proxytrace; see README "Scenario file reference"."""
from importlib.resources import files
from pathlib import Path


def scenario_dir() -> Path:
    """The folder holding the shipped scenario files."""
    return Path(str(files(__name__)))

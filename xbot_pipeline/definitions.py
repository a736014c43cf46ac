"""The ``xbot_pipeline`` code location: everything under ``defs/`` is collected by Dagster."""

from pathlib import Path

import dagster as dg

from xbot_pipeline.settings import load_settings


@dg.definitions
def defs() -> dg.Definitions:
    # Malformed XBOT_* settings (any family) fail the code location at load with one line naming the
    # variable (SettingsError), instead of a location that loads and then fails every run.
    load_settings()
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)

"""``FleetIOManager``: the posting/recovery steps' outputs in a folder every worker reaches.

Dagster's default IO manager pickles outputs under the local ``DAGSTER_HOME/storage``, which a step on
another host cannot read. This one writes Polars frames as Parquet and everything else (the shard
plans, the summaries) as JSON, under ``XBOT_FLEET_IO_DIR`` (default: ``xbot-outputs`` in the Dagster
instance's storage folder): on one machine any folder does; across machines it is a shared mount (NFS,
SMB, a CSI volume) at the same path on every worker. No pickles: a worker never unpickles what another
process wrote.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from pydantic import PrivateAttr

from xbot_pipeline.settings import load_settings

FLEET_IO = "fleet_io"  # the resource key the fanned-out jobs bind FleetIOManager to


class FleetIOManager(dg.ConfigurableIOManager):
    """Parquet for Polars frames, JSON for plain values; one file per run, step and output."""

    base_dir: str | None = None

    _root: Path | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        configured = self.base_dir or load_settings().fleet_io_dir
        if configured:
            self._root = Path(configured)
        elif context.instance is not None:
            self._root = Path(context.instance.storage_directory()) / "xbot-outputs"

    def _path(self, output: dg.OutputContext) -> Path:
        if self._root is None:
            raise RuntimeError("FleetIOManager has no folder: set XBOT_FLEET_IO_DIR")
        # run id, step key, output name[, mapping key]; a mapped step's "[key]" would read as a glob
        parts = [re.sub(r"[^A-Za-z0-9_.-]", "_", str(p)) for p in output.get_identifier()]
        return self._root.joinpath(*parts)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        if isinstance(obj, pl.DataFrame):
            obj.write_parquet(tmp)
            final = path.with_suffix(".parquet")
        else:
            tmp.write_text(json.dumps(obj, default=str))
            final = path.with_suffix(".json")
        os.replace(tmp, final)  # a reader never sees half a file; a redelivered step overwrites whole
        context.add_output_metadata({"path": str(final)})

    def load_input(self, context: dg.InputContext) -> Any:
        path = self._path(context.upstream_output)  # type: ignore[arg-type]
        parquet = path.with_suffix(".parquet")
        if parquet.exists():
            return pl.read_parquet(parquet)
        return json.loads(path.with_suffix(".json").read_text())

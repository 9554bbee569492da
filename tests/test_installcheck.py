"""`make installcheck`: PGXS's pg_regress suite (test/sql, test/expected) passes against the test server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_make_installcheck_passes_against_the_local_test_server(local_server, tmp_path):
    env = dict(os.environ, PGHOST=local_server.socket_dir or local_server.host, PGPORT=str(local_server.port),
               PGUSER=local_server.superuser)
    if local_server.password:
        env["PGPASSWORD"] = local_server.password
    proc = subprocess.run(["make", "-s", "-C", str(REPO), "installcheck",
                           f"REGRESS_OPTS=--inputdir=test --outputdir={tmp_path}"],
                          env=env, capture_output=True, text=True)
    diffs = tmp_path / "regression.diffs"
    assert proc.returncode == 0, proc.stdout + proc.stderr + (diffs.read_text() if diffs.exists() else "")
    assert "All 1 tests passed" in proc.stdout or "ok 1" in proc.stdout, proc.stdout

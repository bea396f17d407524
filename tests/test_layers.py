"""The layers stay apart: kb (the knowledge base) imports neither the recommender nor the web
app nor Flask, and the recommender imports neither the web app nor Flask. Every module of the
package is imported in a fresh interpreter, and the modules it brought in are looked at."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Modules that are scripts run by a tool rather than imported: Alembic executes its environment
# script inside a migration context, where it runs the migrations.
NOT_IMPORTABLE = {"kb.migrations.env"}

PROBE = """
import importlib, json, pkgutil, sys

package, forbidden, skip = sys.argv[1], sys.argv[2].split(","), set(sys.argv[3].split(","))


def loaded():
    return {m.split(".")[0] for m in sys.modules if m.split(".")[0] in forbidden}


root = importlib.import_module(package)
seen, brought = [package], {}
if loaded():
    brought[package] = sorted(loaded())
for info in pkgutil.walk_packages(root.__path__, package + "."):
    if info.name in skip or info.name.endswith(".__main__"):
        continue
    before = loaded()
    importlib.import_module(info.name)
    seen.append(info.name)
    if loaded() - before:
        brought[info.name] = sorted(loaded() - before)
print(json.dumps({"modules": seen, "brought": brought}))
"""


def _import_all(package: str, forbidden: list[str]) -> dict:
    """Import every module of ``package`` in a new interpreter; the modules imported and, per
    module, the forbidden modules its import brought in."""
    out = subprocess.run([sys.executable, "-c", PROBE, package, ",".join(forbidden), ",".join(NOT_IMPORTABLE)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package,forbidden,some", [
    ("kb", ["flask", "webapp", "recommender"], ["kb.base", "kb.store", "kb.cli", "kb.migrations.versions"]),
    ("recommender", ["flask", "webapp"], ["recommender.service", "recommender.cli", "recommender.visits"]),
])
def test_a_lower_layer_imports_nothing_of_the_layers_above(package, forbidden, some):
    result = _import_all(package, forbidden)
    assert set(some) <= set(result["modules"]), result["modules"]  # the walk reached the whole package
    assert result["brought"] == {}, f"importing these {package} modules imports {', '.join(forbidden)}: " + \
        "; ".join(f"{m} -> {', '.join(found)}" for m, found in result["brought"].items())

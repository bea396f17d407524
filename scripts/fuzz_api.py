"""Fuzz the JSON API against its own OpenAPI document with schemathesis.

Requests are generated from /api/v1/openapi.json, valid ones and invalid ones, for every
operation (the writes with an editor's API token), and sent through the app's WSGI interface.
Each answer is checked: not a server error, a documented status, content type and headers, a
body that matches the documented schema. Prints the counts; exit status 1 on any failure.

    python scripts/fuzz_api.py --examples 500              # a copy of the bundled corpus
    python scripts/fuzz_api.py --examples 500 --home DIR   # a copy of an instance
    python scripts/fuzz_api.py --served --examples 100     # schemathesis' own runner (all its
                                                           # phases, stateful too) against
                                                           # `sinergi serve` on 127.0.0.1

The bounded run in the tests (tests/test_api_fuzz.py) uses :func:`fuzz` with 25 examples.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
USER, PASSWORD = "penguji-api", "kata-sandi-penguji-api"


@dataclass
class FuzzReport:
    cases: int = 0
    server_errors: int = 0
    statuses: Counter = field(default_factory=Counter)    # (operation, status) -> answers
    failures: list[str] = field(default_factory=list)     # one line per answer that broke a check

    @property
    def contract_failures(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        lines = [f"{self.cases:,} cases, {self.server_errors} server errors, "
                 f"{self.contract_failures} answers that contradict the document"]
        for (op, status), n in sorted(self.statuses.items()):
            lines.append(f"  {op:32} {status}  {n:>6,}")
        return "\n".join(lines + [f"  FAIL {f}" for f in self.failures[:50]])


def fuzz(app, token: str, *, max_examples: int, seed_value: int,
         modes: tuple[str, ...] = ("positive", "negative"), known_ids: tuple[str, ...] = ()) -> FuzzReport:
    """Run ``max_examples`` generated requests per operation and mode through ``app``; the
    operations on one record also run (valid requests) on each of ``known_ids``, since
    generated ids name no record."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    report = FuzzReport()
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletes last, so that the other operations on the known records find them.
    for operation in sorted(operations, key=lambda op: op.method.upper() == "DELETE"):
        for mode in modes:
            _fuzz_operation(operation, operation.as_strategy(generation_mode=GenerationMode(mode)), mode,
                            headers, report, max_examples, seed_value)
        if "{id}" in operation.path:
            for rid in known_ids:
                strategy = operation.as_strategy(path_parameters={"id": rid})
                _fuzz_operation(operation, strategy, f"positive, id {rid}", headers, report,
                                max(1, max_examples // len(known_ids)), seed_value)
    return report


def _fuzz_operation(operation, strategy, label: str, headers: dict, report: FuzzReport, max_examples: int,
                    seed_value: int) -> None:
    @seed(seed_value)
    @settings(max_examples=max_examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case) -> None:
        # Hypothesis sets the global random generator to the same state for every example; the
        # search index names new segments with it, and a served instance never sees a repeat.
        random.seed()
        response = case.call(headers=headers)
        report.cases += 1
        report.statuses[(operation.label, response.status_code)] += 1
        if response.status_code >= 500:
            report.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, FailureGroup) as e:  # one failed check, or several
            first = str(e).strip().splitlines()[:3]
            report.failures.append(f"{operation.label} [{label}] {response.status_code}: {' / '.join(first)}"
                                   f" -- {case.as_curl_command(headers={'Authorization': '[token]'})[:400]}")

    try:
        run()
    except Unsatisfiable:
        # No valid request exists: the operation cannot be called as documented. (No invalid
        # one is no failure: a schema that takes every value leaves nothing to break.)
        if not label.startswith("negative"):
            report.failures.append(f"{operation.label} [{label}]: the document admits no request "
                                   "(every generated one broke its own schema)")


def known_ids(app, n: int = 3) -> tuple[str, ...]:
    """A few ids of published records (the first in the store)."""
    return tuple(list(app.extensions["sinergi_kb"].store.versions())[:n])


def prepared_app(home: Path | None, workdir: Path):
    """An app over a copy of ``home`` (or of a fresh instance with the bundled corpus), with an
    editor's token."""
    from kb.base import KnowledgeBase
    from webapp import create_app
    from webapp.auth import add_user, new_token

    inst = workdir / "instance"
    if home is not None:
        shutil.copytree(home, inst)
    else:
        kb = KnowledgeBase(inst)
        kb.load_corpus()
        kb.mark_initialized()
    app = create_app({"TESTING": True}, home=inst)
    store = app.extensions["sinergi_kb"].store
    add_user(store, USER, PASSWORD, "editor")
    return app, new_token(store, USER)


def fuzz_served(home: Path | None, workdir: Path, *, max_examples: int, seed_value: int, modes: str) -> int:
    """schemathesis' command-line runner (examples, coverage, fuzzing and stateful phases) against
    a served copy of the instance; its summary is printed, its exit status returned."""
    from kb.base import KnowledgeBase

    inst = workdir / "instance"
    if home is not None:
        shutil.copytree(home, inst)
    else:
        kb = KnowledgeBase(inst)
        kb.load_corpus()
        kb.mark_initialized()
    env = {**os.environ, "SINERGI_HOME": str(inst)}
    cli = [sys.executable, "-m", "webapp.cli"]
    subprocess.run(cli + ["user", "add", USER, "--role", "editor", "--password", PASSWORD], env=env, check=True,
                   capture_output=True)
    token = subprocess.run(cli + ["user", "token", USER], env=env, check=True, capture_output=True,
                           text=True).stdout.split()[-1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (workdir / "serve.log").open("w")
    server = subprocess.Popen(cli + ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urlopen(base + "/api/v1/openapi.json", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        checks = ",".join(c.__name__ for c in CHECKS)
        run = subprocess.run([sys.executable, "-m", "schemathesis.cli", "run", base + "/api/v1/openapi.json",
                              "-H", f"Authorization: Bearer {token}", "--checks", checks,
                              "--max-examples", str(max_examples), "--seed", str(seed_value),
                              "--mode", "all" if modes == "positive,negative" else modes,
                              "--output-sanitize", "true"], text=True, capture_output=True, cwd=workdir)
        print(run.stdout[-6000:], run.stderr[-2000:])
        return run.returncode
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=500, help="generated requests per operation and mode")
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--home", type=Path, help="an instance to copy (default: the bundled corpus)")
    ap.add_argument("--modes", default="positive,negative", help="positive, negative or both")
    ap.add_argument("--served", action="store_true",
                    help="run schemathesis' own runner against `sinergi serve` instead of the WSGI app")
    args = ap.parse_args(argv)
    if args.served:
        with tempfile.TemporaryDirectory(prefix="sinergi-fuzz-") as tmp:
            return fuzz_served(args.home, Path(tmp), max_examples=args.examples, seed_value=args.seed,
                               modes=args.modes)
    with tempfile.TemporaryDirectory(prefix="sinergi-fuzz-") as tmp:
        app, token = prepared_app(args.home, Path(tmp))
        started = time.perf_counter()
        report = fuzz(app, token, max_examples=args.examples, seed_value=args.seed,
                      modes=tuple(m.strip() for m in args.modes.split(",")), known_ids=known_ids(app))
        print(report.summary())
        print(f"{time.perf_counter() - started:.0f} s")
    return 1 if report.server_errors or report.failures else 0


if __name__ == "__main__":
    sys.exit(main())

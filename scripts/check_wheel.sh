#!/usr/bin/env bash
# The installed wheel starts on a fresh machine:
#  1. the sdist and, from it, the wheel build without setuptools' notices about data folders
#     missing from the `packages` configuration; the wheel carries every file of the four
#     packages (code, corpus, templates, static files, catalogue, gazetteer data) and the sdist
#     every file of the checkout except its dot-files;
#  2. a fresh virtualenv gets the wheel, its dependencies installed by name from the registry;
#  3. from a folder outside the checkout, with no copy of the sources left, `sinergi init` loads
#     the bundled corpus, `sinergi search sampah --json` finds cases, and `sinergi serve` answers
#     the home page, a search page, a case page, a static file and the English switch.
# Usage: scripts/check_wheel.sh   (PYTHON=python3.12 to check with another interpreter)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
tmp="$(mktemp -d)"
server_pid=""
SECONDS=0

say() { printf '[check_wheel %3ds] %s\n' "$SECONDS" "$*"; }
fail() { printf '[check_wheel %3ds] FAILED: %s\n' "$SECONDS" "$*" >&2; exit 1; }

stop_server() {
  [[ -n "$server_pid" ]] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$tmp"
}
trap cleanup EXIT

# -- 1. build from a clean copy of the checkout (tracked and new files, nothing ignored) --------
say "copying the checkout"
mkdir -p "$tmp/src" "$tmp/dist"
git -c safe.directory="$repo" -C "$repo" rev-parse --git-dir >/dev/null 2>&1 || fail "$repo is not a git checkout"
(cd "$repo" && git -c safe.directory="$repo" ls-files -z --cached --others --exclude-standard \
   | while IFS= read -r -d '' f; do if [[ -f "$f" ]]; then printf '%s\0' "$f"; fi; done \
   | tar --null -T - -cf -) | tar -xf - -C "$tmp/src"

say "building the sdist and the wheel (python -m build)"
"$python" -m venv "$tmp/tools"
"$tmp/tools/bin/python" -m pip install --quiet --disable-pip-version-check build
"$tmp/tools/bin/python" -m build --outdir "$tmp/dist" "$tmp/src" >"$tmp/build.log" 2>&1 \
  || { cat "$tmp/build.log" >&2; fail "the build failed (log above)"; }
if grep -n 'absent from the `packages` configuration' "$tmp/build.log" >&2; then
  fail "setuptools found data folders that are not listed packages (lines above)"
fi
# Other notices (build's `WARNING`, Python warnings, distutils' `warning:`) are shown, not fatal.
grep -E '(^WARNING |^warning: |Warning: )' "$tmp/build.log" | grep -v 'byte-compiling is disabled' \
  | sed 's/^/  build notice: /' || true

sdist=("$tmp"/dist/*.tar.gz)
wheel=("$tmp"/dist/*.whl)
[[ -f "${sdist[0]}" && -f "${wheel[0]}" ]] || fail "no sdist or wheel in the build output"
"$tmp/tools/bin/python" - "$tmp/src" "${sdist[0]}" "${wheel[0]}" <<'EOF'
"""Every file of the packages is in the wheel (built from the sdist, so in the sdist too);
every other file of the checkout, but for its dot-files, is in the sdist."""
import sys
import tarfile
import zipfile
from pathlib import Path

src, sdist, wheel = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
tree = {p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()}
packaged = {f for f in tree if f.split("/")[0] in ("kb", "recommender", "webapp", "corpus")}
shipped = set(zipfile.ZipFile(wheel).namelist())
with tarfile.open(sdist) as tar:
    in_sdist = {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile() and "/" in m.name}
problems = [f"wheel lacks {f} (see [tool.setuptools.package-data] in pyproject.toml)"
            for f in sorted(packaged - shipped)]
problems += [f"sdist lacks {f} (see MANIFEST.in)" for f in sorted(tree - packaged - in_sdist)
             if not f.startswith(".") and "/." not in f]
for p in problems:
    print("  " + p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"  wheel: {len(packaged)} package files; sdist: {len(in_sdist)} files")
EOF
rm -rf "$tmp/src"  # nothing below can read the sources
say "built $(basename "${wheel[0]}") and $(basename "${sdist[0]}")"

# -- 2. a fresh virtualenv with the wheel -------------------------------------------------------
say "installing the wheel and its dependencies into a fresh virtualenv"
"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${wheel[0]}"
sinergi="$tmp/venv/bin/sinergi"
[[ -x "$sinergi" ]] || fail "the wheel installed no sinergi command"

# -- 3. run it from a folder outside the checkout -----------------------------------------------
mkdir -p "$tmp/outside"
cd "$tmp/outside"
unset PYTHONPATH SINERGI_CORPUS SINERGI_HOME DATABASE_URL
home="$tmp/outside/instance"

"$tmp/venv/bin/python" - "$tmp/venv" <<'EOF'
"""The packages come from the virtualenv, not from a checkout."""
import sys
from pathlib import Path

import corpus
import kb
import webapp

venv = Path(sys.argv[1]).resolve()
for mod in (kb, webapp, corpus):
    where = Path(mod.__file__).resolve()
    if venv not in where.parents:
        sys.exit(f"{mod.__name__} is imported from {where}, outside the virtualenv")
EOF

say "sinergi init"
"$sinergi" --home "$home" init | tee "$tmp/init.out"
grep -q -E 'Loaded the bundled corpus .*: [1-9][0-9]* records' "$tmp/init.out" \
  || fail "init did not load the bundled corpus"

say "sinergi search sampah --json"
"$sinergi" --home "$home" search sampah --json >"$tmp/search.json" || fail "the search failed"
read -r case_id case_title < <("$tmp/venv/bin/python" - "$tmp/search.json" <<'EOF'
"""The search finds cases; print the first case's id and title."""
import json
import sys

res = json.load(open(sys.argv[1], encoding="utf-8"))
cases = [h for h in res["results"] if h["kind"] == "case"]
if not cases:
    sys.exit(f"`search sampah` found no case (total {res['total']})")
print(f"  {res['total']} results; first case {cases[0]['id']}", file=sys.stderr)
print(cases[0]["id"], cases[0]["title"])
EOF
) || fail "the search found nothing"
[[ -n "$case_id" ]] || fail "the search found no case"

port="$("$tmp/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
say "sinergi serve --port $port"
"$sinergi" --home "$home" serve --host 127.0.0.1 --port "$port" --workers 1 >"$tmp/serve.log" 2>&1 &
server_pid=$!

"$tmp/venv/bin/python" - "http://127.0.0.1:$port" "$server_pid" "$case_id" "$case_title" <<'EOF' \
  || { sed 's/^/  serve: /' "$tmp/serve.log" >&2; fail "the served pages are not right (see above)"; }
"""Wait (bounded) until the server answers, then fetch the pages a first visitor opens and check
each for a marker: its status and a text only a working page holds."""
import http.cookiejar
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from babel.messages.pofile import read_po
from markupsafe import escape

import webapp

base, pid, case_id, case_title = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
READY_WITHIN = 90  # seconds: the instance exists already, so this is gunicorn and one worker


def opener():
    """A visitor with cookies. The session cookie is marked secure; browsers send such cookies
    to a loopback address over plain http as well, and so does this visitor."""
    policy = http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
    jar = http.cookiejar.CookieJar(policy)
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def get(client, path: str) -> tuple[int, str]:
    try:
        with client.open(base + path, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


started = time.monotonic()
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("the server stopped before answering")
    try:
        get(opener(), "/static/favicon.svg")
        break
    except OSError:
        if time.monotonic() - started > READY_WITHIN:
            sys.exit(f"the server did not answer within {READY_WITHIN} s")
        time.sleep(0.5)
print(f"  answering after {time.monotonic() - started:.1f} s of waiting")

po = Path(webapp.__file__).parent / "translations" / "en" / "LC_MESSAGES" / "messages.po"
with po.open("rb") as f:
    english = read_po(f)
nav_id = "Navigasi utama"
nav_en = english[nav_id].string
title = str(escape(case_title))
link = f'href="/kasus/{case_id}"'
problems = []


def check(client, path: str, *markers: str, absent: tuple[str, ...] = ()) -> None:
    t = time.perf_counter()
    status, body = get(client, path)
    missing = [m for m in markers if m not in body] + [f"(not) {m}" for m in absent if m in body]
    ok = status == 200 and not missing
    print(f"  GET {path}: {status}, {len(body):,} characters, {1000 * (time.perf_counter() - t):.0f} ms"
          + ("" if ok else f"; missing: {missing}"))
    if not ok:
        problems.append(path)


visitor = opener()
check(visitor, "/", '<html lang="id">', nav_id, "catatan terbit")
check(visitor, "/cari?q=sampah", '<html lang="id">', link, title)
check(visitor, f"/kasus/{case_id}", '<html lang="id">', title)
check(visitor, "/static/style.css", "{")
check(visitor, "/lang/en?next=/cari%3Fq%3Dsampah", '<html lang="en">', nav_en, title, absent=(nav_id,))
check(visitor, f"/kasus/{case_id}", '<html lang="en">', nav_en)  # the choice is remembered
check(opener(), f"/kasus/{case_id}?lang=en", '<html lang="en">', nav_en, title)
if problems:
    sys.exit(f"{len(problems)} page(s) wrong: {problems}")
EOF

t_stop=$SECONDS
stop_server
say "server stopped in $((SECONDS - t_stop)) s"
say "passed: the installed wheel initialises, searches and serves (${SECONDS} s in all)"

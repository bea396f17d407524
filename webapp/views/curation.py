"""Researchers' curation: sign-in, add and edit cases, moderation, soft delete, bulk upload."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from kb.errors import Conflict, Forbidden, Invalid, NotFound, RecordProblem
from kb.access import check_change, may_read
from kb.io import FileProblem, RawRecord, decode, detect_format, parse_text

from .. import get_kb, limiter
from ..auth import current_actor, end_sessions, role_required, verify
from ..forms import CaseForm, LoginForm, UploadForm
from .common import safe_next

bp = Blueprint("curation", __name__, url_prefix="/kurasi")


def _login_limit():
    from flask import current_app

    return current_app.config["SINERGI_LOGIN_LIMIT"]


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        account = verify(get_kb().store, form.username.data, form.password.data)
        if account:
            login_user(account)
            return redirect(safe_next(request.args.get("next"), url_for("curation.dashboard")))
        flash(_("Nama pengguna atau kata sandi salah."), "error")
    return render_template("curation/login.html", form=form)


@bp.post("/keluar")
def logout():
    """Sign out: the account's sessions end on the server too (a copied cookie stops working)."""
    if current_user.is_authenticated:
        end_sessions(get_kb().store, current_user.pk)
    logout_user()
    return redirect(url_for("main.home"))


@bp.get("/")
@role_required("contributor")
def dashboard():
    kb = get_kb()
    actor = current_actor()
    drafts = [d for d in kb.store.records(states=("draft",)) if may_read(actor, d)]
    # Deleted records are listed to be restored, which only an editor may do (kb.access).
    deleted = kb.store.records(states=("deleted",)) if actor.can("editor") else []
    return render_template("curation/dashboard.html", drafts=drafts, deleted=deleted)


def _problems_by_field(problems) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        key = (p.field or "").split(".")[0] or "_"
        out.setdefault(key, []).append(p.message)
    return out


@bp.route("/baru", methods=["GET", "POST"])
@role_required("contributor")
def new():
    form = CaseForm()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        publish = request.form.get("publish") == "1" and current_user.can("editor")
        try:
            rec = get_kb().create(form.to_record(), author=current_actor(),
                                  state="published" if publish else "draft")
        except Invalid as e:
            errors = _problems_by_field(e.problems)
        else:
            flash(_("Tersimpan.") + " " + (_("Sudah terbit.") if publish else _("Menunggu terbit oleh editor.")),
                  "ok")
            return redirect(url_for("cases.view", record_id=rec["id"]))
    elif request.method == "POST":
        errors = dict(form.errors)
    return render_template("curation/edit.html", form=form, errors=errors, rec=None), (400 if errors else 200)


@bp.route("/<record_id>/sunting", methods=["GET", "POST"])
@role_required("contributor")
def edit(record_id: str):
    kb = get_kb()
    try:
        rec = kb.get(record_id, actor=current_actor())
    except NotFound:
        abort(404)
    try:
        check_change(current_actor(), rec)
    except Forbidden as e:
        abort(403, str(e))
    form = CaseForm()
    errors: dict[str, list[str]] = {}
    if request.method == "GET":
        form.fill(rec)
    elif form.validate_on_submit():
        try:
            version = int(form.version.data or 0)
        except ValueError:
            abort(400, "bad version")
        data = {**form.to_record(), "id": record_id}
        try:
            kb.update(record_id, data, expected_version=version, author=current_actor())
        except Invalid as e:
            errors = _problems_by_field(e.problems)
        except Forbidden as e:
            abort(403, str(e))
        except Conflict as e:
            current = kb.get(record_id, actor=current_actor())
            return render_template("curation/conflict.html", rec=current, mine=data, message=str(e),
                                   mine_json=json.dumps(data, ensure_ascii=False, indent=1),
                                   theirs_json=json.dumps({k: v for k, v in current.items()}, ensure_ascii=False,
                                                          indent=1)), 409
        else:
            flash(_("Perubahan tersimpan."), "ok")
            return redirect(url_for("cases.view", record_id=record_id))
    else:
        errors = dict(form.errors)
    return render_template("curation/edit.html", form=form, errors=errors, rec=rec), (400 if errors else 200)


@bp.post("/<record_id>/status")
@role_required("editor")
def set_state(record_id: str):
    from flask_wtf.csrf import validate_csrf

    validate_csrf(request.form.get("csrf_token"))
    state = request.form.get("state")
    if state not in ("published", "draft", "deleted"):
        abort(400, "unknown state")
    version = request.form.get("version", "").strip() or "0"
    if not (version.isascii() and version.isdigit()):
        abort(400, f"the record version must be a whole number, got {version[:40]!r}")
    try:
        get_kb().set_state(record_id, state, author=current_actor(),
                           expected_version=int(version) or None)
    except NotFound:
        abort(404)
    except Forbidden as e:
        abort(403, str(e))
    except Conflict as e:
        abort(409, str(e))
    flash({"published": _("Diterbitkan."), "draft": _("Dikembalikan ke draf."), "deleted": _("Dihapus (dapat dipulihkan).")}[state], "ok")
    return redirect(url_for("cases.view", record_id=record_id))


@bp.route("/unggah", methods=["GET", "POST"])
@role_required("contributor")
def upload():
    """Bulk upload: a preview with every problem first; nothing is written until confirmed."""
    kb = get_kb()
    form = UploadForm()
    pending = kb.home / "uploads"
    ttl = current_app.config["SINERGI_UPLOAD_TTL"]
    _expire_previews(pending, ttl)
    if request.method == "POST" and request.form.get("confirm"):
        token = request.form.get("token", "")
        if not token.isalnum():
            abort(400, "bad upload token")
        f = pending / f"{token}.json"
        if not f.exists():
            abort(400, _("Unggahan kedaluwarsa; unggah ulang berkasnya."))
        saved = json.loads(f.read_text(encoding="utf-8"))
        raws = [RawRecord(saved["name"], r["line"], r["data"]) for r in saved["records"]]
        try:
            report = kb.import_raw(raws, upsert=saved["upsert"], author=current_actor())
        except Invalid as e:
            return render_template("curation/upload.html", form=form, problems=e.problems, preview=None), 400
        f.unlink(missing_ok=True)
        flash(_("%(n)d catatan baru dan %(m)d diperbarui.", n=len(report.created), m=len(report.updated)), "ok")
        return redirect(url_for("curation.dashboard"))
    if form.validate_on_submit():
        name = form.file.data.filename or "upload"
        problems, preview = [], None
        try:
            try:
                fmt = detect_format(name)
                if fmt == "xlsx":  # read whole and unpacked: only the command line takes workbooks
                    raise FileProblem([RecordProblem(name, None, None, "a workbook (.xlsx) is imported with "
                                                     "`sinergi import`; to upload it here, save it as CSV")])
                raws = parse_text(decode(form.file.data.read(), name), fmt, name,
                                  max_records=current_app.config["SINERGI_UPLOAD_MAX_RECORDS"])
                file_problems = []
            except FileProblem as e:  # the lines or rows that could be read are checked too
                raws, file_problems = e.records, e.problems
            report = kb.import_raw(raws, upsert=bool(form.upsert.data), dry_run=True, author=current_actor(),
                                   file_problems=file_problems)
        except Invalid as e:
            problems = e.problems
        else:
            token = secrets.token_hex(16)
            pending.mkdir(exist_ok=True)
            (pending / f"{token}.json").write_text(json.dumps(
                {"name": name, "upsert": bool(form.upsert.data),
                 "records": [{"line": r.line, "data": r.data} for r in raws]}, ensure_ascii=False), encoding="utf-8")
            preview = {"token": token, "records": report.valid, "name": name}
        return render_template("curation/upload.html", form=form, problems=problems, preview=preview), \
            (400 if problems else 200)
    return render_template("curation/upload.html", form=form, problems=[], preview=None)


def _expire_previews(pending: Path, ttl: float) -> None:
    """Delete upload previews older than ``ttl`` seconds (never confirmed: a preview holds a
    whole uploaded file)."""
    if not pending.is_dir():
        return
    cutoff = time.time() - ttl
    for f in pending.glob("*.json"):
        try:
            if f.stat().st_mtime < cutoff:
                f.unlink()
        except FileNotFoundError:  # another worker removed it first
            pass

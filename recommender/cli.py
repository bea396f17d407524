"""``sinergi recommend``, ``sinergi peers`` and ``sinergi evaluate-recommender``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from kb import cli as kbcli
from kb.base import bundled_corpus_dir
from kb.errors import Invalid, RecordProblem

from .legal import FOREIGN_KINDS, split_named, worded
from .reasons import N_, Gettext, Wording

# The catalogue of a language (``lang -> gettext``): the message catalogue lives with the web
# app, whose console script hands it over with :func:`use_catalogue`. Without one, Indonesian.
_catalogue: Callable[[str], Gettext] | None = None
LANG_OPTION = click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
                           envvar="SINERGI_LANG", help="Language of the reasons and headings (or $SINERGI_LANG).")


def wording(lang: str) -> Wording:
    """Reasons and headings worded in ``lang`` through the message catalogue."""
    gettext = _catalogue(lang) if _catalogue is not None and lang != "id" else None
    return Wording(gettext, lang)


def _print_regions(w: Wording, title: str, rows: list[dict]) -> None:
    if not rows:
        return
    click.echo(f"\n{title}")
    for i, r in enumerate(w.items(rows), 1):
        dist = f", ±{r['distance_km']} km" if "distance_km" in r else ""
        click.echo(f"{i:>3}. {r['name']} [{r['code']}{dist}]")
        for line in r["why"]:
            click.echo(f"       - {line}")


@click.command()
@click.option("--text", help="The proposal as free text.")
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False),
              help='A JSON file: {"title", "description", "region", "sectors"}.')
@click.option("--region", help="The proposing region (name or Kemendagri code).")
@click.option("--learn-from-failure", is_flag=True,
              help="Welcome stopped arrangements in the study-visit plan (their challenges first).")
@click.option("--partner", "partners", multiple=True, help="An intended partner region (name or code); repeatable.")
@click.option("--third-party", "third_parties", multiple=True,
              help="An intended third party, 'name' or 'name=kind' (e.g. 'PT Air=swasta'); repeatable.")
@click.option("--foreign-partner", "foreign_partners", multiple=True,
              help="An intended partner abroad, 'name' (kind inferred) or 'name=pemerintah' / 'name=lembaga'; "
                   "repeatable.")
@click.option("--burdens-community/--no-burdens-community", default=None,
              help="Whether the plan burdens the community and the region (the DPRD condition).")
@click.option("--in-current-budget/--not-in-current-budget", default=None,
              help="Whether its funding is in the current year's APBD (the DPRD condition).")
@click.option("--limit", type=click.IntRange(1, 50), default=10)
@click.option("--json", "as_json", is_flag=True)
@LANG_OPTION
@click.pass_context
@kbcli.handle_errors
def recommend(ctx, text, file_, region, learn_from_failure, partners, third_parties, foreign_partners,
              burdens_community, in_current_budget, limit, as_json, lang) -> None:
    """Similar cases and practices, study-visit peers and partners for a proposal, and its legal
    path (cooperation type, obligation, steps)."""
    if bool(text) == bool(file_):
        raise click.UsageError("give either --text or --file")
    kb = kbcli.ready_kb(ctx)
    if file_:
        try:
            proposal = json.loads(Path(file_).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Invalid([RecordProblem(file_, None, None, f"not a JSON object in UTF-8: {e}")]) from e
        if not isinstance(proposal, dict):
            raise Invalid([RecordProblem(file_, None, None, "the file must hold one JSON object")])
    else:
        proposal = {"description": text}
    if region:
        proposal["region"] = region
    if learn_from_failure:
        proposal["learn_from_failure"] = True
    if partners:
        proposal["partners"] = list(partners)
    if third_parties:
        proposal["third_parties"] = [split_named(t) for t in third_parties]
    if foreign_partners:
        proposal["foreign_partners"] = [split_named(f, FOREIGN_KINDS) for f in foreign_partners]
    for key, value in (("burdens_community", burdens_community), ("in_current_budget", in_current_budget)):
        if value is not None:
            proposal[key] = value
    from .service import Recommender  # (scikit-learn: loaded by the commands that need it)

    res = Recommender(kb, background_refit=False).recommend(proposal, limit=limit)
    w = wording(lang)
    _ = w.gettext
    if as_json:
        kbcli.echo_json(res.as_dict(w))
        return
    if res.message:
        click.echo(w.message(res.message))
    if res.cases:
        click.echo(_(N_("Kasus dan praktik yang mirip:")))
    for i, c in enumerate(w.items(res.cases), 1):
        click.echo(f"{i:>3}. {c['title']}  [{c['id']}, {c['kind']}, {c['score']:.2f}]")
        for line in c["why"]:
            click.echo(f"       - {line}")
    if res.what_worked:
        click.echo("\n" + _(N_("Yang berhasil:")))
        for item in res.what_worked[:6]:
            click.echo(f"  - {item['text']} ({item['case']})")
    if res.watch_out:
        click.echo("\n" + _(N_("Yang perlu diwaspadai:")))
        for item in res.watch_out[:6]:
            click.echo(f"  - {item['text']} ({item['case']})")
    _print_plan(w, res.visits, res.route)
    _print_regions(w, _(N_("Daerah tujuan studi banding (peers):")), res.peers)
    _print_regions(w, _(N_("Calon mitra kerja sama (partners):")), res.partners)
    if res.legal:
        _print_legal(w, worded(res.legal, w))


def _print_legal(w: Wording, legal: dict) -> None:
    """The legal path: type, obligation with its reasons, the numbered steps, the disclaimer."""
    _ = w.gettext
    kind = legal["cooperation_type"]
    click.echo("\n" + _(N_("Jalur hukum:")))
    types = ", ".join(kind["types"]) or _(N_("belum dapat ditentukan"))
    click.echo(f"  {_(N_('Jenis kerja sama'))}: {types}")
    if legal["obligation"] and legal["obligation"]["value"]:
        click.echo(f"  {_(N_('Sifat'))}: {_(legal['obligation']['value'])}")
    for line in legal["why"]:
        click.echo(f"    - {line}")
    for i, s in enumerate(legal["steps"], 1):
        click.echo(f"{i:>3}. {s['title']}  [{'; '.join(s['basis'])}]")
        click.echo(f"       {_(N_('Pelaku:'))} {s['actor']}")
        click.echo(f"       {_(N_('Dokumen:'))} {'; '.join(s['documents'])}")
        for line in s["why"]:
            click.echo(f"       - {line}")
        for lesson in s["lessons"]:
            click.echo(f"       {_(N_('Pelajaran:'))} {lesson['text']} ({lesson['case']})")
    click.echo("  " + legal["disclaimer"])


def _print_plan(w: Wording, visits: list[dict], route: list[dict]) -> None:
    """The study-visit plan: arrangements with their members, what to ask and to watch out
    for, then the route by travel."""
    _ = w.gettext
    host_label, members_label, total_label = _(N_("Kelembagaan:")), _(N_("Anggota:")), _(N_("total"))
    if visits:
        click.echo("\n" + _(N_("Rencana studi banding per kerja sama:")))
    for i, v in enumerate(w.items(visits), 1):
        status = f", {w.status_label(v['status'])}" if v.get("status") else ""
        click.echo(f"{i:>3}. {v['title']}  [{v['id']}{status}]")
        if v.get("mechanism") or v.get("third_parties"):
            host = "; ".join([x for x in [v.get("mechanism")] if x] + v.get("third_parties", []))
            click.echo(f"       {host_label} {host}")
        members = ", ".join(m["name"] + (f" (±{m['distance_km']} km)" if "distance_km" in m else "")
                            for m in v["members"])
        click.echo(f"       {members_label} {members}")
        lists = [(N_("Tanyakan:"), v["ask_about"]), (N_("Waspadai:"), v["watch_out"])]
        for head, items in (lists[::-1] if v.get("challenges_first") else lists):
            for item in items:
                click.echo(f"       {_(head)} {item}")
        for line in v["why"]:
            click.echo(f"       - {line}")
    if route:
        click.echo("\n" + _(N_("Rute kunjungan (terdekat lebih dulu):")))
        for stop in route:
            click.echo(f"{stop['order']:>3}. {stop['from_name']} → {stop['name']}  ±{stop['leg_km']} km "
                       f"({total_label} ±{stop['total_km']} km)")


@click.command()
@click.option("--topic", required=True, help="What the study visit is about.")
@click.option("--region", help="Home region, for distances and the route (name or code).")
@click.option("--learn-from-failure", is_flag=True,
              help="Welcome stopped arrangements (their challenges first).")
@click.option("--limit", type=click.IntRange(1, 50), default=10)
@click.option("--json", "as_json", is_flag=True)
@LANG_OPTION
@click.pass_context
@kbcli.handle_errors
def peers(ctx, topic, region, learn_from_failure, limit, as_json, lang) -> None:
    """Study-visit destinations grouped by arrangement, with the route from --region."""
    kb = kbcli.ready_kb(ctx)
    from .service import Recommender

    res = Recommender(kb, background_refit=False).peers_for(topic, region, limit=limit, learn_from_failure=learn_from_failure)
    w = wording(lang)
    if as_json:
        kbcli.echo_json({"peers": w.items(res["peers"]), "visits": w.items(res["visits"]), "route": res["route"],
                          "proposer": res["proposer"]})
        return
    if not res["peers"]:
        click.echo(w.gettext(N_("Tidak ditemukan daerah yang berpengalaman dengan topik ini.")))
        return
    click.echo(w.gettext(N_("Daerah tujuan studi banding untuk “%(topic)s”:")) % {"topic": topic})
    _print_plan(w, res["visits"], res["route"])
    _print_regions(w, w.gettext(N_("Daerah tujuan (peers):")), res["peers"])


@click.command("evaluate-recommender")
@click.option("--proposals", type=click.Path(exists=True, dir_okay=False),
              help="Labelled proposals (default: corpus/dev/proposals.jsonl).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--details", is_flag=True)
@click.pass_context
@kbcli.handle_errors
def evaluate_recommender_cmd(ctx, proposals, as_json, details) -> None:
    """nDCG@10 of similar cases and hit@5 / precision@5 of peers, against a plain TF-IDF baseline."""
    from .evaluate import evaluate_recommender, load_proposals

    kb = kbcli.ready_kb(ctx)
    path = Path(proposals) if proposals else bundled_corpus_dir() / "dev" / "proposals.jsonl"
    report = evaluate_recommender(kb, load_proposals(path))
    if as_json:
        kbcli.echo_json(report)
        return
    click.echo(f"{report['proposals']} proposals from {path.name}")
    click.echo(f"{'system':<12}{'cases nDCG@10':>15}{'peers hit@5':>13}{'peers P@5':>11}{'P@5 reachable':>15}")
    for name in ("sinergi", "baseline"):
        m = report[name]
        click.echo(f"{name:<12}{m['ndcg@10']:>15.3f}{m['peers_hit@5']:>13.3f}{m['peers_precision@5']:>11.3f}"
                   f"{m['peers_precision@5_reachable']:>15.3f}")
    click.echo(f"(the best peers P@5 any ranking can reach on these proposals: "
               f"{report['peers_precision@5_ceiling']:.3f}; P@5 reachable divides the hits by "
               f"min(5, expected peers))")
    if details:
        for row in report["per_proposal"]:
            s, b = row["sinergi"], row["baseline"]
            click.echo(f"{s['ndcg@10']:.2f}/{b['ndcg@10']:.2f} hit {s['hit@5']:.0f}/{b['hit@5']:.0f} "
                       f"P@5 {s['precision@5']:.1f}/{b['precision@5']:.1f}  {row['id']} {row['title']}")


COMMANDS = (recommend, peers, evaluate_recommender_cmd)


def use_catalogue(catalogue: Callable[[str], Gettext]) -> None:
    """``catalogue(lang)`` gives the gettext of a language for ``--lang`` (the web app's)."""
    global _catalogue
    _catalogue = catalogue

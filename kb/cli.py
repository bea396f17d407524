"""The ``sinergi`` command line (the contract of BRIEF.md); commands stay thin."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
from tqdm import tqdm

from . import migrations
from .base import KnowledgeBase, bundled_corpus_dir, instance_database_url, resolve_home
from .errors import ImportFailed, InstanceError, Invalid, SinergiError
from .search import FACET_SPECS, highlight_to_text
from .store import make_engine


def open_kb(ctx: click.Context, *, create: bool = False, upgrade: bool = False) -> KnowledgeBase:
    home = ctx.obj["home"]
    return KnowledgeBase(home, create=create, upgrade=upgrade)


def _echo_upgrade(kb: KnowledgeBase) -> None:
    if kb.store.upgraded:
        old, new = kb.store.upgraded
        click.echo(f"Upgraded the database schema from revision {migrations.describe(old)} to "
                   f"{migrations.describe(new)}.")


def ready_kb(ctx: click.Context) -> KnowledgeBase:
    kb = open_kb(ctx, create=False)
    if not kb.is_initialized:
        raise InstanceError(f"the instance at {kb.home} is not initialised; run `sinergi init` first")
    return kb


def handle_errors(fn):
    """Turn domain errors into a message on stderr and exit status 1 (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Invalid as e:
            for p in e.problems:
                click.echo(f"error: {p}", err=True)
            tail = "; nothing was imported." if isinstance(e, ImportFailed) else "."
            click.echo(f"{len(e.problems)} problem(s) found{tail}", err=True)
            sys.exit(1)
        except SinergiError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)

    return wrapper


def _progress(desc: str, total: int | None = None):
    return tqdm(total=total, desc=desc, unit="rec", disable=None, file=sys.stderr, leave=False)


def _bar_factory(enabled: bool | None):
    """Progress bars for :meth:`KnowledgeBase.import_files`: on stderr, shown when asked
    (``enabled``) or, by default, when stderr is a terminal; byte counts in KiB/MiB."""
    def bar(desc: str, total: int | None = None, unit: str = "rec"):
        return tqdm(desc=desc, total=total, unit=unit, unit_scale=(unit == "B"), unit_divisor=1024,
                    disable=None if enabled is None else not enabled, file=sys.stderr, leave=False)
    return bar


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


# kb's commands; :func:`new_group` puts them in a ``sinergi`` group, to which the packages above
# kb (the recommender, the web app) add theirs.
COMMANDS: list[click.Command] = []


def _command(*args, group: bool = False, **kwargs):
    def add(fn) -> click.Command:
        cmd = (click.group if group else click.command)(*args, **kwargs)(fn)
        COMMANDS.append(cmd)
        return cmd
    return add


def new_group(*, after_change: tuple[Callable[..., bool | None], ...] = ()) -> click.Group:
    """A ``sinergi`` command group holding kb's commands; ``after_change(kb, deferrable=…)`` runs
    after a command changed the store (the recommender refits its models there; ``deferrable``:
    it may leave that to later, and answers False when it does)."""

    @click.group()
    @click.option("--home", type=click.Path(file_okay=False), envvar="SINERGI_HOME",
                  help="Instance folder (default: $SINERGI_HOME, else ./instance).")
    @click.version_option(package_name="sinergi")
    @click.pass_context
    def group(ctx: click.Context, home: str | None) -> None:
        """Sinergi: knowledge base and recommender for kerja sama antar daerah."""
        ctx.ensure_object(dict)
        ctx.obj["home"] = home
        ctx.obj["after_change"] = after_change

    for cmd in COMMANDS:
        group.add_command(cmd)
    return group


@_command()
@click.option("--empty", is_flag=True, help="Create the instance without the bundled corpus.")
@click.pass_context
@handle_errors
def init(ctx: click.Context, empty: bool) -> None:
    """Create the instance (or upgrade its database schema); load the bundled corpus unless --empty."""
    kb = open_kb(ctx, create=True, upgrade=True)
    _echo_upgrade(kb)
    if kb.is_initialized:
        click.echo(f"Instance at {kb.home} already exists ({kb.store.count()} records); nothing to do.")
        return
    t0 = time.perf_counter()
    if kb.store.head():  # a database that other instances already fill: follow it
        indexed = kb.catch_up()
        _fit_models(kb)
        click.echo(f"Attached to a store of {kb.store.count()} published records; indexed {indexed} from it.")
    elif not empty:
        report = kb.load_corpus()
        _fit_models(kb)
        click.echo(f"Loaded the bundled corpus from {bundled_corpus_dir().name}/: {len(report.created)} records.")
    kb.mark_initialized()
    click.echo(f"Instance ready at {kb.home} in {time.perf_counter() - t0:.1f} s.")


def _fit_models(kb: KnowledgeBase, *, deferrable: bool = False) -> None:
    """Run the group's ``after_change(kb, deferrable=…)`` hooks (the recommender's refit); a hook
    that answers False has left its work to later (``deferrable``: an import), which is said."""
    ctx = click.get_current_context(silent=True)  # its obj is the group's (click passes it down)
    for hook in ctx.obj.get("after_change", ()) if ctx and ctx.obj else ():
        if hook(kb, deferrable=deferrable) is False:
            click.echo("The recommender's model is refitted on its next use, not now (a large store): "
                       "`sinergi serve` refits it in the background while it answers with the previous "
                       "model; `sinergi recommend` fits it first.", err=True)


@_command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@click.option("--upsert", is_flag=True, help="Update records whose id already exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars on stderr (default: only when stderr is a terminal).")
@click.option("--parallel-index-writes/--serial-index-writes", default=True, show_default=True,
              help="In a large write, full index segments are written by forked processes while "
                   "indexing goes on (where the system can fork); serial: one process, ~1.3x "
                   "slower, ~10% less peak memory.")
@click.pass_context
@handle_errors
def import_(ctx: click.Context, files: tuple[str, ...], dry_run: bool, upsert: bool, as_json: bool,
            progress: bool | None, parallel_index_writes: bool) -> None:
    """Validate FILES (JSON Lines, JSON, CSV, .xlsx workbooks, Markdown or text guides), then
    import all or nothing.

    Files of any size are read as streams (a workbook's first sheet is read whole, at most
    50 MB): every record is checked first, then all are written in one transaction."""
    kb = ready_kb(ctx)
    kb.index.parallel_writes = parallel_index_writes
    report = kb.import_files(files, upsert=upsert, dry_run=dry_run, author="cli", progress=_bar_factory(progress))
    if not dry_run:
        _fit_models(kb, deferrable=True)
    if as_json:
        echo_json(report.as_dict())
    elif dry_run:
        click.echo(f"Dry run: {report.read} record(s) are valid; nothing was written.")
    else:
        click.echo(f"Imported {len(report.created)} new and {len(report.updated)} updated record(s)"
                   f" ({report.unchanged} unchanged).")


def _search_options(fn):
    for spec in reversed([s for s in FACET_SPECS if not s.numeric]):
        fn = click.option(f"--{spec.key}", multiple=True, help=f"Filter by {spec.label.lower()} (repeatable).")(fn)
    return fn


@_command()
@click.argument("query", nargs=-1)
@_search_options
@click.option("--year-from", type=int, help="Started in or after this year.")
@click.option("--year-to", type=int, help="Started in or before this year.")
@click.option("--sort", type=click.Choice(["relevance", "year", "title"]), default="relevance")
@click.option("--page", type=click.IntRange(min=1), default=1)
@click.option("--limit", type=click.IntRange(1, 100), default=10)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def search(ctx, query, year_from, year_to, sort, page, limit, as_json, **facets) -> None:
    """Search cases and practices (quotes, AND/OR/NOT and field: syntax work)."""
    kb = ready_kb(ctx)
    text = " ".join(query)
    filters = {k: list(v) for k, v in facets.items() if v}
    res = kb.search(text, filters=filters, year_from=year_from, year_to=year_to, sort=sort, page=page, limit=limit)
    if as_json:
        echo_json(res.as_dict())
        return
    for note in res.notices:
        click.echo(f"note: {note}", err=True)
    if res.corrected_query:
        click.echo(f"No results for “{res.query}”; showing results for “{res.corrected_query}”.")
    elif res.suggestion:
        click.echo(f"Did you mean: {res.suggestion}?")
    click.echo(f"{res.total} result(s) for “{text}”" + (f", page {res.page} of {res.pages}" if res.total else ""))
    for i, h in enumerate(res.results, (res.page - 1) * res.limit + 1):
        regions = ", ".join(r["name"] for r in h.regions[:4]) + (" …" if len(h.regions) > 4 else "")
        year = f" ({h.start_year})" if h.start_year else ""
        click.echo(f"\n{i:>3}. {h.title}{year}  [{h.id}, {h.kind}, score {h.score:.2f}]")
        if regions:
            click.echo(f"     {regions}")
        click.echo("     " + highlight_to_text(h.highlight, "*", "*").replace("\n", " ")[:300])
    if not res.total:
        click.echo("Try fewer or more general words, or remove a filter.")


@_command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "xlsx"]), default="jsonl")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.pass_context
@handle_errors
def export(ctx, fmt: str, output: str | None) -> None:
    """Export every published record (lossless: import it into an empty instance to copy).

    xlsx: one sheet with the CSV columns; a record with a text longer than a spreadsheet cell
    holds (32,767 characters) is named and nothing is written."""
    kb = ready_kb(ctx)
    content = kb.export(fmt)
    if output:
        if isinstance(content, bytes):
            Path(output).write_bytes(content)
        else:
            Path(output).write_text(content, encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)
    elif isinstance(content, bytes):
        out = click.get_binary_stream("stdout")
        if out.isatty():
            raise click.UsageError("a workbook is not for a terminal: give -o FILE or redirect the output")
        out.write(content)
    else:
        click.echo(content, nl=False)


@_command()
@click.option("--parallel-index-writes/--serial-index-writes", default=True, show_default=True,
              help="In a large write, full index segments are written by forked processes while "
                   "indexing goes on (where the system can fork); serial: one process, ~1.3x "
                   "slower, ~10% less peak memory.")
@click.pass_context
@handle_errors
def reindex(ctx, parallel_index_writes: bool) -> None:
    """Rebuild the search index (and the recommender model) from the store."""
    kb = ready_kb(ctx)
    kb.index.parallel_writes = parallel_index_writes
    t0 = time.perf_counter()
    with _progress("indexing", kb.store.count()) as bar:
        n = kb.reindex(progress=bar.update)
    _fit_models(kb)
    click.echo(f"Indexed {n} records in {time.perf_counter() - t0:.1f} s.")


@_command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def check(ctx, as_json: bool) -> None:
    """Report any difference between the store and the search index (exit 1 if any)."""
    kb = ready_kb(ctx)
    report = kb.check()
    if as_json:
        echo_json(report)
    else:
        click.echo(f"store: {report['store']} published records; index: {report['index']} documents")
        for key in ("missing_in_index", "not_in_store", "stale_in_index"):
            if report[key]:
                click.echo(f"{key.replace('_', ' ')}: {', '.join(report[key][:20])}"
                           + (" …" if len(report[key]) > 20 else ""))
        click.echo("OK: store and index agree." if report["ok"] else "Run `sinergi reindex` to repair the index.")
    if not report["ok"]:
        sys.exit(1)


@_command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def region(name: str, as_json: bool) -> None:
    """A region's point (seat of government or a point inside it) and its neighbours."""
    from .gazetteer import resolve_region
    from .geography import profile

    p = profile(resolve_region(name))
    if as_json:
        echo_json(p)
        return
    where = "seat of government" if p["is_seat"] else "a point inside the region"
    click.echo(f"{p['name']} ({p['code']}, {p['level']}), {p['province']['name']}")
    click.echo(f"  point {p['lat']}, {p['lon']}: {where}")
    for n in p["neighbours"]:
        click.echo(f"  {n['kind']:<4}  {n['name']:<45} {n['distance_km']:>7.1f} km  {n['code']}")


@_command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@handle_errors
def stats(ctx, as_json: bool) -> None:
    """Counts of records by sector, island, status, kind, year, type, province and language,
    and the cross-tables (sectors by status, islands by cooperation type)."""
    kb = ready_kb(ctx)
    st = kb.stats()
    if as_json:
        echo_json(st)
        return
    click.echo(f"{st['total']} published records")
    for key, rows in st["facets"].items():
        click.echo(f"\n{key}:")
        for r in rows:
            click.echo(f"  {r['label']:<45} {r['count']:>5}")
    for table in st["tables"].values():
        columns = [c["value"] for c in table["values"]]
        click.echo(f"\n{table['rows']} by {table['columns']}:")
        click.echo(f"  {'':<32}" + "".join(f"{c[:12]:>13}" for c in columns) + f"{'total':>8}")
        for row in table["data"]:
            click.echo(f"  {row['label'][:32]:<32}" + "".join(f"{n:>13}" for n in row["counts"])
                       + f"{row['total']:>8}")


@_command()
@click.option("--judgments", type=click.Path(exists=True, dir_okay=False),
              help="Search judgments (default: corpus/dev/search.jsonl).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--details", is_flag=True, help="Print the score of every query.")
@click.pass_context
@handle_errors
def evaluate(ctx, judgments: str | None, as_json: bool, details: bool) -> None:
    """Measure search quality (nDCG@10, MRR, Recall@10) against a plain BM25 baseline."""
    from .search.quality import evaluate_search, load_judgments

    kb = ready_kb(ctx)
    path = Path(judgments) if judgments else bundled_corpus_dir() / "dev" / "search.jsonl"
    report = evaluate_search(kb, load_judgments(path))
    if as_json:
        echo_json(report)
        return
    click.echo(f"{report['queries']} queries from {path.name}")
    click.echo(f"{'system':<12}{'nDCG@10':>10}{'MRR':>8}{'R@10':>8}")
    for name in ("sinergi", "baseline"):
        m = report[name]
        click.echo(f"{name:<12}{m['ndcg@10']:>10.3f}{m['mrr']:>8.3f}{m['recall@10']:>8.3f}")
    click.echo(f"nDCG@10 gain over baseline: {report['ndcg_gain']:+.1%}")
    if details:
        for row in report["per_query"]:
            click.echo(f"{row['sinergi']:.2f} {row['baseline']:.2f}  {row['query']}")


@_command(group=True)
def db() -> None:
    """The database schema: its revision, and upgrading it after installing a new version."""


@db.command("upgrade")
@click.pass_context
@handle_errors
def db_upgrade(ctx) -> None:
    """Migrate the instance's database to this version's schema (back it up first)."""
    kb = open_kb(ctx, create=False, upgrade=True)
    if kb.store.upgraded:
        _echo_upgrade(kb)
    else:
        click.echo(f"The database schema is already at revision {migrations.describe(migrations.head())}.")


@db.command("compact")
@click.pass_context
@handle_errors
def db_compact(ctx) -> None:
    """Give a SQLite database file's free space back (stop the servers first)."""
    kb = open_kb(ctx, create=False)
    sizes = kb.store.compact()
    if sizes is None:
        click.echo("PostgreSQL reuses free space itself (autovacuum); nothing to do here.")
        return
    before, after = sizes
    click.echo(f"Compacted the database: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB.")


@db.command("current")
@click.pass_context
@handle_errors
def db_current(ctx) -> None:
    """Print the database's schema revision and the one this version needs."""
    home = resolve_home(ctx.obj["home"])
    if not home.is_dir():
        raise InstanceError(f"no instance at {home}; run `sinergi init` first")
    engine = make_engine(instance_database_url(home))
    try:
        with engine.connect() as conn:
            current = migrations.current(conn)
    finally:
        engine.dispose()
    head = migrations.head()
    if current is None:
        note = "an empty database: `sinergi init` creates the tables"
    elif current == head:
        note = "head"
    elif migrations.is_known(current):
        note = f"this version needs {head}: run `sinergi db upgrade`"
    else:
        note = f"unknown to this version, which needs {head}: a newer version upgraded the database"
    click.echo(f"{migrations.describe(current)} ({note})")


main = new_group()  # ``python -m kb.cli``: kb's commands alone (the console script adds the others)

if __name__ == "__main__":
    main()

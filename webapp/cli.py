"""The ``sinergi`` console script: kb's commands, the recommender's, and the web app's
(``serve``, ``user``)."""

from __future__ import annotations

import sys
import time

import click

from kb import cli as kbcli
from recommender import cli as recommender_cli

from .i18n import gettext_for


def refresh_models(kb, *, deferrable: bool = False) -> bool:
    """The recommender's refit (:func:`recommender.service.refresh_models`), with scikit-learn
    loaded only when a command gets here: an import of 100,000 records would otherwise carry
    its ~95 MB into every forked segment writer."""
    from recommender.service import refresh_models as refresh

    return refresh(kb, deferrable=deferrable)


recommender_cli.use_catalogue(gettext_for)
# The whole command set: kb's, the recommender's (models refitted after a change), the web app's.
main = kbcli.new_group(after_change=(refresh_models,))
for _cmd in recommender_cli.COMMANDS:
    main.add_command(_cmd)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default: the number of cores, at most 4).")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Threads per worker. Pages are CPU work under one lock per process (the "
                   "GIL): more threads cost ~20% of throughput and widen the latency tail. 1: a "
                   "connection per request (gunicorn's sync worker; put a reverse proxy in front "
                   "for slow clients on the internet); more: threads with keep-alive.")
@click.pass_context
@kbcli.handle_errors
def serve(ctx, host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the web app (gunicorn); the first start loads the bundled corpus."""
    from .server import default_workers, prepare
    from .server import serve as run_server
    from .settings import load

    t0 = time.perf_counter()
    load()  # a wrong setting stops here, once, before any worker starts
    home, count = prepare(ctx.obj["home"])
    workers = workers or default_workers()

    def ready() -> None:
        click.echo(f"Sinergi ready in {time.perf_counter() - t0:.1f} s: {count} records from {home}, "
                   f"{workers} worker(s) × {threads} threads")
        click.echo(f"Open http://{host}:{port}/  (Ctrl+C to stop)")
        sys.stdout.flush()

    run_server(home, host=host, port=port, workers=workers, threads=threads, on_ready=ready)


@main.group()
def user() -> None:
    """Manage accounts (contributor, editor, admin)."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["contributor", "editor", "admin"]), default="contributor")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted when not given; with --password - it is read from standard input.")
@click.pass_context
@kbcli.handle_errors
def user_add(ctx, username: str, role: str, password: str) -> None:
    """Create an account."""
    from .auth import add_user

    if password == "-":
        password = sys.stdin.readline().rstrip("\n")
    kb = kbcli.open_kb(ctx, create=True)
    add_user(kb.store, username, password, role)
    click.echo(f"User {username} ({role}) created.")


@user.command("list")
@click.pass_context
@kbcli.handle_errors
def user_list(ctx) -> None:
    """List accounts."""
    from .auth import list_users

    for u in list_users(kbcli.open_kb(ctx, create=True).store):
        flags = " ".join(x for x in ("token" if u["token"] else "", "disabled" if u["disabled"] else "") if x)
        click.echo(f"{u['username']:<24} {u['role']:<12} {flags}".rstrip())


@user.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(["contributor", "editor", "admin"]))
@click.pass_context
@kbcli.handle_errors
def user_role(ctx, username: str, role: str) -> None:
    """Change an account's role."""
    from .auth import set_role

    set_role(kbcli.open_kb(ctx, create=True).store, username, role)
    click.echo(f"{username} is now {role}.")


@user.command("passwd")
@click.argument("username")
@click.pass_context
@kbcli.handle_errors
def user_passwd(ctx, username: str) -> None:
    """Set a new password (asked twice; read from standard input when it is not a terminal).
    The account's sign-in sessions end."""
    from .auth import set_password

    if sys.stdin.isatty():
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    set_password(kbcli.open_kb(ctx, create=True).store, username, password)
    click.echo(f"Password of {username} changed; their sessions have ended.")


@user.command("disable")
@click.argument("username")
@click.pass_context
@kbcli.handle_errors
def user_disable(ctx, username: str) -> None:
    """Disable an account: no sign-in, no API token; its sessions end at once."""
    from .auth import set_disabled

    set_disabled(kbcli.open_kb(ctx, create=True).store, username, True)
    click.echo(f"{username} is disabled.")


@user.command("enable")
@click.argument("username")
@click.pass_context
@kbcli.handle_errors
def user_enable(ctx, username: str) -> None:
    """Enable a disabled account again."""
    from .auth import set_disabled

    set_disabled(kbcli.open_kb(ctx, create=True).store, username, False)
    click.echo(f"{username} is enabled.")


@user.command("token")
@click.argument("username")
@click.pass_context
@kbcli.handle_errors
def user_token(ctx, username: str) -> None:
    """Issue a new API token (shown once; the old one stops working)."""
    from .auth import new_token

    click.echo(new_token(kbcli.open_kb(ctx, create=True).store, username))


__all__ = ["main"]

if __name__ == "__main__":
    main()

"""Who may read and change which record: the one place every write path (form, upload, API,
command line) and every read of a single record asks.

Rules:
- Anyone may read a published record. A draft or a deleted record is visible only to its
  author and to editors; to everyone else it does not exist (404, never 403).
- A contributor creates drafts only, and may change only their own drafts, which stay drafts.
- Publishing, unpublishing, deleting and restoring, and changing a published or deleted record,
  or somebody else's draft, need an editor.
- The command line is trusted: a plain author name (``"cli"``, ``"corpus"``) acts as an admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Forbidden

ROLES = ("contributor", "editor", "admin")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user name and a role from :data:`ROLES`."""

    name: str
    role: str = "contributor"

    def can(self, role: str) -> bool:
        """True when this actor has ``role`` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


def as_actor(author: Actor | str) -> Actor:
    """An :class:`Actor`; a plain name is a trusted local caller (the command line)."""
    return author if isinstance(author, Actor) else Actor(author, "admin")


def may_read(actor: Actor | None, rec: dict) -> bool:
    """Whether ``actor`` (``None``: anonymous) may see ``rec`` (a record with its ``state``)."""
    if rec.get("state", "published") == "published":
        return True
    return actor is not None and (actor.can("editor") or rec.get("created_by") == actor.name)


def check_create(actor: Actor, state: str) -> None:
    if state != "draft" and not actor.can("editor"):
        raise Forbidden("a contributor's new records are drafts; an editor publishes them")


def check_change(actor: Actor, current: dict, new_state: str | None = None) -> None:
    """Raise :class:`Forbidden` unless ``actor`` may change ``current`` (a stored record with
    ``state`` and ``created_by``) into a record in ``new_state`` (``None``: state unchanged)."""
    if actor.can("editor"):
        return
    state = new_state or current["state"]
    if current["state"] != "draft" or current.get("created_by") != actor.name:
        what = "somebody else's draft" if current["state"] == "draft" else f"a {current['state']} record"
        raise Forbidden(f"record {current['id']!r} is {what}; only an editor can change it")
    if state != "draft":
        raise Forbidden("only an editor can publish, delete or restore a record")

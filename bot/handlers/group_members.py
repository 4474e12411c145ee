"""The organiser's view of a group: what `/group_members` shows, and how it is split.

Organisers see each member's check-in status only (`member_status`), never notes,
well-being scores or personal contacts. A long listing is cut into as few messages
as the strictest platform allows, between lines, never inside one. Access checks
and the command itself live in `bot.handlers.groups`.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.lifecycle import State
from bot.core.text import clean_name
from bot.handlers.context import Ctx
from bot.store.groups import MemberView
from bot.store.models import Group

#: Longest message part in UTF-16 units (Telegram's limit is 4096; leave room for a header).
PART_LIMIT = 3900
#: All an organiser learns of a member's check-ins.
STATUSES = ("ok", "due", "late", "missed", "paused", "none")


def member_status(view: MemberView, now: datetime) -> str:
    """ok, due, late, missed, paused or none: all an organiser learns of a check-in."""
    if view.state == State.MISSED:
        return "missed"
    if view.paused_until is not None and view.paused_until > now:
        return "paused"
    named: dict[str, str] = {
        State.PENDING: "due", State.LATE: "late", State.OK: "ok", State.RESOLVED: "ok",
    }  # fmt: skip
    return named.get(view.state or "", "none")  # fmt: skip


def member_parts(
    ctx: Ctx, group: Group, name: str, views: list[MemberView], chats: int
) -> list[str]:
    """The listing as messages to send in order; numbered when it takes more than one.

    Args:
        ctx: The organiser's context (language, clock).
        group: The group listed.
        name: The group's display name, as the rest of the group commands show it.
        views: Every member, with their latest check-in state.
        chats: How many chats receive the group's alerts.
    """
    parts = split_lines(_member_lines(ctx, group, name, views, chats), PART_LIMIT)
    if len(parts) <= 1:
        return parts
    return [
        ctx.t("group.members_part", part=number, parts=len(parts)) + "\n" + part
        for number, part in enumerate(parts, start=1)
    ]


def _member_lines(
    ctx: Ctx, group: Group, name: str, views: list[MemberView], chats: int
) -> list[str]:
    """Header, schedule, one line per person (number, name, role, status), footer."""
    lines = [
        ctx.t("group.members_header", name=name, id=group.id, count=len(views), chats=chats),
        ctx.t("group.members_schedule", spec=group.schedule_spec)
        if group.schedule_spec
        else ctx.t("group.members_no_schedule", id=group.id),
    ]
    roles = {r: ctx.t(f"group.role_{r}") for r in ("organiser", "member")}
    statuses = {s: ctx.t(f"group.status_{s}") for s in STATUSES}
    lines += [
        ctx.t("group.members_line", member=v.member_id, name=clean_name(v.name),
              role=roles.get(v.role, v.role), status=statuses[member_status(v, ctx.now)])
        for v in views
    ]  # fmt: skip
    lines.append(ctx.t("group.members_footer", id=group.id))
    return lines


def _units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units), the strictest platform."""
    return len(text.encode("utf-16-le")) // 2


def split_lines(lines: list[str], limit: int) -> list[str]:
    """Join lines into parts of at most `limit` units, never cutting a line in two."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = _units(line) + 1
        if current and size + length > limit:
            parts.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += length
    if current:
        parts.append("\n".join(current))
    return parts

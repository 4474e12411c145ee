"""Groups and organisers: /group_* commands, /join, and `/start CODE` of a group invite.

A group is named by its number (`#3` or `3`) or by its name, looked up only among
the sender's own groups (case-insensitive; a name shared by several of them is
answered with the choices), so a stranger can neither find a group by guessing
its name nor tell "no such name" from "not yours". Anyone without the right role gets
the same refusal whether the group exists or not (`group.not_found_or_denied`), and
it is checked before any other argument, so a stranger learns nothing from the
answer. Organisers see members' check-in status only, never notes, well-being
scores or personal contacts. Joining is the member's explicit consent: `/start CODE`
shows what they agree to and asks; `/join CODE` is the answer. What `/group_members`
shows, and how a long listing is split, lives in `bot.handlers.group_members`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import engine
from bot.core.commands import Command
from bot.core.durations import check_bounds, format_duration, parse_duration
from bot.core.errors import PermissionDenied, UserError
from bot.core.model import Choice
from bot.core.schedules import format_schedule, next_due, parse_schedule
from bot.core.text import clean_name, is_ascii_number
from bot.handlers import contacts
from bot.handlers.checkins import local_time
from bot.handlers.context import Ctx
from bot.handlers.group_members import member_parts
from bot.handlers.router import Route
from bot.i18n import t
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import groups as group_store
from bot.store import users as user_store
from bot.store.groups import ORGANISER
from bot.store.models import Group, Invite

MAX_GROUPS = 20
MAX_PENDING_INVITES = 50
POLICY_BOUNDS = (timedelta(minutes=1), timedelta(days=7))
#: A button's command must fit Telegram's callback_data (64 bytes).
CALLBACK_LIMIT = 64
POLICY_FIELDS = {"window": "response_window_s", "grace": "grace_s", "level2": "level2_after_s"}


# -- shared checks -----------------------------------------------------------------


async def _group_arg(ctx: Ctx, cmd: Command, usage: str) -> tuple[int, list[str]]:
    """The GROUP (a number, `#3`, or a name among the sender's groups) and the words after it.

    The longest run of leading words that is one of the sender's group names wins,
    so "Field team" and "Field" can both exist.
    """
    words = cmd.words
    if not words:
        raise UserError(usage)
    raw = words[0].removeprefix("#")
    if is_ascii_number(raw):
        if len(raw) > 12:
            raise UserError(usage)
        return int(raw), words[1:]
    mine = await group_store.groups_of(ctx.session, ctx.user.id)
    names = [(gid, clean_name(name, fallback="").casefold()) for gid, name in mine]
    for size in range(len(words), 0, -1):
        wanted = " ".join(words[:size]).casefold()
        found = [gid for gid, name in names if name == wanted]
        if len(found) == 1:
            return found[0], words[size:]
        if found:
            raise _ambiguous(cmd, " ".join(words[:size]), found, words[size:])
    raise PermissionDenied("group.no_such_name")


def _ambiguous(cmd: Command, name: str, ids: list[int], rest: list[str]) -> UserError:
    """Several of the sender's groups share this name: offer each by number."""
    tail = f" {' '.join(rest)}" if rest else ""
    commands = [f"/{cmd.name} {gid}{tail}" for gid in ids]
    choices = tuple(
        (Choice(f"#{gid}", command),)
        for gid, command in zip(ids, commands, strict=True)
        if len(command.encode()) <= CALLBACK_LIMIT
    )
    shown = ", ".join(f"#{gid}" for gid in ids)
    return UserError("group.ambiguous", name=clean_name(name), ids=shown, example=commands[0],
                     choices=choices)  # fmt: skip


async def _require(ctx: Ctx, group_id: int, *, organiser: bool) -> tuple[Group, str]:
    """The group and the caller's role, or one refusal that reveals nothing."""
    found = await group_store.role_in(ctx.session, group_id, ctx.user.id)
    if found is None or (organiser and found[1] != ORGANISER):
        raise PermissionDenied("group.not_found_or_denied", id=group_id)
    return found


def _name(group: Group) -> str:
    return clean_name(group.name, fallback=f"#{group.id}")


# -- creating and inviting -----------------------------------------------------------


async def group_new(ctx: Ctx, cmd: Command) -> None:
    """Create a group; the creator is its organiser, and gets a first member invite."""
    name = clean_name(cmd.args, fallback="")
    if not name:
        raise UserError("group.new_usage")
    if await group_store.organised_count(ctx.session, ctx.user.id) >= MAX_GROUPS:
        raise UserError("group.too_many_groups", max=MAX_GROUPS)
    group = await group_store.create_group(
        ctx.session, name=name, creator_id=ctx.user.id, now=ctx.now
    )
    await ctx.reply("group.created", name=name, id=group.id)
    await _send_invite(ctx, group)


async def group_invite(ctx: Ctx, cmd: Command) -> None:
    """A fresh single-use member invite."""
    group_id, _ = await _group_arg(ctx, cmd, "group.invite_usage")
    group, _ = await _require(ctx, group_id, organiser=True)
    await _send_invite(ctx, group)


async def _send_invite(ctx: Ctx, group: Group) -> None:
    if await group_store.pending_invites(ctx.session, group.id, ctx.now) >= MAX_PENDING_INVITES:
        raise UserError("group.too_many_invites", max=MAX_PENDING_INVITES, id=group.id)
    ttl = ctx.rt.settings.security.invite_ttl
    code = await contact_store.create_invite(
        ctx.session, kind="group", inviter_id=ctx.user.id, now=ctx.now, ttl=ttl, group_id=group.id
    )
    link = ctx.rt.link_for(ctx.platform, code)
    hours = max(1, int(ttl.total_seconds() // 3600))
    key = "group.invite_link" if link else "group.invite_code"
    await ctx.reply(key, link=link, code=code, hours=hours, name=_name(group), id=group.id)


async def group_revoke(ctx: Ctx, cmd: Command) -> None:
    """Revoke every invite of the group that has not been used yet."""
    group_id, _ = await _group_arg(ctx, cmd, "group.revoke_usage")
    await _require(ctx, group_id, organiser=True)
    count = await group_store.revoke_invites(ctx.session, group_id, ctx.now)
    await ctx.reply("group.revoked", count=count, id=group_id)


# -- joining -------------------------------------------------------------------------


async def join_invite(ctx: Ctx, invite: Invite, code: str) -> None:
    """`/start CODE` of a group invite: what joining means, then Join / Cancel."""
    group = await ctx.session.get_one(Group, invite.group_id)
    if await group_store.role_in(ctx.session, group.id, ctx.user.id) is not None:
        await ctx.reply("group.already_member", name=_name(group), id=group.id)
        return
    lines = [ctx.t("group.join_shown", name=_name(group))]
    if group.schedule_spec:
        lines.append(ctx.t("group.join_schedule", spec=group.schedule_spec, tz=ctx.zone.key))
    lines.append(ctx.t("group.join_privacy", id=group.id))
    choices = ((Choice(ctx.t("group.join_button"), f"/join {code}"),
                Choice(ctx.t("group.cancel_button"), f"/join {code} cancel")),)  # fmt: skip
    await ctx.reply_text("\n".join(lines), choices=choices)


async def join(ctx: Ctx, cmd: Command) -> None:
    """Join a group with an invite code (or, with `cancel`, turn the invite down)."""
    words = cmd.words
    cancel = len(words) == 2 and words[1].casefold() == "cancel"
    if not (len(words) == 1 or cancel) or len(words[0]) > 64:
        raise UserError("group.join_usage")
    found = await contacts.usable_invite(ctx, words[0], kind="group")
    group = await ctx.session.get_one(Group, found.group_id)
    if await group_store.role_in(ctx.session, group.id, ctx.user.id) is not None:
        await ctx.reply("group.already_member", name=_name(group), id=group.id)
        return
    if cancel:
        if not await contact_store.close_invite(
            ctx.session, found.id, "declined", ctx.user.id, ctx.now
        ):
            raise contacts.BadCode()
        await ctx.reply("group.join_cancelled")
        await ctx.tell(found.inviter_id, "group.invite_declined", id=group.id)
        return
    if not await contact_store.close_invite(
        ctx.session, found.id, "accepted", ctx.user.id, ctx.now
    ):
        raise contacts.BadCode()
    await group_store.add_member(ctx.session, group.id, ctx.user.id, ctx.now)
    await group_store.log_event(ctx.session, group.id, ctx.now, "joined", ctx.user.id)
    await ctx.reply("group.joined", name=_name(group), id=group.id)
    if group.schedule_spec:
        first = next_due(parse_schedule(group.schedule_spec), ctx.zone, ctx.now, ctx.now)
        await checkin_store.add_schedule(
            ctx.session, user_id=ctx.user.id, spec=group.schedule_spec, next_due_at=first,
            now=ctx.now, group_id=group.id,
        )  # fmt: skip
        await ctx.reply("group.your_schedule", name=_name(group), spec=group.schedule_spec,
                        tz=ctx.zone.key, next=local_time(first, ctx.zone, ctx.lang))  # fmt: skip
    await _tell_organisers(ctx, group, "group.member_joined")


async def _tell_organisers(ctx: Ctx, group: Group, key: str) -> None:
    """Tell the group's organisers (but not the person acting) about a membership change."""
    who = clean_name((await user_store.names_of(ctx.session, [ctx.user.id])).get(ctx.user.id, ""))
    for organiser in await group_store.organiser_ids(ctx.session, group.id):
        if organiser != ctx.user.id:
            await ctx.tell(organiser, key, name=who, group=_name(group), id=group.id)


# -- the group's clock -----------------------------------------------------------------


async def group_checkin(ctx: Ctx, cmd: Command) -> None:
    """Set (or with `off`, remove) the group's schedule: one row per member, in their zone."""
    group_id, rest = await _group_arg(ctx, cmd, "group.checkin_usage")
    group, _ = await _require(ctx, group_id, organiser=True)
    if not rest:
        raise UserError("group.checkin_usage")
    off = len(rest) == 1 and rest[0].casefold() in ("off", "stop", "none")
    spec = None if off else format_schedule(parse_schedule(" ".join(rest)))
    people = await group_store.covered(ctx.session, group_id)
    zones = _zones(ctx, {tz for _, tz in people})
    firsts: dict[str, datetime] = {}
    if spec is not None:
        parsed = parse_schedule(spec)
        firsts = {k: next_due(parsed, z, ctx.now, ctx.now) for k, z in zones.items()}
    due = [(uid, firsts[_zone_key(ctx, tz)]) for uid, tz in people] if spec else []
    await group_store.replace_schedules(ctx.session, group, spec, due, ctx.now)
    await group_store.log_event(ctx.session, group_id, ctx.now, "schedule", ctx.user.id)
    if spec is None:
        await ctx.reply("group.checkin_off", id=group_id, count=len(people))
    else:
        await ctx.reply("group.checkin_set", id=group_id, spec=spec, count=len(people))
    await _tell_covered(ctx, group, people, zones, firsts)


def _zone_key(ctx: Ctx, tz: str | None) -> str:
    return tz or ctx.rt.settings.checkins.default_timezone


def _zones(ctx: Ctx, names: set[str | None]) -> dict[str, ZoneInfo]:
    return {_zone_key(ctx, n): ZoneInfo(_zone_key(ctx, n)) for n in names}


async def _tell_covered(
    ctx: Ctx,
    group: Group,
    people: Sequence[tuple[int, str | None]],
    zones: dict[str, ZoneInfo],
    firsts: dict[str, datetime],
) -> None:
    """Each covered person hears of the change in their own language and zone."""
    ids = [uid for uid, _ in people]
    addresses = await user_store.addresses_of(ctx.session, ids)
    langs = await user_store.langs_of(ctx.session, ids)
    for uid, tz in people:
        if uid == ctx.user.id or uid not in addresses:
            continue
        key, zone = _zone_key(ctx, tz), zones[_zone_key(ctx, tz)]
        text = (
            t("group.your_schedule", langs.get(uid, "en"), name=_name(group),
              spec=group.schedule_spec, tz=key,
              next=local_time(firsts[key], zone, langs.get(uid, "en")))
            if group.schedule_spec
            else t("group.your_schedule_off", langs.get(uid, "en"), name=_name(group))
        )  # fmt: skip
        await ctx.send(addresses[uid], text, user_id=uid)


async def group_policy(ctx: Ctx, cmd: Command) -> None:
    """Show or set the group's window, grace and level-2 delay (`default` resets one)."""
    group_id, rest = await _group_arg(ctx, cmd, "group.policy_usage")
    group, _ = await _require(ctx, group_id, organiser=True)
    demo = ctx.rt.settings.checkins.demo  # demo mode: a clock in seconds
    changes = _policy_changes(rest, timedelta(seconds=1) if demo else POLICY_BOUNDS[0])
    for field, seconds in changes.items():
        setattr(group, field, seconds)
    if changes:
        await group_store.log_event(ctx.session, group_id, ctx.now, "policy", ctx.user.id)
    c = ctx.rt.settings.checkins
    shown: dict[str, Any] = {
        "window": _seconds(group.response_window_s, c.response_window),
        "grace": _seconds(group.grace_s, c.grace),
        "level2": _seconds(group.level2_after_s, c.level2_after),
    }
    await ctx.reply("group.policy_set" if changes else "group.policy_show", id=group_id, **shown)


def _policy_changes(words: list[str], low: timedelta) -> dict[str, int | None]:
    """`window 30m grace default …` → {column: seconds, or None for the default}."""
    if len(words) % 2:
        raise UserError("group.policy_usage")
    changes: dict[str, int | None] = {}
    high = POLICY_BOUNDS[1]
    for name, value in zip(words[::2], words[1::2], strict=True):
        field = POLICY_FIELDS.get(name.casefold().removesuffix("_after"))
        if field is None:
            raise UserError("group.policy_usage")
        if value.casefold() == "default":
            changes[field] = None
        else:
            duration = check_bounds(parse_duration(value), minimum=low, maximum=high)
            changes[field] = int(duration.total_seconds())
    return changes


def _seconds(value: int | None, default: timedelta) -> str:
    return format_duration(timedelta(seconds=value) if value else default)


# -- alert chats -----------------------------------------------------------------------


async def group_alerts(ctx: Ctx, cmd: Command) -> None:
    """In a group chat: make it (or with `off`, stop it being) the group's alert channel."""
    group_id, rest = await _group_arg(ctx, cmd, "group.alerts_usage")
    group, _ = await _require(ctx, group_id, organiser=True)
    if ctx.incoming.is_private:
        raise UserError("group.alerts_in_group", id=group_id)
    chat = ctx.incoming.chat
    if rest and rest[0].casefold() == "off":
        unbound = await group_store.unbind_chat(ctx.session, group_id, chat)
        await ctx.reply(
            "group.alerts_unbound" if unbound else "group.alerts_not_bound", id=group_id
        )
        if unbound:
            await _log_binding(ctx, group, "chat_unbound", "group.alerts_unbound_notice")
        return
    bound = await group_store.bind_chat(ctx.session, group_id, chat, ctx.now)
    await ctx.reply("group.alerts_bound" if bound else "group.alerts_already", id=group_id)
    if bound:
        await _log_binding(ctx, group, "chat_bound", "group.alerts_bound_notice")


async def _log_binding(ctx: Ctx, group: Group, event: str, key: str) -> None:
    """A new or dropped alert chat is logged and told to every organiser (and members)."""
    await group_store.log_event(ctx.session, group.id, ctx.now, event, ctx.user.id)
    by = await _person(ctx, ctx.user.id)
    for person in await group_store.member_ids(ctx.session, group.id):
        if person != ctx.user.id:
            await ctx.tell(person, key, by=by, group=_name(group), id=group.id)


# -- the organiser's view -----------------------------------------------------------------


async def group_members(ctx: Ctx, cmd: Command) -> None:
    """Members with status only, in as few messages as the platform allows."""
    group_id, _ = await _group_arg(ctx, cmd, "group.members_usage")
    group, _ = await _require(ctx, group_id, organiser=True)
    chat = ctx.incoming.chat
    if not ctx.incoming.is_private and not await group_store.is_alert_chat(
        ctx.session, group_id, chat
    ):
        raise UserError("group.members_private", id=group_id)
    views, chats = await group_store.overview(ctx.session, group_id)
    for part in member_parts(ctx, group, _name(group), views, chats):
        await ctx.reply_text(part)


# -- membership and roles ---------------------------------------------------------------


async def _target(ctx: Ctx, cmd: Command, usage: str) -> tuple[Group, int, int]:
    """(group, member number, member's user id) for /group_remove and /group_promote."""
    group_id, rest = await _group_arg(ctx, cmd, usage)
    group, _ = await _require(ctx, group_id, organiser=True)
    raw = rest[0].removeprefix("#") if len(rest) == 1 else ""
    if not is_ascii_number(raw) or len(raw) > 12:
        raise UserError(usage)
    found = await group_store.member(ctx.session, group_id, int(raw))
    if found is None:
        raise UserError("group.no_member", id=group_id, member=int(raw))
    return group, found.id, found.user_id


async def group_remove(ctx: Ctx, cmd: Command) -> None:
    """Remove someone; they and every organiser are told, and it goes in the group log.

    Nobody removes the owner: the owner hands the group over (/group_owner) or leaves.
    """
    group, _, user_id = await _target(ctx, cmd, "group.remove_usage")
    if user_id == ctx.user.id:
        raise UserError("group.remove_self", id=group.id)
    if user_id == group.owner_id:
        raise UserError("group.owner_stays", id=group.id)
    name = await _person(ctx, user_id)
    await _leave_alerts(ctx, group.id, user_id)
    await group_store.remove_member(ctx.session, group.id, user_id)
    await group_store.log_event(ctx.session, group.id, ctx.now, "removed", ctx.user.id, user_id)
    await ctx.reply("group.removed", name=name, id=group.id)
    await ctx.tell(user_id, "group.removed_you", name=_name(group))
    by = await _person(ctx, ctx.user.id)
    await _tell_organisers_of(ctx, group, "group.removed_notice", by=by, who=name)


async def _leave_alerts(ctx: Ctx, group_id: int, user_id: int) -> None:
    """Someone leaves a group: an organiser's part in its members' open alerts ends."""
    members = [m for m in await group_store.member_ids(ctx.session, group_id) if m != user_id]
    await engine.left(ctx.session, ctx.rt.settings, user_id, members, ctx.now)


async def group_promote(ctx: Ctx, cmd: Command) -> None:
    """Make a member an organiser; they and every organiser are told, and it is logged."""
    group, member_id, user_id = await _target(ctx, cmd, "group.promote_usage")
    name = await _person(ctx, user_id)
    if not await group_store.set_role(ctx.session, member_id, ORGANISER):
        raise UserError("group.already_organiser", name=name, id=group.id)
    await group_store.log_event(ctx.session, group.id, ctx.now, "promoted", ctx.user.id, user_id)
    await ctx.reply("group.promoted", name=name, id=group.id)
    await ctx.tell(user_id, "group.promoted_you", name=_name(group), id=group.id)
    await _tell_organisers_of(ctx, group, "group.promoted_notice",
                              by=await _person(ctx, ctx.user.id), who=name,
                              skip=(user_id,))  # fmt: skip


async def group_owner(ctx: Ctx, cmd: Command) -> None:
    """The owner hands the group to another person in it (who becomes an organiser)."""
    group, _, user_id = await _target(ctx, cmd, "group.owner_usage")
    if group.owner_id != ctx.user.id:
        raise UserError("group.owner_only", id=group.id)
    if user_id == ctx.user.id:
        raise UserError("group.owner_already", id=group.id)
    name = await _person(ctx, user_id)
    await group_store.set_owner(ctx.session, group.id, user_id)
    await group_store.log_event(ctx.session, group.id, ctx.now, "owner", ctx.user.id, user_id)
    await ctx.reply("group.owner_set", name=name, id=group.id)
    await ctx.tell(user_id, "group.owner_you", name=_name(group), id=group.id)
    await _tell_organisers_of(ctx, group, "group.owner_changed", who=name, skip=(user_id,))


async def group_log(ctx: Ctx, cmd: Command) -> None:
    """Who changed what in the group, and when; anyone in the group may read it."""
    group_id, _ = await _group_arg(ctx, cmd, "group.log_usage")
    group, _ = await _require(ctx, group_id, organiser=False)
    entries = await group_store.group_log(ctx.session, group_id)
    people = {p for _, _, actor, target in entries for p in (actor, target) if p is not None}
    names = await user_store.names_of(ctx.session, people)
    gone = ctx.t("group.log_someone")
    lines = [ctx.t("group.log_header", name=_name(group), id=group_id)]
    for at, event, actor, target in entries:
        lines.append(ctx.t(
            f"group.log_{event}",
            at=local_time(at, ctx.zone, ctx.lang),
            by=clean_name(names.get(actor, ""), fallback=gone) if actor else gone,
            who=clean_name(names.get(target, ""), fallback=gone) if target else gone,
        ))  # fmt: skip
    await ctx.reply_text("\n".join(lines))


async def _person(ctx: Ctx, user_id: int) -> str:
    return clean_name((await user_store.names_of(ctx.session, [user_id])).get(user_id, ""))


async def _tell_organisers_of(
    ctx: Ctx, group: Group, key: str, *, skip: tuple[int, ...] = (), **params: Any
) -> None:
    """Tell every organiser but the one acting (and `skip`) about a change in the group."""
    for organiser in await group_store.organiser_ids(ctx.session, group.id):
        if organiser != ctx.user.id and organiser not in skip:
            await ctx.tell(organiser, key, group=_name(group), id=group.id, **params)


async def group_leave(ctx: Ctx, cmd: Command) -> None:
    """Leave a group; the last organiser must hand over first, the last person closes it."""
    group_id, _ = await _group_arg(ctx, cmd, "group.leave_usage")
    group, role = await _require(ctx, group_id, organiser=False)
    organisers, everyone = await group_store.headcount(ctx.session, group_id)
    if role == ORGANISER and organisers == 1 and everyone > 1:
        raise UserError("group.last_organiser", id=group_id)
    name = _name(group)
    if everyone == 1:
        await group_store.delete_group(ctx.session, group_id)
        await ctx.reply("group.closed", name=name)
        return
    await _tell_organisers(ctx, group, "group.member_left")
    if group.owner_id == ctx.user.id:  # the owner leaves: the longest-serving organiser inherits
        heir = await group_store.successor(ctx.session, group_id, ctx.user.id)
        if heir is not None:
            await group_store.set_owner(ctx.session, group_id, heir)
            await group_store.log_event(ctx.session, group_id, ctx.now, "owner", ctx.user.id, heir)
            await ctx.tell(heir, "group.owner_you", name=name, id=group_id)
    await group_store.log_event(ctx.session, group_id, ctx.now, "left", ctx.user.id)
    await _leave_alerts(ctx, group_id, ctx.user.id)
    await group_store.remove_member(ctx.session, group_id, ctx.user.id)
    await ctx.reply("group.left", name=name)


#: The commands this module answers (SPEC: organiser commands work in any chat).
ROUTES: dict[str, Route] = {
    "group_new": Route(group_new, private_only=False),
    "group_invite": Route(group_invite, private_only=False),
    "group_revoke": Route(group_revoke, private_only=False),
    "join": Route(join),  # consent, and the group's name: a private matter
    "group_checkin": Route(group_checkin, private_only=False),
    "group_policy": Route(group_policy, private_only=False),
    "group_alerts": Route(group_alerts, private_only=False),
    "group_members": Route(group_members, private_only=False),
    "group_remove": Route(group_remove, private_only=False),
    "group_promote": Route(group_promote, private_only=False),
    "group_owner": Route(group_owner, private_only=False),
    "group_log": Route(group_log, private_only=False),
    "group_leave": Route(group_leave, private_only=False),
}

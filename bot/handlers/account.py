"""/start (and invite payloads), /help, /tz, /lang, and the first-contact notice."""

from __future__ import annotations

from bot.core.commands import Command
from bot.core.errors import UserError
from bot.core.model import Choice
from bot.core.schedules import next_due, parse_schedule
from bot.core.times import parse_timezone
from bot.handlers import contacts
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.i18n import NATIVE_NAMES, language_hint, languages, match_language
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import groups as group_store


async def first_contact(ctx: Ctx) -> None:
    """On first contact: what the operator and the platform can see, in plain words.

    The language is the app's (Telegram's `language_code`) when it is one of ours;
    otherwise the welcome is in English and says, in each of our languages, how to
    choose it.
    """
    chosen = match_language(ctx.incoming.sender.language_code)
    if chosen is not None:
        ctx.user.lang = chosen
        await ctx.reply("start.welcome")
    else:
        await ctx.reply_text(ctx.t("start.welcome") + "\n\n" + language_hint())
    await ctx.reply(
        f"privacy.{ctx.platform}" if ctx.platform in ("telegram", "signal") else "privacy.other"
    )


async def start(ctx: Ctx, cmd: Command) -> None:
    """Register; `/start CODE` opens a contact or group invite."""
    code = cmd.words[0] if cmd.words else ""
    if code:
        found = await contacts.usable_invite(ctx, code)
        if found.kind == "group":
            from bot.handlers import groups

            await groups.join_invite(ctx, found, code)
            return
        await contacts.show_invite(ctx, found, code)
        return
    if not ctx.new_user:
        await ctx.reply("start.welcome")
    await ctx.reply("start.next_steps")


async def help_(ctx: Ctx, cmd: Command) -> None:
    """What this person can do now (by role), short; `/help all` lists every command."""
    if cmd.args.strip().casefold() == "all":
        parts = ["help.all"]
        from bot.handlers import ROUTES  # the full list names /wellbeing only where it exists

        if "wellbeing" in ROUTES:
            parts.append("help.wellbeing")
        if "cleanup" in ROUTES:
            parts.append("help.cleanup")
        await ctx.reply_text("\n".join(ctx.t(key) for key in parts))
        return
    await ctx.reply_text("\n\n".join(ctx.t(key) for key in await _help_sections(ctx)))


async def _help_sections(ctx: Ctx) -> list[str]:
    """The catalog sections for this person's roles: safety always, the rest as they apply."""
    uid = ctx.user.id
    is_contact = bool(await contact_store.defenders_of(ctx.session, uid))
    groups = await group_store.groups_of(ctx.session, uid)
    organiser = bool(groups) and await group_store.organised_count(ctx.session, uid) > 0
    set_up = bool(
        groups
        or await checkin_store.schedules_of(ctx.session, uid)
        or await contact_store.contact_ids(ctx.session, uid)
    )
    sections = ["help.safety", "help.defender"] if set_up else ["help.start", "help.safety"]
    if is_contact:
        sections.append("help.contact")
    if organiser:
        sections.append("help.organiser")
    elif groups:
        sections.append("help.member")
    return [*sections, "help.more"]


async def tz(ctx: Ctx, cmd: Command) -> None:
    """Show or set the time zone; schedules follow the new zone from now on."""
    if not cmd.args:
        await ctx.reply("tz.show", tz=ctx.zone.key)
        return
    zone = parse_timezone(cmd.args.strip(), ctx.now)
    ctx.user.timezone = zone.key
    for schedule in await checkin_store.schedules_of(ctx.session, ctx.user.id):
        schedule.next_due_at = next_due(
            parse_schedule(schedule.spec), zone, ctx.now, schedule.anchor_at
        )
    await ctx.reply("tz.set", tz=zone.key)


def _listed() -> str:
    return ", ".join(f"{NATIVE_NAMES[code]} ({code})" for code in languages())


async def lang(ctx: Ctx, cmd: Command) -> None:
    """Show the languages by their own names, with a button each; `/lang CODE` chooses one.

    The code (`th`), a tag (`th-TH`) or the language's own name (`ไทย`) are understood.
    """
    wanted = cmd.args.strip()
    if not wanted:
        codes = languages()
        rows = tuple(
            tuple(Choice(NATIVE_NAMES[code], f"/lang {code}") for code in codes[i : i + 3])
            for i in range(0, len(codes), 3)
        )
        name = NATIVE_NAMES.get(ctx.lang, ctx.lang)
        await ctx.reply("lang.show", lang=name, available=_listed(), choices=rows)
        return
    by_name = {NATIVE_NAMES[code].casefold(): code for code in languages()}
    chosen = by_name.get(wanted.casefold()) or match_language(wanted)
    if chosen is None:
        raise UserError("lang.unknown", available=_listed())
    ctx.user.lang = chosen
    await ctx.reply("lang.set", lang=NATIVE_NAMES[chosen])


#: The commands this module answers.
ROUTES: dict[str, Route] = {
    "start": Route(start),
    "help": Route(help_, private_only=False),
    "tz": Route(tz),
    "lang": Route(lang),
}

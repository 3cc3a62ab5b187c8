"""Closures as an iCalendar feed, ``closures.ics``, so staff calendars show them.

One ``VEVENT`` per closure in effect now or later (reopenings, status ``open``, are not
events and are left out), with a UID made of the closure's id and the site's host, so a
subscribed calendar updates the event in place rather than adding another. Times are
UTC (``...Z``); calendars show them in the reader's zone.

A closure with no ``until`` is a timed event from its start to local midnight
:data:`HORIZON_DAYS` days after the build, and says "until further notice". The
alternatives are worse: without ``DTEND`` an event lasts no time at all (RFC 5545
3.6.1) and disappears from day views, and an all-day event loses the hour it started.
Every rebuild moves the end forward, and the feed asks to be refreshed hourly.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hub.model import ClosureStatus, exercise_title
from hub.text import plain_text
from hub.words import N_, translator

if TYPE_CHECKING:
    import icalendar

    from hub.model import Closure, Hub

FILE = "closures.ics"
HORIZON_DAYS = 14
PRODID = "-//StormHub//Closures//EN"
_SUMMARY = {
    ClosureStatus.CLOSED: N_("closed"),
    ClosureStatus.LIMITED: N_("limited"),
    ClosureStatus.DIVERTING: N_("diverting"),
}


def open_ended_end(hub: Hub, closure: Closure, now: dt.datetime) -> dt.datetime:
    """Where an open-ended closure's event stops: local midnight, the horizon after now."""
    day = hub.local(max(now, closure.from_)).date() + dt.timedelta(days=HORIZON_DAYS + 1)
    return dt.datetime.combine(day, dt.time(), tzinfo=hub.info.zone).astimezone(dt.UTC)


def calendar(hub: Hub, now: dt.datetime) -> bytes:
    """The closures in effect now or later, as an iCalendar (RFC 5545) file."""
    import icalendar  # here: a command that builds no site does not pay for it

    cal = icalendar.Calendar()
    _ = translator(hub.lang)
    name = _("{event}: closures").format(event=hub.info.event)
    if hub.exercise:
        name = exercise_title(name)
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("name", name)
    cal.add(
        "x-wr-caldesc",
        _("Closed and limited services, from {organisation}").format(
            organisation=hub.info.organisation
        ),
    )
    cal.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    host = urlsplit(hub.url()).hostname or "stormhub"
    for closure in hub.closures:
        if closure.status is ClosureStatus.OPEN or not closure.is_current(now):
            continue
        cal.add_component(_event(hub, closure, now, host))
    return bytes(cal.to_ical())


def _event(hub: Hub, c: Closure, now: dt.datetime, host: str) -> icalendar.Event:
    import icalendar

    _ = translator(hub.lang)
    summary = f"{c.facility} {_(_SUMMARY[c.status])}"
    event = icalendar.Event()
    event.add("uid", f"closure-{c.id}@{host}")
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("dtstart", c.from_)
    event.add("dtend", c.until or open_ended_end(hub, c, now))
    event.add("summary", exercise_title(summary) if hub.exercise else summary)
    event.add("description", description(c, hub.lang))
    if c.location is not None:
        # The location key names a place for Google Business Profile, not an address:
        # the facility's name is what a reader can look up.
        event.add("location", c.facility)
    event.add("url", hub.url(f"closures/#{c.id}"))
    event.add("transp", "TRANSPARENT")  # informs; does not make anyone busy
    return event


def description(c: Closure, language: str = "en") -> str:
    """The closure in plain text: status, how long, the note and the alternatives."""
    _ = translator(language)
    lines = [f"{_(c.status.label)}." + ("" if c.until else " " + _("Until further notice."))]
    if c.note:
        lines += ["", plain_text(c.note)]
    if c.alternatives:
        lines += ["", _("Instead:"), *(f"- {alt}" for alt in c.alternatives)]
    return "\n".join(lines)


def site_files(hub: Hub, now: dt.datetime) -> dict[str, str | bytes]:
    """``closures.ics``, for a full build."""
    return {FILE: calendar(hub, now)}

"""The model on its own: aware-UTC times only, ordered severities, revisions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from hub.model import Hub, HubInfo, Severity, Update, normalise_phone

BASE = {"id": "a", "title": "T", "severity": "info", "body": "B"}


def test_naive_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="has no UTC offset: add one"):
        Update.model_validate({**BASE, "time": dt.datetime(2026, 11, 27, 6, 15)})


def test_naive_time_with_a_zone_is_local_and_stored_in_utc() -> None:
    update = Update.model_validate(
        {**BASE, "time": "2026-11-27 06:15"}, context={"zone": ZoneInfo("America/Chicago")}
    )
    assert update.time == dt.datetime(2026, 11, 27, 12, 15, tzinfo=dt.UTC)


def test_severities_are_ordered() -> None:
    assert [s.rank for s in Severity] == [0, 1, 2, 3]
    assert Severity("warning").rank > Severity("advisory").rank


def test_revision_changes_with_what_the_public_sees() -> None:
    first = Update.model_validate({**BASE, "time": "2026-11-27T06:15:00Z"})
    same = Update.model_validate({**BASE, "time": "2026-11-27T01:15:00-05:00"})
    edited = Update.model_validate({**BASE, "time": "2026-11-27T06:15:00Z", "body": "B2"})
    assert first.revision == same.revision
    assert first.revision != edited.revision
    # A copy with changes gets its own revision, though the original's was worked out
    # (and is kept with it, e.g. in the check's memo).
    copied = first.model_copy(update={"body": "B2"})
    assert copied.revision == edited.revision != first.revision
    assert first.model_copy().revision == first.revision


def test_a_hub_copied_with_other_updates_looks_them_up_anew() -> None:
    info = HubInfo(organisation="O", event="E", timezone="UTC")
    one = Update.model_validate({**BASE, "time": "2026-11-27T06:15:00Z"})
    other = Update.model_validate({**BASE, "id": "other", "time": "2026-11-27T07:15:00Z"})
    hub = Hub(info=info, site_url="https://h.example/", updates=(one,))  # type: ignore[arg-type]
    assert hub.update(one.id) is one  # looked up, and kept
    copied = hub.model_copy(update={"updates": (other,)})
    assert copied.update("other") is other
    with pytest.raises(KeyError):
        copied.update(one.id)


def test_hub_refuses_inconsistent_updates() -> None:
    info = HubInfo(organisation="O", event="E", timezone="UTC")
    orphan = Update.model_validate({**BASE, "time": "2026-11-27T06:15:00Z", "supersedes": "x"})
    with pytest.raises(ValidationError, match="supersedes unknown update 'x'"):
        Hub(info=info, site_url="https://h.example/", updates=(orphan,))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("(757) 555-0142", "US", "+17575550142"),
        ("+44 20 7946 0018", "US", "+442079460018"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("911", "US", "911"),
        ("988", "US", "988"),
        ("311", "US", "311"),
        ("999", "GB", "999"),
    ],
)
def test_phone_numbers(raw: str, country: str, expected: str) -> None:
    assert normalise_phone(raw, country) == expected


@pytest.mark.parametrize("raw", ["555-1234", "12", "+911", "call us"])
def test_bad_phone_numbers(raw: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        normalise_phone(raw, "US")

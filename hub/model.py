"""The storm hub's data: immutable, validated, times in aware UTC.

Everything here is built by :mod:`hub.content` from the files in ``content/``;
nothing in this module reads files.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import shortnumberinfo
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def N_(phrase: str) -> str:
    """Mark *phrase* as one of StormHub's own words, to translate where it is shown.

    The catalogs of :mod:`hub.words` collect every phrase so marked; the label is the
    English phrase (``severity.label``), ``translator(language)(label)`` its translation.
    """
    return phrase


class Severity(StrEnum):
    """How serious an update is, in increasing order."""

    INFO = "info"
    ADVISORY = "advisory"
    WARNING = "warning"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @property
    def label(self) -> str:
        """The severity's name, in English (translated with :mod:`hub.words`)."""
        return _SEVERITY_LABELS[self]


_SEVERITY_LABELS = {
    Severity.INFO: N_("Info"),
    Severity.ADVISORY: N_("Advisory"),
    Severity.WARNING: N_("Warning"),
    Severity.EMERGENCY: N_("Emergency"),
}
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}


class HubStatus(StrEnum):
    ACTIVE = "active"
    STANDBY = "standby"
    CLOSED = "closed"


class ClosureStatus(StrEnum):
    CLOSED = "closed"
    LIMITED = "limited"
    DIVERTING = "diverting"
    OPEN = "open"

    @property
    def label(self) -> str:
        """The status's name, in English (translated with :mod:`hub.words`)."""
        return {
            ClosureStatus.CLOSED: N_("Closed"),
            ClosureStatus.LIMITED: N_("Limited service"),
            ClosureStatus.DIVERTING: N_("Diverting"),
            ClosureStatus.OPEN: N_("Open"),
        }[self]


class FieldProblem(ValueError):
    """A ValueError from a model-level check that names the field it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_time(value: Any, info: ValidationInfo) -> Any:
    """Read a time; one without an offset is a wall-clock time in the hub's timezone."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if _DATE_ONLY.match(text):
            raise ValueError(f"{text!r} has no time of day: write it as {text} 09:00")
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(
                f"{text!r} is not a valid date and time ({exc}): "
                "write it as 2026-09-14 09:00 or 2026-09-14T09:00:00-04:00"
            ) from None
    if not isinstance(value, dt.datetime) or value.tzinfo is not None:
        return value
    zone = (info.context or {}).get("zone")
    if zone is None:
        raise ValueError(
            f"{value.isoformat()} has no UTC offset: add one, e.g. {value.isoformat()}-04:00"
        )
    return localize(value, zone)


def localize(naive: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Attach *zone* to a wall-clock time, refusing times that DST makes ambiguous or skip."""
    early = naive.replace(tzinfo=zone, fold=0)
    late = naive.replace(tzinfo=zone, fold=1)
    back = early.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise ValueError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (clocks jump forward): "
            "check the time or give its UTC offset"
        )
    if early.utcoffset() != late.utcoffset():
        options = " or ".join(_offset(m) for m in (early, late))
        raise ValueError(
            f"{naive:%Y-%m-%d %H:%M} happens twice in {zone.key} (clocks go back): "
            f"add the offset, {options}"
        )
    return early


def _offset(moment: dt.datetime) -> str:
    text = moment.strftime("%z")
    return f"{moment:%Y-%m-%dT%H:%M}{text[:3]}:{text[3:]}"


def _aware_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time has no UTC offset; add one, e.g. 2026-09-14T09:00:00-04:00")
    return value.astimezone(dt.UTC)


def _nonblank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lowercase letters, digits and dashes, "
            "e.g. 2026-09-14-0900-shelters-open"
        )
    return value


AwareUTC = Annotated[dt.datetime, BeforeValidator(_parse_time), AfterValidator(_aware_utc)]
Text = Annotated[str, AfterValidator(_nonblank)]
Slug = Annotated[str, AfterValidator(_slug)]


def slugify(text: str) -> str:
    """A URL-safe id from free text: lowercase ASCII letters, digits and dashes."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "item"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with *update*, what is worked out from the fields is not copied.

        An update's :attr:`~Update.revision` and a hub's lookups are worked out anew.
        """
        copy = super().model_copy(update=update, deep=deep)
        if update:
            for name in _cached(type(self)):
                copy.__dict__.pop(name, None)
        return copy


@functools.cache
def _cached(model: type[BaseModel]) -> tuple[str, ...]:
    """The names of *model*'s cached properties (kept in the instance's ``__dict__``)."""
    return tuple(
        name
        for klass in model.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, cached_property)
    )


def _approval(value: Any) -> Any:
    if isinstance(value, bool):  # `approval: yes` / `no`
        return "required" if value else "none"
    if isinstance(value, str):
        value = value.strip().lower()
        if value in {"none", "required", *Severity}:
            return value
    choices = ", ".join(Severity)
    raise ValueError(
        f"expected none, required, or a severity ({choices}) meaning updates at or above it "
        f"need approval, e.g. approval: warning (got {value!r})"
    )


Approval = Annotated[str, BeforeValidator(_approval)]


class Banner(_Model):
    text: Text
    severity: Severity = Severity.INFO


PrivacyKind = Literal["mrn", "dob", "ssn", "name", "locator", "phone", "email", "word"]


class PrivacyAllow(_Model):
    """One privacy-guard finding that is known not to be patient information.

    It matches a finding only when ``text`` is the whole text the finding reports
    (case and spacing aside; phone numbers in any format), and only of ``kind`` and
    in ``path`` when those are given. The reason goes into the audit trail.
    """

    text: Text
    reason: Text
    kind: PrivacyKind | None = None
    path: str | None = Field(None, description="only in this file, e.g. content/tips/x.md")

    @model_validator(mode="before")
    @classmethod
    def _needs_reason(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise ValueError(
                f"allow entry {data!r} needs a reason for the audit trail: write it as "
                f'- {{text: "{data}", reason: "why this is not patient information"}}'
            )
        return data


class Privacy(_Model):
    """``privacy:`` in hub.yaml: the team's own words to flag, and allowed findings."""

    words: tuple[Text, ...] = Field((), description='phrases to flag, e.g. "patient in room"')
    allow: tuple[PrivacyAllow, ...] = ()


def _one_of(*choices: str) -> BeforeValidator:
    """A value from *choices* (OASIS CAP 1.2 spelling), read whatever its case."""
    spelled = {choice.lower(): choice for choice in choices}

    def pick(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in spelled:
            return spelled[value.strip().lower()]
        raise ValueError(f"expected one of {', '.join(choices)} (got {value!r})")

    return BeforeValidator(pick)


CAP_CATEGORIES = "Geo Met Safety Security Rescue Fire Health Env Transport Infra CBRNE Other"
CapCategory = Annotated[str, _one_of(*CAP_CATEGORIES.split())]
CapUrgency = Annotated[str, _one_of("Immediate", "Expected", "Future", "Past", "Unknown")]
CapSeverity = Annotated[str, _one_of("Extreme", "Severe", "Moderate", "Minor", "Unknown")]
CapCertainty = Annotated[str, _one_of("Observed", "Likely", "Possible", "Unlikely", "Unknown")]


def _categories(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


CapCategories = Annotated[tuple[CapCategory, ...], BeforeValidator(_categories)]
# CAP 1.2 3.3.1: no whitespace, commas, "<" or "&" in identifiers and senders
CAP_RESTRICTED = re.compile(r"[\s,<&]")


def _cap_token(value: str) -> str:
    if not value or CAP_RESTRICTED.search(value):
        raise ValueError(
            f"{value!r} must not be empty or hold spaces, commas, < or &: "
            "use a domain name such as alerts.example.org"
        )
    return value


def cap_polygon(value: Any) -> str:
    """A CAP polygon (``"lat,lon lat,lon ..."``, first pair repeated last), or a list of pairs."""
    if isinstance(value, list | tuple):
        value = " ".join(str(pair).replace(" ", "") for pair in value)
    if not isinstance(value, str):
        raise ValueError('expected "lat,lon lat,lon ..." pairs, e.g. "36.8,-76.3 36.9,-76.3 ..."')
    pairs = value.split()
    for pair in pairs:
        lat, _, lon = pair.partition(",")
        try:
            lat_f, lon_f = float(lat), float(lon)
        except ValueError:
            raise ValueError(f"{pair!r} is not a lat,lon pair such as 36.85,-76.29") from None
        if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
            raise ValueError(
                f"{pair!r} is out of range: latitude comes first (-90..90), then longitude "
                "(-180..180)"
            )
    if len(pairs) < 4:
        raise ValueError(f"a polygon needs at least 4 lat,lon pairs, got {len(pairs)}")
    if pairs[0] != pairs[-1]:
        raise ValueError(f"a polygon must end where it starts: add {pairs[0]} at the end")
    return " ".join(pairs)


Polygon = Annotated[str, BeforeValidator(cap_polygon)]


class Geocode(_Model):
    """A coded area, e.g. ``{name: SAME, value: "051710"}`` (CAP ``<geocode>``)."""

    name: Text = Field(description="the code system, e.g. SAME, FIPS6, UGC")
    value: Text


class Area(_Model):
    """Where an update or the hub applies (CAP ``<area>``); a bare string is a description."""

    description: Text
    polygons: tuple[Polygon, ...] = ()
    geocodes: tuple[Geocode, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        return {"description": data} if isinstance(data, str) else data


class CapHub(_Model):
    """``cap:`` in hub.yaml: how the hub's CAP alerts name their sender and contact."""

    sender: Annotated[str, AfterValidator(_cap_token)] | None = Field(
        None, description="the CAP sender; the site's host name when not set"
    )
    contact: Text | None = Field(None, description="who to contact; the organisation if not set")
    category: CapCategories = Field(("Safety",), description="the default CAP category")


class CapUpdate(_Model):
    """``cap:`` in an update's front matter: its CAP alert's values instead of the defaults."""

    category: CapCategories = ()
    event: Text | None = None
    urgency: CapUrgency | None = None
    severity: CapSeverity | None = None
    certainty: CapCertainty | None = None


class HubInfo(_Model):
    """``content/hub.yaml``: who runs the hub, for which event, and in which timezone."""

    organisation: Text
    event: Text
    status: HubStatus = HubStatus.ACTIVE
    timezone: str
    country: str = Field("US", description="ISO 3166 code used to read local phone numbers")
    languages: tuple[str, ...] = Field(("en",), min_length=1)
    description: str = ""
    banner: Banner | None = None
    tip_categories: tuple[Text, ...] = Field(
        (), description="the order of tip categories on the tips page; others follow A-Z"
    )
    approval: Approval = Field(
        "none",
        description="which updates need `stormhub approve` before the fan-out sends them: "
        "none, required (all), or a severity meaning that severity and above",
    )
    privacy: Privacy = Field(
        default_factory=Privacy,
        description="the patient-privacy guard's extra words and allowed findings",
    )
    area: Area | None = Field(None, description="where the hub serves, for CAP alerts")
    cap: CapHub = Field(default_factory=CapHub, description="CAP sender, contact, category")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}: use an IANA name such as America/New_York"
            ) from None
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown country code {value!r}: use ISO 3166 alpha-2, e.g. US")
        return value

    @field_validator("languages")
    @classmethod
    def _language_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from babel import Locale, UnknownLocaleError

        for tag in value:
            if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", tag):
                raise ValueError(f"{tag!r} is not a language tag such as en or es-US")
            try:  # its dates, its name in the language switcher
                Locale.parse(tag.replace("-", "_"))
            except (UnknownLocaleError, ValueError):
                raise ValueError(
                    f"{tag!r} is not a language the Unicode CLDR knows: check the code, "
                    "e.g. es, zh-Hant, vi, ht"
                ) from None
        if len(set(value)) != len(value):
            raise ValueError("languages are listed more than once")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def needs_approval(self, severity: Severity) -> bool:
        """Whether an update of *severity* must be approved before it goes out."""
        if self.approval in ("none", "required"):
            return self.approval == "required"
        return severity.rank >= Severity(self.approval).rank

    @property
    def language(self) -> str:
        """The default language."""
        return self.languages[0]


# Update fields added after updates were first published; see Update.revision.
_LATER_FIELDS = ("instruction", "area", "cap")


class Update(_Model):
    """One live update: ``content/updates/<id>.md``."""

    id: Slug
    time: AwareUTC
    title: Text
    severity: Severity
    body: Text
    tags: tuple[Slug, ...] = ()
    image: str | None = None
    alt: str | None = None
    supersedes: Slug | None = None
    expires: AwareUTC | None = None
    retracted: AwareUTC | None = Field(None, description="set by `stormhub retract`")
    retraction: str = Field("", description="why it was retracted, shown with the notice")
    author: Text | None = Field(
        None, description="who wrote it; under the two-person rule someone else approves it"
    )
    phi_ok: Text | None = Field(
        None,
        description="why the privacy guard's findings in this update are not patient "
        "information; silences them and is recorded in the audit trail",
    )
    consent: Text | None = Field(
        None, description="reference to the documented consent a patient-story update needs"
    )
    instruction: Text | None = Field(None, description="what people should do (CAP)")
    area: Area | None = Field(None, description="where it applies, if not the hub's area")
    cap: CapUpdate | None = Field(
        None, description="CAP category, event, urgency, severity, certainty"
    )

    @model_validator(mode="after")
    def _coherent(self) -> Update:
        if self.image and not (self.alt and self.alt.strip()):
            raise FieldProblem("image", "image has no alt text: add alt: describing the image")
        if self.alt and not self.image:
            raise FieldProblem("alt", "alt is set but there is no image: remove alt or add image")
        if self.expires is not None and self.expires <= self.time:
            raise FieldProblem("expires", "expires must be later than time")
        if self.supersedes == self.id:
            raise FieldProblem("supersedes", "an update cannot supersede itself")
        if self.retraction and self.retracted is None:
            raise FieldProblem("retraction", "retraction is set but retracted: (the time) is not")
        return self

    @cached_property
    def revision(self) -> str:
        """A short hash of everything the public sees; changes whenever the update does."""
        # author, phi_ok and consent are not shown to the public, and leaving them out
        # keeps old revisions stable
        hidden = {"author", "phi_ok", "consent"}
        # fields added later count only when set: an update that leaves them out keeps the
        # revision it had before they existed (the ledger and the site's manifest hold it)
        hidden.update(name for name in _LATER_FIELDS if name not in self.model_fields_set)
        public = self.model_dump(mode="json", exclude=hidden)
        payload = json.dumps(public, sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:16]

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires is not None and self.expires <= now


class Closure(_Model):
    """A facility or service that is closed, limited, diverting or reopened."""

    id: Slug
    facility: Text
    status: ClosureStatus
    from_: AwareUTC = Field(alias="from")
    until: AwareUTC | None = None
    note: str = ""
    alternatives: tuple[Text, ...] = ()
    location: Slug | None = Field(
        None,
        description="the key of this place in a gbp channel's locations:, so Google Maps "
        "and Search show the closure as special hours",
    )

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.until is not None and self.until <= self.from_:
            raise FieldProblem("until", "until must be later than from")
        return self

    def is_current(self, now: dt.datetime) -> bool:
        """True until the closure's end has passed."""
        return self.until is None or self.until > now


def normalise_phone(value: str, country: str) -> str:
    """Return *value* in E.164, or as dialled when it is a local short service number.

    Raises:
        ValueError: with a message saying how to write the number.

    """
    raw = value.strip()
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        raise ValueError(
            f"{raw!r} is not a phone number: write it as +1 212 555 0100 or (212) 555-0100"
        ) from None
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"\D", "", raw)
    if not raw.startswith("+") and shortnumberinfo.is_valid_short_number_for_region(
        number, country
    ):
        return digits
    raise ValueError(
        f"{raw!r} is not a valid phone number for {country}: check the digits, "
        "or write it in international form (+<country code> ...)"
    )


def display_phone(value: str, country: str) -> str:
    """A phone number as people in *country* write it; short numbers unchanged."""
    if not value.startswith("+"):
        return value
    number = phonenumbers.parse(value, None)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == country
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


class Contact(_Model):
    """An emergency or service contact; numbers are E.164 or short service numbers."""

    id: Slug
    name: Text
    category: Text
    phone: str
    sms: str | None = None
    tty: str | None = None
    url: HttpUrl | None = None
    hours: str = ""
    note: str = ""
    key: bool = Field(False, description="shown on the home and lite pages")
    verified: dt.date

    @field_validator("phone", "sms", "tty")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        country = (info.context or {}).get("country", "US")
        return normalise_phone(str(value), country)


class Tip(_Model):
    """A health or safety tip: ``content/tips/<id>.md``."""

    id: Slug
    title: Text
    category: Text
    order: int = 0
    body: Text


class Resource(_Model):
    id: Slug
    title: Text
    url: HttpUrl
    description: str = ""
    category: str = "General"


def _unique(items: tuple[Any, ...], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"duplicate {what} id {item.id!r}")
        seen.add(item.id)


TranslationKind = Literal["update", "tip", "closure", "contact", "resource", "banner", "hub"]


class Translation(_Model):
    """One item's text in another language: an ``<id>.<lang>.md`` file or a YAML block.

    :mod:`hub.i18n` says which fields each kind of item translates, whether a
    translation is current, and puts it in place for a language's view of the hub.
    """

    kind: TranslationKind
    item: str = Field(description="the translated item's id; empty for the hub and its banner")
    language: str
    source: str | None = Field(
        None, description="the digest of the default-language text it was made from"
    )
    fields: dict[str, str | tuple[str, ...]]
    path: str = Field(description="where it was read, relative to the hub folder")
    line: int = 1


class Hub(_Model):
    """The whole storm hub, as loaded and checked from ``content/``."""

    info: HubInfo
    site_url: HttpUrl
    updates: tuple[Update, ...] = ()
    closures: tuple[Closure, ...] = ()
    contacts: tuple[Contact, ...] = ()
    tips: tuple[Tip, ...] = ()
    resources: tuple[Resource, ...] = ()
    content_dir: str | None = Field(None, description="where content/ is; images are read there")
    translations: tuple[Translation, ...] = ()
    language: str | None = Field(
        None,
        description="the language this view of the hub is in (hub.i18n.localize); "
        "None: the default language, the hub as written",
    )
    exercise: bool = Field(
        False,
        description="an exercise (`stormhub drill --exercise`), never read from a file: "
        "every page, feed item and post is marked EXERCISE; see :meth:`as_exercise`",
    )

    @field_validator("updates")
    @classmethod
    def _newest_first(cls, value: tuple[Update, ...]) -> tuple[Update, ...]:
        return tuple(sorted(value, key=lambda u: (u.time, u.id), reverse=True))

    @model_validator(mode="after")
    def _consistent(self) -> Hub:
        _unique(self.updates, "update")
        _unique(self.closures, "closure")
        _unique(self.contacts, "contact")
        _unique(self.tips, "tip")
        _unique(self.resources, "resource")
        ids = {u.id for u in self.updates}
        for update in self.updates:
            if update.supersedes is not None and update.supersedes not in ids:
                raise ValueError(f"{update.id}: supersedes unknown update {update.supersedes!r}")
        return self

    # Where each update and tip was read, relative to the hub folder ({"updates": {id:
    # path}, "tips": ...}), as load_hub found them: so that no one walks content/ again.
    _sources: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)

    def sources(self, kind: str) -> dict[str, str]:
        """Id to file (``content/updates/...md``) of each *kind* ("updates", "tips") read.

        Empty for a hub not loaded from files.
        """
        return self._sources.get(kind, {})

    @cached_property
    def _by_id(self) -> dict[str, Update]:
        return {u.id: u for u in self.updates}

    def update(self, update_id: str) -> Update:
        return self._by_id[update_id]

    def has_update(self, update_id: str) -> bool:
        return update_id in self._by_id

    @cached_property
    def corrections(self) -> dict[str, Update]:
        """Map of update id to the newest update that supersedes it."""
        result: dict[str, Update] = {}
        for update in reversed(self.updates):  # oldest first, so the newest wins
            if update.supersedes:
                result[update.supersedes] = update
        return result

    @property
    def lang(self) -> str:
        """The language of this view: :attr:`language`, or the hub's default language."""
        return self.language or self.info.language

    @property
    def prefix(self) -> str:
        """Where this view's pages are in the site: ``""`` by default, ``es/`` for es."""
        return "" if self.lang == self.info.language else f"{self.lang}/"

    def url(self, path: str = "") -> str:
        """The absolute public URL of a path such as ``updates/<id>/`` in this view's site."""
        return self.root_url(self.prefix + path.lstrip("/"))

    def root_url(self, path: str = "") -> str:
        """The absolute public URL of a path in the default language's site."""
        return str(self.site_url).rstrip("/") + "/" + path.lstrip("/")

    def root_path(self, path: str = "") -> str:
        """The URL path (``/updates/<id>/``) of a page of the default language's site.

        Another language's site links its pages by path: they are outside it.
        """
        return urlsplit(self.root_url(path)).path

    def update_path(self, update: Update) -> str:
        return f"updates/{update.id}/"

    def has_page(self, update: Update) -> bool:
        """Whether this view's site has a page of *update* (a language view: if translated)."""
        return self.language is None or update.id not in self._untranslated

    # Set by hub.i18n.localize: the updates a language view has no page of (no
    # translation), the items it shows translated ((kind, id)), and the hub as written
    # that the view was made from.
    _untranslated: frozenset[str] = PrivateAttr(default=frozenset())
    _current: frozenset[tuple[str, str]] = PrivateAttr(default=frozenset())
    _written: Hub | None = PrivateAttr(default=None)

    @cached_property
    def translation_index(self) -> dict[tuple[str, str, str], Translation]:
        """Each translation by (kind, item id, language)."""
        return {(t.kind, t.item, t.language): t for t in self.translations}

    def permalink(self, update: Update) -> str:
        """The public URL of *update*'s page: in this view's language if it has one there."""
        path = self.update_path(update)
        return self.url(path) if self.has_page(update) else self.root_url(path)

    def image_file(self, update: Update) -> str | None:
        """The local path of *update*'s image, for channels that upload it."""
        if not update.image or self.content_dir is None:
            return None
        return f"{self.content_dir}/{update.image}"

    def local(self, moment: dt.datetime) -> dt.datetime:
        """*moment* in the hub's timezone, for display."""
        return moment.astimezone(self.info.zone)

    def as_exercise(self) -> Hub:
        """The hub as an exercise: every update's title starts with ``EXERCISE:``.

        The title carries the mark everywhere it goes (pages, feeds, e-mail subjects,
        cards); the channels also put it first in every post (``Channel.post``).
        """
        if self.exercise:
            return self
        updates = tuple(
            Update.model_validate({**u.model_dump(), "title": exercise_title(u.title)})
            for u in self.updates
        )
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return Hub.model_validate({**fields, "updates": updates, "exercise": True})


EXERCISE = "EXERCISE"
EXERCISE_MARK = f"{EXERCISE}: "


def exercise_title(title: str) -> str:
    """*title* led by ``EXERCISE:`` (once)."""
    return title if title.startswith(EXERCISE) else EXERCISE_MARK + title

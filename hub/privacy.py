"""The patient-privacy guard: likely protected health information is stopped before it is published.

:func:`review` scans every update (title, body, alt text, retraction note), tip, closure
note and alternative, contact note, and the hub's banner and description for

- ``ssn``: Social Security numbers (``123-45-6789``, "SSN ending in 6789");
- ``mrn``: medical record and patient account numbers ("MRN 00482913", "record # 5512");
- ``dob``: dates of birth ("DOB 4/12/1951", "born on March 3, 1950");
- ``name``: a person's name next to a room or bed number, a diagnosis or condition,
  or the word patient ("Mr. Jones in room 412", "Jane Doe, bed 3, admitted with ...");
- ``locator``: a patient placed by room or bed number ("the woman in bed 7");
- ``phone``: phone numbers that are not in ``contacts.yaml`` (found with
  phonenumbers' ``PhoneNumberMatcher``; short numbers such as 911 and 988 are fine);
- ``email``: e-mail addresses outside the hub's own domains (the site's and the
  contacts' web addresses);
- ``word``: the phrases the team lists under ``privacy: words:`` in ``hub.yaml``.

The name heuristic's limits: a name is two or three capitalised words that are not
place, organisation or everyday words (or a title such as Mr./Mrs./Ms. and a
surname), and only counts next to a patient cue in the same sentence; names after a
staff role (Dr., Nurse, Director ...) are staff. It misses names written in lower
case, single given names ("Maria in bed 4" is caught as a locator only when a
person word is there), and names it cannot tell from a place it does not know; it
can flag a staff member named without a role next to a room number. Ages, admission
dates and addresses of individuals are not detected.

Each finding is a :class:`~hub.errors.Problem` (``path:line:col: privacy: ...``)
that blocks ``check``, ``build``, ``fanout`` and every command that checks the hub.
Two overrides exist, and each use is returned by :func:`overrides` for the audit
trail: ``phi_ok: "<reason>"`` in an update's front matter silences that update's
findings, and an entry in ``privacy: allow:`` silences one finding text everywhere
(or in one file). An update tagged ``patient-story`` must carry ``consent:``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from hub.content import FRONT_MATTER, files_under
from hub.errors import ContentError, Problem
from hub.located import Collector, Loc, Source, parse_yaml, yaml_file
from hub.memo import MISSING, Memo

if TYPE_CHECKING:
    from hub.model import Hub, PrivacyAllow, Translation

PATIENT_STORY = "patient-story"

# --- Patterns ----------------------------------------------------------------------

_I = re.IGNORECASE
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b|\d{4}-\d{2}-\d{2}\b"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b)?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}}\b)?)"
)
_DOB = re.compile(
    r"\b(?:DOB|D\.O\.B\.?|date\s+of\s+birth|birth\s*date|birthday|born)"
    rf"(?:\s*[:#-]|\s+(?:is|was|on|of))*\s*\(?\s*{_DATE}",
    _I,
)
_SSN = re.compile(r"(?<![\d-])(?!000)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_SSN_KEY = re.compile(
    r"\b(?:SSN|SS\s?#|social\s+security(?:\s+(?:number|no\.?|#))?)"
    r"(?:\s*[:#]|\s+(?:is|was|ending\s+in|ends\s+in|last\s+four(?:\s+digits)?))*"
    r"\s*(?:\d{3}[- ]?\d{2}[- ]?\d{4}|[Xx*]{3}-[Xx*]{2}-\d{4}|\d{4})\b",
    _I,
)
_MRN = re.compile(
    r"\b(?:MRN|M\.R\.N\.?|medical\s+record(?:\s+(?:number|no\.?|#))?"
    r"|med\.?\s*rec\.?\s*(?:#|no\.?)|record\s*(?:#|no\.?|number)|chart\s*(?:#|no\.?|number)"
    r"|patient\s*(?:ID|#|no\.?|number|account(?:\s*(?:#|no\.?|number))?)"
    r"|acct\.?\s*(?:#|no\.?)|account\s*(?:#|no\.?|number))"
    r"(?:\s*[:#]|\s+(?:is|was))*\s*(?=[A-Z0-9-]*\d{4})[A-Z]{0,4}[- ]?\d[\d-]{3,14}\b",
    _I,
)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_PHONE_CANDIDATE = re.compile(r"(?:\+|\()?\d[\d \t().-]{5,20}\d")

_ROOM = r"(?:room|rm\.?|bed|bay|cubicle|stretcher)\s*(?:#|no\.?|number)?\s*\d{1,4}[A-Za-z]?\b"
_CONDITION = (
    r"(?:diabetes|cancer|leukemia|lymphoma|HIV|AIDS|COVID(?:-19)?|hepatitis|a\s+stroke|stroke"
    r"|(?:a\s+)?heart\s+attack|cardiac\s+arrest|pneumonia|hypothermia|dementia|Alzheimer'?s"
    r"|sepsis|seizures?|schizophrenia|depression|bipolar|tuberculosis|influenza|the\s+flu"
    r"|asthma|COPD|(?:kidney|renal|heart)\s+failure|(?:severe\s+)?burns|carbon\s+monoxide"
    r"\s+poisoning|(?:a\s+)?gunshot\s+wounds?|an?\s+(?:drug\s+)?overdose|opioid\s+use"
    r"|(?:a\s+)?broken\s+(?:hip|leg|arm|wrist|ankle|neck|ribs?)|(?:a\s+)?head\s+injury)"
)
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a room or bed number", re.compile(rf"\b{_ROOM}", _I)),
    (
        "a diagnosis or condition",
        re.compile(
            r"\b(?:admitted|diagnosed|treated\s+for|being\s+treated|suffer(?:s|ed|ing)?\s+from"
            r"|in\s+(?:critical|serious|stable|fair|good|guarded|grave)\s+condition"
            r"|recovering\s+from|discharged|tested\s+positive|positive\s+for|passed\s+away"
            r"|died|on\s+(?:a\s+)?ventilator|intubated|in\s+surgery|underwent|undergoing"
            r"|overdosed|prognosis|in\s+(?:the\s+)?(?:ICU|NICU|PICU|intensive\s+care|burn\s+unit"
            r"|trauma\s+bay|psych(?:iatric)?\s+unit))\b"
            rf"|\b(?:with|for|from|has|had|of)\s+{_CONDITION}\b",
            _I,
        ),
    ),
)
_PATIENT_BEFORE = re.compile(r"\bpatients?\s*[:,]?\s*$", _I)
_PERSON = (
    r"(?:patient|woman|man|boy|girl|child|baby|infant|gentleman|lady|teen(?:ager)?"
    r"|\d{1,3}-year-old)"
)
_LOCATOR = re.compile(
    rf"\b{_PERSON}\b[^.\n]{{0,40}}?\b(?:in|on|at|from|to)\s+{_ROOM}"
    rf"|\b{_ROOM}'?s?\s+(?:patient|occupant)\b",
    _I,
)

_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
# O'Brien, McDonald, Lopez-Garcia
_WORD = (
    rf"(?:[{_UPPER}]['’])?[{_UPPER}][{_LOWER}]+(?:[{_UPPER}][{_LOWER}]+)?"
    rf"(?:[-'’][{_UPPER}]?[{_LOWER}]+)*"
)
_RUN = re.compile(rf"(?:{_WORD}|[{_UPPER}]\.)(?:[ \t]+(?:{_WORD}|[{_UPPER}]\.))*")
_TITLED = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx)\.?[ \t]+{_WORD}(?:[ \t]+{_WORD})?")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Roles that make a name a member of staff, not a patient.
_ROLES = _wordset(
    """dr doctor nurse rn np pa chaplain chief director manager officer president ceo
    mayor governor commissioner coordinator supervisor spokesperson spokeswoman spokesman
    physician surgeon pharmacist paramedic technician volunteer captain sgt professor prof
    rev reverend sister father senator representative liaison advocate navigator
    midwife therapist counselor dietitian administrator chair chairman chairwoman
    superintendent lieutenant sheriff judge councilmember councilwoman councilman
    md do phd pharmd bsn msn"""
)
_ROLE_BEFORE = re.compile(
    r"\b(?:" + "|".join(sorted(_ROLES)) + r")\.?(?:\s+(?:of\s+)?[A-Za-z]+){0,2}\s*$", _I
)
_ROLE_AFTER = re.compile(
    r"^\s*(?:,|\()\s*(?:(?:RN|MD|DO|NP|PA(?:-C)?|PhD|PharmD|BSN|MSN|LPN|CNA)\b"
    r"|(?:our|the|a|an|who\s+(?:leads|runs|manages|heads))\s+(?:[a-z]+\s+){0,2}?"
    r"(?:" + "|".join(sorted(_ROLES)) + r")\b)",
    _I,
)
# Capitalised words that end a name candidate: places and organisations ...
_ORG_WORDS = _wordset(
    """hospital medical center centre campus clinic clinics health healthcare care urgent
    department unit units wing tower floor building street st road rd avenue ave boulevard
    blvd drive dr way lane ln parkway pkwy highway hwy bridge causeway park school college
    university church community recreation city county state institute services service
    office suite level garage lobby auditorium cafeteria chapel hall library station
    shelter transit route routes line lines hotline pharmacy lab laboratory team teams
    authority agency association foundation company inc llc corp cross guard army navy
    hill hills heights harbor harbour river lake bay beach island point port court plaza
    square market mall airport terminal commons medicine surgery oncology pediatrics
    cardiology radiology ward wards fund program services power light water gas electric
    district zone zones"""
)
# ... and everyday words that are capitalised at the start of a sentence or in titles.
_COMMON_WORDS = _wordset(
    """the a an if when while our your their his her its my we you they he she it this that
    these those there here please call go come bring stay do don't all both each every some
    many most no not only for from to in on at by with after before during since until and
    or but so yes today tonight tomorrow yesterday good morning afternoon evening night
    thank thanks update updates correction note notes questions question information info
    patient patients family families visitor visitors staff employee employees people
    person resident residents everyone anyone someone nobody what where why how who which
    new old main north south east west northern southern eastern western northside
    southside eastside westside downtown uptown central upper lower emergency intensive
    critical general public private national federal local regional hurricane storm
    tropical tornado flood flooding wildfire fire police weather service red room rooms bed
    beds bay admitted monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december
    thanksgiving christmas easter labor memorial independence veterans new year day days
    week weekend month year hour hours minute minutes boil notice warning watch advisory
    alert open closed closing reopen reopened also then now again still just more less
    wait waiting area areas entrance exit parking free help ride rides transportation
    baby babies mother mothers father fathers child children woman women man men boy girl
    mom dad home english spanish español información"""
)


_MRN_KEYS = ("mrn", "m.r.n", "med", "record", "chart", "patient", "acct", "account")
_ROOM_KEYS = ("room", "rm.", "rm ", "bed", "bay", "cubicle", "stretcher")
_PERSON_KEYS = ("patient", "man", "boy", "girl", "child", "baby", "infant", "lady", "teen",
                "-year-old", "occupant")  # fmt: skip


def _has(low: str, *keys: str) -> bool:
    return any(key in low for key in keys)


def _phrase(text: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in text.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", _I)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _e164(text: str, country: str) -> str | None:
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _domain(host: str) -> str:
    """The registrable part of *host*, approximated by its last two labels."""
    return ".".join(host.lower().rstrip(".").split(".")[-2:])


def mask(kind: str, text: str) -> str:
    """*text* as it may appear in output and the audit log: SSNs keep their last four digits."""
    if kind != "ssn":
        return text
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    hide = set(digits[:-4])
    return "".join("•" if i in hide else ch for i, ch in enumerate(text))


# --- Scanning text -----------------------------------------------------------------

_PRIORITY = ("ssn", "mrn", "dob", "email", "phone", "name", "locator", "word")

_WHY = {
    "ssn": "looks like a Social Security number",
    "mrn": "looks like a medical record or patient account number",
    "dob": "looks like a date of birth",
    "locator": "places a patient by room or bed number",
    "email": "is an e-mail address outside the hub's own domains (a personal address?)",
    "word": "is on this hub's privacy word list (hub.yaml privacy: words:)",
}


@dataclass(frozen=True)
class Hit:
    """One likely piece of PHI in a text: where, what kind, and why it was flagged."""

    start: int
    end: int
    kind: str
    text: str
    why: str
    key: str  # what an allow entry is compared with: E.164 for phones, else normalised text


@dataclass
class Guard:
    """The scanner, tuned to one hub: its own numbers, domains, places and words.

    Args:
        country: ISO code used to read local phone numbers.
        phones: E.164 numbers (and short numbers) the hub publishes.
        domains: e-mail domains that are the hub's own.
        words: the team's extra phrases to flag.
        vocabulary: capitalised words of the hub's own names (organisation, facilities,
            contacts) that are never a person's name.
    """

    country: str = "US"
    phones: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()
    vocabulary: frozenset[str] = frozenset()
    _words: list[tuple[str, re.Pattern[str]]] = field(init=False, repr=False)
    _known_digits: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._words = [(w, _phrase(w)) for w in self.words]
        # The hub's own numbers as bare digits, with and without the country code.
        known = set()
        for number in self.phones:
            known.add(number.lstrip("+"))
            if number.startswith("+"):
                parsed = phonenumbers.parse(number, None)
                known.add(str(parsed.national_number))
        self._known_digits = frozenset(known)

    @classmethod
    def for_hub(cls, hub: Hub) -> Guard:
        """The guard for *hub*: its contacts' numbers, its domains and its own names."""
        phones = {n for c in hub.contacts for n in (c.phone, c.sms, c.tty) if n}
        hosts = [hub.site_url.host or ""]
        hosts += [c.url.host or "" for c in hub.contacts if c.url is not None]
        names = [hub.info.organisation, hub.info.event]
        names += [c.facility for c in hub.closures] + [c.name for c in hub.contacts]
        names += [r.title for r in hub.resources]
        vocabulary = {w.casefold() for n in names for w in re.findall(_WORD, n)}
        return cls(
            country=hub.info.country,
            phones=frozenset(phones),
            domains=frozenset(_domain(h) for h in hosts if h),
            words=hub.info.privacy.words,
            vocabulary=frozenset(vocabulary),
        )

    def fingerprint(self) -> str:
        """Everything the guard is tuned with, as text: equal for guards that scan alike."""
        return repr((self.country, sorted(self.phones), sorted(self.domains), self.words,
                     sorted(self.vocabulary)))  # fmt: skip

    def scan(self, text: str) -> list[Hit]:
        """Every likely piece of PHI in *text*, in order; overlaps keep the surer kind."""
        hits: list[Hit] = []
        low = text.casefold()
        # Cheap keyword tests first: most texts never reach the costlier patterns.
        patterns = [(_SSN, "ssn")]
        patterns += [(_SSN_KEY, "ssn")] if _has(low, "ssn", "ss#", "ss #", "social") else []
        patterns += [(_MRN, "mrn")] if _has(low, *_MRN_KEYS) else []
        patterns += [(_DOB, "dob")] if _has(low, "dob", "d.o.b", "birth", "born") else []
        if _has(low, *_ROOM_KEYS) and _has(low, *_PERSON_KEYS):
            patterns.append((_LOCATOR, "locator"))
        for pattern, kind in patterns:
            hits += [self._hit(m, kind) for m in pattern.finditer(text)]
        hits += self._emails(text) if "@" in text else []
        hits += self._phones(text)
        hits += self._names(text)
        for phrase, pattern in self._words:
            hits += [
                Hit(m.start(), m.end(), "word", m.group(), f"{_WHY['word']} as {phrase!r}", "")
                for m in pattern.finditer(text)
            ]
        hits.sort(key=lambda h: (_PRIORITY.index(h.kind), h.start))
        kept: list[Hit] = []
        for hit in hits:
            if all(hit.end <= k.start or hit.start >= k.end for k in kept):
                kept.append(hit)
        return sorted(kept, key=lambda h: h.start)

    @staticmethod
    def _hit(match: re.Match[str], kind: str) -> Hit:
        text = match.group().strip()
        return Hit(match.start(), match.start() + len(text), kind, text, _WHY[kind], _norm(text))

    def _emails(self, text: str) -> list[Hit]:
        hits = []
        for match in _EMAIL.finditer(text):
            if _domain(match.group().rsplit("@", 1)[1]) not in self.domains:
                hits.append(self._hit(match, "email"))
        return hits

    def _phones(self, text: str) -> list[Hit]:
        # PhoneNumberMatcher is slow over long text: run it only around digit runs.
        found: dict[tuple[int, int], Hit] = {}
        for candidate in _PHONE_CANDIDATE.finditer(text):
            digits = re.sub(r"\D", "", candidate.group())
            if len(digits) < 7 or digits in self._known_digits:
                continue
            base = max(0, candidate.start() - 4)
            window = text[base : candidate.end() + 4]
            for match in PhoneNumberMatcher(window, self.country, leniency=Leniency.VALID):
                number = phonenumbers.format_number(
                    match.number, phonenumbers.PhoneNumberFormat.E164
                )
                if number in self.phones:
                    continue
                start = base + match.start
                why = (
                    "is a phone number that is not in contacts.yaml (a personal number?); "
                    "if it is one the hub publishes, add it to contacts.yaml"
                )
                found[(start, base + match.end)] = Hit(
                    start, base + match.end, "phone", match.raw_string, why, number
                )
        return list(found.values())

    def _names(self, text: str) -> list[Hit]:
        names = self._name_spans(text)
        if not names:
            return []
        cues = [
            (m.start(), m.end(), label, m.group())
            for label, pattern in _CUES
            for m in pattern.finditer(text)
        ]
        sentences = _sentences(text)
        starts = [s for s, _ in sentences]
        hits = []
        for a, b in names:
            start, end = sentences[max(0, bisect.bisect_right(starts, a) - 1)]
            before, after = text[max(start, a - 40) : a], text[b:end]
            if _ROLE_BEFORE.search(before) or _ROLE_AFTER.match(after):
                continue
            near = [c for c in cues if start <= c[0] < end]
            cue = self._cue_for(text, a, b, start, near)
            if cue is None:
                continue
            label, cue_text = cue
            name = re.sub(r"['’]s$", "", text[a:b])
            why = f"looks like a patient's name next to {label} ({cue_text!r})"
            hits.append(Hit(a, a + len(name), "name", name, why, _norm(name)))
        return hits

    @staticmethod
    def _cue_for(
        text: str, a: int, b: int, start: int, near: list[tuple[int, int, str, str]]
    ) -> tuple[str, str] | None:
        if _PATIENT_BEFORE.search(text[max(start, a - 12) : a]):
            return "the word patient", "patient"
        close = [c for c in near if 0 <= a - c[1] <= 100 or 0 <= c[0] - b <= 100]
        if not close:
            return None
        first = min(close, key=lambda c: abs(c[0] - a))
        return first[2], " ".join(first[3].split())

    def _name_spans(self, sentence: str) -> list[tuple[int, int]]:
        spans = [(m.start(), m.end()) for m in _TITLED.finditer(sentence)]
        for run in _RUN.finditer(sentence):
            tokens = [(m.start() + run.start(), m.end() + run.start(), m.group())
                      for m in re.finditer(r"\S+", run.group())]  # fmt: skip
            words = [re.sub(r"['’]s$", "", t[2]).casefold().rstrip(".") for t in tokens]
            if any(w in _ORG_WORDS for w in words):
                continue
            segment: list[int] = []
            for index, word in enumerate([*words, ""]):
                stop = word == "" or word in _COMMON_WORDS or word in self.vocabulary
                stop = stop or word in _ROLES or word in {"mr", "mrs", "ms", "miss", "mx"}
                if not stop:
                    segment.append(index)
                    continue
                full = [i for i in segment if len(words[i]) > 1]
                if 2 <= len(segment) <= 3 and full:
                    spans.append((tokens[segment[0]][0], tokens[segment[-1]][1]))
                segment = []
        spans.sort()
        merged: list[tuple[int, int]] = []
        for span in spans:
            if merged and span[0] < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], span[1]))
            else:
                merged.append(span)
        return merged


_ABBREVIATIONS = _wordset(
    "mr mrs ms mx dr st no rm jr sr vs prof rev a.m p.m e.g i.e approx dept ave blvd"
)
_BOUNDARY = re.compile(r"[.!?]+[\"”')\]]*\s+|\n+")


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence and line spans of *text*; abbreviations and initials do not end one."""
    spans = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group()[0] == ".":
            before = re.search(r"([\w.]+)\.$", text[start : match.start() + 1])
            word = before.group(1).casefold() if before else ""
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def scan_text(text: str, guard: Guard | None = None) -> list[Hit]:
    """Likely PHI in *text*, with *guard*'s hub knowledge (default: knows no hub)."""
    return (guard or Guard()).scan(text)


# --- Scanning a hub ----------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Finding:
    """One hit in one file, placed at its line and column."""

    path: str
    line: int
    col: int
    kind: str
    text: str
    why: str
    key: str
    update_id: str | None = None

    def problem(self) -> Problem:
        fix = "remove it, or if it is not patient information "
        if self.update_id is not None:
            fix += 'add phi_ok: "<why>" to the front matter, or '
        shown = mask(self.kind, self.text)
        fix += (
            f'allow it in content/hub.yaml (privacy: allow: - {{text: "{shown}", reason: "<why>"}})'
        )
        return Problem(
            self.path,
            self.line,
            self.col,
            "privacy",
            f"{mask(self.kind, self.text)!r} {self.why}: {fix}",
        )


@dataclass(frozen=True, order=True)
class Override:
    """A finding that an override silenced, for the audit trail."""

    path: str
    line: int
    col: int
    kind: str
    text: str
    reason: str
    by: str  # "phi_ok" (the update's front matter) or "allow" (hub.yaml privacy.allow)
    update_id: str | None = None

    @property
    def what(self) -> str:
        """What was let through, as one line (SSNs masked)."""
        return f"{self.kind} {mask(self.kind, self.text)!r} at {self.path}:{self.line}:{self.col}"


@dataclass
class Review:
    """The privacy guard's verdict on a hub."""

    problems: list[Problem] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


class _File:
    """A content file read only when something in it needs a line and column."""

    def __init__(self, root: Path | None, rel: str) -> None:
        self.rel = rel
        self.text = ""
        if root is not None:
            try:
                self.text = (root / rel).read_text(encoding="utf-8")
            except OSError:
                self.text = ""
        self.starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        self.src: Source | None = None
        self.body_start = 0
        out = Collector(root or Path("."))
        if rel.endswith(".md"):
            match = FRONT_MATTER.match(self.text)
            if match:
                self.src = Source(rel, line_offset=1)
                parse_yaml(match.group(1), self.src, out)
                rest = self.text[match.end() :]
                self.body_start = match.end() + len(rest) - len(rest.lstrip())
        elif root is not None:
            self.src = yaml_file(root / rel, out, required=False)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def at(self, loc: Loc) -> tuple[int, int]:
        return self.src.where(loc) if self.src is not None else (1, 1)

    def place(self, loc: Loc | None, value: str, hit: Hit) -> tuple[int, int]:
        """Line and column of *hit* in *value*, the text of *loc* (None: the body)."""
        if loc is None:
            return self.position(self.body_start + hit.start)
        line, col = self.at(loc)
        offset = self.starts[min(line, len(self.starts)) - 1] + col - 1
        for _ in range(value[: hit.start].count(hit.text) + 1):
            found = self.text.find(hit.text, offset)
            if found < 0:
                return line, col
            offset = found + 1
        return self.position(offset - 1)


def _allows(entry: PrivacyAllow, finding: Finding, country: str) -> bool:
    if entry.kind is not None and entry.kind != finding.kind:
        return False
    if entry.path is not None and entry.path.strip("/") != finding.path:
        return False
    if finding.kind == "phone":
        return _e164(entry.text, country) == finding.key
    return _norm(entry.text) == finding.key


def review(hub: Hub, *, memo: Memo | None = None) -> Review:
    """Scan *hub* for likely PHI and missing consent; apply and list the overrides.

    With *memo* (:mod:`hub.memo`), a text this guard scanned in an earlier run is not
    scanned again.

    Returns:
        Problems that block publishing, the overrides used (for the audit trail) and
        warnings about overrides that silence nothing.
    """
    guard = Guard.for_hub(hub)
    memo = memo or Memo.none()
    tuning = Memo.key("privacy", guard.fingerprint())

    def scan(texts: list[str], key: bytes | None = None) -> list[list[Hit]]:
        """Each text's hits; *key* (else the texts themselves) names them in the memo."""
        key = memo.key(tuning, key) if key is not None else memo.key(tuning, *texts)
        hits = memo.get(key)
        if hits is MISSING:
            hits = [guard.scan(text) for text in texts]
            memo.put(key, hits)
        return cast("list[list[Hit]]", hits)

    root = Path(hub.content_dir).parent if hub.content_dir else None
    files: dict[str, _File] = {}

    def file(rel: str) -> _File:
        if rel not in files:
            files[rel] = _File(root, rel)
        return files[rel]

    result = Review()
    allow = hub.info.privacy.allow
    used: set[int] = set()

    def check(
        rel: str,
        texts: list[tuple[Loc | None, str]],
        update_id: str | None = None,
        key: bytes | None = None,
    ) -> list[Finding]:
        found = []
        for (loc, value), hits in zip(texts, scan([v for _, v in texts], key), strict=True):
            for hit in hits:
                line, col = file(rel).place(loc, value, hit)
                found.append(
                    Finding(rel, line, col, hit.kind, hit.text, hit.why, hit.key, update_id)
                )
        left = []
        for finding in found:
            entry = next(
                (i for i, a in enumerate(allow) if _allows(a, finding, guard.country)), None
            )
            if entry is None:
                left.append(finding)
                continue
            used.add(entry)
            result.overrides.append(
                Override(finding.path, finding.line, finding.col, finding.kind, finding.text,
                         allow[entry].reason, "allow", update_id)
            )  # fmt: skip
        return left

    paths = hub.sources("updates") or _markdown_paths(root, "updates")
    # The revisions of the updates in which this guard found nothing, one memo entry:
    # a hub in mid-storm is thousands of those, and a new update or two.
    clean_key = memo.key(tuning, b"updates without findings")
    clean = memo.get(clean_key)
    clean = clean if isinstance(clean, frozenset) else frozenset()
    clean_now: set[str] = set()
    for update in hub.updates:
        rel = paths.get(update.id, f"content/updates/{update.id}.md")
        left: list[Finding] = []
        if update.revision not in clean:
            texts: list[tuple[Loc | None, str]] = [(("title",), update.title),
                                                   (None, update.body)]  # fmt: skip
            texts += [(("alt",), update.alt)] if update.alt else []
            texts += [(("retraction",), update.retraction)] if update.retraction else []
            texts += [(("instruction",), update.instruction)] if update.instruction else []
            texts += [(("area",), update.area.description)] if update.area else []
            # The revision is a hash of all the update's public text: no need to hash again.
            key = f"update {update.revision}".encode()
            if any(scan([v for _, v in texts], key)):
                left = check(rel, texts, update.id, key)
            else:
                clean_now.add(update.revision)
        else:
            clean_now.add(update.revision)
        if update.phi_ok is not None:
            if not left:
                line, col = file(rel).at(("phi_ok",))
                result.warnings.append(
                    Problem(rel, line, col, "phi_ok", "the privacy guard finds nothing to "
                            "silence here: remove phi_ok so later edits are checked")
                )  # fmt: skip
            result.overrides += [
                Override(f.path, f.line, f.col, f.kind, f.text, update.phi_ok, "phi_ok", update.id)
                for f in left
            ]
        else:
            result.problems += [f.problem() for f in left]
        if PATIENT_STORY in update.tags and update.consent is None:
            line, col = file(rel).at(("tags", update.tags.index(PATIENT_STORY)))
            result.problems.append(
                Problem(
                    rel, line, col, "consent",
                    f"an update tagged {PATIENT_STORY} needs the patient's documented consent: "
                    'add consent: "<reference to the signed consent, e.g. form 2026-0412>" '
                    f"to the front matter, or remove the {PATIENT_STORY} tag",
                )
            )  # fmt: skip

    if clean_now != clean:
        memo.put(clean_key, frozenset(clean_now))
    tip_paths = hub.sources("tips") or _markdown_paths(root, "tips")
    for tip in hub.tips:
        rel = tip_paths.get(tip.id, f"content/tips/{tip.id}.md")
        left = check(rel, [(("title",), tip.title), (None, tip.body)])
        result.problems += [f.problem() for f in left]

    texts = []
    for i, closure in enumerate(hub.closures):
        texts += [((i, "note"), closure.note)] if closure.note else []
        texts += [((i, "alternatives", j), a) for j, a in enumerate(closure.alternatives)]
    result.problems += [f.problem() for f in check("content/closures.yaml", texts)]
    texts = [((i, "note"), c.note) for i, c in enumerate(hub.contacts) if c.note]
    result.problems += [f.problem() for f in check("content/contacts.yaml", texts)]
    texts = [(("description",), hub.info.description)] if hub.info.description else []
    texts += [(("banner", "text"), hub.info.banner.text)] if hub.info.banner else []
    result.problems += [f.problem() for f in check("content/hub.yaml", texts)]

    # Translations are published like the text they translate, and scanned like it.
    for translation in hub.translations:
        texts = _translated_texts(hub, translation)
        left = check(translation.path, texts, translation.item or None)
        phi_ok = hub.update(translation.item).phi_ok if translation.kind == "update" else None
        if phi_ok is not None:
            result.overrides += [
                Override(f.path, f.line, f.col, f.kind, f.text, phi_ok, "phi_ok", f.update_id)
                for f in left
            ]
        else:
            result.problems += [f.problem() for f in left]

    for index, entry in enumerate(allow):
        if index not in used:
            line, col = file("content/hub.yaml").at(("privacy", "allow", index))
            result.warnings.append(
                Problem("content/hub.yaml", line, col, f"privacy.allow.{index}",
                        f"{entry.text!r} matches no finding: remove it so the list stays exact")
            )  # fmt: skip
    result.problems.sort()
    result.overrides.sort()
    return result


def _translated_texts(hub: Hub, t: Translation) -> list[tuple[Loc | None, str]]:
    """The texts of translation *t*, each with where it is in its file."""
    if t.path.endswith(".md"):  # <id>.<language>.md: front matter fields and the body
        base: Loc = ()
    elif t.kind == "hub":
        base = ("translations", t.language)
    elif t.kind == "banner":
        base = ("banner", "translations", t.language)
    else:
        items: dict[str, tuple[Any, ...]] = {
            "closure": hub.closures,
            "contact": hub.contacts,
            "resource": hub.resources,
        }
        index = next(i for i, item in enumerate(items[t.kind]) if item.id == t.item)
        base = (index, "translations", t.language)
    texts: list[tuple[Loc | None, str]] = []
    for name, value in t.fields.items():
        if isinstance(value, tuple):
            texts += [((*base, name, j), v) for j, v in enumerate(value)]
        elif name == "body" and t.path.endswith(".md"):
            texts.append((None, value))
        else:
            texts.append(((*base, name), value))
    return texts


def _markdown_paths(root: Path | None, folder: str) -> dict[str, str]:
    """Id to path (relative to the hub) of each Markdown file under ``content/<folder>``."""
    if root is None or not (root / "content" / folder).is_dir():
        return {}
    return {
        parts[-1].removesuffix(".md"): "/".join(("content", folder, *parts))
        for parts in files_under(root / "content" / folder)
        if parts[-1].endswith(".md")
    }


def overrides(hub: Hub) -> list[Override]:
    """Every privacy finding an override let through in *hub*, for the audit trail."""
    return review(hub).overrides


def require_private(hub: Hub, *, memo: Memo | None = None) -> Review:
    """Review *hub*; raise if anything would publish likely PHI or a story without consent.

    *memo* as for :func:`review`.

    Raises:
        ContentError: every privacy and consent problem, as ``path:line:col: privacy: ...``.
    """
    result = review(hub, memo=memo)
    if result.problems:
        raise ContentError(result.problems)
    return result


def record_overrides(root: Path | str, hub: Hub, used: list[Override]) -> list[Problem]:
    """Log each override in *used* in the audit trail, once per update revision and reason.

    The log is the ledger's (``.stormhub/ledger.sqlite`` in *root*); it is only opened
    when there is something to record, so a clean check writes nothing.

    Returns:
        A warning when the log could not be written (a read-only checkout, say).
    """
    if not used:
        return []
    import sqlite3

    from hub import audit
    from hub.errors import HubError
    from hub.fanout import DEFAULT_LEDGER
    from hub.ledger import Ledger

    try:
        who = audit.current_user()
    except HubError:
        who = "unknown (set STORMHUB_USER)"
    path = Path(root).resolve() / DEFAULT_LEDGER
    try:
        with Ledger(path) as ledger:
            seen = {
                (e.update_id, e.revision, e.details)
                for e in audit.entries(ledger)
                if e.action == audit.OVERRIDE
            }
            for item in used:
                update_id = item.update_id or ""
                revision = hub.update(update_id).revision if update_id else ""
                details = (
                    f"privacy {item.by}: {item.kind} {mask(item.kind, item.text)!r} in "
                    f"{item.path}; reason: {item.reason}"
                )
                if (update_id, revision, details) not in seen:
                    audit.record(ledger, who, audit.OVERRIDE, update_id, revision, details)
                    seen.add((update_id, revision, details))
    except (OSError, sqlite3.Error) as exc:
        return [
            Problem(str(DEFAULT_LEDGER), 1, 1, "audit",
                    f"could not record {len(used)} privacy override(s) in the audit log: {exc}")
        ]  # fmt: skip
    return []

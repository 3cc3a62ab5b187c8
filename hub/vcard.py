"""Contacts as one downloadable vCard 4.0 file, ``contacts.vcf``, made with vobject.

vCard 4.0 (RFC 6350) because it has the telephone types these contacts need: ``voice``
for calls, ``text`` for SMS, ``textphone`` for TTY. Each contact is a service or an
organisation, not a person, so a card is ``KIND:org`` with the name as ``FN`` and ``ORG``
(and no ``N``, which 4.0 no longer requires). Numbers are as the model holds them:
E.164, or a short service number such as 911 as it is dialled.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt

    from hub.model import Contact, Hub

FILE = "contacts.vcf"


def card(hub: Hub, contact: Contact) -> Any:
    """One contact's card; its UID stays the same for as long as the contact's id does."""
    import vobject  # type: ignore[import-untyped, unused-ignore]  # (only when building)

    vcard = vobject.vCard()
    vcard.add("version").value = "4.0"
    vcard.add("kind").value = "org"
    vcard.add("uid").value = uuid.uuid5(uuid.NAMESPACE_URL, hub.url(f"contacts/#{contact.id}")).urn
    vcard.add("fn").value = contact.name
    vcard.add("org").value = [contact.name]
    vcard.add("categories").value = [contact.category]
    for number, kind in (
        (contact.phone, "voice"),
        (contact.sms, "text"),
        (contact.tty, "textphone"),
    ):
        if number is not None:
            vcard.add("tel").value = number
            vcard.tel_list[-1].params["TYPE"] = [kind]
    if contact.url is not None:
        vcard.add("url").value = str(contact.url)
    note = [contact.note, f"Hours: {contact.hours}" if contact.hours else ""]
    note.append(f"Number checked {contact.verified.isoformat()}.")
    vcard.add("note").value = "\n".join(n for n in note if n)
    vcard.add("source").value = hub.url(FILE)
    return vcard


def cards(hub: Hub) -> str:
    """Every contact, in the contacts page's order, as one vCard file."""
    ordered = sorted(hub.contacts, key=lambda c: c.category)
    return "".join(str(card(hub, c).serialize()) for c in ordered)


def site_files(hub: Hub, now: dt.datetime) -> dict[str, str | bytes]:
    """``contacts.vcf``, for a full build."""
    return {FILE: cards(hub)}

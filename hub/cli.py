"""The ``stormhub`` command. Each command calls one function elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hub import __version__, i18n, words

F = TypeVar("F", bound=Callable[..., Any])


def hub_option(func: F) -> F:
    return click.option(
        "--hub",
        "hub_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        show_default=True,
        envvar="STORMHUB_HUB",
        help="The hub folder (holding mkdocs.yml and content/).",
    )(func)


def ledger_option(func: F) -> F:
    return click.option(
        "--ledger",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The delivery ledger (default: .stormhub/ledger.sqlite in the hub).",
    )(func)


@click.group()
@click.version_option(__version__, prog_name="stormhub")
def main() -> None:
    """StormHub: build a storm hub site from content/ and keep it checked."""


@main.command()
@hub_option
def check(hub_dir: Path) -> None:
    """Check content/ and channels.yaml; list all problems as path:line:col (exit 2)."""
    from hub.checks import check_hub

    hub, configs, warnings = check_hub(hub_dir)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    enabled = sum(c.enabled for c in configs)
    click.echo(
        f"OK: {len(hub.updates)} updates, {len(hub.closures)} closures, "
        f"{len(hub.contacts)} contacts, {len(hub.tips)} tips, {len(hub.resources)} resources; "
        f"{enabled} of {len(configs)} channels enabled."
    )
    for language in hub.info.languages[1:]:
        counts = i18n.coverage(hub, language)
        click.echo(
            f"{words.english_name(language)} ({language}): {counts['current']} of "
            f"{sum(counts.values())} texts translated, {counts['stale']} stale."
        )


@main.command()
@hub_option
@click.option(
    "--site-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the site (default: site_dir of mkdocs.yml, MkDocs' default site/).",
)
def build(hub_dir: Path, site_dir: Path | None) -> None:
    """Build the site into site/, swapping it in only when the build succeeds."""
    import time

    from hub.site import fast

    root = hub_dir.resolve()
    target = site_dir.resolve() if site_dir else fast.site_dir_of(fast.load_site_config(root))
    # Recorded in the manifest, so that the next publish patches this site.
    fast.full_build(root, target, generation=time.time_ns(), now=None)
    click.echo(f"Built {target}")


@main.command()
@hub_option
@click.option(
    "--dev-addr", default="127.0.0.1:8000", show_default=True, help="Address to serve on."
)
def serve(hub_dir: Path, dev_addr: str) -> None:
    """Serve the site with live reload when content/ or mkdocs.yml change."""
    from hub.site.serve import serve_site

    serve_site(hub_dir, dev_addr)


@main.command()
@hub_option
@ledger_option
def fanout(hub_dir: Path, ledger: Path | None) -> None:
    """Push every live update to every enabled channel, exactly once (exit 1 on failures)."""
    from hub.console import run_fanout

    raise SystemExit(run_fanout(hub_dir, ledger))


@main.command()
@hub_option
@click.argument("update_id")
def preview(hub_dir: Path, update_id: str) -> None:
    """Show what each channel would post for UPDATE_ID, with its length and limit."""
    from hub.console import show_preview

    show_preview(hub_dir, update_id)


@main.command()
@hub_option
@ledger_option
def status(hub_dir: Path, ledger: Path | None) -> None:
    """Show the ledger: per update, where it went, with links."""
    from hub.console import show_status

    show_status(hub_dir, ledger)


@main.command()
@hub_option
@click.option(
    "--enabled-only", is_flag=True, help="leave out the channels switched off in channels.yaml"
)
@click.option(
    "--exercise",
    is_flag=True,
    help="an exercise: build the site with an EXERCISE banner into .stormhub/drill/site, "
    "mark every post EXERCISE, and post for real to channels with drill: true",
)
def drill(hub_dir: Path, enabled_only: bool, exercise: bool) -> None:
    """Rehearse: fan out every update to a local simulator of each platform.

    Every channel in channels.yaml takes part, switched off or not, with drill
    credentials in place of real ones.
    """
    if exercise:
        from hub.exercise import run_exercise_command

        raise SystemExit(run_exercise_command(hub_dir, everything=not enabled_only))
    from hub.console import run_drill_command

    raise SystemExit(run_drill_command(hub_dir, everything=not enabled_only))


@main.command()
@hub_option
@click.argument("update_id")
@click.option("--reason", default="", help="One sentence shown with the retraction notice.")
@click.option("--by", default=None, help="Who retracts it (default: $STORMHUB_USER, else you).")
@ledger_option
def retract(
    hub_dir: Path, update_id: str, reason: str, by: str | None, ledger: Path | None
) -> None:
    """Take UPDATE_ID back: delete its posts where possible, else post a notice."""
    from hub.audit import retract as retract_logged
    from hub.console import run_fanout

    path = retract_logged(hub_dir, ledger, update_id, reason, by)
    click.echo(f"Marked {path} as retracted; rebuild the site to show it.")
    raise SystemExit(run_fanout(hub_dir, ledger))


@main.command()
@hub_option
@click.argument("update_id", required=False)
@click.option("--by", default=None, help="Who approves (default: $STORMHUB_USER, else you).")
@click.option("--pending", is_flag=True, help="List the updates waiting for approval instead.")
@ledger_option
def approve(
    hub_dir: Path, update_id: str | None, by: str | None, pending: bool, ledger: Path | None
) -> None:
    """Approve UPDATE_ID's current revision, so the fan-out may send it.

    hub.yaml's approval: says which updates need it; an edit needs approving again.
    """
    from hub.approvals import run_approve

    run_approve(hub_dir, update_id, by, ledger, list_pending=pending)


@main.command()
@hub_option
@ledger_option
@click.option("--update", "update_id", default=None, help="Only this update's entries.")
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV to stdout instead of a table.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the CSV to this file.",
)
def audit(
    hub_dir: Path, ledger: Path | None, update_id: str | None, as_csv: bool, output: Path | None
) -> None:
    """Show the audit log: approvals, overrides, publishes, corrections, retractions."""
    from hub.audit import show_audit

    show_audit(hub_dir, ledger, update_id=update_id, as_csv=as_csv, output=output)


@main.command("new")
@hub_option
@click.argument("title")
@click.option(
    "--severity",
    required=True,
    type=click.Choice(["info", "advisory", "warning", "emergency"]),
    help="How serious the update is.",
)
@click.option("--tag", "tags", multiple=True, help="A topic, e.g. transit (repeat for more).")
@click.option("--body", default=None, help="The text of the update (Markdown).")
@click.option("--body-file", default=None, help="Read the text from this file (- for stdin).")
@click.option("--edit", is_flag=True, help="Write the text in $VISUAL or $EDITOR.")
@click.option("--image", default=None, help="A picture: copied into content/images/.")
@click.option("--alt", default=None, help="The picture's alt text (needed with --image).")
@click.option("--supersedes", default=None, help="The id of the update this one corrects.")
@click.option("--slug", default=None, help="The file-name slug instead of one from the title.")
@click.option("--publish", is_flag=True, help="Then publish: check, site, fan-out.")
@click.option(
    "--by", default=None, help="Who writes it, as author: (default: $STORMHUB_USER, else you)."
)
@ledger_option
def new(
    hub_dir: Path,
    title: str,
    severity: str,
    tags: tuple[str, ...],
    body: str | None,
    body_file: str | None,
    edit: bool,
    image: str | None,
    alt: str | None,
    supersedes: str | None,
    slug: str | None,
    publish: bool,
    by: str | None,
    ledger: Path | None,
) -> None:
    """Write a new update, content/updates/<time>-<slug>.md, checked before it is kept."""
    from hub.audit import current_user
    from hub.authoring import new_update, publish_now

    made = new_update(
        hub_dir,
        title,
        severity,
        tags=tags,
        body=body,
        body_file=body_file,
        edit=edit,
        image=image,
        alt=alt,
        supersedes=supersedes,
        slug=slug,
        author=current_user(by),
        screen=publish,
    )
    permalink = made.hub.permalink(made.hub.update(made.id))
    click.echo(f"Created {made.id}: {made.path.relative_to(Path(hub_dir).resolve())}")
    if not publish:
        click.echo(f"Once published it will be at {permalink}")
        return
    raise SystemExit(publish_now(hub_dir, ledger, by))


@main.group()
def closure() -> None:
    """Set or clear a closure in content/closures.yaml, keeping its comments and layout."""


@closure.command("set")
@hub_option
@click.argument("facility")
@click.option(
    "--status",
    type=click.Choice(["closed", "limited", "diverting", "open"]),
    default=None,
    help="Needed for a new closure; a change starts a new period (from = now).",
)
@click.option("--from", "from_", default=None, help="Start: 2026-11-28 08:00 (hub time) or now.")
@click.option("--until", default=None, help="End: 2026-11-28 08:00 (hub time) or now.")
@click.option("--note", default=None, help="One line for the public ('' removes it).")
@click.option(
    "--alternative",
    "alternatives",
    multiple=True,
    help="What to use instead (repeat for more; replaces the list; '' removes it).",
)
@click.option("--location", default=None, help="The place's key in the gbp channel's locations.")
@click.option("--new", "new_entry", is_flag=True, help="Add it even if a similar name exists.")
@click.option("--publish", is_flag=True, help="Then publish: check, site, fan-out.")
@click.option("--by", default=None, help="Who publishes (default: $STORMHUB_USER, else you).")
@ledger_option
def closure_set(
    hub_dir: Path,
    facility: str,
    status: str | None,
    from_: str | None,
    until: str | None,
    note: str | None,
    alternatives: tuple[str, ...],
    location: str | None,
    new_entry: bool,
    publish: bool,
    by: str | None,
    ledger: Path | None,
) -> None:
    """Update the closure of FACILITY (name or id), or add it if there is none."""
    from hub.authoring import publish_now, set_closure

    made = set_closure(
        hub_dir,
        facility,
        status=status,
        from_=from_,
        until=until,
        note=note,
        alternatives=alternatives or None,
        location=location,
        new=new_entry,
        screen=publish,
    )
    click.echo(f"{made.action.capitalize()} closure {made.id} in content/closures.yaml")
    if publish:
        link = made.hub.url(f"closures/#{made.id}")
        raise SystemExit(publish_now(hub_dir, ledger, by, f"Closures page: {link}"))


@closure.command("clear")
@hub_option
@click.argument("facility")
@click.option("--at", default=None, help="When it reopened: 2026-11-28 08:00 (hub time) or now.")
@click.option("--note", default=None, help="A note about the reopening.")
@click.option("--publish", is_flag=True, help="Then publish: check, site, fan-out.")
@click.option("--by", default=None, help="Who publishes (default: $STORMHUB_USER, else you).")
@ledger_option
def closure_clear(
    hub_dir: Path,
    facility: str,
    at: str | None,
    note: str | None,
    publish: bool,
    by: str | None,
    ledger: Path | None,
) -> None:
    """Mark FACILITY reopened: status open from now (or --at), shown as reopened."""
    from hub.authoring import clear_closure, publish_now

    made = clear_closure(hub_dir, facility, at=at, note=note, screen=publish)
    click.echo(f"Reopened {made.id} in content/closures.yaml")
    if publish:
        link = made.hub.url(f"closures/#{made.id}")
        raise SystemExit(publish_now(hub_dir, ledger, by, f"Closures page: {link}"))


@main.command()
@hub_option
@click.option("--by", "by", default=None, help="Who activates it (default: $STORMHUB_USER).")
@click.option("--template", "template_id", default=None, help="The prepared first update.")
@click.option(
    "--set",
    "values",
    multiple=True,
    metavar="NAME=VALUE",
    help="A placeholder's value, e.g. --set storm=Imogen (repeat for more).",
)
@click.option("--event", default=None, help="The hub's event from now on (hub.yaml event:).")
@ledger_option
def activate(
    hub_dir: Path,
    by: str | None,
    template_id: str | None,
    values: tuple[str, ...],
    event: str | None,
    ledger: Path | None,
) -> None:
    """Switch a hub on standby live: status, banner and the first update, in one step."""
    from hub.standby import activate_command

    activate_command(hub_dir, by, template_id, values, event, ledger)


@main.command()
@click.option(
    "--template",
    "template",
    required=True,
    type=click.Choice(["hurricane", "heat", "power-outage", "cyberattack"]),
    help="What the hub is for.",
)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(template: str, directory: Path) -> None:
    """Create a ready hub on standby in DIRECTORY (new or empty) from a template."""
    from hub.init import init_command

    init_command(template, directory)


@main.command()
@hub_option
@ledger_option
@click.option("--by", default=None, help="Who publishes (default: $STORMHUB_USER, else you).")
def publish(hub_dir: Path, ledger: Path | None, by: str | None) -> None:
    """Check, put new and changed updates live at once, fan out, then rebuild the whole site.

    Nothing goes out if check finds a problem (exit 2); exit 1 when a channel or the
    full rebuild failed.
    """
    from hub.publish import run_publish

    raise SystemExit(run_publish(hub_dir, by=by, ledger=ledger))

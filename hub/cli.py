"""The ``stormhub`` command. Each command calls one function elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hub import __version__

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


@main.command()
@hub_option
@click.option(
    "--site-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the site (default: site/ in the hub folder).",
)
def build(hub_dir: Path, site_dir: Path | None) -> None:
    """Build the site into site/, swapping it in only when the build succeeds."""
    from hub.site.build import build_site

    target = build_site(hub_dir, site_dir=site_dir)
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
def drill(hub_dir: Path, enabled_only: bool) -> None:
    """Rehearse: fan out every update to a local simulator of each platform.

    Every channel in channels.yaml takes part, switched off or not, with drill
    credentials in place of real ones.
    """
    from hub.console import run_drill_command

    raise SystemExit(run_drill_command(hub_dir, everything=not enabled_only))


@main.command()
@hub_option
@click.argument("update_id")
@click.option("--reason", default="", help="One sentence shown with the retraction notice.")
@ledger_option
def retract(hub_dir: Path, update_id: str, reason: str, ledger: Path | None) -> None:
    """Take UPDATE_ID back: delete its posts where possible, else post a notice."""
    from hub.authoring import mark_retracted
    from hub.console import run_fanout

    path = mark_retracted(hub_dir, update_id, reason)
    click.echo(f"Marked {path} as retracted; rebuild the site to show it.")
    raise SystemExit(run_fanout(hub_dir, ledger))

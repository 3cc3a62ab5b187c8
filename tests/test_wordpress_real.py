"""The ``wordpress`` channel against a real WordPress, started on loopback for the module.

Debian's WordPress (``/usr/share/wordpress``) runs under ``php -S 127.0.0.1:<port>``
with ``tests/wordpress/router.php`` and its own ``wp-config.php`` (Debian's reads
``/etc/wordpress``; nothing is written there), on a MariaDB started by the test in a
temporary folder and reached by a unix socket (no TCP). ``tests/wordpress/install.php``
runs ``wp_install()``, sets pretty permalinks, makes an Editor ``stormhub`` and an
Application Password for it. The site is http, so ``WP_ENVIRONMENT_TYPE`` is ``local``.

``scripts/wordpress-deps`` installs the packages; without them these tests fail (never
skip), so CI cannot pass without running them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.channels import make_channel
from hub.channels.base import PublishError
from hub.channels.wordpress import WordPressChannel
from hub.config import WordPressConfig
from hub.content import load_hub
from hub.fanout import Fanout, RetryPolicy
from hub.model import Hub
from tests.conftest import NOW, ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SUPPORT = Path(__file__).resolve().parent / "wordpress"
WP_ROOT = Path("/usr/share/wordpress")
# $wp_rewrite keeps the structure it was loaded with: set it there, then rebuild the rules.
PERMALINKS = "global $wp_rewrite; $wp_rewrite->set_permalink_structure('{structure}'); flush_rewrite_rules(false);"
FAST = RetryPolicy(attempts=2, base=0.01, cap=0.05, budget=1.0)


def _mariadbd() -> str | None:
    return shutil.which("mariadbd") or (
        "/usr/sbin/mariadbd" if os.access("/usr/sbin/mariadbd", os.X_OK) else None
    )


def _missing() -> list[str]:
    missing = []
    if not (WP_ROOT / "wp-settings.php").is_file():
        missing.append("wordpress")
    if shutil.which("php") is None:
        missing.append("php-cli")
    elif subprocess.run(
        ["php", "-r", 'exit(extension_loaded("mysqli") ? 0 : 1);'], check=False
    ).returncode:
        missing.append("php-mysql")
    if _mariadbd() is None or shutil.which("mariadb-install-db") is None:
        missing.append("mariadb-server")
    if shutil.which("mariadb") is None:
        missing.append("mariadb-client")
    return missing


@dataclass
class Site:
    url: str
    username: str
    password: str
    version: str
    env: dict[str, str]

    def api(self, method: str, route: str, **kwargs: Any) -> httpx.Response:
        """A request to the site's REST API as the user, bypassing the adapter."""
        with httpx.Client(timeout=10, auth=(self.username, self.password)) as client:
            return client.request(method, f"{self.url}/wp-json/wp/v2/{route}", **kwargs)

    def php(self, code: str) -> str:
        """Run *code* inside the site (its wp-config.php loaded) with php-cli."""
        script = (
            "$_SERVER['HTTP_HOST'] = parse_url(getenv('STORMHUB_WP_URL'), PHP_URL_HOST);"
            f"require '{SUPPORT}/wp-config.php';" + code
        )
        done = subprocess.run(
            ["php", "-r", script], env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait(check: Any, what: str, log: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not start within {seconds:g} s:\n{text}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End *process* and its children (php -S forks its workers): its own process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers left behind by their parent


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    # Fails rather than skips (scripts/test installs them), so CI cannot pass without it.
    if _missing():
        pytest.fail(f"a real WordPress needs {', '.join(_missing())}: run scripts/wordpress-deps")
    # A short folder: a unix socket's path must fit in 108 bytes.
    work = Path(tempfile.mkdtemp(prefix="stormhub-wp-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        data, sock = work / "db", work / "mysql.sock"
        as_root = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={data}", *as_root,
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True,
        )  # fmt: skip
        db_log = work / "mariadbd.log"
        processes.append(
            subprocess.Popen(
                [
                    _mariadbd() or "mariadbd",
                    "--no-defaults",
                    f"--datadir={data}",
                    f"--socket={sock}",
                    "--skip-networking",
                    f"--pid-file={work / 'pid'}",
                    f"--log-error={db_log}",
                    "--innodb-buffer-pool-size=16M",
                    *as_root,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        client = ["mariadb", "--no-defaults", f"--socket={sock}", "-uroot"]

        def db_up() -> bool:
            ping = subprocess.run([*client, "-e", "SELECT 1"], capture_output=True, check=False)
            return ping.returncode == 0

        _wait(db_up, "mariadbd", db_log)
        subprocess.run([*client, "-e", "CREATE DATABASE wordpress"], check=True)

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        (work / "content" / "plugins").mkdir(parents=True)
        (work / "content" / "themes").mkdir()
        env = {
            **os.environ,
            "STORMHUB_WP_SOCKET": str(sock),
            "STORMHUB_WP_URL": url,
            "STORMHUB_WP_CONTENT": str(work / "content"),
            "STORMHUB_WP_SALT": base64.b64encode(os.urandom(24)).decode(),
            "STORMHUB_WP_ROLE": "editor",
            "PHP_CLI_SERVER_WORKERS": "2",
        }
        installed = subprocess.run(
            ["php", str(SUPPORT / "install.php")], env=env, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        assert installed.returncode == 0, installed.stdout + installed.stderr
        account = json.loads(installed.stdout.strip().splitlines()[-1])
        php_log = work / "php.log"
        with php_log.open("wb") as log:
            processes.append(
                subprocess.Popen(
                    ["php", "-S", f"127.0.0.1:{port}", str(SUPPORT / "router.php")],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=work,
                    start_new_session=True,
                )
            )

        def web_up() -> bool:
            try:
                return httpx.get(f"{url}/wp-json/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(web_up, "php -S", php_log)
        yield Site(url, account["user"], account["password"], account["version"], env)
    finally:
        for process in reversed(processes):
            _stop(process)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def hub() -> Hub:
    return load_hub(ROOT)


@pytest.fixture
def channel(site: Site, hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[WordPressChannel]:
    monkeypatch.setenv("WORDPRESS_APP_PASSWORD", site.password)
    config = WordPressConfig(
        name="newsroom",
        url=site.url,  # type: ignore[arg-type]
        username=site.username,
        app_password="${WORDPRESS_APP_PASSWORD}",
        post_tags=("hurricane-imogen", "Storm Desk"),
        timeout=10,
    )
    made = make_channel(config, hub)
    assert isinstance(made, WordPressChannel)
    try:
        yield made
    finally:
        made.close()


def test_the_site_is_the_debian_wordpress(site: Site) -> None:
    assert site.version.startswith("6.")
    index = httpx.get(f"{site.url}/wp-json/", timeout=10).json()
    assert "application-passwords" in index["authentication"]  # available: local environment


def test_publish_find_edit_and_trash_a_post(
    site: Site, channel: WordPressChannel, hub: Hub
) -> None:
    update = hub.updates[0]
    post = channel.render(update)
    receipt = channel.publish(post, "stormhub-real-1")
    slug = channel.slug(update.id)
    assert receipt.url == f"{site.url}/{slug}/"
    made = site.api("GET", f"posts/{receipt.remote_id}", params={"context": "edit"}).json()
    assert made["status"] == "publish" and made["slug"] == slug
    assert made["title"]["raw"] == update.title
    assert post.link in made["content"]["raw"]
    assert f"revision={update.revision}" in made["content"]["raw"]
    tags = site.api("GET", "tags", params={"include": ",".join(map(str, made["tags"]))}).json()
    assert sorted(t["name"] for t in tags) == ["Storm Desk", "hurricane-imogen"]
    # The public page of the post is WordPress's own.
    public = site.api("GET", "posts", params={"slug": slug}).json()
    assert [p["id"] for p in public] == [int(receipt.remote_id)]

    # A retry of the same delivery (its answer lost) finds the post: still one.
    assert channel.publish(post, "stormhub-real-1") == receipt
    assert channel.find(post) == receipt

    # A correction: find() says "not yet" until the edit lands, then the edited post.
    fixed = replace(
        post,
        revision="0123456789abcdef",
        subject=f"{update.title} (corrected)",
        html=post.html.replace(update.revision, "0123456789abcdef"),
    )
    assert channel.find(fixed) is None
    assert channel.edit(receipt, fixed) == receipt
    edited = site.api("GET", f"posts/{receipt.remote_id}", params={"context": "edit"}).json()
    assert edited["title"]["raw"] == f"{update.title} (corrected)"
    assert edited["slug"] == slug and edited["status"] == "publish"
    assert channel.find(fixed) == receipt

    # The retraction trashes it (twice is fine); the slug is free again.
    channel.delete(receipt)
    channel.delete(receipt)
    trashed = site.api("GET", f"posts/{receipt.remote_id}", params={"context": "edit"}).json()
    assert trashed["status"] == "trash" and trashed["slug"] == f"{slug}__trashed"
    assert channel.find(fixed) is None
    again = channel.publish(post, "stormhub-real-2")
    assert again.remote_id != receipt.remote_id and again.url == receipt.url
    channel.delete(again)


def test_a_wrong_application_password_is_fatal_and_never_shown(
    site: Site, channel: WordPressChannel, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "abcd efgh ijkl mnop qrst uvwx"
    monkeypatch.setenv("WORDPRESS_APP_PASSWORD", wrong)
    with pytest.raises(PublishError) as caught:
        channel.publish(channel.render(hub.updates[1]), "stormhub-real-3")
    error = caught.value
    assert error.status in (400, 401) and error.fatal and not error.transient
    message = str(error)
    # What WordPress 6.1 really answers, and what the message makes of it.
    assert "Status is forbidden" in message or "rest_cannot_create" in message
    assert "credentials" in message and "WORDPRESS_APP_PASSWORD" in message
    assert "Application Password" in message and "WP_ENVIRONMENT_TYPE" in message
    assert wrong not in message and wrong.replace(" ", "") not in message


def test_the_fanout_posts_every_update_once(
    site: Site, hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORDPRESS_APP_PASSWORD", site.password)
    config = WordPressConfig(
        name="fanout",
        url=site.url,  # type: ignore[arg-type]
        username=site.username,
        app_password="${WORDPRESS_APP_PASSWORD}",
        backfill=True,
        timeout=10,
    )
    ledger = tmp_path / "ledger.sqlite"
    report = Fanout(hub, [config], ledger, policy=FAST, now=NOW).run()
    assert not report.failed, report.failed
    wanted = [u for u in hub.updates if config.wants(u) and u.retracted is None]
    assert {o.update_id for o in report.outcomes if o.status == "posted"} == {u.id for u in wanted}
    assert Fanout(hub, [config], ledger, policy=FAST, now=NOW).run().outcomes == []
    channel = make_channel(config, hub)
    try:
        assert isinstance(channel, WordPressChannel)
        for update in wanted:
            found = site.api(
                "GET", "posts", params={"slug": channel.slug(update.id), "context": "edit"}
            ).json()
            assert [p["title"]["raw"] for p in found] == [update.title]
    finally:
        channel.close()


def test_plain_permalinks_are_reached_by_rest_route(
    site: Site, channel: WordPressChannel, hub: Hub
) -> None:
    """Last: it switches the site to plain permalinks (and back)."""
    site.php(PERMALINKS.format(structure=""))
    try:
        plain = httpx.get(f"{site.url}/wp-json/wp/v2/posts", timeout=10)
        assert "json" not in plain.headers.get("content-type", "")  # no /wp-json/ any more
        post = channel.render(hub.updates[2])
        receipt = channel.publish(post, "stormhub-real-4")
        assert receipt.url == f"{site.url}/?p={receipt.remote_id}"
        assert channel.find(post) == receipt
        channel.delete(receipt)
    finally:
        site.php(
            "update_option('permalink_structure', '/%postname%/'); flush_rewrite_rules(false);"
        )

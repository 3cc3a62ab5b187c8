"""``wordpress``: the newsroom, each update as one WordPress post through the REST API.

Requests (WordPress 5.6+; checked against WordPress's own code, ``wp-includes/user.php``,
``rest-api.php`` and ``rest-api/endpoints/class-wp-rest-{posts,terms}-controller.php``
in WordPress/wordpress-develop and Debian's wordpress 6.1.9, and against a real
WordPress in ``tests/test_wordpress_real.py``)

- Auth: HTTP Basic, ``username:application password``. WordPress strips everything but
  letters and digits from an Application Password, so it may be written with or without
  its spaces. WordPress only accepts them where ``wp_is_application_passwords_available()``:
  over https, or over http when ``WP_ENVIRONMENT_TYPE`` is ``local``; elsewhere the
  header is ignored and the request is anonymous.
- Create: ``POST {url}/wp-json/wp/v2/posts`` (JSON: ``title``, ``content``, ``status``,
  ``slug``, ``categories``, ``tags``, ``date_gmt``), answered 201 with the post object;
  the receipt is its ``id`` and its ``link``.
- Edit: ``POST /wp/v2/posts/<id>`` with ``title`` and ``content`` only (status, terms and
  slug stay as the site's editors left them). Retraction: ``DELETE /wp/v2/posts/<id>``
  without ``force``, which moves the post to the Trash (the site's editors can restore
  it; WordPress empties the Trash after 30 days); 410 ``rest_already_trashed`` and 404
  ``rest_post_invalid_id`` count as done.
- Tags: the API takes term ids, so ``post_tags`` names are looked up once per run with
  ``GET /wp/v2/tags?search=<name>`` and missing ones made with ``POST /wp/v2/tags``
  (a 400 ``term_exists`` carries the id of the tag that is already there), every name
  at the same time, so that any number of tags costs one round trip (two when one is
  made). Making a tag needs ``manage_categories`` (Editor); an Author can only use
  existing tags.
- A site with plain permalinks has no ``/wp-json/`` route: a 404 there that is not the
  API's JSON makes the channel use ``/?rest_route=/wp/v2/...`` instead, which always works.

Requests for a first post: ``GET tags`` (one per tag, side by side; none after the
run's first post) and ``POST posts``; with a missing tag, ``POST tags`` between them.

The post
    ``title`` is the update's title (``Retracted: ...`` for a retraction notice, which is
    rendered but never posted: a retraction trashes the post). ``content`` is HTML: the
    severity and local time, the update's image, the body through
    :func:`hub.text.markdown_to_html` (with absolute links, as in the feeds), the
    hashtags, a link to the hub's permalink and a marker comment
    ``<!-- stormhub update=<id> revision=<revision> -->``. The image is *referenced* at
    its public URL on the hub site, not uploaded to ``/wp/v2/media``: the hub site is
    where every channel's link points and is published before the fan-out runs, an
    edit needs no new upload, and a retried or crashed delivery leaves no orphan media
    in the site's library. WordPress has no practical length limit (``post_content`` is
    a LONGTEXT; PHP's ``post_max_size``, 8 MB by default, bounds a request), so nothing
    is cut and nothing is threaded. ``date_gmt`` is the update's time when that is over
    five minutes past (a backfilled update keeps its place in the newsroom); a newer one
    is left to WordPress's clock, since a ``date_gmt`` ahead of the site's clock would
    make a ``publish`` post a scheduled (``future``) one.

Exactly once
    WordPress has no idempotency key. Each post gets a deterministic slug,
    ``<update id>-<8 hex of sha256(channel, update id)>``, which WordPress keeps as given
    when nothing else holds it (the hash makes a clash with a human's post unlikely; a
    trashed post's slug gets ``__trashed`` appended, freeing it). A retry of
    :meth:`publish` (not its first try in this run: the request before may have been
    acted on, its answer lost) first looks the slug up (``GET /wp/v2/posts?slug=...&
    status=publish,future,draft,pending,private&context=edit``) and edits the post it
    finds instead of making a second one. Earlier runs are the fan-out's part: for a
    delivery a crash left claimed, or that failed (``find_after_failure``: a timeout
    may have been acted on), it calls :meth:`find` (the same lookup) before the first
    try. :meth:`find` answers with the post only when its marker carries the rendered
    revision, so a correction or retraction that did not land is still made; a post of
    the update's older revision that it meets is handed to the :meth:`publish` of the
    same revision that follows it, which brings that post up to date instead of making
    a second one. What remains: two fan-outs racing on
    one delivery (the ledger's claim prevents that), or an editor renaming the slug of a
    post whose delivery is still unrecorded.

Errors
    WordPress answers ``{"code", "message", "data": {"status"}}`` (WP_Error). 401 and
    403 are fatal and say what to fix, naming the variable and, for http sites, the
    https rule; so is the 400 ``rest_invalid_param`` "Status is forbidden." that the
    slug lookup (of a retry, or :meth:`find`) gets when WordPress sees no user (401
    inside) or a Subscriber (403 inside): parameters are checked before permissions.
    ``incorrect_password`` and ``invalid_username`` exist
    (``wp_authenticate_application_password``), but the REST server looks for them
    (``rest_application_password_check_errors``, priority 90) before the user is looked
    up (``rest_cookie_check_errors``, 100), so a real WordPress 6.1 answers a wrong
    Application Password as if nobody were logged in, exactly like an ignored or
    stripped Authorization header; the message names every cause. A 403 is the user's
    role (``rest_cannot_publish`` for a Contributor, ``rest_cannot_create`` on tags for
    an Author). 429 and 5xx (maintenance mode is a 503 with ``Retry-After: 600``) are
    transient and honour ``Retry-After``; other refusals are permanent, in WordPress's
    words (``rest_invalid_param`` with the parameter's own message). WordPress core
    sends no rate-limit headers; a 429 comes from a host or firewall in front of it.

Nothing connects, and no variable is read, before the first request: ``stormhub preview``
builds channels only to render.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

from hub.channels.base import Post, PublishError, Receipt, retry_after_seconds
from hub.channels.http import HttpChannel
from hub.config import WordPressConfig
from hub.feeds import entry_html
from hub.site.pages import time_label
from hub.text import plain_text
from hub.words import translator

if TYPE_CHECKING:
    from hub.model import Hub, Update

PLATFORM = "WordPress"
STATUSES = "publish,future,draft,pending,private"  # every status but trash (and auto-draft)
BACKDATE_AFTER = dt.timedelta(minutes=5)  # newer updates take WordPress's own clock
_MARKER = re.compile(r"<!--\s*stormhub update=(\S+) revision=([0-9a-f]+)\s*-->")
_DASHES = re.compile(r"-+")  # kses turns "--" in a comment into "-" for most roles
_NO_USER = "Status is forbidden."  # rest_forbidden_status, inside a 400 rest_invalid_param
_BAD_LOGIN = ("invalid_username", "invalid_email")
_NO_APP_PASSWORDS = ("application_passwords_disabled", "application_passwords_disabled_for_user")
TAG_WORKERS = 4  # post_tags looked up at once; more would only queue at the site


def marker(update_id: str, revision: str) -> str:
    """The comment that ties a post to the update and revision it shows."""
    return f"<!-- stormhub update={update_id} revision={revision} -->"


class WordPressChannel(HttpChannel[WordPressConfig]):
    type = "wordpress"
    platform = PLATFORM
    max_chars = 1_000_000  # no practical limit (LONGTEXT); nothing is cut
    supports_edit = True  # POST /wp/v2/posts/<id>
    supports_delete = True  # DELETE /wp/v2/posts/<id>: to the Trash
    supports_threads = False
    takes_images = True  # referenced at the hub's public URL
    idempotent = False  # no idempotency key: a retry looks the slug up first instead
    can_find = True  # by slug, checked against the marker's revision
    find_after_failure = True  # a timed-out create may have been made: look before the next

    def __init__(self, config: WordPressConfig, hub: Hub) -> None:
        super().__init__(config, hub)
        self._plain_routes = False  # True: the site has no /wp-json/ (plain permalinks)
        self._tag_ids: dict[str, int] = {}
        # What the last find() met: (slug, revision asked for, our post of an older one).
        self._older: tuple[str, str, dict[str, Any]] | None = None

    def length(self, text: str) -> int:
        return len(text)  # WordPress counts nothing; code points, as PHP's mb_strlen

    # --- rendering (pure) ---------------------------------------------------------

    def slug(self, update_id: str) -> str:
        """The post's slug: the update id and a hash of channel and update."""
        digest = hashlib.sha256(f"{self.config.name}\0{update_id}".encode()).hexdigest()[:8]
        return f"{update_id[:180]}-{digest}".lower()

    def render(self, update: Update, *, correction: bool = False, retraction: bool = False) -> Post:
        """The update as one post: a plain-text part (for preview) and the HTML content."""
        _ = translator(self.hub.lang)
        link = self.hub.permalink(update)
        posted = time_label(self.hub, update.time)
        if retraction:
            title = f"{_('Retracted:')} {update.title}"
            body = f"{_('Please disregard this update.')} {update.retraction}".strip()
        else:
            title = f"{_('Correction:')} {update.title}" if correction else update.title
            body = plain_text(update.body)
        text = f"{title}\n{_(update.severity.label)} · {posted}\n\n{body}"
        if self.config.hashtags and not retraction:
            text += "\n\n" + " ".join(f"#{tag}" for tag in self.config.hashtags)
        text += f"\n\n{link}"
        return self.post(
            update,
            [text],
            link,
            subject=title,
            html=self.content(update, posted, link, correction=correction, retraction=retraction),
            extra={"slug": self.slug(update.id), "time": update.time},
        )

    def content(
        self, update: Update, posted: str, link: str, *, correction: bool, retraction: bool
    ) -> str:
        """The post's HTML: time and severity, the update, the permalink, the marker."""
        _ = translator(self.hub.lang)
        href = html.escape(link)
        when = update.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        lines = [
            f"<p><strong>{html.escape(_(update.severity.label))}</strong> · "
            f'<time datetime="{when}">{html.escape(posted)}</time></p>'
        ]
        if retraction:
            reason = f" {html.escape(update.retraction)}" if update.retraction else ""
            lines.append(
                f"<p><strong>{html.escape(_('Retracted:'))}</strong> "
                f"{html.escape(_('please disregard this update.'))}{reason}</p>"
            )
        else:
            if correction and not update.supersedes:
                replaces = _("this replaces an earlier version of this update.")
                lines.append(
                    f"<p><strong>{html.escape(_('Correction:'))}</strong> "
                    f"{html.escape(replaces)}</p>"
                )
            lines.append(entry_html(self.hub, update))
            if self.config.hashtags:
                lines.append(
                    "<p>" + " ".join(f"#{html.escape(t)}" for t in self.config.hashtags) + "</p>"
                )
        lines.append(f'<p>Latest version and all updates: <a href="{href}">{href}</a></p>')
        lines.append(marker(update.id, update.revision))
        return "\n".join(lines)

    # --- requests --------------------------------------------------------------------

    @property
    def site(self) -> str:
        return str(self.config.url).rstrip("/")

    def endpoint(
        self, route: str, params: dict[str, Any] | None = None, *, plain: bool | None = None
    ) -> httpx.URL:
        """The URL of ``/wp/v2/<route>``: under /wp-json/, or ?rest_route= on plain sites."""
        query = dict(params or {})
        if self._plain_routes if plain is None else plain:
            # httpx replaces a URL's query with params: one dict
            return httpx.URL(f"{self.site}/", params={"rest_route": f"/wp/v2/{route}", **query})
        return httpx.URL(f"{self.site}/wp-json/wp/v2/{route}", params=query)

    def call(self, method: str, route: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> Any:
        """One authenticated API call; its JSON, or a :class:`PublishError`."""
        auth = self._auth()
        params = kwargs.pop("params", None)
        plain = self._plain_routes  # read once: tag lookups run side by side
        url = str(self.endpoint(route, params, plain=plain))
        response = self.request(method, url, ok=(404, *ok), auth=auth, **kwargs)
        if not plain and not _from_api(response):
            # No /wp-json/ route (plain permalinks): a 404 page, or the home page behind a
            # server that sends every path to index.php. The same request by ?rest_route=.
            self._plain_routes = True
            url = str(self.endpoint(route, params, plain=True))
            response = self.request(method, url, ok=(404, *ok), auth=auth, **kwargs)
        if response.status_code == 404 and 404 not in ok:
            raise self.error(response)
        try:
            return response.json()
        except ValueError:
            raise PublishError(
                f"{PLATFORM} at {self.site} answered {response.status_code} with something "
                "that is not the REST API's JSON (a cache or security plugin's page?); retrying",
                transient=True,
                status=response.status_code,
            ) from None

    def _auth(self) -> httpx.BasicAuth:
        password = self.credential(
            "app_password", "an Application Password of the WordPress user (Users > Profile)"
        )
        compact = re.sub(r"[^A-Za-z0-9]", "", password)
        self.remember_secret(compact)  # WordPress ignores the spaces: scrub both forms
        return httpx.BasicAuth(self.config.username, password)

    def error(self, response: httpx.Response) -> PublishError:
        status = response.status_code
        code, message = _wp_error(response)
        detail = self.scrub(f"{code}: {message}" if code else message or self.detail(response))
        wait = retry_after_seconds(response.headers, "x-ratelimit-reset")
        env = self.env_name("app_password")
        if status == 429:
            return PublishError(
                f"{PLATFORM} (or a firewall in front of it) is limiting requests ({detail}); "
                "retrying",
                transient=True,
                retry_after=wait,
                status=status,
            )
        if status >= 500:
            return PublishError(
                f"{PLATFORM} server error {status} ({detail}); retrying",
                transient=True,
                retry_after=wait,
                status=status,
            )
        if 300 <= status < 400:
            where = self.scrub(response.headers.get("location", "another address"))
            return PublishError(
                f"{PLATFORM} at {self.site} redirects to {where}: set url: in channels.yaml "
                "to the site's own https address",
                transient=False,
                status=status,
                fatal=True,
            )
        inner = status
        if status == 400 and code == "rest_invalid_param" and _NO_USER in message:
            # WordPress checks the status list before permissions, so a lookup of drafts by
            # nobody (401 inside) or by a Subscriber (403 inside) is an invalid parameter.
            inner = 403 if _inner_status(response) == 403 else 401
        if inner == 401:
            return PublishError(
                f"{PLATFORM} rejected the credentials ({status} {detail}): "
                f"{self._fix_401(code, env)}",
                transient=False,
                status=status,
                fatal=True,
            )
        if inner == 403:
            return PublishError(
                f"{PLATFORM} refused the user {self.config.username!r} ({status} {detail}): "
                "give the user the Author role (Editor to create tags) under Users, or create "
                f"a new Application Password for a user who has it and set {env}",
                transient=False,
                status=status,
                fatal=True,
            )
        if status == 404 and code in ("rest_no_route", ""):
            return PublishError(
                f"{PLATFORM} at {self.site} has no REST API route here (404 {detail}): check "
                "url: in channels.yaml and that the REST API is not switched off",
                transient=False,
                status=status,
                fatal=True,
            )
        return PublishError(
            f"{PLATFORM} refused the post ({status} {detail})", transient=False, status=status
        )

    def _fix_401(self, code: str, env: str) -> str:
        new_password = f"create a new Application Password under Users > Profile and set {env}"
        https_rule = (
            f"{self.site} is served over http, where WordPress ignores Application Passwords "
            "unless WP_ENVIRONMENT_TYPE is local: set url: to its https address"
        )
        http = self.site.startswith("http://")
        if code in _BAD_LOGIN:
            return f"check username: in channels.yaml ({self.config.username!r}) and {env}"
        if code in _NO_APP_PASSWORDS:
            if http:
                return https_rule
            return (
                "Application Passwords are switched off on this site (by a plugin or setting) "
                "or for this user: ask the site's administrator to allow them"
            )
        if code == "incorrect_password":
            return new_password
        # WordPress saw no user. It answers a wrong Application Password this way too: the
        # error is only collected after the REST API checked for one (seen in WordPress 6.1).
        causes = (
            "WordPress saw no logged-in user: the Application Password is wrong or revoked, "
            "or the web server does not pass the Authorization header on"
        )
        if http:
            return f"{causes}, or {https_rule}; else {new_password}"
        return f"{causes}: {new_password}"

    # --- tags --------------------------------------------------------------------------

    def tag_ids(self) -> list[int]:
        """The ids of ``post_tags``, made when missing; looked up once per run, all at once."""
        missing = list(dict.fromkeys(n for n in self.config.post_tags if n not in self._tag_ids))
        if len(missing) == 1:
            self._tag_ids[missing[0]] = self._tag_id(missing[0])
        elif missing:
            # The password is read and the client opened here, not by several threads at once.
            self._auth()
            _ = self.http
            with ThreadPoolExecutor(min(TAG_WORKERS, len(missing)), "wordpress-tags") as pool:
                futures = {name: pool.submit(self._tag_id, name) for name in missing}
            for name, future in futures.items():
                if future.exception() is None:
                    self._tag_ids[name] = future.result()
            for future in futures.values():
                future.result()  # the first failure, in post_tags order
        return [self._tag_ids[name] for name in self.config.post_tags]

    def _tag_id(self, name: str) -> int:
        found = self.call("GET", "tags", params={"search": name, "per_page": 100})
        wanted = name.strip().casefold()
        for term in found if isinstance(found, list) else []:
            if str(term.get("name", "")).strip().casefold() == wanted:
                return int(term["id"])
        made = self.call("POST", "tags", json={"name": name}, ok=(400,))
        if isinstance(made, dict) and "id" in made:
            return int(made["id"])
        data = made.get("data") if isinstance(made, dict) else None
        if isinstance(data, dict) and made.get("code") == "term_exists" and data.get("term_id"):
            return int(data["term_id"])
        message = made.get("message") if isinstance(made, dict) else made
        raise PublishError(
            f"{PLATFORM} refused to create the tag {name!r} (400 {message}): create it under "
            "Posts > Tags or change post_tags: in channels.yaml",
            transient=False,
            status=400,
        )

    # --- posts ---------------------------------------------------------------------------

    def _lookup(self, slug: str) -> dict[str, Any] | None:
        """The post (any status but trash) with *slug*, as the edit context shows it."""
        found = self.call(
            "GET",
            "posts",
            params={"slug": slug, "status": STATUSES, "context": "edit", "per_page": 10},
        )
        if isinstance(found, list):
            for post in found:
                if isinstance(post, dict) and post.get("slug") == slug:
                    return post
        return None

    @staticmethod
    def _receipt(post: dict[str, Any]) -> Receipt:
        remote_id = str(post["id"])
        return Receipt(remote_id=remote_id, url=post.get("link"), ids=(remote_id,))

    def _fields(self, post: Post) -> dict[str, Any]:
        return {"title": post.subject, "content": post.html}

    def publish(self, post: Post, key: str) -> Receipt:
        """Make the post, or bring up to date the one a lost answer or crash left."""
        slug = str(post.extra.get("slug") or self.slug(post.update_id))
        tags = self.tag_ids()
        first = self.first_try(key)  # after the tags: a failure there sent no post
        # A first try follows no request of this run; what earlier runs left, find() met
        # just before (the fan-out calls it for a crashed or failed delivery).
        older, self._older = self._older, None
        if not first:
            earlier = self._lookup(slug)
        elif older is not None and older[:2] == (slug, post.revision):
            earlier = older[2]
        else:
            earlier = None
        shown = _revision(earlier) if earlier is not None else None
        if earlier is not None and shown is not None and shown[0] == _revision_of(post)[0]:
            # This update's post, left by a lost answer or a crash: bring it up to date.
            if shown == _revision_of(post):
                return self._receipt(earlier)
            return self._update(str(earlier["id"]), post)
        # (A post of someone else's under this slug is left alone: ours gets "-2".)
        body: dict[str, Any] = {
            **self._fields(post),
            "status": self.config.status,
            "slug": slug,
        }
        if self.config.categories:
            body["categories"] = list(self.config.categories)
        if tags:
            body["tags"] = tags
        when = post.extra.get("time")
        if isinstance(when, dt.datetime) and dt.datetime.now(dt.UTC) - when > BACKDATE_AFTER:
            body["date_gmt"] = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        made = self.call("POST", "posts", json=body)
        return self._receipt(made)

    def _update(self, post_id: str, post: Post) -> Receipt:
        return self._receipt(self.call("POST", f"posts/{post_id}", json=self._fields(post)))

    def edit(self, receipt: Receipt, post: Post) -> Receipt:
        return self._update(receipt.remote_id, post)

    def delete(self, receipt: Receipt) -> None:
        """Move the post to the Trash; one already there or gone is done too."""
        answer = self.call("DELETE", f"posts/{receipt.remote_id}", ok=(404, 410))
        if isinstance(answer, dict) and answer.get("code") not in (
            None,
            "rest_already_trashed",
            "rest_post_invalid_id",
        ):
            raise PublishError(
                f"{PLATFORM} did not trash post {receipt.remote_id}: {answer.get('message')}",
                transient=False,
            )

    def find(self, post: Post) -> Receipt | None:
        """The post of *post*'s update, if it already shows this very revision."""
        slug = str(post.extra.get("slug") or self.slug(post.update_id))
        self._older = None
        earlier = self._lookup(slug)
        shown = _revision(earlier) if earlier is not None else None
        if earlier is None or shown is None or shown[0] != _revision_of(post)[0]:
            return None
        if shown != _revision_of(post):
            self._older = (slug, post.revision, earlier)  # the next publish() updates it
            return None
        return self._receipt(earlier)


def _revision(post: dict[str, Any]) -> tuple[str, str] | None:
    """The (update id, revision) of a post's marker, dashes as kses may have left them."""
    content = post.get("content")
    raw = content.get("raw") or content.get("rendered") if isinstance(content, dict) else None
    match = _MARKER.search(str(raw or ""))
    if match is None:
        return None
    return _DASHES.sub("-", match[1]), match[2]


def _revision_of(post: Post) -> tuple[str, str]:
    return _DASHES.sub("-", post.update_id), post.revision


def _from_api(response: httpx.Response) -> bool:
    """Whether *response* came from the REST API: JSON, and a WP_Error for a 404."""
    if response.status_code != 404 and not response.is_success:
        return True  # an error status: error() reads it, whatever the body
    try:
        body = response.json()
    except ValueError:
        return False
    if response.status_code == 404:
        return isinstance(body, dict) and "code" in body and "message" in body
    return True


def _inner_status(response: httpx.Response) -> int | None:
    """The status of the error wrapped in a 400 ``rest_invalid_param`` for ``status``."""
    try:
        data = response.json()["data"]["details"]["status"]["data"]
        return int(data["status"])
    except (ValueError, KeyError, TypeError):
        return None


def _wp_error(response: httpx.Response) -> tuple[str, str]:
    """A WP_Error body's code and message (without its HTML), else ("", the text)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return "", (text[:200] if text else response.reason_phrase or "no details")
    if not isinstance(body, dict):
        return "", str(body)[:200]
    code = str(body.get("code") or "")
    message = body.get("message") or body.get("error") or ""
    message = html.unescape(re.sub(r"<[^>]+>", "", str(message))).strip()
    data = body.get("data")
    params = data.get("params") if isinstance(data, dict) else None
    if isinstance(params, dict) and params:
        message += " (" + "; ".join(str(v) for v in params.values()) + ")"
    return code, message[:300]

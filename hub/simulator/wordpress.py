"""A WordPress site's REST API (``/wp-json/wp/v2``), the part the ``wordpress`` channel uses.

Answers ``GET``/``POST /wp/v2/posts``, ``GET``/``POST``/``PUT``/``PATCH``/``DELETE
/wp/v2/posts/<id>``, ``GET``/``POST /wp/v2/tags`` and ``GET /wp/v2/categories``, under
``/wp-json/`` or, as every WordPress does, as ``/?rest_route=/wp/v2/...`` (with
``pretty_permalinks`` False, ``/wp-json/`` is the theme's HTML 404 page, as on a site
with plain permalinks). Modelled on WordPress 6.x (``class-wp-rest-posts-controller.php``,
``class-wp-rest-terms-controller.php``, ``wp_insert_post``, ``wp_unique_post_slug``,
``wp_trash_post``, ``wp_authenticate_application_password``):

- Auth: HTTP Basic with an Application Password; WordPress drops everything but letters
  and digits from it. Any user and password are accepted unless ``username`` /
  ``token`` are set. A wrong one makes the request anonymous, as WordPress 6.1 does in
  practice (its ``incorrect_password`` / ``invalid_username`` error is collected after
  ``rest_application_password_check_errors`` has looked for it), so a write is 401
  ``rest_cannot_create``; ``auth_errors=True`` answers those WP_Errors instead. With
  ``https_only`` (a site over http whose ``WP_ENVIRONMENT_TYPE`` is not ``local``) the
  header is ignored and requests are anonymous. ``role`` is the user's role: a
  contributor may not publish (403 ``rest_cannot_publish``), only an editor or
  administrator may create tags (403 ``rest_cannot_create``), a subscriber nothing.
- Posts: the edit-context post object (``id``, ``date``/``date_gmt``, ``guid``, ``slug``,
  ``status``, ``type``, ``link``, ``title``/``content``/``excerpt`` with ``raw`` and
  ``rendered``, ``author``, ``categories``, ``tags``, ...), the view context without the
  raw fields; 201 and ``Location`` on create. Slugs as ``wp_unique_post_slug`` makes them:
  sanitized, taken from the title when not given, and a second post with a taken slug
  gets ``-2`` (then ``-3``...), except drafts and pending posts, which keep theirs as
  given. A ``date_gmt`` in the future makes a ``publish`` post ``future``. Links as with
  the ``/%postname%/`` structure, ``?p=<id>`` for drafts, pending, scheduled and trashed
  posts. Unknown category or tag ids are dropped silently, as ``wp_set_object_terms``
  does; a post without categories is filed under Uncategorized (1).
- Trash: ``DELETE`` without ``force`` sets ``trash`` and appends ``__trashed`` to the slug
  (freeing it); again: 410 ``rest_already_trashed``; with ``force``: ``{"deleted": true,
  "previous": ...}`` and the post is gone (404 ``rest_post_invalid_id`` after).
- Collections: ``slug`` (comma list), ``status`` (comma list, ``publish`` by default; others
  need a logged-in user, else 400 ``rest_invalid_param`` "Status is forbidden.", since
  WordPress sanitizes parameters before it checks permissions), ``search``, ``per_page``
  (1-100, else 400 ``rest_invalid_param``), ``page``, ``context=edit`` (401
  ``rest_forbidden_context`` for nobody); ``X-WP-Total`` and ``X-WP-TotalPages`` headers.
- Errors are WP_Error bodies ``{"code", "message", "data": {"status"}}`` with WordPress's
  wording: ``rest_invalid_param`` (an unknown status), ``empty_content``,
  ``rest_post_invalid_id``, ``term_exists`` (with ``term_id``), ``rest_no_route``,
  ``rest_invalid_json``.

WordPress core has no rate limits; 429s and outages are injected through the core's faults.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs

from hub.simulator.core import PlatformSim, Received, Response, json_response

STATUSES = ("publish", "future", "draft", "pending", "private")
KEEP_SLUG = ("draft", "pending", "auto-draft")  # wp_unique_post_slug leaves these alone
UGLY_LINK = ("draft", "pending", "auto-draft", "future", "trash")  # get_permalink: ?p=
ROLES = ("subscriber", "contributor", "author", "editor", "administrator")
NO_ROUTE = "No route was found matching the URL and request method."
_TAG = re.compile(r"<[^>]+>")


def sanitize_title(text: str) -> str:
    """Roughly ``sanitize_title_with_dashes``: lower-case ASCII words joined by dashes."""
    text = unicodedata.normalize("NFKD", html.unescape(_TAG.sub("", text)))
    text = text.encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9_\s-]", "", text)
    text = re.sub(r"[\s-]+", "-", text)
    return text.strip("-")


def wp_error(status: int, code: str, message: str, **data: Any) -> Response:
    return json_response(
        status, {"code": code, "message": message, "data": {"status": status, **data}}
    )


def _stamp(at: dt.datetime) -> str:
    """WordPress's REST dates: ISO 8601 to the second, no zone."""
    return at.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class _Post:
    id: int
    title: str
    content: str
    status: str
    slug: str
    date_gmt: dt.datetime
    modified_gmt: dt.datetime
    excerpt: str = ""
    author: int = 1
    categories: list[int] = field(default_factory=lambda: [1])
    tags: list[int] = field(default_factory=list)
    desired_slug: str = ""  # _wp_desired_post_slug, kept while in the Trash


@dataclass
class _Term:
    id: int
    name: str
    slug: str
    taxonomy: str
    description: str = ""


class WordPressSim(PlatformSim):
    """One WordPress site with one user."""

    name: ClassVar[str] = "wordpress"
    user_id = 1

    def __init__(
        self,
        *,
        username: str | None = None,
        token: str | None = None,
        role: str = "editor",
        https_only: bool = False,
        pretty_permalinks: bool = True,
        utc_offset_hours: float = -5.0,
        auth_errors: bool = False,
    ) -> None:
        super().__init__()
        assert role in ROLES
        self.username = username  # None: any user name
        self.token = token  # None: any Application Password
        self.role = role
        self.https_only = https_only
        self.auth_errors = auth_errors  # answer incorrect_password rather than anonymously
        self.pretty_permalinks = pretty_permalinks
        self.offset = dt.timedelta(hours=utc_offset_hours)  # the site's gmt_offset
        self.posts: dict[int, _Post] = {}
        self.terms: dict[int, _Term] = {1: _Term(1, "Uncategorized", "uncategorized", "category")}
        self._next_id = 1  # posts and terms share no table, but ids only need to be unique
        self.clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    # --- helpers for tests ------------------------------------------------------------

    def add_category(self, name: str) -> int:
        with self.lock:
            return self._term(name, "category").id

    def add_tag(self, name: str) -> int:
        with self.lock:
            return self._term(name, "post_tag").id

    def live(self) -> list[_Post]:
        """The posts not in the Trash, oldest first."""
        with self.lock:
            return [
                p for p in sorted(self.posts.values(), key=lambda p: p.id) if p.status != "trash"
            ]

    def describe(self) -> list[str]:
        lines = []
        for post in self.live():
            text = " ".join(html.unescape(_TAG.sub(" ", post.content)).split())
            shown = f"{post.title} ({post.status}, /{post.slug}/)"
            lines.append(f"{shown}: {text[:120]}" if text else shown)
        return lines

    # --- HTTP --------------------------------------------------------------------------

    def handle(self, request: Received) -> Response:
        base = f"http://{request.headers.get('host', '127.0.0.1')}"
        query = {k: v[-1] for k, v in request.query.items()}
        if request.path.startswith("/wp-json/"):
            if not self.pretty_permalinks:
                page = b"<!doctype html><title>Page not found</title><h1>Nothing here</h1>"
                return 404, {"Content-Type": "text/html; charset=UTF-8"}, page
            route = request.path.removeprefix("/wp-json")
        elif request.path in ("/", "/index.php") and "rest_route" in query:
            route = query.pop("rest_route")
        else:
            return 404, {"Content-Type": "text/html; charset=UTF-8"}, b"<h1>Not Found</h1>"
        with self.lock:
            user = self._authenticate(request)
            if isinstance(user, tuple):
                return user
            method = request.method
            override = request.headers.get("x-http-method-override")
            if method == "POST" and override:
                method = override.upper()
            code, headers, body = self._route(
                method, route.rstrip("/") or "/", query, request, base, user
            )
        link = f'<{base}/wp-json/>; rel="https://api.w.org/"'
        return code, {"Link": link, "Allow": "GET, POST", **headers}, body

    def _authenticate(self, request: Received) -> bool | Response:
        """True for the user, False for nobody, or the 401 WordPress answers."""
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("basic ") or self.https_only:
            return False  # wp_validate_application_password: not available, or no header
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        if self.username is not None and user != self.username:
            if not self.auth_errors:
                return False
            return wp_error(
                401,
                "invalid_username",
                "<strong>Error:</strong> Unknown username. Check again or try your email address.",
            )
        compact = re.sub(r"[^a-z\d]", "", password, flags=re.IGNORECASE)
        if not compact or (self.token is not None and compact != re.sub(r"\W", "", self.token)):
            if not self.auth_errors:
                return False
            return wp_error(
                401,
                "incorrect_password",
                "The provided password is an invalid application password.",
            )
        return True

    def _can(self, user: bool, need: str) -> bool:
        if not user:
            return False
        rank = ROLES.index(self.role)
        return rank >= ROLES.index(need)

    @staticmethod
    def _denied(user: bool, code: str, message: str) -> Response:
        return wp_error(401 if not user else 403, code, message)  # rest_authorization_required_code

    def _route(
        self,
        method: str,
        route: str,
        query: dict[str, str],
        request: Received,
        base: str,
        user: bool,
    ) -> Response:
        parts = route.strip("/").split("/")
        if parts[:2] != ["wp", "v2"]:
            return wp_error(404, "rest_no_route", NO_ROUTE)
        rest = parts[2:]
        if method in ("POST", "PUT", "PATCH"):
            params = self._body(request)
            if params is None:
                return wp_error(
                    400,
                    "rest_invalid_json",
                    "Invalid JSON body passed.",
                    json_error_code=4,
                    json_error_message="Syntax error",
                )
        else:
            params = {}
        if rest == ["posts"] and method == "GET":
            return self._list_posts(query, base, user)
        if rest == ["posts"] and method == "POST":
            return self._create(params, base, user)
        if len(rest) == 2 and rest[0] == "posts":
            post = self.posts.get(int(rest[1])) if rest[1].isdigit() else None
            if post is None:
                return wp_error(404, "rest_post_invalid_id", "Invalid post ID.")
            if method == "GET":
                if post.status != "publish" and not self._can(user, "contributor"):
                    return self._denied(
                        user, "rest_forbidden", "Sorry, you are not allowed to do that."
                    )
                return json_response(200, self._entity(post, base, query.get("context", "view")))
            if method in ("POST", "PUT", "PATCH"):
                return self._update(post, params, base, user)
            if method == "DELETE":
                return self._delete(post, query, base, user)
        if rest == ["tags"] and method == "GET":
            return self._list_terms("post_tag", query, base)
        if rest == ["tags"] and method == "POST":
            return self._create_tag(params, base, user)
        if rest == ["categories"] and method == "GET":
            return self._list_terms("category", query, base)
        return wp_error(404, "rest_no_route", NO_ROUTE)

    @staticmethod
    def _body(request: Received) -> dict[str, Any] | None:
        kind = request.headers.get("content-type", "")
        if "json" in kind:
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        params: dict[str, Any] = {}
        for key, values in form.items():
            if key.endswith("[]"):
                params[key[:-2]] = values
            else:
                params[key] = values[-1]
        return params

    # --- posts ---------------------------------------------------------------------------

    def _unique_slug(self, slug: str, status: str, post_id: int) -> str:
        """``wp_unique_post_slug`` for posts: ``slug``, else ``slug-2``, ``slug-3``..."""
        if status in KEEP_SLUG:
            return slug
        taken = {p.slug for p in self.posts.values() if p.id != post_id}
        if slug not in taken:
            return slug
        suffix = 2
        while f"{slug[: 200 - len(str(suffix)) - 1]}-{suffix}" in taken:
            suffix += 1
        return f"{slug[: 200 - len(str(suffix)) - 1]}-{suffix}"

    @staticmethod
    def _text(value: Any) -> str | None:
        """A title, content or excerpt: a string, or an object with ``raw``."""
        if value is None:
            return None
        if isinstance(value, dict):
            value = value.get("raw", "")
        return str(value)

    def _terms_of(self, value: Any, taxonomy: str) -> list[int] | Response | None:
        if value is None:
            return None
        items = value if isinstance(value, list) else str(value).split(",")
        ids = []
        for item in items:
            try:
                ids.append(int(item))
            except (TypeError, ValueError):
                base = "categories" if taxonomy == "category" else "tags"
                return wp_error(
                    400,
                    "rest_invalid_param",
                    f"Invalid parameter(s): {base}",
                    params={base: f"{base}[0] is not of type integer."},
                )
        known = [
            i for i in dict.fromkeys(ids) if i in self.terms and self.terms[i].taxonomy == taxonomy
        ]
        return known

    def _check_fields(self, params: dict[str, Any]) -> Response | None:
        status = params.get("status")
        if status is not None and status not in STATUSES:
            return wp_error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): status",
                params={"status": "status is not one of publish, future, draft, pending, private."},
                details={
                    "status": {
                        "code": "rest_not_in_enum",
                        "message": "status is not one of publish, future, draft, pending, private.",
                        "data": None,
                    }
                },
            )
        for name in ("date_gmt", "date"):
            value = params.get(name)
            if value is not None and _parse_date(str(value)) is None:
                return wp_error(
                    400,
                    "rest_invalid_param",
                    f"Invalid parameter(s): {name}",
                    params={name: "Invalid date."},
                )
        return None

    def _create(self, params: dict[str, Any], base: str, user: bool) -> Response:
        if "id" in params:
            return wp_error(400, "rest_post_exists", "Cannot create existing post.")
        if not self._can(user, "contributor"):
            return self._denied(
                user,
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
            )
        problem = self._check_fields(params)
        if problem is not None:
            return problem
        status = str(params.get("status") or "draft")  # the REST default is draft
        if status in ("publish", "future", "private") and not self._can(user, "author"):
            message = (
                "Sorry, you are not allowed to create private posts in this post type."
                if status == "private"
                else "Sorry, you are not allowed to publish posts in this post type."
            )
            return wp_error(403, "rest_cannot_publish", message)
        title = self._text(params.get("title")) or ""
        content = self._text(params.get("content")) or ""
        excerpt = self._text(params.get("excerpt")) or ""
        if not (title.strip() or content.strip() or excerpt.strip()):
            return wp_error(400, "empty_content", "Content, title, and excerpt are empty.")
        categories = self._terms_of(params.get("categories"), "category")
        tags = self._terms_of(params.get("tags"), "post_tag")
        for terms in (categories, tags):
            if isinstance(terms, tuple):
                return terms
        now = self.clock()
        when = _parse_date(str(params["date_gmt"])) if params.get("date_gmt") else None
        if when is None and params.get("date"):
            local = _parse_date(str(params["date"]))
            when = local - self.offset if local is not None else None
        when = when or now
        if status == "publish" and when > now:
            status = "future"
        self._next_id += 1
        post_id = self._next_id
        wanted = sanitize_title(str(params.get("slug") or ""))
        if not wanted and status not in KEEP_SLUG:
            wanted = sanitize_title(title) or str(post_id)
        post = _Post(
            id=post_id,
            title=title,
            content=content,
            excerpt=excerpt,
            status=status,
            slug=self._unique_slug(wanted, status, post_id),
            date_gmt=when,
            modified_gmt=now,
            categories=list(categories) if isinstance(categories, list) and categories else [1],
            tags=list(tags) if isinstance(tags, list) else [],
        )
        self.posts[post_id] = post
        entity = self._entity(post, base, "edit")
        return json_response(201, entity, Location=f"{base}/wp-json/wp/v2/posts/{post_id}")

    def _update(self, post: _Post, params: dict[str, Any], base: str, user: bool) -> Response:
        if not self._can(user, "contributor") or (
            post.status == "publish" and not self._can(user, "author")
        ):
            return self._denied(
                user, "rest_cannot_edit", "Sorry, you are not allowed to edit this post."
            )
        problem = self._check_fields(params)
        if problem is not None:
            return problem
        status = str(params.get("status") or post.status)
        if (
            status != post.status
            and status in ("publish", "future", "private")
            and not (self._can(user, "author"))
        ):
            return wp_error(
                403,
                "rest_cannot_publish",
                "Sorry, you are not allowed to publish posts in this post type.",
            )
        categories = self._terms_of(params.get("categories"), "category")
        tags = self._terms_of(params.get("tags"), "post_tag")
        for terms in (categories, tags):
            if isinstance(terms, tuple):
                return terms
        title = self._text(params.get("title"))
        content = self._text(params.get("content"))
        excerpt = self._text(params.get("excerpt"))
        post.title = post.title if title is None else title
        post.content = post.content if content is None else content
        post.excerpt = post.excerpt if excerpt is None else excerpt
        if not (post.title.strip() or post.content.strip() or post.excerpt.strip()):
            return wp_error(400, "empty_content", "Content, title, and excerpt are empty.")
        if isinstance(categories, list):
            post.categories = categories or [1]
        if isinstance(tags, list):
            post.tags = tags
        wanted = sanitize_title(str(params.get("slug") or "")) or post.slug
        if status != post.status and post.status in KEEP_SLUG and not wanted:
            wanted = sanitize_title(post.title)
        post.status = status
        post.slug = self._unique_slug(wanted, status, post.id)
        post.modified_gmt = self.clock()
        return json_response(200, self._entity(post, base, "edit"))

    def _delete(self, post: _Post, query: dict[str, str], base: str, user: bool) -> Response:
        if not self._can(user, "author"):
            return self._denied(
                user, "rest_cannot_delete", "Sorry, you are not allowed to delete this post."
            )
        if query.get("force", "").lower() in ("1", "true"):
            previous = self._entity(post, base, "edit")
            del self.posts[post.id]
            return json_response(200, {"deleted": True, "previous": previous})
        if post.status == "trash":
            return wp_error(410, "rest_already_trashed", "The post has already been deleted.")
        # wp_trash_post: keep the old status, free the slug (wp_add_trashed_suffix_to_post_name)
        post.desired_slug = post.slug
        post.slug = f"{post.slug}__trashed" if post.slug else post.slug
        post.status = "trash"
        post.modified_gmt = self.clock()
        return json_response(200, self._entity(post, base, "edit"))

    def _list_posts(self, query: dict[str, str], base: str, user: bool) -> Response:
        statuses = [s for s in query.get("status", "publish").split(",") if s]
        for status in statuses:
            if status == "publish":
                continue
            if not self._can(user, "contributor"):
                # sanitize_post_statuses runs before the permission check, and its WP_Error
                # comes back wrapped as an invalid parameter.
                inner = {
                    "code": "rest_forbidden_status",
                    "message": "Status is forbidden.",
                    "data": {"status": 401 if not user else 403},
                }
                return wp_error(
                    400,
                    "rest_invalid_param",
                    "Invalid parameter(s): status",
                    params={"status": "Status is forbidden."},
                    details={"status": inner},
                )
            if status not in (*STATUSES, "trash", "any"):
                return wp_error(
                    400,
                    "rest_invalid_param",
                    "Invalid parameter(s): status",
                    params={
                        "status": "status[0] is not one of publish, future, "
                        "draft, pending, private, trash, auto-draft, inherit, "
                        "request-pending, request-confirmed, request-failed, "
                        "request-completed, any."
                    },
                )
        context = query.get("context", "view")
        if context == "edit" and not self._can(user, "contributor"):
            return self._denied(
                user,
                "rest_forbidden_context",
                "Sorry, you are not allowed to edit posts in this post type.",
            )
        per_page, page, problem = _paging(query)
        if problem is not None:
            return problem
        rows = [
            p
            for p in self.posts.values()
            if ("any" in statuses and p.status != "trash") or p.status in statuses
        ]
        slugs = [s for s in query.get("slug", "").split(",") if s]
        if slugs:
            rows = [p for p in rows if p.slug in slugs]
        search = query.get("search", "").strip().lower()
        if search:
            rows = [p for p in rows if search in f"{p.title}\n{p.content}".lower()]
        rows.sort(key=lambda p: (p.date_gmt, p.id), reverse=True)
        total = len(rows)
        pages = -(-total // per_page)
        if page > max(pages, 1):
            return wp_error(
                400,
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        shown = rows[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        code, extra, body = json_response(200, [self._entity(p, base, context) for p in shown])
        return code, {**extra, **headers}, body

    # --- terms ---------------------------------------------------------------------------

    def _term(self, name: str, taxonomy: str) -> _Term:
        for term in self.terms.values():
            if term.taxonomy == taxonomy and term.name.lower() == name.strip().lower():
                return term
        self._next_id += 1
        slug = sanitize_title(name) or str(self._next_id)
        taken = {t.slug for t in self.terms.values() if t.taxonomy == taxonomy}
        unique, suffix = slug, 2
        while unique in taken:
            unique, suffix = f"{slug}-{suffix}", suffix + 1
        term = _Term(self._next_id, name.strip(), unique, taxonomy)
        self.terms[term.id] = term
        return term

    def _create_tag(self, params: dict[str, Any], base: str, user: bool) -> Response:
        if not self._can(user, "editor"):  # edit_post_tags maps to manage_categories
            return self._denied(
                user,
                "rest_cannot_create",
                "Sorry, you are not allowed to create terms in this taxonomy.",
            )
        name = str(params.get("name") or "").strip()
        if "name" not in params:
            return wp_error(
                400, "rest_missing_callback_param", "Missing parameter(s): name", params=["name"]
            )
        if not name:
            return wp_error(400, "empty_term_name", "A name is required for this term.")
        for term in self.terms.values():
            if term.taxonomy == "post_tag" and term.name.lower() == name.lower():
                return wp_error(
                    400,
                    "term_exists",
                    "A term with the name provided already exists in this taxonomy.",
                    term_id=term.id,
                )
        term = self._term(name, "post_tag")
        entity = self._term_entity(term, base)
        return json_response(201, entity, Location=f"{base}/wp-json/wp/v2/tags/{term.id}")

    def _list_terms(self, taxonomy: str, query: dict[str, str], base: str) -> Response:
        per_page, page, problem = _paging(query)
        if problem is not None:
            return problem
        rows = [t for t in self.terms.values() if t.taxonomy == taxonomy]
        search = query.get("search", "").strip().lower()
        if search:  # name__like or slug__like, as WP_Term_Query's search
            rows = [t for t in rows if search in t.name.lower() or search in t.slug]
        slugs = [s for s in query.get("slug", "").split(",") if s]
        if slugs:
            rows = [t for t in rows if t.slug in slugs]
        rows.sort(key=lambda t: t.name.lower())
        total = len(rows)
        shown = rows[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(-(-total // per_page))}
        code, extra, body = json_response(200, [self._term_entity(t, base) for t in shown])
        return code, {**extra, **headers}, body

    def _term_entity(self, term: _Term, base: str) -> dict[str, Any]:
        count = sum(
            1
            for p in self.posts.values()
            if p.status == "publish"
            and term.id in (p.tags if term.taxonomy == "post_tag" else p.categories)
        )
        route = "tags" if term.taxonomy == "post_tag" else "categories"
        entity: dict[str, Any] = {
            "id": term.id,
            "count": count,
            "description": term.description,
            "link": f"{base}/{'tag' if route == 'tags' else 'category'}/{term.slug}/",
            "name": html.escape(term.name, quote=False),
            "slug": term.slug,
            "taxonomy": term.taxonomy,
        }
        if term.taxonomy == "category":
            entity["parent"] = 0
        entity["meta"] = []
        entity["_links"] = {
            "self": [{"href": f"{base}/wp-json/wp/v2/{route}/{term.id}"}],
            "collection": [{"href": f"{base}/wp-json/wp/v2/{route}"}],
        }
        return entity

    # --- entities --------------------------------------------------------------------------

    def _link(self, post: _Post, base: str) -> str:
        if post.status in UGLY_LINK or not self.pretty_permalinks or not post.slug:
            return f"{base}/?p={post.id}"
        return f"{base}/{post.slug}/"

    def _entity(self, post: _Post, base: str, context: str) -> dict[str, Any]:
        edit = context == "edit"

        def text(raw: str, rendered: str, **more: Any) -> dict[str, Any]:
            return (
                {"raw": raw, "rendered": rendered, **more}
                if edit
                else {"rendered": rendered, **more}
            )

        rendered = _autop(post.content)
        entity: dict[str, Any] = {
            "id": post.id,
            "date": _stamp(post.date_gmt + self.offset),
            "date_gmt": _stamp(post.date_gmt),
            "guid": text(f"{base}/?p={post.id}", f"{base}/?p={post.id}"),
            "modified": _stamp(post.modified_gmt + self.offset),
            "modified_gmt": _stamp(post.modified_gmt),
            "slug": post.slug,
            "status": post.status,
            "type": "post",
            "link": self._link(post, base),
            "title": text(post.title, html.escape(post.title, quote=False)),
            "content": text(post.content, rendered, protected=False, block_version=0),
            "excerpt": text(
                post.excerpt, _autop(post.excerpt or _excerpt(post.content)), protected=False
            ),
            "author": post.author,
            "featured_media": 0,
            "comment_status": "open",
            "ping_status": "open",
            "sticky": False,
            "template": "",
            "format": "standard",
            "meta": {"footnotes": ""},
            "categories": list(post.categories),
            "tags": list(post.tags),
        }
        if edit:
            entity["password"] = ""
            entity["permalink_template"] = f"{base}/%postname%/"
            entity["generated_slug"] = sanitize_title(post.title)
        entity["_links"] = {
            "self": [{"href": f"{base}/wp-json/wp/v2/posts/{post.id}"}],
            "collection": [{"href": f"{base}/wp-json/wp/v2/posts"}],
            "author": [{"embeddable": True, "href": f"{base}/wp-json/wp/v2/users/{post.author}"}],
        }
        return entity


def _paging(query: dict[str, str]) -> tuple[int, int, Response | None]:
    """``per_page`` and ``page``, or the 400 WordPress answers for them."""
    try:
        per_page = int(query.get("per_page", "10"))
        page = int(query.get("page", "1"))
    except ValueError:
        problem = "per_page is not of type integer."
        return (
            0,
            0,
            wp_error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                params={"per_page": problem},
            ),
        )
    if not 1 <= per_page <= 100:
        problem = "per_page must be between 1 (inclusive) and 100 (inclusive)"
        return (
            0,
            0,
            wp_error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                params={"per_page": problem},
            ),
        )
    if page < 1:
        problem = "page must be greater than or equal to 1"
        return (
            0,
            0,
            wp_error(
                400, "rest_invalid_param", "Invalid parameter(s): page", params={"page": problem}
            ),
        )
    return per_page, page, None


def _parse_date(value: str) -> dt.datetime | None:
    """A REST date (``rest_parse_date``): ISO 8601, a zone optional (then UTC for *_gmt)."""
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).replace(microsecond=0)


def _autop(text: str) -> str:
    """``the_content``'s output, roughly: HTML kept, bare text lines become paragraphs."""
    if not text.strip():
        return ""
    if re.match(r"\s*<(p|div|h\d|ul|ol|figure|blockquote|table|!--)", text):
        return text.strip() + "\n"
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{p.replace(chr(10), '<br />' + chr(10))}</p>\n" for p in paragraphs)


def _excerpt(content: str) -> str:
    """``wp_trim_excerpt``: the first 55 words of the text, then ``[&hellip;]``."""
    words = html.unescape(_TAG.sub(" ", re.sub(r"<!--.*?-->", "", content, flags=re.S))).split()
    return " ".join(words[:55]) + (" [&hellip;]" if len(words) > 55 else "")


__all__ = ["WordPressSim", "sanitize_title"]

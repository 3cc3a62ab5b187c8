"""Plan and run deliveries: every live update to every channel, exactly once.

One worker thread per channel, updates in time order within a channel, so a slow
or broken platform never holds up another. Each delivery is claimed in the
ledger before its request and recorded after; transient failures are retried
with exponential backoff and jitter (honouring Retry-After) within a budget.

Where a window remains: a process killed after the platform accepted a post but
before the ledger recorded it leaves a claimed row. On the next run, a channel
with platform idempotency (``idempotent``) repeats the request with the same key
and the platform answers with the first post; a channel that can look its posts
up (``can_find``) looks for the permalink first; any other channel posts again,
so there, and only there, a crash in that window can double-post.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hub import approvals, audit
from hub.channels import make_channel
from hub.channels.base import Channel, Post, PublishError, Receipt
from hub.config import MissingSecret
from hub.content import now_utc
from hub.errors import HubError
from hub.ledger import Ledger, Row, Snapshot, me
from hub.model import HubStatus

if TYPE_CHECKING:
    from hub.config import ChannelConfig
    from hub.model import Hub, Update

Status = Literal["posted", "corrected", "retracted", "already", "skipped", "failed", "busy"]
DEFAULT_LEDGER = Path(".stormhub/ledger.sqlite")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try a transient failure before reporting it."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    budget: float = 120.0  # seconds of waiting per delivery, at most
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, error: PublishError) -> float:
        if error.retry_after is not None:
            return max(0.0, error.retry_after)
        return float(min(self.cap, self.base * 2**attempt) * random.uniform(0.5, 1.0))


@dataclass(frozen=True)
class Task:
    update: Update
    action: str  # "post", "correct:<revision>" or "retract"
    reply_to: Receipt | None = None  # the post a correction or superseding update answers
    blocked: str | None = None  # why it must wait (not approved): reported as skipped


@dataclass(frozen=True)
class Outcome:
    channel: str
    update_id: str
    action: str
    status: Status
    url: str | None = None
    error: str | None = None
    code: int | None = None  # the platform's HTTP status for a failure
    fatal: bool = False  # the channel cannot post anything until someone fixes it


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # "<channel>: <what sync() did>"

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def by_channel(self) -> dict[str, list[Outcome]]:
        result: dict[str, list[Outcome]] = {}
        for outcome in self.outcomes:
            result.setdefault(outcome.channel, []).append(outcome)
        return result


class StandbyError(HubError):
    """The hub is on standby (the dark site): the fan-out posts nothing (exit 3)."""

    exit_code = 3

    def __init__(self) -> None:
        super().__init__(
            "content/hub.yaml: status: the hub is on standby, so nothing was posted: "
            "run stormhub activate --by NAME to switch it live (or stormhub drill to rehearse)"
        )


def delivery_key(update_id: str, channel: str, action: str) -> str:
    """Stable for one delivery across runs: the idempotency key the platforms see."""
    digest = hashlib.sha256(f"{update_id}\0{channel}\0{action}".encode()).hexdigest()
    return f"stormhub-{digest[:32]}"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """*text* with every secret value replaced, for logs and the ledger."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class Fanout:
    """Deliver a hub's updates to its channels."""

    def __init__(
        self,
        hub: Hub,
        configs: list[ChannelConfig],
        ledger_path: Path,
        *,
        policy: RetryPolicy | None = None,
        progress: Callable[[Outcome], None] | None = None,
        factory: Callable[[ChannelConfig, Hub], Channel[Any]] = make_channel,
        now: dt.datetime | None = None,
        actor: str | None = None,
        require_approval: bool = True,
        rehearsal: bool = False,
    ) -> None:
        self.hub = hub
        # An exercise reaches only the channels flagged `drill: true` (or the simulator,
        # whose rehearsal flags every channel it stands in for).
        self.configs = [c for c in configs if c.enabled and (c.drill or not hub.exercise)]
        self.rehearsal = rehearsal  # the channels point at the simulator: standby is fine
        self.ledger_path = ledger_path
        self.policy = policy or RetryPolicy()
        self.progress = progress or (lambda outcome: None)
        self.factory = factory
        self.now = now or now_utc()
        self._lock = threading.Lock()
        # a rehearsal on the simulator posts nothing real, so nothing waits for approval there
        self.require_approval = require_approval and not rehearsal
        self.actor = actor or _actor()  # who the audit log names for each delivery

    def plan(self, ledger: Ledger) -> dict[str, list[Task]]:
        """What each channel must do now, oldest update first."""
        joined = ledger.register([c.name for c in self.configs], self.now)
        known = ledger.snapshot()  # one read, not a query per update and channel
        approved = approvals.approved(ledger) if self.require_approval else None
        plans: dict[str, list[Task]] = {c.name: [] for c in self.configs}
        since = {c.name: None if c.backfill else joined[c.name] for c in self.configs}
        everywhere = frozenset(plans)
        for update in reversed(self.hub.updates):  # oldest first
            # posted and unchanged: most of a hub in mid-storm, one lookup per update
            done = (
                known.posted(update.id, update.revision)
                if update.retracted is None
                else frozenset()
            )
            if everywhere <= done:
                continue  # on every channel already
            for config in self.configs:
                name = config.name
                if name in done or not config.wants(update):
                    continue
                start = since[name]
                if start is not None and update.time < start:
                    continue
                for task in self._tasks_for(known, name, update):
                    why = None
                    if approved is not None and task.action != "retract":
                        why = approvals.blocked(self.hub, update, approved)
                    plans[name].append(Task(update, task.action, task.reply_to, blocked=why))
        return plans

    def _tasks_for(self, ledger: Snapshot, channel: str, update: Update) -> list[Task]:
        post = ledger.get(update.id, channel)
        if update.retracted is not None:
            done = ledger.get(update.id, channel, "retract")
            if post is None or post.state != "delivered" or (done and done.state == "delivered"):
                return []  # never posted here, or already taken back
            return [Task(update, "retract", reply_to=_receipt(post))]
        if post is None or post.state != "delivered":
            original = ledger.get(update.supersedes, channel) if update.supersedes else None
            return [Task(update, "post", reply_to=_receipt(original))]
        if post.revision == update.revision:
            return []
        action = f"correct:{update.revision}"
        done = ledger.get(update.id, channel, action)
        if done is not None and done.state == "delivered":
            return []
        return [Task(update, action, reply_to=_receipt(post))]

    def run(self) -> Report:
        """Deliver what :meth:`plan` finds; a hub on standby posts nothing, for real.

        Raises:
            StandbyError: the hub is on standby and this is neither an exercise nor a
                rehearsal on the simulator.
        """
        if self.hub.info.status is HubStatus.STANDBY and not (self.hub.exercise or self.rehearsal):
            raise StandbyError()
        report = Report()
        with Ledger(self.ledger_path) as ledger:
            plans = self.plan(ledger)
        if not plans:
            return report
        with ThreadPoolExecutor(max_workers=len(plans), thread_name_prefix="fanout") as pool:
            futures = [
                pool.submit(self._worker, config, plans[config.name], report)
                for config in self.configs
            ]
            for future in futures:
                future.result()
        return report

    def _emit(self, report: Report, outcome: Outcome) -> None:
        with self._lock:
            report.outcomes.append(outcome)
        self.progress(outcome)

    def _worker(self, config: ChannelConfig, tasks: list[Task], report: Report) -> None:
        for task in tasks:
            if task.blocked is not None:
                self._emit(report, Outcome(config.name, task.update.id, task.action, "skipped",
                                           error=task.blocked))  # fmt: skip
        tasks = [task for task in tasks if task.blocked is None]
        secrets = _secret_values(config)
        missing = config.missing_env()
        try:
            if missing:
                raise MissingSecret(missing)
            channel = self.factory(config, self.hub)
        except MissingSecret as exc:
            message = f"environment variable(s) {exc} not set: set them or set enabled: false"
            for task in tasks:
                self._emit(report, Outcome(config.name, task.update.id, task.action, "failed",
                                           error=message))  # fmt: skip
            return
        except Exception as exc:  # a channel that cannot start fails alone
            message = scrub(f"could not start: {exc}", secrets)
            for task in tasks:
                self._emit(report, Outcome(config.name, task.update.id, task.action, "failed",
                                           error=message))  # fmt: skip
            return
        fatal: str | None = None
        syncing: threading.Thread | None = None
        try:
            if not tasks and not channel.syncs:
                return
            if channel.syncs and not tasks:
                self._sync(channel, report, secrets)
                return
            if channel.syncs:  # beside the posts: they do not depend on it
                syncing = threading.Thread(
                    target=self._sync,
                    args=(channel, report, secrets),
                    name=f"sync-{config.name}",
                )
                syncing.start()
            with Ledger(self.ledger_path) as ledger:
                for task in tasks:
                    if fatal is not None:
                        outcome = Outcome(config.name, task.update.id, task.action, "failed",
                                          error=fatal)  # fmt: skip
                    else:
                        outcome = self._deliver(ledger, channel, task, secrets)
                        if outcome.fatal:
                            fatal = outcome.error  # bad credentials fail every later post too
                    self._emit(report, outcome)
        finally:
            if syncing is not None:
                syncing.join()
            channel.close()

    def _sync(self, channel: Channel[Any], report: Report, secrets: list[str]) -> str | None:
        """Run the channel's :meth:`~Channel.sync` once per run, in a thread beside its posts.

        Each note goes to ``report.notes``; a note that failed is also a failed outcome
        (update id ``sync``). Returns the error when it is fatal (credentials); the posts,
        running beside it, meet the same error on their own.
        """
        name = channel.name
        try:
            notes = channel.sync(self.now)
        except PublishError as exc:
            message = scrub(str(exc), secrets)
            self._emit(report, Outcome(name, "sync", "sync", "failed", error=message,
                                       code=exc.status, fatal=exc.fatal))  # fmt: skip
            return message if exc.fatal else None
        except Exception as exc:  # an adapter bug must not stop the channel's updates
            message = scrub(f"unexpected {type(exc).__name__}: {exc}", secrets)
            self._emit(report, Outcome(name, "sync", "sync", "failed", error=message))
            return None
        for note in notes:
            text = scrub(note.text, secrets)
            with self._lock:
                report.notes.append(f"{name}: {text}")
            if not note.ok:
                self._emit(report, Outcome(name, "sync", "sync", "failed", error=text))
        return None

    def _deliver(
        self, ledger: Ledger, channel: Channel[Any], task: Task, secrets: list[str]
    ) -> Outcome:
        update, action, name = task.update, task.action, channel.name
        shown = channel.localized(update)  # in the channel's language (the same revision)
        if action == "retract":
            post = channel.render(shown, retraction=True)
        elif action == "post" and task.reply_to is None:
            post = channel.render(shown)
        else:
            post = channel.render_correction(shown)
        before, taken = ledger.claim(update.id, name, action, update.revision)
        if before is not None and before.state == "delivered":
            return Outcome(name, update.id, action, "already", url=before.remote_url)
        if not taken:
            return Outcome(name, update.id, action, "busy", error="another fan-out is sending it")
        if before is not None and (
            before.state == "claimed" or (before.state == "failed" and channel.find_after_failure)
        ):
            found = self._recover(channel, post, _age(before))
            if found is not None:
                self._record(ledger, update.id, name, action, found)
                return Outcome(name, update.id, action, "posted", url=found.url)
        key = delivery_key(update.id, name, action)
        return self._attempt(ledger, channel, task, post, key, secrets)

    def _recover(self, channel: Channel[Any], post: Post, age: float) -> Receipt | None:
        """Look for a post that a crash between request and record left unrecorded."""
        window = channel.idempotency_window
        if channel.idempotent and (window is None or age < window * 0.9):
            return None  # the platform dedupes the repeated request itself
        if not channel.can_find:
            return None
        try:
            return channel.find(post)
        except PublishError:
            return None

    def _attempt(
        self,
        ledger: Ledger,
        channel: Channel[Any],
        task: Task,
        post: Post,
        key: str,
        secrets: list[str],
    ) -> Outcome:
        update, action, name = task.update, task.action, channel.name
        waited = 0.0
        for attempt in range(self.policy.attempts):
            try:
                if task.reply_to is None:
                    receipt = channel.publish(post, key)
                elif action == "post":
                    receipt = channel.reply(task.reply_to, post, key)
                elif action == "retract":
                    receipt = channel.retract(task.reply_to, channel.localized(update), key)
                else:
                    receipt = channel.correct(task.reply_to, post, key)
            except PublishError as exc:
                message = scrub(str(exc), secrets)
                if not exc.transient or attempt + 1 == self.policy.attempts:
                    ledger.fail(update.id, name, action, message)
                    return Outcome(
                        name, update.id, action, "failed", error=message, code=exc.status,
                        fatal=exc.fatal,
                    )  # fmt: skip
                delay = self.policy.delay(attempt, exc)
                if waited + delay > self.policy.budget:
                    message = f"{message} (gave up after waiting {waited:.0f} s)"
                    ledger.fail(update.id, name, action, message)
                    return Outcome(name, update.id, action, "failed", error=message)
                self.policy.sleep(delay)
                waited += delay
                ledger.retry(update.id, name, action)
                continue
            except Exception as exc:  # an adapter bug must not stop the other channels
                message = scrub(f"unexpected {type(exc).__name__}: {exc}", secrets)
                ledger.fail(update.id, name, action, message)
                return Outcome(name, update.id, action, "failed", error=message)
            self._record(ledger, update.id, name, action, receipt)
            status: Status = (
                "posted"
                if action == "post"
                else "retracted"
                if action == "retract"
                else "corrected"
            )
            return Outcome(name, update.id, action, status, url=receipt.url)
        raise AssertionError("unreachable: the loop returns on its last attempt")

    def _record(
        self, ledger: Ledger, update_id: str, name: str, action: str, receipt: Receipt
    ) -> None:
        """Record the delivery and its audit entry in one transaction."""
        update = self.hub.update(update_id)
        verb = {"post": audit.PUBLISH, "retract": audit.RETRACT}.get(action, audit.CORRECT)
        details = f"{name}: {receipt.url or receipt.remote_id}"
        if action == "post" and update.supersedes:
            details += f" (corrects {update.supersedes})"
        with ledger.transaction():
            ledger.record(
                update_id,
                name,
                action,
                remote_id=receipt.remote_id,
                remote_url=receipt.url,
                remote_ids=receipt.ids or (receipt.remote_id,),
            )
            audit.record(ledger, self.actor, verb, update_id, update.revision, details)


def _actor() -> str:
    try:
        return audit.current_user()
    except HubError:  # no user name at all (a bare container): name the process
        return f"stormhub@{me()}"


def _age(row: Row) -> float:
    """Seconds since *row* was claimed."""
    if not row.claimed_at:
        return 0.0
    claimed = dt.datetime.fromisoformat(row.claimed_at)
    return (dt.datetime.now(dt.UTC) - claimed).total_seconds()


def _receipt(row: Row | None) -> Receipt | None:
    if row is None or row.state != "delivered" or row.remote_id is None:
        return None
    return Receipt(remote_id=row.remote_id, url=row.remote_url, ids=row.remote_ids)


def _secret_values(config: ChannelConfig) -> list[str]:
    values = []
    for name in config.secret_fields:
        if getattr(config, name) is None:
            continue
        try:
            values.append(config.secret(name).get_secret_value())
        except MissingSecret:
            continue
    return values

"""dblink_fanout: one query on many connections at once, each server's rows handed over as they arrive."""

from __future__ import annotations

import time
from typing import Callable, Iterator

from . import backend, links, pool, security, styles
from .errors import CouldNotEstablishConnection, DblinkError, Interrupted
from .libpq import OperationalError, pq
from .queries import CHUNK_ROWS, Chunk, CommandStatus, start_literal_reader
from .registry import Link
from .remote import CLEANUP_TIMEOUT, Remote, connect_deadline
from .waiting import READ, TIMED_OUT, run_together, wait_any


class Member:
    """One element of the connection array: its remote, how rows and errors name it."""

    __slots__ = ("label", "describes", "remote", "release", "reader", "status", "prefix")

    def __init__(self, label: str, describes: str) -> None:
        self.label = label  # the first column of its rows
        self.describes = describes  # in errors: 'dblink connection named "s1"'
        self.remote: Remote | None = None
        self.release: Callable[[], None] | None = None  # closes (or pools) an ad-hoc connection
        self.reader = None
        self.status: CommandStatus | None = None
        # a record literal "(a,b)" becomes '("label",a,b)'
        self.prefix = '("' + label.replace("\\", "\\\\").replace('"', '\\"') + '",'

    def labelled(self, chunk: Chunk) -> Chunk:
        prefix = self.prefix
        return [prefix + literal[1:] for literal in chunk]


def _label(conninfo: str) -> str:
    """A connection string as its rows are labelled: without passwords."""
    try:
        options = pq.Conninfo.parse(conninfo.encode(backend.python_codec(), "replace"))
    except OperationalError:
        return conninfo if "password" not in conninfo else "(a malformed connection string)"
    shown = [f"{o.keyword.decode()}={o.val.decode(backend.python_codec(), 'replace')}" for o in options
             if o.val is not None and o.keyword not in (b"password", b"sslpassword")]
    return " ".join(shown)


def _members(targets: list[str | None]) -> tuple[list[Member], list[tuple[Member, security.Resolved]]]:
    """Members for open named connections, and those still to connect."""
    members: list[Member] = []
    to_connect: list[tuple[Member, security.Resolved]] = []
    seen: set[str] = set()
    for position, target in enumerate(targets, start=1):
        if target is None:
            raise DblinkError(f"element {position} of the connection array is NULL", sqlstate="22004")
        link: Link | None = links.find_named(target)
        if link is not None:
            if link.name in seen:
                raise DblinkError(f'connection "{link.name}" is listed more than once', sqlstate="42710",
                                  hint="A connection runs one query at a time.")
            seen.add(link.name or "")
            member = Member(link.name or "", link.where)
            member.remote = link.remote
            members.append(member)
            continue
        resolved, server = links.resolve_target_and_server(target)
        if server is not None:
            member = Member(server, f'dblink connection to foreign server "{server}"')
        else:
            label = _label(target)
            member = Member(label, f'dblink connection to "{label}"')
        security.check_before_connect(resolved)
        members.append(member)
        to_connect.append((member, resolved))
    return members, to_connect


def _connect(to_connect: list[tuple[Member, security.Resolved]], fail_on_error: bool) -> list[Member]:
    """Open the ad-hoc members' connections at the same time; the members that failed."""
    reuse, idle_timeout = pool.settings()
    pool.close_expired(idle_timeout)
    user = backend.current_user() if reuse else ""
    machines, deadlines, waiting = [], [], []
    for member, resolved in to_connect:
        key = (resolved.conninfo, user) if reuse else None  # where the pool keeps it
        kept = pool.take(key) if key is not None else None
        if kept is not None:
            _adopt(member, kept, key)  # released by Fanout.close, whatever happens next
            security.check_after_connect(kept, resolved.conninfo)
            continue
        machines.append(Remote.connecting(resolved.conninfo, client_encoding=backend.database_encoding(),
                                          codec=backend.python_codec(), check_interrupts=backend.check_interrupts))
        deadlines.append(connect_deadline(resolved.conninfo))
        waiting.append((member, resolved, key))
    failed: list[Member] = []
    outcomes = run_together(machines, deadlines, backend.check_interrupts)
    first_error: DblinkError | None = None
    for (member, _resolved, key), outcome in zip(waiting, outcomes):
        if isinstance(outcome, Remote):
            _adopt(member, outcome, key)  # released by Fanout.close, whatever happens next
    for (member, resolved, key), outcome in zip(waiting, outcomes):
        if outcome is TIMED_OUT:
            outcome = CouldNotEstablishConnection("timeout expired")
        if isinstance(outcome, Remote):
            security.check_after_connect(outcome, resolved.conninfo)
            continue
        if not isinstance(outcome, DblinkError):
            raise outcome
        outcome.where = f"while connecting to {member.describes}"
        failed.append(member)
        if fail_on_error:
            first_error = first_error or outcome
        else:
            _notice(outcome)
    if first_error is not None:
        raise first_error
    return failed


def _adopt(member: Member, remote: Remote, key: tuple[str, str] | None) -> None:
    member.remote = remote
    remote.notice_source = member.describes
    remote.on_notice(backend.forward_remote_notice)
    member.release = remote.close if key is None else (lambda: pool.give_back(key, remote))


def _notice(error: DblinkError) -> None:
    """fail_on_error => false: a member's error as a NOTICE that names it."""
    detail = error.where if not error.detail else f"{error.where}\n{error.detail}"
    backend.notice(error.message, detail=detail, hint=error.hint, sqlstate=error.sqlstate)


def _abandon(members: list[Member]) -> None:
    """Cancel the queries still running on `members`, all at once, within the cleanup time."""
    running = [m for m in members if m.remote is not None and m.remote.query_running]
    deadline = time.monotonic() + CLEANUP_TIMEOUT
    outcomes = run_together([m.remote.abandoning() for m in running], [deadline] * len(running))
    for member, outcome in zip(running, outcomes):
        if outcome is TIMED_OUT:
            member.remote.give_up()


def _check_styles(members: list[Member]) -> None:
    """Rows convert under one DateStyle and IntervalStyle: the servers' must agree."""
    found = {tuple(styles.remote_values(m.remote)): m for m in members}
    if len(found) > 1:
        shown = "; ".join(f"{m.describes}: {', '.join(v or '?' for v in values)}" for values, m in found.items())
        raise DblinkError("the connections of a fan-out have different DateStyle or IntervalStyle settings",
                          sqlstate="0A000", detail=shown,
                          hint="Set the same DateStyle and IntervalStyle on each connection.")


class Fanout:
    """The members of one call, with the connections it opened, released at the end."""

    def __init__(self, targets: list[str | None], fail_on_error: bool, action: str) -> None:
        links.read_settings()
        self.fail_on_error = fail_on_error
        self.action = action  # "query" or "command", as errors say
        self.every, to_connect = _members(targets)  # in the array's order
        self.opened = [member for member, _ in to_connect]
        try:
            failed = _connect(to_connect, fail_on_error)
        except BaseException:
            self.close()
            raise
        self.members = [m for m in self.every if m not in failed]  # those connected

    def close(self) -> None:
        for member in self.opened:
            if member.release is not None:
                member.release()
                member.release = None

    def fail(self, member: Member, error: DblinkError, active: list[Member]) -> None:
        """A member's error: raised after cancelling the others (fail_on_error),
        else a NOTICE, and the others go on."""
        if member in active:
            active.remove(member)
        if error.where is None:
            error.where = f"while executing {self.action} on {member.describes}"
        if self.fail_on_error:
            _abandon(active)
            raise error
        _notice(error)

    def stream(self, active: list[Member], step: Callable[[Member, list], Iterator[Chunk]],
               finish: Callable[[Member], None]) -> Iterator[Chunk]:
        """Read every member's results as they arrive, whichever server is ready."""
        try:
            while active:
                progressed = False
                for member in list(active):
                    try:
                        batch = member.remote.take_ready(CHUNK_ROWS)
                        if batch:
                            progressed = True
                            yield from step(member, batch)
                        elif batch is None:
                            finish(member)
                            active.remove(member)
                    except Interrupted:
                        raise
                    except DblinkError as error:
                        self.fail(member, error, active)
                if active and not progressed:
                    wait_any([(m.remote.pgconn.socket, READ) for m in active], backend.check_interrupts)
        except Interrupted:
            _abandon(active)
            raise
        except GeneratorExit:
            for member in active:
                member.remote.unread = member.remote.query_running
            raise


def fanout_chunks(targets: list[str | None], sql: str, fail_on_error: bool) -> Iterator[Chunk]:
    """dblink_fanout: the rows of `sql` on every target, each prefixed with its label."""
    fan = Fanout(targets, fail_on_error, "query")
    try:
        _check_styles(fan.members)
        active: list[Member] = []
        for member in fan.members:
            try:
                member.reader = start_literal_reader(member.remote, sql, f"while executing query on {member.describes}",
                                                     keep_partial=not fail_on_error)
                active.append(member)
            except Interrupted:
                raise
            except DblinkError as error:
                fan.fail(member, error, active)

        def step(member: Member, batch: list) -> Iterator[Chunk]:
            for chunk in member.reader.feed(batch):
                yield member.labelled(chunk)

        yield from fan.stream(active, step, lambda member: member.reader.finish())
    finally:
        fan.close()


def fanout_exec(targets: list[str | None], sql: str, fail_on_error: bool) -> list[tuple[str, str]]:
    """dblink_fanout_exec: (label, command status) of `sql` on every target, in the array's order."""
    fan = Fanout(targets, fail_on_error, "command")
    try:
        active: list[Member] = []
        for member in fan.members:
            try:
                member.remote.send_query(sql)
                member.status = CommandStatus(member.remote, f"while executing command on {member.describes}")
                active.append(member)
            except Interrupted:
                raise
            except DblinkError as error:
                fan.fail(member, error, active)
        statuses: dict[int, str] = {}

        def step(member: Member, batch: list) -> Iterator[Chunk]:
            member.status.feed(batch)
            return iter(())

        def finish(member: Member) -> None:
            statuses[id(member)] = member.status.finish()

        for _ in fan.stream(active, step, finish):
            pass
        return [(m.label, statuses.get(id(m), "ERROR")) for m in fan.every]
    finally:
        fan.close()


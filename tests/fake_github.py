"""A local stand-in for the GitHub REST API's issue-comment endpoints, with injectable faults.

It speaks what mlci uses, the way GitHub does: list issue comments (`per_page`/`page`, `Link`
pagination), create, update and delete a comment, get a pull request; `Authorization: Bearer TOKEN`
checked; bodies over 65,536 characters refused with 422. Faults are queued and consumed by the
requests they match: any status with any headers and body (500, 502, 429 with Retry-After, the
403 of a secondary rate limit, 401, 404), or a delay that outlasts the client's timeout.

In a test::

    with FakeGitHub(token="t0ken") as github:
        github.add_pull("octo/repo", 7, head_sha="abc123", comments=250)
        github.fail("GET", status=502)                 # the next GET answers 502
        ... run mlci with GITHUB_API_URL=github.url ...
        assert github.calls() == [("GET", "/repos/octo/repo/issues/7/comments?per_page=100"), ...]
        assert github.comments("octo/repo", 7)[-1]["body"].startswith("<!-- mlci:report")

Out of process (for `act` end-to-end tests)::

    python -m tests.fake_github --port 8765 --token t0ken --pull octo/repo#7 --comments 3

prints the URL and serves until interrupted; `GET /_fake/state` returns the comments and the
request log as JSON, `POST /_fake/faults` queues a fault (a JSON object with the arguments of
`fail`), `POST /_fake/pulls` adds a pull request (the arguments of `add_pull`).
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

BODY_LIMIT = 65_536
BOT = "github-actions[bot]"

_LIST = re.compile(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments")
_EDIT = re.compile(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)")
_PULL = re.compile(r"/repos/([^/]+/[^/]+)/pulls/(\d+)")


@dataclass
class Fault:
    """An answer to give instead of the real one, to the next `times` matching requests."""

    status: int | None = None
    """None: answer normally, after `delay`."""
    method: str | None = None
    path: str | None = None
    """A substring of the request path that must match (None: any)."""
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    """Seconds to wait before answering (longer than the client's timeout: a timeout)."""
    text: str | None = None
    """A body sent as it is, not as JSON (an HTML page from a proxy), with `headers`."""


@dataclass
class RecordedRequest:
    method: str
    path: str
    """Path and query, as sent."""
    body: Any
    authorization: str | None


@dataclass
class _Pull:
    head_sha: str
    comments: list[dict[str, Any]] = field(default_factory=list)


class FakeGitHub:
    """The fake API on 127.0.0.1 and a free port; `start()`/`stop()` or a `with` block."""

    def __init__(
        self,
        *,
        token: str = "test-token",
        read_only_tokens: tuple[str, ...] = (),
        login: str = BOT,
        max_per_page: int = 100,
    ) -> None:
        self.token = token
        self.read_only_tokens = set(read_only_tokens)
        self.login = login
        self.max_per_page = max_per_page
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self._pulls: dict[tuple[str, int], _Pull] = {}
        self._next_id = 1_000
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeGitHub:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def pull_request_job(
        self, repository: str, head_sha: str, directory: Path, workspace: Path | None = None
    ) -> dict[str, str]:
        """The variables GitHub Actions sets for a step of a `pull_request` job on pull request 7
        of `repository` (at `head_sha`) whose API is this fake and whose token is `token`: the
        event file, the step summary and the outputs file are `directory`'s event.json,
        summary.md and output.txt; the workspace is `workspace` (default: `directory`)."""
        event = directory / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": head_sha}}}))
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": repository,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_API_URL": self.url,
            "GITHUB_SERVER_URL": "https://github.test",
            "GITHUB_RUN_ID": "99",
            "GITHUB_TOKEN": self.token,
            "GITHUB_STEP_SUMMARY": str(directory / "summary.md"),
            "GITHUB_OUTPUT": str(directory / "output.txt"),
            "GITHUB_WORKSPACE": str(workspace or directory),
        }

    # --- state --------------------------------------------------------------------------------

    def add_pull(
        self, repository: str, number: int, *, head_sha: str = "0" * 40, comments: int = 0
    ) -> None:
        """A pull request with `comments` comments by someone else."""
        with self._lock:
            pull = self._pulls.setdefault((repository, number), _Pull(head_sha=head_sha))
            pull.head_sha = head_sha
            for index in range(comments):
                pull.comments.append(
                    self._new_comment(repository, number, f"comment {index + 1}", user="someone")
                )

    def add_comment(self, repository: str, number: int, body: str, *, user: str = "someone") -> int:
        with self._lock:
            comment = self._new_comment(repository, number, body, user=user)
            self._pulls[(repository, number)].comments.append(comment)
            return int(comment["id"])

    def comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(comment) for comment in self._pulls[(repository, number)].comments]

    def fail(
        self,
        method: str | None = None,
        *,
        status: int | None = None,
        path: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
        text: str | None = None,
    ) -> None:
        """Queue a fault for the next `times` requests matching `method` and `path`; a
        redirect is a fault too: `status=307, headers={"Location": URL}`."""
        with self._lock:
            self.faults.append(
                Fault(status, method, path, times, dict(headers or {}), body, delay, text)
            )

    def calls(self) -> list[tuple[str, str]]:
        """(method, path with query) of every request so far."""
        with self._lock:
            return [(request.method, request.path) for request in self.requests]

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "pulls": {
                    f"{repo}#{number}": {"head_sha": pull.head_sha, "comments": pull.comments}
                    for (repo, number), pull in self._pulls.items()
                },
                "requests": [asdict(request) for request in self.requests],
            }

    def _find_comment(
        self, repository: str, comment_id: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        """(the comments of its pull request, the comment); the caller holds the lock."""
        for (owner, _number), pull in self._pulls.items():
            for comment in pull.comments:
                if comment["id"] == comment_id and owner == repository:
                    return pull.comments, comment
        return None

    def _new_comment(self, repository: str, number: int, body: str, *, user: str) -> dict[str, Any]:
        self._next_id += 1
        comment_id = self._next_id
        return {
            "id": comment_id,
            "body": body,
            "user": {"login": user, "type": "Bot" if user.endswith("[bot]") else "User"},
            "url": f"{self.url}/repos/{repository}/issues/comments/{comment_id}",
            "html_url": f"https://github.test/{repository}/pull/{number}#issuecomment-{comment_id}",
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    # --- answering ----------------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method not in (None, method):
                    continue
                if fault.path is not None and fault.path not in path:
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def answer(
        self, method: str, target: str, body: Any, authorization: str | None
    ) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON body or `Raw` text) for one request."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path.startswith("/_fake/"):
            return self._control(method, path, body)
        with self._lock:
            self.requests.append(RecordedRequest(method, target, body, authorization))
        fault = self._take_fault(method, path)
        if fault is not None:
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.status is not None:
                payload = Raw(fault.text) if fault.text is not None else fault.body
                return fault.status, fault.headers, payload
        token = (authorization or "").removeprefix("Bearer ").removeprefix("token ")
        if token != self.token and token not in self.read_only_tokens:
            return 401, {}, _message("Bad credentials")
        writes = method in ("POST", "PATCH")
        if writes and token in self.read_only_tokens:
            return 403, {}, _message("Resource not accessible by integration")
        if writes and (not isinstance(body, dict) or not isinstance(body.get("body"), str)):
            return 422, {}, _message("Invalid request: body is required")
        if writes and len(body["body"]) > BODY_LIMIT:
            return (
                422,
                {},
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "IssueComment",
                            "code": "custom",
                            "field": "body",
                            "message": "body is too long (maximum is 65536 characters)",
                        }
                    ],
                },
            )
        if match := _LIST.fullmatch(path):
            key = (match[1], int(match[2]))
            with self._lock:
                pull = self._pulls.get(key)
                if pull is None:
                    return 404, {}, _message("Not Found")
                if method == "GET":
                    return self._page(path, query, pull.comments)
                if method == "POST":
                    comment = self._new_comment(key[0], key[1], body["body"], user=self.login)
                    pull.comments.append(comment)
                    return 201, {}, comment
        if (match := _EDIT.fullmatch(path)) and method in ("PATCH", "DELETE"):
            with self._lock:
                found = self._find_comment(match[1], int(match[2]))
                if found is None:
                    return 404, {}, _message("Not Found")
                comments, comment = found
                if comment["user"]["login"] != self.login:
                    verb = "edit" if method == "PATCH" else "delete"
                    return 403, {}, _message(f"You cannot {verb} this comment")
                if method == "DELETE":
                    comments.remove(comment)
                    return 204, {}, None
                comment["body"] = body["body"]
                return 200, {}, comment
        if (match := _PULL.fullmatch(path)) and method == "GET":
            with self._lock:
                found = self._pulls.get((match[1], int(match[2])))
            if found is None:
                return 404, {}, _message("Not Found")
            return 200, {}, {"number": int(match[2]), "head": {"sha": found.head_sha}}
        return 404, {}, _message("Not Found")

    def _page(
        self, path: str, query: dict[str, list[str]], comments: list[dict[str, Any]]
    ) -> tuple[int, dict[str, str], Any]:
        per_page = min(int(query.get("per_page", ["30"])[0]), self.max_per_page)
        page = int(query.get("page", ["1"])[0])
        last = max((len(comments) + per_page - 1) // per_page, 1)
        items = comments[(page - 1) * per_page : page * per_page]
        links = []
        if page < last:
            links.append(f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{self.url}{path}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{self.url}{path}?per_page={per_page}&page={page - 1}>; rel="prev"')
            links.append(f'<{self.url}{path}?per_page={per_page}&page=1>; rel="first"')
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, headers, [dict(item) for item in items]

    def _control(self, method: str, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
        if path == "/_fake/state" and method == "GET":
            return 200, {}, self.state()
        if path == "/_fake/faults" and method == "POST" and isinstance(body, dict):
            self.fail(**body)
            return 201, {}, {"queued": True}
        if path == "/_fake/pulls" and method == "POST" and isinstance(body, dict):
            self.add_pull(**body)
            return 201, {}, {"added": True}
        return 404, {}, _message("Not Found")


@dataclass(frozen=True)
class Raw:
    """A body that is not JSON."""

    text: str


def _message(text: str) -> dict[str, str]:
    return {"message": text, "documentation_url": "https://docs.github.com/rest"}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, headers, payload = self.fake.answer(
            self.command, self.path, body, self.headers.get("Authorization")
        )
        if isinstance(payload, Raw):
            data, kind = payload.text.encode(), "text/html; charset=utf-8"
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
            kind = "application/json; charset=utf-8"
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fake GitHub API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--read-only-token", action="append", default=[])
    parser.add_argument("--pull", action="append", default=[], metavar="OWNER/NAME#N")
    parser.add_argument("--head-sha", default="0" * 40)
    parser.add_argument("--comments", type=int, default=0, help="comments by others per pull")
    args = parser.parse_args(argv)
    fake = FakeGitHub(token=args.token, read_only_tokens=tuple(args.read_only_token))
    fake.start(args.port)
    for pull in args.pull:
        repository, _, number = pull.partition("#")
        fake.add_pull(repository, int(number), head_sha=args.head_sha, comments=args.comments)
    print(fake.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()

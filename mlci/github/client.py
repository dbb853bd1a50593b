"""A small GitHub REST client for issue comments: retries, rate limits, redirects, pagination.

`requests` carries the HTTP (its `Response.links` parses `Link` pagination headers) and
`tenacity` decides when to try again: timeouts, connection errors, 5xx, 429 and the 403 of a
rate limit. The waits follow GitHub's REST best practices: as long as `Retry-After` says, else
until `x-ratelimit-reset` when `x-ratelimit-remaining` is 0, else at least a minute, doubling
while the rate limit lasts; other failures back off exponentially from 1 s. All of it within a
total time budget, and every wait is recorded so the caller can say what was waited.
Redirects are followed within the API's origin only (the token never goes to another host).
Both libraries are imported lazily.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from mlci import __version__
from mlci.errors import GitHubError
from mlci.github.settings import Token

if TYPE_CHECKING:
    import requests

RETRY_STATUSES = frozenset({500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_PAGES = 1_000
RateLimit = Literal["primary", "secondary"]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    """Tries per request, the first included."""
    budget: float = 300.0
    """Seconds one request may take, waits included; a longer wait gives up at once."""
    backoff: float = 1.0
    """First wait of the exponential backoff (then 2x, 4x, ...)."""
    backoff_max: float = 30.0
    timeout: float = 20.0
    """Seconds to wait for GitHub's answer to one try."""
    rate_limit_wait: float = 60.0
    """GitHub's advice for a rate limit that says neither Retry-After nor when it resets:
    wait at least a minute, then exponentially longer while it lasts."""
    redirects: int = 5
    """Redirects followed per try."""


@dataclass(frozen=True)
class Wait:
    """One pause between two tries of a request, and why."""

    seconds: float
    method: str
    path: str
    reason: str

    def __str__(self) -> str:
        return (
            f"waited {_seconds(self.seconds)} before retrying {self.method} {self.path} "
            f"({self.reason})"
        )


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    url: str
    """The comment's API URL."""
    html_url: str
    user: str | None = None


class GitHubApiError(GitHubError):
    """GitHub answered with an error status after retries, or never answered."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        github_message: str | None = None,
        hint: str | None = None,
        rate_limit: RateLimit | None = None,
        reset_in: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.github_message = github_message
        self.rate_limit = rate_limit
        """Set when the final answer was a rate limit, not a refusal."""
        self.reset_in = reset_in
        """Seconds until the primary rate limit resets, when GitHub said."""
        self.explained = False
        """Set by `comments.explain`, which says the cause once."""


class GitHubClient:
    """The issue-comment endpoints of one GitHub (github.com or an Enterprise server)."""

    def __init__(
        self,
        api_url: str,
        token: Token,
        *,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import requests

        _check_token(token)
        self.api_url = api_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"mlci/{__version__}",
            }
        )
        self._token = token
        self._sleep = sleep
        self._clock = clock
        self.waits: list[Wait] = []
        """Every pause so far, for the caller to report."""
        self.moved: dict[str, str] = {}
        """Paths GitHub said moved for good (301, 308): old prefix -> new prefix."""

    # --- endpoints ------------------------------------------------------------------------

    def issue_comments(self, repository: str, number: int) -> Iterator[Comment]:
        """Every comment of an issue or pull request, following `Link: rel="next"` pages."""
        url: str | None = f"{self.api_url}/repos/{repository}/issues/{number}/comments"
        params: dict[str, Any] | None = {"per_page": 100}
        pages = 0
        while url is not None:
            pages += 1
            if pages > MAX_PAGES:
                raise GitHubApiError(
                    f"more than {MAX_PAGES} pages of comments on #{number}", status=None
                )
            response = self.request("GET", url, params=params)
            items = _json(response, "GET", url)
            if not isinstance(items, list):
                raise GitHubApiError(
                    f"GitHub answered GET {_path(url)} with something that is not a list",
                    status=response.status_code,
                )
            for item in items:
                yield _comment(item)
            url = response.links.get("next", {}).get("url")
            params = None  # the next link carries its own query
            if url is not None and not self._same_origin(url):
                raise GitHubApiError(
                    f"GitHub's next-page link leaves {self.api_url}: {url}", status=None
                )

    def create_comment(self, repository: str, number: int, body: str) -> Comment:
        url = f"{self.api_url}/repos/{repository}/issues/{number}/comments"
        return _comment(_json(self.request("POST", url, json={"body": body}), "POST", url))

    def update_comment(self, repository: str, comment_id: int, body: str) -> Comment:
        url = f"{self.api_url}/repos/{repository}/issues/comments/{comment_id}"
        return _comment(_json(self.request("PATCH", url, json={"body": body}), "PATCH", url))

    def delete_comment(self, repository: str, comment_id: int) -> None:
        url = f"{self.api_url}/repos/{repository}/issues/comments/{comment_id}"
        self.request("DELETE", url)

    def pull_request_head(self, repository: str, number: int) -> str | None:
        """The head commit of a pull request."""
        url = f"{self.api_url}/repos/{repository}/pulls/{number}"
        data = _json(self.request("GET", url), "GET", url)
        head = data.get("head") if isinstance(data, dict) else None
        sha = head.get("sha") if isinstance(head, dict) else None
        return sha if isinstance(sha, str) else None

    # --- transport ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> requests.Response:
        """One API call with retries; a final error status raises GitHubApiError."""
        import requests
        import tenacity

        policy = self.policy
        rate_limited = [0]  # rate-limit answers so far: each wait doubles

        def attempt() -> requests.Response:
            return self._follow(method, url, params, json)

        def wait(state: Any) -> float:
            outcome = state.outcome
            if outcome is not None and not outcome.failed:
                response = outcome.result()
                asked = self._asked_wait(response)
                if asked is not None:
                    return asked
                if _rate_limit(response) is not None:
                    rate_limited[0] += 1
                    return float(policy.rate_limit_wait * 2 ** (rate_limited[0] - 1))
            return float(min(policy.backoff * 2 ** (state.attempt_number - 1), policy.backoff_max))

        def before_sleep(state: Any) -> None:
            self.waits.append(Wait(state.upcoming_sleep, method, _path(url), _why(state.outcome)))

        transient = (requests.Timeout, requests.ConnectionError)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(transient)
            | tenacity.retry_if_result(_should_retry),
            wait=wait,
            stop=self._stop,
            sleep=self._sleep,
            before_sleep=before_sleep,
            retry_error_callback=lambda state: state,
        )
        waits_before = len(self.waits)
        try:
            outcome = retrying(attempt)
        except requests.RequestException as exc:  # not worth retrying (bad URL, ...)
            raise GitHubApiError(
                f"cannot reach GitHub for {method} {_path(url)}: {type(exc).__name__}",
                status=None,
                hint="check GITHUB_API_URL or --api-url",
            ) from None
        if isinstance(outcome, tenacity.RetryCallState):  # gave up
            return self._give_up(method, url, outcome, self.waits[waits_before:])
        response: requests.Response = outcome
        if response.status_code >= 300:
            raise self._error(method, url, response, attempts=1)
        return response

    def _follow(
        self, method: str, url: str, params: dict[str, Any] | None, json: Any
    ) -> requests.Response:
        """One try, following redirects as GitHub asks: any for GET, and with the method and
        body kept for 307/308; never to another origin, which would get the token."""
        url = self._moved_url(url)
        for _hop in range(self.policy.redirects + 1):
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {self._token.reveal()}"},
                timeout=self.policy.timeout,
                allow_redirects=False,
            )
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            if response.status_code not in (307, 308) and method not in ("GET", "HEAD"):
                return response  # a 301/302/303 would turn a write into a GET: said, not followed
            target = urljoin(response.url, location)
            if not self._same_origin(target):
                response.close()
                raise GitHubApiError(
                    f"GitHub redirected {method} {_path(url)} to another host "
                    f"({urlsplit(target).netloc or target[:80]}); mlci does not send the "
                    "token there",
                    status=response.status_code,
                    hint="check GITHUB_API_URL or --api-url, and --repo OWNER/NAME",
                )
            response.close()
            if response.status_code in (301, 308):
                self._remember_move(url, target)
            url, params = target, None  # the Location carries its own query
        return response

    def _remember_move(self, old: str, new: str) -> None:
        """A permanent redirect: later calls under the same path go to the new one directly,
        as GitHub's REST guide asks ("use this URL for future requests"). A renamed repository
        sends `/repos/OWNER/OLD/issues/7/comments` to `/repositories/ID/issues/7/comments`: what
        the two paths end with alike is the resource, what comes before it moved."""
        old_parts = urlsplit(old).path.rstrip("/").split("/")
        new_parts = urlsplit(new).path.rstrip("/").split("/")
        same = 0
        while (
            same < min(len(old_parts), len(new_parts)) - 1
            and old_parts[-1 - same] == new_parts[-1 - same]
        ):
            same += 1
        before = "/".join(old_parts[: len(old_parts) - same])
        after = "/".join(new_parts[: len(new_parts) - same])
        if before and before != after:
            self.moved[before] = after

    def _moved_url(self, url: str) -> str:
        """`url` with what moved for good replaced (same origin only: the token stays)."""
        if not self.moved or not self._same_origin(url):
            return url
        parts = urlsplit(url)
        path = parts.path
        for _hop in range(self.policy.redirects):
            old = next(
                (old for old in self.moved if path == old or path.startswith(old + "/")), None
            )
            if old is None:
                break
            path = self.moved[old] + path[len(old) :]
        return urlunsplit(parts._replace(path=path))

    def _same_origin(self, url: str) -> bool:
        ours, theirs = urlsplit(self.api_url), urlsplit(url)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)

    def _asked_wait(self, response: requests.Response) -> float | None:
        """What GitHub asks for: Retry-After, or until the reset of a used-up rate limit."""
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            seconds = _parse_retry_after(retry_after, self._clock())
            if seconds is not None:
                return seconds
        reset_in = self._reset_in(response)
        if reset_in is not None:
            return reset_in + 1.0
        return None

    def _reset_in(self, response: requests.Response) -> float | None:
        if response.headers.get("x-ratelimit-remaining") != "0":
            return None
        try:
            reset = float(response.headers.get("x-ratelimit-reset", ""))
        except ValueError:
            return None
        return max(reset - self._clock(), 0.0) if math.isfinite(reset) else None

    def _stop(self, state: Any) -> bool:
        policy = self.policy
        if state.attempt_number >= policy.attempts:
            return True
        spent = max(state.seconds_since_start or 0.0, state.idle_for)
        return bool(spent + state.upcoming_sleep > policy.budget)

    def _give_up(self, method: str, url: str, state: Any, waits: list[Wait]) -> requests.Response:
        outcome = state.outcome
        attempts = state.attempt_number
        waited = _waited(waits)
        if outcome.failed:
            exc = outcome.exception()
            import requests

            what = (
                f"did not answer within {self.policy.timeout:g} s"
                if isinstance(exc, requests.Timeout)
                else "could not be reached"
            )
            raise GitHubApiError(
                f"GitHub ({urlsplit(self.api_url).netloc}) {what} for {method} {_path(url)}, "
                f"{attempts} attempt{'s' if attempts != 1 else ''}{waited}",
                status=None,
                hint="GitHub may be down; the report is still in the job summary and -o FILE",
            )
        response = outcome.result()
        upcoming = state.upcoming_sleep
        error = self._error(method, url, response, attempts=attempts)
        error.message += waited
        if upcoming and state.attempt_number < self.policy.attempts:
            if self._asked_wait(response) is not None:
                error.message += (
                    f"; GitHub asks to wait {math.ceil(upcoming)} s, more than the "
                    f"{self.policy.budget:g} s budget"
                )
            else:
                error.message += (
                    f"; waiting {math.ceil(upcoming)} s more would pass the "
                    f"{self.policy.budget:g} s budget"
                )
        raise error

    def _error(
        self, method: str, url: str, response: requests.Response, *, attempts: int
    ) -> GitHubApiError:
        status = response.status_code
        # GitHub (or a proxy) may echo the request: the token never reaches a message.
        github_message = _github_message(response).replace(self._token.reveal(), "***")
        said = f"{status} {github_message or response.reason or ''}".strip()
        text = f"GitHub answered {method} {_path(url)} with {said}"
        if attempts > 1:
            text += f" after {attempts} attempts"
        return GitHubApiError(
            text,
            status=status,
            github_message=github_message,
            rate_limit=_rate_limit(response),
            reset_in=self._reset_in(response),
        )


def _should_retry(response: requests.Response) -> bool:
    return response.status_code in RETRY_STATUSES or _rate_limit(response) is not None


def _rate_limit(response: requests.Response) -> RateLimit | None:
    """Which rate limit a 403 or 429 is, told apart from a permission problem (a 403 without
    these headers or words), as GitHub's rate-limit docs describe them."""
    if response.status_code not in (403, 429):
        return None
    message = _github_message(response).lower()
    if "secondary rate limit" in message or "abuse" in message:
        return "secondary"
    if response.headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message:
        return "primary"
    if response.status_code == 429 or response.headers.get("Retry-After"):
        return "secondary"
    return None


def _why(outcome: Any) -> str:
    if outcome is None:
        return "no answer"
    if outcome.failed:
        return type(outcome.exception()).__name__
    response = outcome.result()
    limit = _rate_limit(response)
    if limit is not None:
        return f"{response.status_code}, {limit} rate limit"
    return str(response.status_code)


def _seconds(value: float) -> str:
    return f"{value:.3g} s" if value < 10 else f"{math.ceil(value)} s"


def _waited(waits: list[Wait]) -> str:
    if not waits:
        return ""
    return " (waited " + ", ".join(_seconds(wait.seconds) for wait in waits) + ")"


def _check_token(token: Token) -> None:
    """HTTP headers carry Latin-1 at most, and a GitHub token is printable ASCII: anything else
    is a pasting mistake, said without showing the token."""
    secret = token.reveal()
    if not secret or not (secret.isascii() and secret.isprintable()) or " " in secret:
        raise GitHubError(
            "the GitHub token holds characters no token has (spaces, control or non-ASCII "
            "characters)",
            hint="check GITHUB_TOKEN or --token",
        )


def _json(response: requests.Response, method: str, url: str) -> Any:
    """The answer's JSON; an HTML page from a proxy or single sign-on is said, not a crash."""
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise GitHubApiError(
            f"GitHub answered {method} {_path(url)} with {response.status_code} {kind}, not JSON",
            status=None,
            hint="a proxy or single sign-on page may be in the way: check GITHUB_API_URL",
        ) from None


def _parse_retry_after(value: str, now: float) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def _github_message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str):
        return ""
    errors = data.get("errors")
    if isinstance(errors, list):
        details = [e.get("message") for e in errors if isinstance(e, dict) and e.get("message")]
        if details:
            message += ": " + "; ".join(str(detail) for detail in details)
    return message[:300]


def _path(url: str) -> str:
    return urlsplit(url).path


def _comment(item: Any) -> Comment:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
        raise GitHubApiError("GitHub sent a comment without an id", status=None)
    user = item.get("user")
    return Comment(
        id=item["id"],
        body=item.get("body") or "",
        url=str(item.get("url") or ""),
        html_url=str(item.get("html_url") or ""),
        user=user.get("login") if isinstance(user, dict) else None,
    )

"""A small GitHub REST client for issue comments: retries, rate limits and pagination.

`requests` carries the HTTP (its `Response.links` parses `Link` pagination headers) and
`tenacity` decides when to try again: timeouts, connection errors, 5xx, 429 and the 403 of a
rate limit, waiting as long as `Retry-After` or `x-ratelimit-reset` says, otherwise with
bounded exponential backoff, all within a total time budget. Both are imported lazily.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mlci import __version__
from mlci.errors import GitHubError
from mlci.github.settings import Token

if TYPE_CHECKING:
    import requests

RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_PAGES = 1_000


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    """Tries per request, the first included."""
    budget: float = 120.0
    """Seconds one request may take, waits included; a longer Retry-After gives up at once."""
    backoff: float = 1.0
    """First wait of the exponential backoff (then 2x, 4x, ...)."""
    backoff_max: float = 30.0
    timeout: float = 20.0
    """Seconds to wait for GitHub's answer to one try."""
    secondary_wait: float = 60.0
    """GitHub's advice for a secondary rate limit that gives no Retry-After."""


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
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.github_message = github_message


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
            items = response.json()
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
        return _comment(self.request("POST", url, json={"body": body}).json())

    def update_comment(self, repository: str, comment_id: int, body: str) -> Comment:
        url = f"{self.api_url}/repos/{repository}/issues/comments/{comment_id}"
        return _comment(self.request("PATCH", url, json={"body": body}).json())

    def delete_comment(self, repository: str, comment_id: int) -> None:
        url = f"{self.api_url}/repos/{repository}/issues/comments/{comment_id}"
        self.request("DELETE", url)

    def pull_request_head(self, repository: str, number: int) -> str | None:
        """The head commit of a pull request."""
        data = self.request("GET", f"{self.api_url}/repos/{repository}/pulls/{number}").json()
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

        def attempt() -> requests.Response:
            return self.session.request(
                method,
                url,
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {self._token.reveal()}"},
                timeout=policy.timeout,
                allow_redirects=False,
            )

        transient = (requests.Timeout, requests.ConnectionError)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(transient)
            | tenacity.retry_if_result(_should_retry),
            wait=self._wait,
            stop=self._stop,
            sleep=self._sleep,
            retry_error_callback=lambda state: state,
        )
        try:
            outcome = retrying(attempt)
        except requests.RequestException as exc:  # not worth retrying (bad URL, redirects, ...)
            raise GitHubApiError(
                f"cannot reach GitHub for {method} {_path(url)}: {type(exc).__name__}",
                status=None,
                hint="check GITHUB_API_URL or --api-url",
            ) from None
        if isinstance(outcome, tenacity.RetryCallState):  # gave up
            return self._give_up(method, url, outcome)
        response: requests.Response = outcome
        if response.status_code >= 300:
            raise _error(method, url, response, attempts=1)
        return response

    def _same_origin(self, url: str) -> bool:
        ours, theirs = urlsplit(self.api_url), urlsplit(url)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)

    def _wait(self, state: Any) -> float:
        """Seconds before the next try: what GitHub asks for, else exponential backoff."""
        policy = self.policy
        outcome = state.outcome
        asked = None
        if outcome is not None and not outcome.failed:
            asked = self._asked_wait(outcome.result())
        if asked is not None:
            return asked
        return float(min(policy.backoff * 2 ** (state.attempt_number - 1), policy.backoff_max))

    def _asked_wait(self, response: requests.Response) -> float | None:
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            seconds = _parse_retry_after(retry_after, self._clock())
            if seconds is not None:
                return seconds
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = response.headers.get("x-ratelimit-reset", "")
            try:
                return max(float(reset) - self._clock(), 0.0) + 1.0
            except ValueError:
                pass
        if response.status_code == 403 and _is_rate_limited(response):
            return self.policy.secondary_wait
        return None

    def _stop(self, state: Any) -> bool:
        policy = self.policy
        if state.attempt_number >= policy.attempts:
            return True
        spent = max(state.seconds_since_start or 0.0, state.idle_for)
        return bool(spent + state.upcoming_sleep > policy.budget)

    def _give_up(self, method: str, url: str, state: Any) -> requests.Response:
        outcome = state.outcome
        attempts = state.attempt_number
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
                f"{attempts} attempt{'s' if attempts != 1 else ''}",
                status=None,
                hint="GitHub may be down; the report is still in the job summary and -o FILE",
            )
        response = outcome.result()
        upcoming = state.upcoming_sleep
        error = _error(method, url, response, attempts=attempts)
        if upcoming and state.attempt_number < self.policy.attempts:
            error.message += (
                f"; GitHub asks to wait {math.ceil(upcoming)} s, more than the "
                f"{self.policy.budget:g} s budget"
            )
        raise error


def _should_retry(response: requests.Response) -> bool:
    status = response.status_code
    if status in RETRY_STATUSES or status == 429:
        return True
    return status == 403 and _is_rate_limited(response)


def _is_rate_limited(response: requests.Response) -> bool:
    """A 403 that is a rate limit (primary or secondary), not a permission problem."""
    if response.headers.get("Retry-After") or response.headers.get("x-ratelimit-remaining") == "0":
        return True
    return "rate limit" in _github_message(response).lower()


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


def _error(method: str, url: str, response: requests.Response, *, attempts: int) -> GitHubApiError:
    status = response.status_code
    github_message = _github_message(response)
    said = f"{status} {github_message or response.reason or ''}".strip()
    text = f"GitHub answered {method} {_path(url)} with {said}"
    if attempts > 1:
        text += f" after {attempts} attempts"
    return GitHubApiError(text, status=status, github_message=github_message)


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

"""The REST client and the sticky comment against a local fake of GitHub's API: exact requests,
pagination, faults survived (retried, waiting as GitHub asks) or explained."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_github import FakeGitHub

from mlci.errors import GitHubError
from mlci.github.client import Comment, GitHubApiError, GitHubClient, RetryPolicy
from mlci.github.comments import post_sticky_comment, with_marker
from mlci.github.settings import Token

REPO = "octo/repo"
TOKEN = "s3cret-token"
LIST = f"/repos/{REPO}/issues/7/comments"
NOW = 1_700_000_000.0


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, read_only_tokens=("read-only",)) as fake:
        fake.add_pull(REPO, 7, head_sha="a" * 40)
        yield fake


class Clock:
    """An injected sleep: records the waits and moves a fake clock instead of waiting."""

    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client_for(
    github: FakeGitHub, clock: Clock, token: str = TOKEN, **policy: float
) -> GitHubClient:
    return GitHubClient(
        github.url,
        Token(token),
        policy=RetryPolicy(**{"timeout": 2.0, **policy}),  # type: ignore[arg-type]
        sleep=clock.sleep,
        clock=clock.time,
    )


def mlci_comments(github: FakeGitHub) -> list[dict[str, object]]:
    return [c for c in github.comments(REPO, 7) if str(c["body"]).startswith("<!-- mlci:report")]


def test_creates_then_updates_across_pages(github: FakeGitHub, clock: Clock) -> None:
    github.add_pull(REPO, 7, comments=250)
    client = client_for(github, clock)
    bodies = ["first run", "second run", "third run"]
    actions = [post_sticky_comment(client, REPO, 7, body, "default").action for body in bodies]
    assert actions == ["created", "updated", "updated"]
    ours = mlci_comments(github)
    assert len(ours) == 1
    assert ours[0]["body"] == "<!-- mlci:report id=default -->\nthird run"
    assert len(github.comments(REPO, 7)) == 251
    page = f"{LIST}?per_page=100"
    comment_id = ours[0]["id"]
    assert github.calls() == [
        # run 1: three pages, nothing found, created
        ("GET", page),
        ("GET", f"{LIST}?per_page=100&page=2"),
        ("GET", f"{LIST}?per_page=100&page=3"),
        ("POST", LIST),
        # then read again: did another run create one meanwhile? (no)
        ("GET", page),
        ("GET", f"{LIST}?per_page=100&page=2"),
        ("GET", f"{LIST}?per_page=100&page=3"),
        # run 2: the comment is the 251st, on page 3
        ("GET", page),
        ("GET", f"{LIST}?per_page=100&page=2"),
        ("GET", f"{LIST}?per_page=100&page=3"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{comment_id}"),
        # run 3
        ("GET", page),
        ("GET", f"{LIST}?per_page=100&page=2"),
        ("GET", f"{LIST}?per_page=100&page=3"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{comment_id}"),
    ]
    assert {request.authorization for request in github.requests} == {f"Bearer {TOKEN}"}
    assert clock.sleeps == []


def test_same_body_is_updated_again(github: FakeGitHub, clock: Clock) -> None:
    client = client_for(github, clock)
    assert post_sticky_comment(client, REPO, 7, "same", "default").action == "created"
    assert post_sticky_comment(client, REPO, 7, "same", "default").action == "updated"
    assert [method for method, _ in github.calls()] == ["GET", "POST", "GET", "GET", "PATCH"]


class RacingClient(GitHubClient):
    """A run whose twin (the same report, the same token) creates its comment just before this
    run creates its own: both had found none."""

    def __init__(self, github: FakeGitHub, clock: Clock) -> None:
        super().__init__(github.url, Token(TOKEN), sleep=clock.sleep, clock=clock.time)
        self.twin = client_for(github, clock)

    def create_comment(self, repository: str, number: int, body: str) -> Comment:
        self.twin.create_comment(repository, number, "<!-- mlci:report id=default -->\ntwin")
        return super().create_comment(repository, number, body)


def test_two_runs_that_both_create_leave_one_comment(github: FakeGitHub, clock: Clock) -> None:
    github.add_pull(REPO, 7, comments=3)
    posted = post_sticky_comment(RacingClient(github, clock), REPO, 7, "mine", "default")
    # The twin's comment is older: it takes this run's body, and this run's comment goes.
    (kept,) = mlci_comments(github)
    assert kept["body"] == "<!-- mlci:report id=default -->\nmine"
    assert (posted.action, posted.comment.id) == ("updated", kept["id"])
    assert [method for method, _ in github.calls()][-3:] == ["GET", "PATCH", "DELETE"]
    # A later run finds the one comment and updates it.
    again = post_sticky_comment(client_for(github, clock), REPO, 7, "next run", "default")
    assert (again.action, len(mlci_comments(github))) == ("updated", 1)


def test_report_ids_coexist(github: FakeGitHub, clock: Clock) -> None:
    client = client_for(github, clock)
    post_sticky_comment(client, REPO, 7, "model A", "model-a")
    post_sticky_comment(client, REPO, 7, "model B", "model-b")
    post_sticky_comment(client, REPO, 7, "model A again", "model-a")
    assert [c["body"] for c in github.comments(REPO, 7)] == [
        "<!-- mlci:report id=model-a -->\nmodel A again",
        "<!-- mlci:report id=model-b -->\nmodel B",
    ]


def test_a_comment_quoting_the_marker_is_not_ours(github: FakeGitHub, clock: Clock) -> None:
    github.add_comment(REPO, 7, "> <!-- mlci:report id=default -->\nquoted")
    github.add_comment(REPO, 7, "<!-- mlci:report id=default -->\nforged by a user")
    posted = post_sticky_comment(client_for(github, clock), REPO, 7, "real", "default")
    # the forged one cannot be edited (403), so mlci writes its own
    assert posted.action == "created"
    assert [c["user"]["login"] for c in mlci_comments(github)] == ["someone", "github-actions[bot]"]  # type: ignore[index]


def test_marker_in_body_is_replaced_by_the_report_id() -> None:
    assert with_marker("<!-- mlci:report id=old -->\nbody", "new") == (
        "<!-- mlci:report id=new -->\nbody"
    )
    with pytest.raises(GitHubError) as caught:
        with_marker("x", "bad id!")
    assert str(caught.value) == (
        "report id 'bad id!' may hold only letters, digits, '_', '.', '-' (1-64) "
        "(pass --report-id ID)"
    )


def test_large_existing_comments_are_read(github: FakeGitHub, clock: Clock) -> None:
    for _ in range(3):
        github.add_comment(REPO, 7, "x" * 200_000)
    assert (
        post_sticky_comment(client_for(github, clock), REPO, 7, "hi", "default").action == "created"
    )


def test_body_over_the_limit_is_cut_not_refused(github: FakeGitHub, clock: Clock) -> None:
    body = "## Part one\n\n" + "x" * 40_000 + "\n\n## Part two\n\n" + "y" * 160_000
    post_sticky_comment(client_for(github, clock), REPO, 7, body, "default")
    (posted,) = mlci_comments(github)
    text = str(posted["body"])
    assert "## Part two" not in text
    assert "x" * 40_000 in text
    assert text.endswith(
        "> [!NOTE]\n> The report is too long for a comment and was cut here: the full report "
        "is in the job summary and the report artifact.\n"
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_backoff(
    github: FakeGitHub, clock: Clock, status: int
) -> None:
    github.fail("GET", status=status, times=3)
    post_sticky_comment(client_for(github, clock), REPO, 7, "body", "default")
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert github.calls() == [("GET", f"{LIST}?per_page=100")] * 4 + [
        ("POST", LIST),
        ("GET", f"{LIST}?per_page=100"),
    ]


def test_429_waits_as_retry_after_says(github: FakeGitHub, clock: Clock) -> None:
    github.fail("POST", status=429, headers={"Retry-After": "7"}, body={"message": "slow down"})
    post_sticky_comment(client_for(github, clock), REPO, 7, "body", "default")
    assert clock.sleeps == [7.0]
    assert [call[0] for call in github.calls()] == ["GET", "POST", "POST", "GET"]


def test_secondary_rate_limit_403_is_retried(github: FakeGitHub, clock: Clock) -> None:
    message = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    github.fail("POST", status=403, body=message)
    github.fail("POST", status=403, headers={"Retry-After": "3"}, body=message)
    post_sticky_comment(client_for(github, clock), REPO, 7, "body", "default")
    assert clock.sleeps == [60.0, 3.0]
    assert len(mlci_comments(github)) == 1


def test_primary_rate_limit_waits_until_reset(github: FakeGitHub, clock: Clock) -> None:
    github.fail(
        "GET",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 20)},
        body={"message": "API rate limit exceeded"},
    )
    post_sticky_comment(client_for(github, clock), REPO, 7, "body", "default")
    assert clock.sleeps == [21.0]


def test_rate_limit_longer_than_the_budget_gives_up_at_once(
    github: FakeGitHub, clock: Clock
) -> None:
    github.fail("GET", status=429, headers={"Retry-After": "3600"}, body={"message": "slow down"})
    with pytest.raises(GitHubApiError) as caught:
        post_sticky_comment(client_for(github, clock), REPO, 7, "body", "default")
    assert caught.value.message == (
        "GitHub's secondary rate limit stopped the request: "
        f"GitHub answered GET {LIST} with 429 slow down; GitHub asks to wait 3600 s, "
        "more than the 300 s budget"
    )
    assert clock.sleeps == []
    assert len(github.calls()) == 1


def test_persistent_502_gives_up_after_the_attempts(github: FakeGitHub, clock: Clock) -> None:
    github.fail("GET", status=502, times=99, body={"message": "Server Error"})
    with pytest.raises(GitHubApiError) as caught:
        post_sticky_comment(client_for(github, clock), REPO, 7, "body", "default")
    assert caught.value.message == (
        f"GitHub answered GET {LIST} with 502 Server Error after 5 attempts "
        "(waited 1 s, 2 s, 4 s, 8 s)"
    )
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_total_budget_bounds_the_backoff(github: FakeGitHub, clock: Clock) -> None:
    github.fail("GET", status=500, times=99)
    with pytest.raises(GitHubApiError):
        post_sticky_comment(client_for(github, clock, budget=5.0), REPO, 7, "body", "default")
    assert clock.sleeps == [1.0, 2.0]  # a third wait (4 s) would pass 5 s


def test_timeouts_are_retried(github: FakeGitHub, clock: Clock) -> None:
    github.fail("GET", delay=1.0)  # longer than the client's 0.2 s timeout
    post_sticky_comment(client_for(github, clock, timeout=0.2), REPO, 7, "body", "default")
    assert clock.sleeps == [1.0]
    assert [call[0] for call in github.calls()] == ["GET", "GET", "POST", "GET"]


def test_timeouts_give_up_with_a_clear_message(github: FakeGitHub, clock: Clock) -> None:
    github.fail("GET", delay=1.0, times=2)
    with pytest.raises(GitHubApiError) as caught:
        post_sticky_comment(
            client_for(github, clock, timeout=0.2, attempts=2), REPO, 7, "body", "default"
        )
    host = github.url.removeprefix("http://")
    assert str(caught.value) == (
        f"GitHub ({host}) did not answer within 0.2 s for GET {LIST}, 2 attempts "
        "(waited 1 s) (GitHub may be down; the report is still in the job summary and -o FILE)"
    )


def test_401_is_explained_and_not_retried(github: FakeGitHub, clock: Clock) -> None:
    with pytest.raises(GitHubError) as caught:
        post_sticky_comment(client_for(github, clock, token="wrong"), REPO, 7, "b", "default")
    assert str(caught.value) == (
        "GitHub rejected the token (401 Bad credentials) (the token is wrong or expired: set "
        "GITHUB_TOKEN (in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}`) or pass --token)"
    )
    assert len(github.calls()) == 1
    assert clock.sleeps == []


def test_403_read_only_token_explains_the_fork_setup(github: FakeGitHub, clock: Clock) -> None:
    with pytest.raises(GitHubError) as caught:
        post_sticky_comment(client_for(github, clock, token="read-only"), REPO, 7, "b", "default")
    assert str(caught.value) == (
        "GitHub refused to write a comment on octo/repo#7 (403 Resource not accessible by "
        "integration) (the token lacks `pull-requests: write` (add `permissions: "
        "pull-requests: write` to the job); pull requests from forks get a read-only token: "
        "run `mlci check --comment-artifact DIR` in the pull request workflow and `mlci comment "
        "--from-artifact DIR` in a `workflow_run` workflow (see docs/github.md, 'Pull requests "
        "from forks'))"
    )
    assert [call[0] for call in github.calls()] == ["GET", "POST"]
    assert clock.sleeps == []


def test_404_missing_pull_request(github: FakeGitHub, clock: Clock) -> None:
    with pytest.raises(GitHubError) as caught:
        post_sticky_comment(client_for(github, clock), REPO, 99, "b", "default")
    assert str(caught.value) == (
        "GitHub found no pull request #99 in octo/repo (404 Not Found) (check --repo and --pr; "
        "a private repository also answers 404 when the token cannot read it)"
    )


def test_next_link_to_another_host_is_refused(github: FakeGitHub, clock: Clock) -> None:
    github.fail(
        "GET",
        status=200,
        headers={"Link": '<http://127.0.0.2:1/steal?page=2>; rel="next"'},
        body=[],
    )
    with pytest.raises(GitHubApiError) as caught:
        post_sticky_comment(client_for(github, clock), REPO, 7, "b", "default")
    assert str(caught.value) == (
        f"GitHub's next-page link leaves {github.url}: http://127.0.0.2:1/steal?page=2"
    )


def test_token_never_shows() -> None:
    token = Token("ghp_abcdef")
    assert str(token) == f"{token}" == "***"
    assert repr(token) == "Token('***')"
    assert "ghp_abcdef" not in repr({"token": token})
    assert token.reveal() == "ghp_abcdef"

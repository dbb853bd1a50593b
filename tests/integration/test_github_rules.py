"""GitHub's documented rules, each against the local fake GitHub: rate limits (429 without
Retry-After, primary and secondary 403s), redirects (301/302/307/308, never to another host),
comment size as GitHub counts it, non-JSON answers and the token. Waits go through an injected
clock: nothing here sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_github import FakeGitHub
from test_github_client import LIST, NOW, REPO, TOKEN, Clock, client_for, mlci_comments

from mlci.errors import GitHubError
from mlci.github.client import GitHubApiError, GitHubClient
from mlci.github.comments import (
    COMMENT_ROOM,
    comment_length,
    explain,
    fit_comment,
    post_sticky_comment,
)
from mlci.github.settings import Token

SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
PRIMARY = {"message": "API rate limit exceeded for installation ID 42."}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, read_only_tokens=("read-only",)) as fake:
        fake.add_pull(REPO, 7, head_sha="a" * 40)
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


def post(client: GitHubClient, number: int = 7) -> None:
    try:
        post_sticky_comment(client, REPO, number, "body", "default")
    except GitHubApiError as error:
        raise explain(error, REPO, number) from None


# --- rate limits -------------------------------------------------------------------------------


def test_429_without_retry_after_waits_a_minute_then_longer(
    github: FakeGitHub, clock: Clock
) -> None:
    github.fail("POST", status=429, times=2, body={"message": "slow down"})
    client = client_for(github, clock)
    post(client)
    assert clock.sleeps == [60.0, 120.0]
    assert [str(wait) for wait in client.waits] == [
        f"waited 60 s before retrying POST {LIST} (429, secondary rate limit)",
        f"waited 120 s before retrying POST {LIST} (429, secondary rate limit)",
    ]
    assert len(mlci_comments(github)) == 1


def test_429_that_lasts_gives_up_within_the_budget_saying_what_was_waited(
    github: FakeGitHub, clock: Clock
) -> None:
    github.fail("POST", status=429, times=99, body={"message": "slow down"})
    with pytest.raises(GitHubError) as caught:
        post(client_for(github, clock))
    assert clock.sleeps == [60.0, 120.0]  # a third wait (240 s) would pass the 300 s budget
    assert str(caught.value) == (
        "GitHub's secondary rate limit stopped the request: GitHub answered POST "
        f"{LIST} with 429 slow down after 3 attempts (waited 60 s, 120 s); waiting 240 s more "
        "would pass the 300 s budget (too many requests in a short time (jobs sharing the "
        "token?); the report is still in the job summary and the report artifact; re-run the "
        "job in a few minutes)"
    )


def test_429_with_the_limit_used_up_waits_until_the_reset(github: FakeGitHub, clock: Clock) -> None:
    github.fail(
        "GET",
        status=429,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 90)},
        body=PRIMARY,
    )
    post(client_for(github, clock))
    assert clock.sleeps == [91.0]


def test_primary_rate_limit_403_is_not_a_permission_problem(
    github: FakeGitHub, clock: Clock
) -> None:
    github.fail(
        "GET",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 3600)},
        body=PRIMARY,
    )
    with pytest.raises(GitHubApiError) as caught:
        post(client_for(github, clock))
    error = caught.value
    assert (error.status, error.rate_limit) == (403, "primary")
    assert error.message == (
        "GitHub's rate limit for this token is used up; it resets in 3600 s: GitHub answered "
        f"GET {LIST} with 403 API rate limit exceeded for installation ID 42.; GitHub asks to "
        "wait 3601 s, more than the 300 s budget"
    )
    assert "pull-requests: write" not in str(error)
    assert clock.sleeps == []


def test_secondary_rate_limit_403_waits_grow(github: FakeGitHub, clock: Clock) -> None:
    github.fail("POST", status=403, times=2, body=SECONDARY)
    post(client_for(github, clock))
    assert clock.sleeps == [60.0, 120.0]


def test_secondary_rate_limit_403_that_lasts_is_said_as_such(
    github: FakeGitHub, clock: Clock
) -> None:
    github.fail("POST", status=403, times=99, body=SECONDARY)
    with pytest.raises(GitHubApiError) as caught:
        post(client_for(github, clock, budget=1_000.0, attempts=4))
    assert clock.sleeps == [60.0, 120.0, 240.0]
    assert caught.value.rate_limit == "secondary"
    assert caught.value.message.startswith("GitHub's secondary rate limit stopped the request")
    assert "pull-requests: write" not in str(caught.value)


def test_a_permission_403_is_still_a_permission_problem(github: FakeGitHub, clock: Clock) -> None:
    with pytest.raises(GitHubApiError) as caught:
        post(client_for(github, clock, token="read-only"))
    assert caught.value.rate_limit is None
    assert "the token lacks `pull-requests: write`" in str(caught.value)
    assert clock.sleeps == []


# --- redirects ---------------------------------------------------------------------------------


def test_a_301_is_remembered_for_the_rest_of_the_run(github: FakeGitHub, clock: Clock) -> None:
    """A renamed repository: GitHub answers 301 with the new URL, and its REST guide says to use
    that URL for later requests. Every later call goes there directly, writes included."""
    old = "/repos/octo/old/"
    github.fail(
        "GET",
        path=old,
        status=301,
        times=99,
        headers={"Location": f"{github.url}{LIST}?per_page=100"},
    )
    github.fail(None, path=old, status=404, times=99)  # the old name answers nothing else
    client = client_for(github, clock)
    assert post_sticky_comment(client, "octo/old", 7, "moved", "default").action == "created"
    assert post_sticky_comment(client, "octo/old", 7, "again", "default").action == "updated"
    (comment,) = mlci_comments(github)
    assert comment["body"] == "<!-- mlci:report id=default -->\nagain"
    calls = github.calls()
    assert calls[:3] == [
        ("GET", "/repos/octo/old/issues/7/comments?per_page=100"),
        ("GET", f"{LIST}?per_page=100"),
        ("POST", LIST),  # not to the old name first
    ]
    assert [call for call in calls if call[1].startswith(old)] == calls[:1]
    assert ("PATCH", f"/repos/{REPO}/issues/comments/{comment['id']}") in calls
    assert {request.authorization for request in github.requests} == {f"Bearer {TOKEN}"}


def test_a_temporary_redirect_is_not_remembered(github: FakeGitHub, clock: Clock) -> None:
    old = "/repos/octo/old/"
    github.fail("GET", path=old, status=302, headers={"Location": f"{github.url}{LIST}"})
    client = client_for(github, clock)
    with pytest.raises(GitHubApiError):  # the old name is asked again, and is not found
        post_sticky_comment(client, "octo/old", 7, "x", "default")
    assert github.calls()[:3] == [
        ("GET", "/repos/octo/old/issues/7/comments?per_page=100"),
        ("GET", LIST),
        ("POST", "/repos/octo/old/issues/7/comments"),
    ]


def test_307_on_a_write_keeps_the_method_and_body(github: FakeGitHub, clock: Clock) -> None:
    github.fail("POST", status=307, headers={"Location": f"{github.url}{LIST}?again=1"})
    post(client_for(github, clock))
    posts = [request for request in github.requests if request.method == "POST"]
    assert [(request.path, request.body) for request in posts] == [
        (LIST, {"body": "<!-- mlci:report id=default -->\nbody"}),
        (f"{LIST}?again=1", {"body": "<!-- mlci:report id=default -->\nbody"}),
    ]


@pytest.mark.parametrize("status", [302, 303, 307, 308])
def test_temporary_redirects_of_reads_are_followed(
    github: FakeGitHub, clock: Clock, status: int
) -> None:
    github.fail("GET", status=status, headers={"Location": f"{LIST}?per_page=100&again=1"})
    post(client_for(github, clock))
    assert github.calls()[:2] == [
        ("GET", f"{LIST}?per_page=100"),
        ("GET", f"{LIST}?per_page=100&again=1"),  # a relative Location, resolved
    ]


def test_308_on_patch_keeps_the_method_and_body(github: FakeGitHub, clock: Clock) -> None:
    client = client_for(github, clock)
    post_sticky_comment(client, REPO, 7, "first", "default")
    (comment,) = mlci_comments(github)
    moved = f"/repos/{REPO}/issues/comments/{comment['id']}"
    github.fail("PATCH", status=308, headers={"Location": f"{github.url}{moved}?from=old"})
    post_sticky_comment(client, REPO, 7, "second", "default")
    patches = [request for request in github.requests if request.method == "PATCH"]
    assert [(request.path, request.body) for request in patches] == [
        (moved, {"body": "<!-- mlci:report id=default -->\nsecond"}),
        (f"{moved}?from=old", {"body": "<!-- mlci:report id=default -->\nsecond"}),
    ]
    assert mlci_comments(github)[0]["body"].endswith("second")  # type: ignore[union-attr]


def test_301_on_a_write_is_said_not_turned_into_a_get(github: FakeGitHub, clock: Clock) -> None:
    github.fail("POST", status=301, headers={"Location": f"{github.url}{LIST}"})
    with pytest.raises(GitHubApiError) as caught:
        post(client_for(github, clock))
    assert str(caught.value) == (
        f"GitHub answered POST {LIST} with 301 Moved Permanently (the repository may have "
        "moved: pass --repo OWNER/NAME)"
    )


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_host_never_gets_the_token(
    github: FakeGitHub, clock: Clock, status: int
) -> None:
    with FakeGitHub(token=TOKEN) as elsewhere:
        elsewhere.add_pull(REPO, 7)
        github.fail(
            "GET", status=status, headers={"Location": f"{elsewhere.url}{LIST}?per_page=100"}
        )
        with pytest.raises(GitHubApiError) as caught:
            post(client_for(github, clock))
        assert elsewhere.requests == []
        host = elsewhere.url.removeprefix("http://")
    assert str(caught.value) == (
        f"GitHub redirected GET {LIST} to another host ({host}); mlci does not send the token "
        "there (check GITHUB_API_URL or --api-url, and --repo OWNER/NAME)"
    )


def test_a_redirect_loop_ends(github: FakeGitHub, clock: Clock) -> None:
    github.fail("GET", status=302, times=99, headers={"Location": f"{LIST}?per_page=100"})
    with pytest.raises(GitHubApiError) as caught:
        post(client_for(github, clock))
    assert caught.value.status == 302
    assert len(github.calls()) == 6  # the request and five redirects


# --- comment size ------------------------------------------------------------------------------


def test_a_long_cjk_body_within_the_character_limit_is_posted_whole(
    github: FakeGitHub, clock: Clock
) -> None:
    body = "精度が下がりました。" * 3_003  # 30,030 characters, 90,090 UTF-8 bytes
    post_sticky_comment(client_for(github, clock), REPO, 7, body, "default")
    assert mlci_comments(github)[0]["body"] == f"<!-- mlci:report id=default -->\n{body}"


def test_characters_outside_the_bmp_count_twice() -> None:
    assert comment_length("a精😀") == 4
    assert fit_comment("😀" * 40_000) != "😀" * 40_000
    assert fit_comment("精" * 60_000) == "精" * 60_000


def test_a_body_over_the_limit_is_cut_at_a_section_boundary(
    github: FakeGitHub, clock: Clock
) -> None:
    sections = [f"#### Section {n}\n\n<details><summary>rows</summary>\n\n" for n in range(40)]
    body = "### ❌ report\n\n" + "".join(s + "精" * 3_000 + "\n\n</details>\n\n" for s in sections)
    post_sticky_comment(client_for(github, clock), REPO, 7, body, "default")
    posted = str(mlci_comments(github)[0]["body"])
    assert comment_length(posted) <= COMMENT_ROOM
    kept, note = posted.split("\n\n> [!NOTE]\n")
    assert kept.endswith("</details>")  # cut before a heading: every block closed
    assert kept.count("<details>") == kept.count("</details>")
    assert note == (
        "> The report is too long for a comment and was cut here: the full report is in the job "
        "summary and the report artifact.\n"
    )


def test_a_cut_inside_a_code_block_closes_it() -> None:
    body = "intro\n\n```\n" + "line\n" * 30_000 + "```\n"
    fitted = fit_comment(body, "report.md", room=1_000)
    assert comment_length(fitted) <= 1_000
    assert fitted.startswith("intro\n\n```\nline\n")
    assert "line\n```\n\n> [!NOTE]" in fitted
    assert fitted.endswith("the full report is in report.md.\n")


# --- answers that are not what the API says -----------------------------------------------------


def test_an_html_page_instead_of_json_is_said(github: FakeGitHub, clock: Clock) -> None:
    github.fail("GET", status=200, text="<html><body>Sign in to your company</body></html>")
    with pytest.raises(GitHubApiError) as caught:
        post(client_for(github, clock))
    assert str(caught.value) == (
        f"GitHub answered GET {LIST} with 200 text/html, not JSON (a proxy or single sign-on "
        "page may be in the way: check GITHUB_API_URL)"
    )


def test_a_401_echoing_the_token_never_shows_it(github: FakeGitHub, clock: Clock) -> None:
    github.fail("GET", status=401, body={"message": f"Bad credentials: Bearer {TOKEN}"})
    with pytest.raises(GitHubError) as caught:
        post(client_for(github, clock))
    assert TOKEN not in str(caught.value)
    assert "Bad credentials: Bearer ***" in str(caught.value)


@pytest.mark.parametrize("token", ["tökén", "ghp_ abc", "ghp_abc\n", "ghp_\u200babc", ""])
def test_a_token_no_header_can_carry_is_said_without_showing_it(
    github: FakeGitHub, token: str
) -> None:
    with pytest.raises(GitHubError) as caught:
        GitHubClient(github.url, Token(token))
    assert str(caught.value) == (
        "the GitHub token holds characters no token has (spaces, control or non-ASCII "
        "characters) (check GITHUB_TOKEN or --token)"
    )
    assert github.calls() == []

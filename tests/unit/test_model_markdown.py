"""The model diff in markdown: compact tables, the classes that changed most when there are many,
and every name from users' files escaped."""

from __future__ import annotations

import numpy as np
from markdown_parse import html_tags, parse_tables

from mlci.checks.model_diff import compute_model_diff
from mlci.report.model import Report
from mlci.report.render import RenderOptions, render_markdown, render_text
from mlci.sources.prediction_pairs import PairedPredictions

HOSTILE = ["<img src=x onerror=alert(1)>", "@everyone", "a|b", "`code`", "[link](http://x.io)"]


def many_classes(k: int, labels: list[str] | None = None) -> PairedPredictions:
    rng = np.random.default_rng(0)
    n = 4000
    target = rng.integers(0, k, n)
    base = np.where(rng.random(n) < 0.8, target, rng.integers(0, k, n))
    head = base.copy()
    worse = target == 3  # one class gets much worse
    head[worse] = (target[worse] + 1) % k
    region = np.array(["north", "<b>south</b>", "tiny"], dtype=object)[
        rng.choice(3, n, p=[0.6, 0.395, 0.005])
    ]
    return PairedPredictions(
        task="multiclass",
        ids=np.array([f"id-{i}" for i in range(n)], dtype=object),
        target=target.astype(np.intp),
        head=head.astype(np.intp),
        base=base.astype(np.intp),
        labels=labels or [f"class {i}" for i in range(k)],
        slices={"region": region},
    )


def test_many_classes_show_the_largest_changes_and_count_the_rest() -> None:
    report = Report(model=compute_model_diff(many_classes(25)))
    markdown = render_markdown(report, RenderOptions())
    assert "15 more classes with smaller F1 changes left out" in markdown
    assert "the 8 classes whose cells changed most; 17 more classes left out" in markdown
    per_class = markdown.split("<summary>Per class</summary>", 1)[1]
    assert per_class.split("\n| ")[3].startswith("class 3 |")  # the biggest F1 change first
    assert "(other: 1 value)" in markdown
    text = render_text(report, RenderOptions())
    assert "class 24" in text  # the terminal keeps every class


def test_hostile_labels_and_slice_values_stay_text() -> None:
    paired = many_classes(5, labels=HOSTILE)
    report = Report(model=compute_model_diff(paired))
    markdown = render_markdown(report, RenderOptions())
    assert "<img" not in markdown
    assert "<b>south" not in markdown
    assert "@everyone" not in markdown  # a zero-width space breaks the mention
    tags = {tag.split(" ")[0].rstrip(">") for tag in html_tags(markdown)}
    assert tags <= {"<details", "</details", "<summary", "</summary", "<sub", "</sub"}, tags
    cells = [cell for table in parse_tables(markdown) for row in table for cell in row]
    assert "a|b" in cells  # one cell, not two
    assert "[link](http://x.io)" in "".join(cells).replace("\u200b", "")

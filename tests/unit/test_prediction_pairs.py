"""Bad paired predictions are one clear line each: how many examples, a few of them, the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlci.config import PredictionsOptions
from mlci.errors import InputFileError
from mlci.sources.prediction_pairs import pair_for_diff, read_joined
from mlci.sources.predictions import read_predictions

HEAD = """\
id,target,prediction,region
1,cat,cat,north
2,dog,cat,south
3,cat,cat,north
4,fox,fox,east
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def pair(tmp_path: Path, head: str, base: str, **options: object) -> object:
    (tmp_path / "head.csv").write_text(head)
    (tmp_path / "base.csv").write_text(base)
    section = PredictionsOptions(path="head.csv", **options)  # type: ignore[arg-type]
    joined = None
    if section.join:
        joined = read_joined(Path(section.join))
    return pair_for_diff(
        read_predictions(Path("head.csv"), label="head.csv"),
        read_predictions(Path("base.csv"), label="base.csv"),
        section,
        joined=joined,
        join_label=section.join,
    )


@pytest.mark.parametrize(
    ("head", "base", "options", "message"),
    [
        (
            HEAD + "2,dog,dog,south\n3,cat,dog,north\n",
            HEAD,
            {},
            "head.csv: 2 ids appear more than once in column 'id' (4 rows; e.g. 2, 3); ids must "
            "be unique",
        ),
        (
            HEAD,
            HEAD.replace("4,fox", "9,fox").replace("3,cat", "8,cat"),
            {},
            "head predictions (head.csv) and base predictions (base.csv) are not on the same "
            "examples: 2 ids only in the head (e.g. 3, 4); 2 ids only in the base (e.g. 8, 9) "
            "(score both models on the same evaluation set with the same id column)",
        ),
        (
            HEAD,
            HEAD.replace("2,dog,cat", "2,cat,cat"),
            {},
            "head predictions (head.csv) and base predictions (base.csv) disagree on the target "
            "of 1 of 4 examples (e.g. id 2: 'dog' vs 'cat') (score both models on the same "
            "evaluation set)",
        ),
        (
            HEAD.replace("3,cat,cat", "3,cat,cow").replace("4,fox,fox", "4,fox,Fox"),
            HEAD,
            {},
            "head.csv: 2 predicted labels are not among the classes ('cow', 'Fox', on 2 rows); "
            "the classes are the target's labels and the proba_<class> columns: cat, dog, fox "
            "(write predictions with the same labels as the target column)",
        ),
        (
            HEAD.replace("2,dog,cat", "2,,cat"),
            HEAD.replace("2,dog,cat", "2,,cat"),
            {},
            "head.csv: column 'target' has 1 missing value (e.g. row 2) (every example needs a "
            "target and a prediction)",
        ),
        (
            HEAD,
            HEAD,
            {"slices": ["device"]},
            "head.csv: slice column 'device' is not in the predictions (columns: id, target, "
            "prediction, region) (fix `predictions.slices`, or add the column with "
            "`predictions.join`)",
        ),
        (
            "id,target,prediction,proba_0,proba_1\n1,0,0,0.9,0.1\n2,1,1,0.3,0.6\n3,1,0,0.5,0.4\n",
            "id,target,prediction,proba_0,proba_1\n1,0,0,0.9,0.1\n2,1,1,0.3,0.7\n3,1,0,0.6,0.4\n",
            {},
            "head.csv: the probabilities of 2 rows do not sum to 1 within 0.001 (e.g. row 2: 0.9) "
            "(write one proba_<class> column per class, from predict_proba)",
        ),
    ],
)
def test_bad_pairs(
    tmp_path: Path, head: str, base: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(InputFileError) as raised:
        pair(tmp_path, head, base, **options)
    assert str(raised.value) == message


def test_joined_data_gives_slices_and_must_cover_every_id(tmp_path: Path) -> None:
    (tmp_path / "test.csv").write_text("id,device,size\n1,phone,3\n2,tablet,4\n3,phone,5\n")
    with pytest.raises(InputFileError) as raised:
        pair(tmp_path, HEAD, HEAD, slices=["device"], join="test.csv")
    assert str(raised.value) == (
        "test.csv: 1 id of the predictions are not in the joined data (e.g. 4) "
        "(`predictions.join` must hold every example of the predictions)"
    )
    (tmp_path / "test.csv").write_text(
        "id,device,size\n1,phone,3\n2,tablet,4\n3,phone,5\n4,tablet,6\n"
    )
    paired = pair(tmp_path, HEAD, HEAD, slices=["device", "region"], join="test.csv")
    assert paired.slices["device"].tolist() == ["phone", "tablet", "phone", "tablet"]  # type: ignore[attr-defined]
    assert paired.features.columns.tolist() == ["device", "size"]  # type: ignore[attr-defined]

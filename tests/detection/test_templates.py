"""Template mining: masking of variable parts and Drain's grouping on lines made from known templates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detection.templates import grouping_accuracy, mask, mine_templates

KNOWN = [
    "Connection to {ip} closed by peer after {n} ms",
    "User {id} logged in from {ip}",
    "Failed to fetch {url} status {n}",
    "Job {id} finished in {n} seconds with {n} warnings",
    "Disk usage of /dev/sda{n} above threshold",
    "Cache miss for key {id}",
    "Sending mail to {mail} failed",
]


def _lines(count: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(len(KNOWN), size=count)
    fill = {"ip": lambda: f"10.0.{rng.integers(255)}.{rng.integers(255)}:{rng.integers(1, 65000)}",
            "n": lambda: str(rng.integers(0, 100000)), "id": lambda: f"u{rng.integers(1, 10 ** 6):x}",
            "url": lambda: f"https://api.example.com/v2/items/{rng.integers(10 ** 6)}?page={rng.integers(9)}",
            "mail": lambda: f"user{rng.integers(1000)}@example.org"}
    lines = []
    for t in truth:
        text = KNOWN[t]
        while "{" in text:
            start = text.index("{")
            key = text[start + 1: text.index("}", start)]
            text = text[:start] + fill[key]() + text[text.index("}", start) + 1:]
        lines.append(text)
    return lines, truth


def test_masking_replaces_ids_urls_numbers_but_keeps_words_and_versions():
    out = mask(pd.Series(["GET https://x.io/a?b=1 from 10.1.2.3:80 by bob@x.org took 12ms for v2 shop m00042"]))
    assert out[0] == "GET <*> from <*> by <*> took <*> for v2 shop <*>"


def test_grouping_accuracy_counts_lines_whose_group_is_exactly_right():
    truth = ["a", "a", "b", "b", "c", "d"]
    assert grouping_accuracy([1, 1, 2, 2, 3, 4], truth) == 1.0
    assert grouping_accuracy([1, 1, 2, 2, 3, 3], truth) == pytest.approx(4 / 6)  # c and d merged: both wrong
    assert grouping_accuracy([1, 5, 2, 2, 3, 4], truth) == pytest.approx(4 / 6)  # a split: both wrong
    assert grouping_accuracy([1] * 6, truth) == 0.0
    with pytest.raises(ValueError, match="5 found labels for 6 lines"):
        grouping_accuracy([1] * 5, truth)


def test_known_templates_are_recovered_exactly():
    lines, truth = _lines(3000)
    templates = mine_templates(lines)
    assert grouping_accuracy(templates.ids, truth) == 1.0
    assert "Cache miss for key <*>" in templates.texts.values()
    assert "Connection to <*> closed by peer after <*> ms" in templates.texts.values()
    assert templates.ids[0] == 1 and set(templates.texts) == set(np.unique(templates.ids))


def test_drain_merges_lines_that_differ_in_one_word_of_five_and_empty_lines_do_not_fail():
    # Drain's published behaviour at its default threshold 0.4: 4 of 5 tokens agree, so one template.
    templates = mine_templates(["Cache miss for key 1", "Cache hit for key 2", "", "Disk full"])
    assert templates.ids[0] == templates.ids[1] != templates.ids[3]
    assert templates.text_of(0) == "Cache <*> for key <*>"
    assert len(templates.ids) == 4


def test_loghub_scorer_runs_the_command_on_a_structured_file(tmp_path):
    from benchmarks import loghub

    lines, truth = _lines(400)
    folder = tmp_path / "Made"
    folder.mkdir()
    frame = pd.DataFrame({"LineId": range(1, 401), "Content": lines, "EventId": [f"E{t}" for t in truth]})
    frame.to_csv(folder / "Made_2k.log_structured.csv", index=False)
    files = loghub.structured_files(tmp_path)
    assert list(files) == ["Made"]
    accuracy, count, _ = loghub.score_file(files["Made"], tmp_path)
    assert (accuracy, count) == (1.0, 400)

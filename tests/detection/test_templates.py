"""Template mining: masking of variable parts and Drain's grouping on lines made from known templates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.templates import mask, mine_templates

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


def grouping_accuracy(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of lines whose found group holds exactly the lines of their true group (Zhu et al. 2019)."""
    ok = 0
    found_groups = pd.Series(np.arange(len(found))).groupby(found).apply(frozenset)
    true_groups = pd.Series(np.arange(len(truth))).groupby(truth).apply(frozenset)
    true_sets = set(true_groups)
    for group in found_groups:
        if group in true_sets:
            ok += len(group)
    return ok / len(found)


def test_masking_replaces_ids_urls_numbers_but_keeps_words_and_versions():
    out = mask(pd.Series(["GET https://x.io/a?b=1 from 10.1.2.3:80 by bob@x.org took 12ms for v2 shop m00042"]))
    assert out[0] == "GET <*> from <*> by <*> took <*> for v2 shop <*>"


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

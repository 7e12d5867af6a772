"""Log template mining: group free-text lines (error messages, ticket bodies, log lines) by their constant part.

`mine_templates` first masks the variable parts of every line with one linear-time regular expression —
URLs, e-mail addresses, IP addresses and any token holding a digit (ids, numbers, hashes, host names
such as ``m00012.example.com``) become ``<*>`` — then runs Drain (He, Zhu, Zheng & Lyu 2017, "Drain: An Online Log
Parsing Approach with Fixed Depth Tree", ICWS; the ``drain3`` implementation) on the *distinct* masked
lines only, in order of first appearance, and maps every line to its cluster's final template. Feeding a
masked line Drain has already seen again would match the same cluster and leave its template unchanged,
so mining the distinct lines gives the grouping of the full stream at a fraction of the cost (a million
error messages usually mask to a few hundred distinct lines).

One default configuration (similarity threshold 0.4, depth 4, as published) serves every input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from drain3.drain import Drain

PARAM = "<*>"
# One pass per line: a whitespace-delimited token is a parameter when it holds a digit (ids, numbers,
# hashes, IP addresses, host names such as m00012.example.com), "://" (a URL) or "@" before a word
# character (an e-mail address, a handle) — except version tags v1, v2, … The lookahead scans each token
# once and the possessive \S++ never backtracks, so the cost is linear in the line.
TOKEN = re.compile(r"(?<!\S)(?!v\d{1,2}\b)(?=\S*?(?:\d|://|@\w))\S++")


@dataclass(frozen=True)
class DrainConfig:
    """Drain's parameters: token-similarity threshold, tree depth, children per node."""

    sim_th: float = 0.4
    depth: int = 4
    max_children: int = 100


@dataclass(frozen=True, eq=False)
class Templates:
    """``ids[i]`` is line i's template id (1-based, in order of first appearance); ``texts[id]`` its template."""

    ids: np.ndarray
    texts: dict[int, str]

    def text_of(self, line: int) -> str:
        return self.texts[int(self.ids[line])]


def mask(lines: pd.Series) -> pd.Series:
    """The lines with their variable tokens replaced by ``<*>`` and whitespace runs made single spaces."""
    sub = TOKEN.sub
    return pd.Series([" ".join(sub(PARAM, line).split()) for line in lines.astype(str).tolist()],
                     index=lines.index, dtype=object)


def mine_templates(lines, config: DrainConfig = DrainConfig()) -> Templates:
    """Template of every line (see the module docstring)."""
    masked = mask(pd.Series(lines, dtype=object))
    codes, uniques = pd.factorize(masked, sort=False)
    drain = Drain(depth=config.depth, sim_th=config.sim_th, max_children=config.max_children, param_str=PARAM)
    cluster_of_unique = np.empty(len(uniques), dtype=np.int64)
    for i, text in enumerate(uniques):
        cluster, _ = drain.add_log_message(text)
        cluster_of_unique[i] = cluster.cluster_id
    # renumber clusters by first appearance in the input
    first_seen = pd.unique(cluster_of_unique[codes]) if len(codes) else np.zeros(0, dtype=np.int64)
    renumber = {int(c): i + 1 for i, c in enumerate(first_seen)}
    lookup = np.zeros(int(cluster_of_unique.max(initial=0)) + 1, dtype=np.int64)
    for old, new in renumber.items():
        lookup[old] = new
    ids = lookup[cluster_of_unique[codes]] if len(codes) else np.zeros(0, dtype=np.int64)
    texts = {new: " ".join(drain.id_to_cluster[old].log_template_tokens) for old, new in renumber.items()}
    return Templates(ids, texts)


def grouping_accuracy(found, truth) -> float:
    """Share of lines whose found group holds exactly the lines of their true group: the grouping accuracy
    of log parsers (Zhu, He, Liu, He, Xie, Zheng & Lyu 2019, "Tools and Benchmarks for Automated Log
    Parsing", ICSE-SEIP). ``found`` and ``truth`` are group labels per line, of any hashable type."""
    found, truth = pd.Series(list(found), dtype=object), pd.Series(list(truth), dtype=object)
    if len(found) != len(truth):
        raise ValueError(f"{len(found)} found labels for {len(truth)} lines")
    if not len(found):
        return 1.0
    pairs = pd.DataFrame({"f": pd.factorize(found)[0], "t": pd.factorize(truth)[0]})
    pure = pairs.groupby("f")["t"].transform("nunique") == 1
    same_size = pairs.groupby("f")["t"].transform("size") == pairs.groupby("t")["f"].transform("size")
    return float((pure & same_size).mean())

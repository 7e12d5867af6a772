"""Signals grouped into patterns: a fingerprint for structured signals, topics for tickets.

- API errors: HTTP status, error code, method, endpoint (ids in the path masked) and the Drain template of
  the message (`detection.templates`);
- webhook failures: topic, API version, status, reason and the message template;
- tickets: Drain templates of subject + body, then TF-IDF vectors of the templates (Salton & Buckley 1988,
  "Term-weighting approaches in automatic text retrieval") clustered by scikit-learn's agglomerative
  clustering, average linkage on cosine distance with a distance threshold, so the number of topics is
  not fixed in advance (two phrasings of one complaint share their rare words and land together).
  Templates, not tickets, are clustered: at most ``max_templates`` of the most frequent ones, the rest
  joining the nearest cluster centroid, so a million tickets cost no more than a few thousand.

`group_patterns` returns one pattern index per signal and the patterns' descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from detection.templates import PARAM, DrainConfig, mine_templates


@dataclass(frozen=True)
class PatternConfig:
    """``ticket_distance``: cosine-distance threshold between ticket topics (average linkage)."""

    drain: DrainConfig = DrainConfig()
    ticket_distance: float = 0.8
    max_templates: int = 3000


@dataclass(frozen=True)
class PatternKey:
    """What a pattern is: its signal type, its fingerprint fields, its text template."""

    signal_type: str
    fingerprint: tuple[tuple[str, str], ...]
    template: str

    @property
    def label(self) -> str:
        parts = [v for _, v in self.fingerprint] or [self.template[:80]]
        return " · ".join([self.signal_type, *parts])


@dataclass(frozen=True, eq=False)
class PatternAssignment:
    """``index[i]``: the pattern of event i, a position in ``patterns``."""

    index: np.ndarray
    patterns: tuple[PatternKey, ...]


FINGERPRINTS = {
    "api_error": ("status", "code", "method", "endpoint"),
    "webhook_failure": ("topic", "api_version", "status", "reason"),
}


def _endpoint(paths: pd.Series) -> pd.Series:
    """Endpoints with the path segments that hold a digit (ids) masked: ``/orders/123`` → ``/orders/<*>``."""
    return paths.astype(str).str.replace(r"(?<=/)[^/\s]*\d[^/\s]*", PARAM, regex=True)


def _ticket_topics(texts: pd.Series, config: PatternConfig) -> tuple[np.ndarray, dict[int, str]]:
    """Topic of every ticket and each topic's representative template."""
    templates = mine_templates(texts, config.drain)
    tid = templates.ids
    ids, counts = np.unique(tid, return_counts=True)
    order = ids[np.argsort(-counts, kind="stable")]
    head = order[: config.max_templates]
    docs = [templates.texts[int(t)].replace("<*>", " ") for t in head]
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, token_pattern=r"(?u)\b[^\W\d_]{3,}\b")
    try:
        matrix = vectorizer.fit_transform(docs)
    except ValueError:  # nothing but stop words and numbers: every template its own topic
        matrix = None
    if matrix is None or len(head) < 2:
        cluster_of = {int(t): i for i, t in enumerate(head)}
    else:
        labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                         distance_threshold=config.ticket_distance).fit_predict(matrix.toarray())
        cluster_of = {int(t): int(c) for t, c in zip(head, labels)}
        rest = order[config.max_templates:]
        if len(rest):
            k = labels.max() + 1
            centroids = normalize(np.vstack([np.asarray(matrix[labels == c].mean(axis=0)) for c in range(k)]))
            near = (vectorizer.transform([templates.texts[int(t)].replace("<*>", " ") for t in rest])
                    @ centroids.T).argmax(axis=1)
            cluster_of.update({int(t): int(c) for t, c in zip(rest, np.asarray(near).ravel())})
    # a topic's label: its most frequent template
    topic = np.array([cluster_of[int(t)] for t in tid], dtype=np.int64)
    label: dict[int, str] = {}
    for t in order:  # most frequent first
        label.setdefault(cluster_of[int(t)], templates.texts[int(t)])
    return topic, label


def group_patterns(events: pd.DataFrame, config: PatternConfig = PatternConfig()) -> PatternAssignment:
    """The pattern of every event (columns of `data.signals.EVENT_COLUMNS`)."""
    keys = np.empty(len(events), dtype=object)
    described: dict[str, PatternKey] = {}
    for kind, fields in FINGERPRINTS.items():
        rows = np.flatnonzero((events["type"] == kind).to_numpy())
        if not len(rows):
            continue
        part = events.iloc[rows]
        templates = mine_templates(part["text"], config.drain)
        columns = {f: (_endpoint(part[f]) if f == "endpoint" else part[f].astype("string").fillna(""))
                   for f in fields}
        frame = pd.DataFrame({f: col.to_numpy() for f, col in columns.items()})
        frame["template"] = templates.ids
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(frame))
        names = []
        for values in uniques:
            key = f"{kind}|" + "|".join(map(str, values))
            described[key] = PatternKey(kind, tuple((f, str(v)) for f, v in zip(fields, values[:-1]) if str(v)),
                                        templates.texts[int(values[-1])])
            names.append(key)
        keys[rows] = np.array(names, dtype=object)[codes]
    rows = np.flatnonzero((events["type"] == "ticket").to_numpy())
    if len(rows):
        topic, label = _ticket_topics(events["text"].iloc[rows], config)
        for t, text in label.items():
            described[f"ticket|{t}"] = PatternKey("ticket", (), text)
        keys[rows] = np.array([f"ticket|{t}" for t in range(topic.max() + 1)], dtype=object)[topic]
    codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
    return PatternAssignment(codes.astype(np.int64), tuple(described[k] for k in uniques))

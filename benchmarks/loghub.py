"""Benchmark: `cxw signals templates` on the Loghub-2k labelled log samples, scored by grouping accuracy.

    python benchmarks/loghub.py --data DIR

``DIR`` holds Loghub's ``<System>_2k.log_structured.csv`` files (any subset of the 16: HDFS, Hadoop, Spark,
Zookeeper, BGL, HPC, Thunderbird, Windows, Linux, Android, HealthApp, Apache, Proxifier, OpenSSH,
OpenStack, Mac; directly in DIR or one folder per system, as the loghub repository lays them out). They are
not shipped with the workbench (no package registry carries them). For each file the ``Content`` column —
the message after the log header, what the benchmark's parsers are given — is written one message per
line and mined by the command's own function (without the CLI's start-up), with its one default
configuration; its ``template_id`` per line is scored against the file's ``EventId`` by grouping accuracy
(`detection.templates.grouping_accuracy`, Zhu et al. 2019, "Tools and Benchmarks for Automated Log
Parsing", ICSE-SEIP). Printed per system beside
Drain's published accuracy from the same paper, and the mean against the bar, Drain's mean over the 16,
0.865. CPU seconds per system are printed too (the machine is shared).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Drain's grouping accuracy per Loghub-2k system as published by Zhu et al. (2019); mean 0.865.
DRAIN_PUBLISHED = {
    "HDFS": 0.998, "Hadoop": 0.948, "Spark": 0.920, "Zookeeper": 0.967, "BGL": 0.963, "HPC": 0.887,
    "Thunderbird": 0.955, "Windows": 0.997, "Linux": 0.690, "Android": 0.911, "HealthApp": 0.780,
    "Apache": 1.000, "Proxifier": 0.527, "OpenSSH": 0.788, "OpenStack": 0.733, "Mac": 0.787,
}
BAR = 0.865


def structured_files(data: Path) -> dict[str, Path]:
    """``{system: path}`` of the ``*_2k.log_structured.csv`` files under ``data`` (one level of folders)."""
    found = {}
    for path in sorted([*data.glob("*_2k.log_structured.csv"), *data.glob("*/*_2k.log_structured.csv")]):
        found.setdefault(path.name.removesuffix("_2k.log_structured.csv"), path)
    return found


def score_file(path: Path, work: Path) -> tuple[float, int, float]:
    """(grouping accuracy, lines, CPU seconds) of `cxw signals templates` on one structured file."""
    from backend.commands.signals_commands import templates_command  # what `cxw signals templates` runs
    from detection.templates import grouping_accuracy

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"Content", "EventId"} <= set(rows[0]):
        raise SystemExit(f"{path}: expected the columns Content and EventId")
    lines = work / f"{path.stem}.txt"
    # one message per line, as the command reads them (a message never holds a newline in Loghub-2k)
    lines.write_text("".join(row["Content"].replace("\n", " ") + "\n" for row in rows), encoding="utf-8")
    out = work / f"{path.stem}.templates.csv"
    cpu = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        templates_command(lines, out)
    cpu = time.process_time() - cpu
    with out.open(encoding="utf-8", newline="") as fh:
        found = [row["template_id"] for row in csv.DictReader(fh)]
    return grouping_accuracy(found, [row["EventId"] for row in rows]), len(rows), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with Loghub's *_2k.log_structured.csv")
    args = parser.parse_args()
    files = structured_files(args.data)
    if not files:
        raise SystemExit(f"{args.data}: no *_2k.log_structured.csv files")
    scores = {}
    with tempfile.TemporaryDirectory() as tmp:
        for system, path in files.items():
            accuracy, lines, cpu = score_file(path, Path(tmp))
            scores[system] = accuracy
            published = DRAIN_PUBLISHED.get(system)
            ref = f"Drain published {published:.3f}" if published is not None else "no published figure"
            print(f"{system:12s} {accuracy:.3f}  ({ref}; {lines:,} lines, {cpu:.2f} s CPU)", flush=True)
    mean = sum(scores.values()) / len(scores)
    same = [s for s in scores if s in DRAIN_PUBLISHED]
    drain_mean = sum(DRAIN_PUBLISHED[s] for s in same) / len(same) if same else float("nan")
    print(f"\nmean grouping accuracy over {len(scores)} systems: {mean:.3f}; Drain published on the same systems: "
          f"{drain_mean:.3f}; the bar (Drain's mean over all 16): {BAR}"
          + ("" if len(scores) == 16 else f" — only {len(scores)} of 16 systems given, not comparable to the bar"))


if __name__ == "__main__":
    main()

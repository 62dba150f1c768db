"""import-doc then docs, over many documents: how many come back with the same parse and bytes.

Used by the corpus test and by ``bench/roundtrip.py``; the counts are the
figures docs/talkdoc.md quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from generator.talkdoc.importer import import_docs
from generator.talkdoc.parse import decode, parse_text
from generator.talkdoc.phrases import GENERATED_LINE
from generator.talkdoc.writer import render_docs


@dataclass(frozen=True)
class RoundTrip:
    total: int
    parse_equal: int
    bytes_equal: int  # byte for byte, the "Generated:" line included
    bytes_equal_but_generated: int  # byte for byte once the "Generated:" lines are set aside
    anomalous: int  # documents with at least one warning
    clean_bytes_equal: int  # of the documents without anomalies, how many come back byte for byte
    failures: tuple[str, ...]  # file names that do not come back with the same parse or bytes

    def lines(self) -> list[str]:
        clean = self.total - self.anomalous
        return [
            f"documents:                      {self.total}",
            f"same parse:                     {self.parse_equal} ({_pct(self.parse_equal, self.total)})",
            f"same bytes:                     {self.bytes_equal} ({_pct(self.bytes_equal, self.total)})",
            f"same bytes but Generated line:  {self.bytes_equal_but_generated} "
            f"({_pct(self.bytes_equal_but_generated, self.total)})",
            f"documents with anomalies:       {self.anomalous}",
            f"without anomalies, same bytes:  {self.clean_bytes_equal} of {clean} ({_pct(self.clean_bytes_equal, clean)})",
        ]


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "n/a"


def round_trip(paths: Sequence[Path]) -> RoundTrip:
    result = import_docs(paths)
    rendered: dict[str, str] = {}
    for spec in result.specs:
        rendered.update(render_docs(spec))
    anomalous_files = {p.location.file for p in result.warnings}
    counts = {"parse": 0, "bytes": 0, "but_generated": 0, "clean_bytes": 0}
    failures = []
    for path, doc in zip(paths, result.documents):
        original = decode(Path(path).read_bytes(), str(path))
        written = rendered.get(f"{doc.source_id}-{doc.target_id}.rst", "")
        same_parse = parse_text(written, str(path)) == doc if written else False
        same_bytes = written == original
        but_generated = GENERATED_LINE.sub("", written) == GENERATED_LINE.sub("", original)
        counts["parse"] += same_parse
        counts["bytes"] += same_bytes
        counts["but_generated"] += but_generated
        counts["clean_bytes"] += but_generated and str(path) not in anomalous_files
        if not (same_parse and same_bytes):
            failures.append(Path(path).name)
    return RoundTrip(len(paths), counts["parse"], counts["bytes"], counts["but_generated"], len(anomalous_files),
                     counts["clean_bytes"], tuple(failures))

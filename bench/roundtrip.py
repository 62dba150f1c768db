"""import-doc then docs over the Talk corpus: print how many documents come back the same.

    python bench/roundtrip.py [FOLDER_OR_DOC…]     (default: ../shared/talk-docs)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.talkdoc.importer import expand_documents  # noqa: E402
from generator.talkdoc.roundtrip import round_trip  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "talk-docs"


def main(args: list[str]) -> int:
    docs = expand_documents([Path(a) for a in args] or [DEFAULT])
    if not docs:
        print(f"no documents found (default folder: {DEFAULT})", file=sys.stderr)
        return 1
    start = time.perf_counter()
    report = round_trip(docs)
    for line in report.lines():
        print(line)
    if report.failures:
        print("not the same:", ", ".join(report.failures[:20]) + (" ..." if len(report.failures) > 20 else ""))
    print(f"time:                           {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

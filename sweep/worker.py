"""``python -m mixlane.sweep.worker ARGS.json RESULTS.json``: one sweep point in its own process."""

from __future__ import annotations

import json
import sys

from .run import run_point


def main(argv: list[str]) -> int:
    args = json.loads(open(argv[0]).read())
    results = run_point(args["config"], args["steps"], args["options"], args["out"], args["retry_failed"])
    with open(argv[1], "w") as fh:
        json.dump(results, fh, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

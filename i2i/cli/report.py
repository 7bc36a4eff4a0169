"""``i2i report``: a run's self-contained HTML report, or several runs side by side."""

from __future__ import annotations

import argparse

from .options import reject_unknown

EXAMPLES = """examples:
  i2i report runs/facades                       # -> runs/facades/report.html (also written when training ends)
  i2i report runs/a runs/b runs/c -o compare.html

The page needs no network: charts are inline SVG and images are embedded."""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="i2i report", description="Write an HTML report of one or more runs.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders")
    parser.add_argument("-o", "--out", metavar="FILE.html", help="where to write (default for one run: "
                                                                  "RUN_DIR/report.html; needed for several)")
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    from ..report import write_report

    print(write_report(args.runs, args.out))
    return 0

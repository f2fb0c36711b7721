"""CLI: ``python -m label360.synthetic --kind street --seed 3 --width 2048 --out DIR``."""

from __future__ import annotations

import argparse
import sys
import time

from .io import write, write_sequence
from .renderer import render, render_sequence
from .scene import SCENE_KINDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m label360.synthetic", description=__doc__)
    parser.add_argument("--kind", choices=SCENE_KINDS, default="street")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--height", type=int, default=None, help="default: width / 2")
    parser.add_argument(
        "--frames", type=int, default=1, help="> 1: a sequence (frame_NNNN folders)"
    )
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.frames > 1:
        write_sequence(
            render_sequence(
                args.kind, args.seed, args.width, height=args.height, n_frames=args.frames
            ),
            args.out,
        )
    else:
        write(render(args.kind, args.seed, args.width, args.height), args.out)
    print(f"wrote {args.out} in {time.perf_counter() - start:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``i2i webcam``: translate a camera, video, image folder or stream live, in a window or headless. No torch."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .options import reject_unknown

EXAMPLES = """examples:
  i2i webcam --model day2night                      # camera 0, original | translated side by side
  i2i webcam --model h2z --source clip.mp4 --record out.mp4
  i2i webcam --model day2night --source 1 --size 256 --view output
  i2i webcam --model day2night,h2z                  # 'm' switches between them
  i2i webcam --model sr2 --view split               # a super-resolution model: bicubic | model
  i2i webcam --model day2night --source clip.mp4 --no-window --frames 300 --report fps.json

sources: a camera index (0, 1, ...), a video file, a folder of images (played in name order) or a stream URL.
keys: q/Esc quit, s snapshot (PNG), m next model, space pause, v next view (side / output / split; drag the
split with the mouse).
Cameras and streams always show the newest frame (older ones are dropped, never queued); files are played
frame by frame as fast as the model goes, or at their own frame rate with --realtime.
Exit status: 0 when the session ended normally (frames done, end of file, q, Ctrl-C), 1 when the source was
lost, 2 for a usage error."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="i2i webcam", description="Translate a camera or video live.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", "-m", required=True, action="append", metavar="NAME",
                        help="a model name or .onnx file; several (comma-separated or repeated) to switch with 'm'")
    parser.add_argument("--source", default="0", help="camera index, video file, image folder or URL (default: 0)")
    parser.add_argument("--size", type=int, metavar="N",
                        help="model input side (default: the model's training size, or for a super-resolution "
                             "model the side whose output is 480 pixels; rounded up to its multiple)")
    parser.add_argument("--fit", choices=("crop", "pad"), default="crop",
                        help="make frames square by centre-cropping or letterboxing (default: crop)")
    parser.add_argument("--view", choices=("side", "output", "split"), default="side", help="(default: side)")
    parser.add_argument("--no-window", action="store_true", help="run headless (servers, CI)")
    parser.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--record", type=Path, metavar="FILE", help="write what is shown to a video (.mp4, .avi)")
    parser.add_argument("--report", type=Path, metavar="FILE", help="write FPS, latency and counts as JSON")
    parser.add_argument("--realtime", type=float, nargs="?", const=0.0, metavar="FPS",
                        help="play a file as a camera would deliver it, at its own frame rate or at FPS, dropping "
                             "frames the model cannot keep up with")
    parser.add_argument("--loop", action="store_true", help="replay a file or folder from the start")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="ONNX Runtime device (default: CUDA when onnxruntime-gpu sees one)")
    parser.add_argument("--snapshots", type=Path, default=Path("."), metavar="DIR",
                        help="where 's' saves snapshots (default: here)")
    parser.add_argument("--mirror", metavar="URL", help="download pretrained models from this mirror")
    return parser


def main(argv: list[str]) -> int:
    from ..deploy.resolve import resolve_model
    from ..errors import ConfigError
    from ..live import LiveOptions, LiveSession, check_display, open_source
    from ..live.recorder import check_record_path, check_writable
    from .translate import download_bar

    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    reject_unknown(extras, parser)
    if args.frames is not None and args.frames < 1:
        raise ConfigError(f"--frames {args.frames}: give a positive number of frames")
    if args.realtime is not None and not (math.isfinite(args.realtime) and args.realtime >= 0):
        raise ConfigError(f"--realtime {args.realtime}: give frames per second (0 or none: the file's own rate)")
    if args.no_window and not (args.record or args.report or args.frames):
        print("note: --no-window shows nothing; add --record and/or --report to keep the results",
              file=sys.stderr)
    if args.record:  # before anything starts: a read-only folder is a one-line error, not a lost session
        check_record_path(args.record)
    if args.report:
        check_writable(args.report, "--report")
    if not args.no_window:
        check_display()  # before the camera and the models: fail fast, and never let OpenCV abort
    names = [name for value in args.model for name in value.split(",") if name]
    models = []
    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    for name in names:
        path, shown_name = resolve_model(name, mirror=args.mirror, say=say, progress=download_bar(sys.stderr.isatty()))
        models.append((shown_name, path))
    source = open_source(args.source)
    options = LiveOptions(size=args.size, fit=args.fit, view=args.view, window=not args.no_window,
                          frames=args.frames, record=args.record, report=args.report, realtime=args.realtime,
                          loop=args.loop, device=args.device, snapshots=args.snapshots)
    report = LiveSession(models, source, args.source, options, say=say).run()
    latency = report.latency_ms.get("p50", 0.0)
    print(f"{report.frames} frames in {report.seconds:.1f} s: {report.fps:.1f} FPS, latency p50 {latency:.0f} ms, "
          f"model p50 {report.model_ms.get('p50', 0.0):.0f} ms ({report.model}, {report.provider}); "
          f"stopped: {report.stopped}" + (f"; recorded {report.recording}" if report.recording else "")
          + (f"; skipped {report.skipped_files} unreadable files" if report.skipped_files else ""))
    if report.source_lost:
        print(f"error: {report.stopped}", file=sys.stderr)
        return 1
    return 0

"""Live translation (``i2i webcam``): frame sources, a latest-frame capture thread, views, recording. No torch."""

from .capture import CaptureThread, Frame, FrameSlot
from .recorder import Recorder
from .session import DisplayError, LiveOptions, LiveReport, LiveSession, check_display
from .sources import FrameSource, SourceError, open_source

__all__ = ["CaptureThread", "DisplayError", "Frame", "FrameSlot", "FrameSource", "LiveOptions", "LiveReport",
           "LiveSession", "Recorder", "SourceError", "check_display", "open_source"]

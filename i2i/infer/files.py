"""Translating files and folders: which outputs to write, and a pipeline that keeps the model busy.

Reading and decoding the next images and encoding and writing finished ones run in threads (OpenCV and ONNX
Runtime release the GIL) while the model works, so a folder goes at close to the model's own speed. A file
that fails is reported by name and the rest continue.
"""

from __future__ import annotations

import glob
import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import I2IError
from ..images import IMAGE_EXTENSIONS, is_image_file, list_images, read_image, write_image

ALPHA_EXTENSIONS = (".png", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class Job:
    """Translate ``source`` into ``target``; ``problem`` is set when the source cannot be used at all."""

    source: Path
    target: Path
    problem: str | None = None


@dataclass
class Summary:
    done: list[Job] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def _sources(inputs: Iterable[str]) -> list[tuple[Path, Path | None, str | None]]:
    """(file, the folder it was found in or None, problem) for every input, in order, without duplicates."""
    found: list[tuple[Path, Path | None, str | None]] = []
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_dir():
            images = list_images(path)
            found += [(p, path, None) for p in images] or [(path, None, f"{path}: no images in this folder")]
        elif path.is_file():
            found.append((path, None, None if is_image_file(path) else
                          f"{path}: not an image file (expected {', '.join(IMAGE_EXTENSIONS)})"))
        elif glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(os.path.expanduser(text), recursive=True) if is_image_file(p))
            found += [(p, None, None) for p in matches] or [(path, None, f"{text}: matches no image files")]
        else:
            found.append((path, None, f"{path}: no such file or folder"))
    unique: dict[Path, tuple[Path, Path | None, str | None]] = {}
    for item in found:
        unique.setdefault(item[0].resolve(), item)
    return list(unique.values())


def plan(inputs: Iterable[str], model_name: str, out: str | None = None) -> list[Job]:
    """The jobs for ``i2i translate``: ``photo.jpg`` -> ``photo_<model>.jpg`` beside it, or in folder ``out``.

    A folder's images keep their sub-folders under ``out``. With one input file, ``out`` may name the output
    file itself. An output never replaces an input (a counter is added instead), nor another output.
    """
    sources = _sources(inputs)
    single_file = len(sources) == 1 and sources[0][1] is None
    out_path = Path(out).expanduser() if out else None
    taken = {src.resolve() for src, _, _ in sources}
    jobs = []
    for src, folder, problem in sources:
        name = f"{src.stem}_{model_name}{src.suffix if src.suffix.lower() in IMAGE_EXTENSIONS else '.png'}"
        if out_path is None:
            target = src.with_name(name)
        elif single_file and out_path.suffix.lower() in IMAGE_EXTENSIONS:
            target = out_path
        elif folder is not None:
            target = out_path / folder.name / src.relative_to(folder).with_name(name)
        else:
            target = out_path / name
        target = _free_name(target, taken)
        taken.add(target.resolve())
        jobs.append(Job(src, target, problem))
    return jobs


def _free_name(target: Path, taken: set[Path]) -> Path:
    candidate, n = target, 2
    while candidate.resolve() in taken:
        candidate = target.with_name(f"{target.stem}_{n}{target.suffix}")
        n += 1
    return candidate


def translate_files(jobs: list[Job], translate: Callable[[np.ndarray, str], np.ndarray], max_pixels: int | None,
                    quality: int = 95, report: Callable[[str], None] = print,
                    progress: Callable[[int], None] | None = None, read_ahead: int = 4) -> Summary:
    """Run ``translate`` over the jobs with reading and writing overlapped; failures are reported, not raised."""
    summary = Summary()

    def load(job: Job) -> np.ndarray:
        if job.problem:
            raise I2IError(job.problem)
        return read_image(job.source, max_pixels=max_pixels)

    def save(job: Job, image: np.ndarray) -> Job:
        if image.shape[2] == 4 and job.target.suffix.lower() not in ALPHA_EXTENSIONS:
            image = image[:, :, :3]
        write_image(job.target, image, quality)
        return job

    def fail(job: Job, error: Exception) -> None:
        text = describe(error)
        message = text if str(job.source) in text else f"{job.source}: {text}"
        summary.failed.append((job.source, message))
        report(f"error: {message}")

    with ThreadPoolExecutor(2, "i2i-read") as readers, ThreadPoolExecutor(2, "i2i-write") as writers:
        pending = deque((job, readers.submit(load, job)) for job in jobs[:read_ahead])
        writes: list[tuple[Job, Future[Job]]] = []
        next_job = len(pending)
        while pending:
            job, loaded = pending.popleft()
            if next_job < len(jobs):
                pending.append((jobs[next_job], readers.submit(load, jobs[next_job])))
                next_job += 1
            try:
                result = translate(loaded.result(), str(job.source))
            except Exception as e:  # ONNX Runtime's errors, MemoryError: this file fails, not all
                fail(job, e)
                if progress:
                    progress(1)
                continue
            writes.append((job, writers.submit(save, job, result)))
            if progress:
                progress(1)
            writes = _collect(writes, summary, fail, wait=False)
        _collect(writes, summary, fail, wait=True)
    return summary


def _collect(writes: list[tuple[Job, Future[Job]]], summary: Summary, fail: Callable[[Job, Exception], None],
             wait: bool) -> list[tuple[Job, Future[Job]]]:
    """Record finished writes; return those still running."""
    running = []
    for job, future in writes:
        if not wait and not future.done():
            running.append((job, future))
            continue
        try:
            summary.done.append(future.result())
        except Exception as e:  # an encoder error or a full disk fails this file only
            fail(job, e)
    return running


def describe(error: Exception) -> str:
    """One line for an error: i2i's own messages as they are; others with their kind (ONNX Runtime, memory)."""
    if isinstance(error, I2IError):
        return str(error)
    if isinstance(error, MemoryError):
        return "out of memory (try --tile 512, or a smaller --size)"
    lines = [line for line in str(error).splitlines() if line.strip()]
    text = lines[0].strip()[:300] if lines else "no details"
    return text if isinstance(error, OSError) else f"{type(error).__name__}: {text}"

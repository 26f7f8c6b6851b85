"""File probes: decode every audio file, a sample of frames of every video, every image.

Manifest rows point at files; many rows may share one file (IEMOCAP dialog videos, TED-LIUM
talks), so each distinct existing file is probed once and its problems are charged to every
row that uses it. Missing files are left to the suites (the ``audio_exists`` /
``video_exists`` derived columns).

A probe failure is ``{suite: "probe", expectation: "decodes", check, corpus, file, path,
column, value, message, clip_ids}``: ``file`` is the full path, ``path`` the manifest's
relative path, ``check`` names the test that failed (readable, not_empty, mono, sample_rate,
complete, finite, not_silent, duration, segment_inside, frames, image, landmarks). A failure
that concerns only some of the rows using the file (a segment past the end of its audio, an
utterance file shorter than its annotation) carries those ``rows``; the others charge every row.

The signal checks and their thresholds (``validate.*`` in params.yaml):

- ``finite``: every decoded sample is a number (no NaN or Inf);
- ``not_silent``: the file's RMS level is at least ``silence_dbfs`` (digital silence is -inf);
- ``duration`` (utterance files, IEMOCAP): the file lasts its annotation's ``end - start``
  within ``duration_tolerance_s``;
- ``segment_inside`` (files holding segments, TED-LIUM): every segment ends within the file,
  give or take ``duration_tolerance_s``;
- ``landmarks`` (FaceSynthetics): an image's ``_ldmks.txt``, where there is one, holds 70
  finite ``x y`` points.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from avemo.config import ValidateConfig
from avemo.media import IMAGE_SUFFIXES, MediaError
from avemo.media.container import container, seek, video_stream
from avemo.media.image import decode_image
from avemo.media.probe import declared_duration

BLOCK = 1 << 16
IN_FLIGHT_PER_WORKER = 16  # files submitted ahead of the workers: memory stays flat in the file count
SEGMENTED = ("tedlium",)  # corpora whose rows are segments of a longer file (start/end are offsets)
# (check, value, reason) or (check, value, reason, rows): the manifest rows it concerns
Problem = tuple


@dataclass(frozen=True, slots=True)  # slots: 100,000 of them for the FaceSynthetics release
class FileJob:
    corpus: str
    column: str  # audio_path | video_path
    path: str  # relative to the corpus root, as in the manifest
    file: Path  # root / path
    kind: str  # audio | video | image
    rows: tuple[int, ...]
    clip_ids: tuple[str, ...]
    spans: tuple[tuple[float, float], ...] = ()  # (start_s, end_s) of each row, audio files only
    segmented: bool = False  # rows are segments of the file (True) or the file is one utterance


@dataclass
class ProbeResult:
    failures: list[dict] = field(default_factory=list)
    affected: dict[str, list[int]] = field(default_factory=dict)  # corpus -> bad manifest rows
    clip_ids: dict[str, list[str]] = field(default_factory=dict)  # corpus -> bad clip ids
    files: int = 0  # distinct files probed
    files_per_corpus: dict[str, int] = field(default_factory=dict)


# --- audio -------------------------------------------------------------------------------


def _wav_declared_frames(head: bytes) -> int | None:
    """Frames the RIFF/WAVE data chunk header declares (None: not a plain WAV or unknown)."""
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return None
    end = "<" if head[:4] == b"RIFF" else ">"
    pos, block_align = 12, 0
    while pos + 8 <= len(head):
        cid = head[pos:pos + 4]
        (length,) = struct.unpack(end + "I", head[pos + 4:pos + 8])
        if cid == b"fmt " and pos + 8 + 14 <= len(head):
            (block_align,) = struct.unpack(end + "H", head[pos + 8 + 12:pos + 8 + 14])
        elif cid == b"data":
            if not block_align or length == 0xFFFFFFFF:
                return None
            return length // block_align
        pos += 8 + length + (length & 1)
    return None


def _nist_declared_frames(head: bytes) -> int | None:
    """``sample_count`` of a NIST SPHERE header (samples per channel)."""
    if not head.startswith(b"NIST_1A"):
        return None
    for line in head[:4096].split(b"\n"):
        parts = line.split()
        if len(parts) == 3 and parts[0] == b"sample_count":
            try:
                return int(parts[2])
            except ValueError:
                return None
        if line.strip() == b"end_head":
            break
    return None


def declared_frames(path: str | Path) -> int | None:
    """Frames the file's own header promises (WAV data chunk, SPHERE sample_count), if known."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    frames = _wav_declared_frames(head)
    return frames if frames is not None else _nist_declared_frames(head)


def probe_audio(path: str | Path, sample_rate: int, cfg: ValidateConfig | None = None,
                job: FileJob | None = None) -> list[Problem]:
    """Open, check the format, decode to the end; a truncated file or wrong format is a problem.
    With ``cfg``, the signal too: finite samples, not silent; with ``job``, its rows' spans
    against the decoded duration."""
    import soundfile as sf

    path = Path(path)
    problems: list[Problem] = []
    nonfinite, energy = 0, 0.0
    try:
        with sf.SoundFile(str(path)) as f:
            rate, channels, header_frames = f.samplerate, f.channels, f.frames
            fmt = f"{f.format}/{f.subtype}"
            read = 0
            while True:
                block = f.read(BLOCK, dtype="float32", always_2d=True)
                if not len(block):
                    break
                read += len(block)
                ok = np.isfinite(block)
                nonfinite += int(block.size - ok.sum())
                energy += float(np.square(np.where(ok, block, 0.0), dtype=np.float64).sum())
    except Exception as err:  # libsndfile: not audio, unsupported, I/O error
        msg = str(err).split("\n")[0] or type(err).__name__
        if msg.startswith("Error opening") and "': " in msg:  # the path is in the message already
            msg = msg.split("': ", 1)[1]
        return [("readable", None, f"cannot be decoded as audio ({msg})")]
    if header_frames == 0 or read == 0:
        problems.append(("not_empty", 0, f"is zero-length ({fmt}, 0 frames)"))
    if channels != 1:
        problems.append(("mono", channels, f"has {channels} channels, expected mono (1)"))
    if rate != sample_rate:
        problems.append(("sample_rate", rate, f"sample rate is {rate} Hz, expected {sample_rate}"))
    try:
        promised = declared_frames(path)
    except OSError:
        promised = None
    expected = max(header_frames, promised or 0)
    if read < expected:
        pct = 100.0 * read / expected
        problems.append((
            "complete", read,
            f"is truncated: decoded {read} of {expected} frames ({pct:.1f}%) the header declares",
        ))
    if cfg is None or read == 0:
        return problems
    if nonfinite:
        problems.append(("finite", nonfinite, f"holds {nonfinite} non-finite (NaN or Inf) samples; "
                                              f"re-export the recording"))
    samples = read * channels - nonfinite
    level = 10 * np.log10(energy / samples) if samples and energy > 0 else -np.inf
    if level < cfg.silence_dbfs:
        said = "digital silence (every sample 0)" if level == -np.inf else f"RMS level {level:.1f} dBFS"
        problems.append(("not_silent", None if level == -np.inf else round(float(level), 1),
                         f"is silent: {said}, below validate.silence_dbfs {cfg.silence_dbfs}"))
    if job is not None:
        problems += _spans(job, read / rate, cfg.duration_tolerance_s)
    return problems


def _spans(job: FileJob, seconds: float, tolerance: float) -> list[Problem]:
    """Rows whose annotation does not fit the decoded audio: an utterance file whose length is
    not its annotation's, or a segment that ends past the end of its file."""
    out: list[Problem] = []
    for k, (row, (start, end)) in enumerate(zip(job.rows, job.spans, strict=True)):
        clip = job.clip_ids[k] if k < len(job.clip_ids) else ""
        if not (np.isfinite(start) and np.isfinite(end)):
            continue
        if job.segmented and end > seconds + tolerance:
            out.append(("segment_inside", round(end, 3),
                        f"ends at {seconds:.2f} s, but segment {clip!r} ({start:.2f}-{end:.2f} s) runs "
                        f"past it (validate.duration_tolerance_s {tolerance}); fix the segment's times", (row,)))
        elif not job.segmented and abs(seconds - (end - start)) > tolerance:
            out.append(("duration", round(seconds, 3),
                        f"lasts {seconds:.2f} s but clip {clip!r} is annotated {start:.2f}-{end:.2f} s "
                        f"({end - start:.2f} s; validate.duration_tolerance_s {tolerance}); the file "
                        f"is cut short or belongs to another turn", (row,)))
    return out


# --- video and images --------------------------------------------------------------------


def _frame_at(opened, stream, t: float, max_frames: int):
    """Seek to the keyframe before ``t`` and decode forward to the frame showing ``t``."""
    seek(opened, stream, t)
    step = 1.0 / float(stream.average_rate) if stream.average_rate else 0.0
    for k, frame in enumerate(opened.decode(stream)):
        _check_frame(frame)
        if frame.time is None or frame.time >= t - step or k >= max_frames:
            return frame
    return None


def probe_video(path: str | Path, frames: int) -> list[Problem]:
    """Open with PyAV and decode ``frames`` frames spread over the declared duration.

    Each sample seeks to its time and decodes up to the frame shown then, so a file cut
    short (its headers promise more than it holds) fails at the first unreachable sample.
    """
    try:
        with container(path) as opened:
            return _sample_frames(opened, frames)
    except Exception as err:  # opening failed; the opener's MediaError carries FFmpeg's error
        cause = err.__cause__ if isinstance(err, MediaError) and err.__cause__ is not None else err
        return [("readable", None, f"cannot be opened as video ({_why(cause)})")]


def _sample_frames(opened, frames: int) -> list[Problem]:
    """:func:`probe_video`'s checks on an open container (every error is a problem)."""
    try:
        stream = video_stream(opened)
        if stream is None:
            return [("readable", None, "has no video stream")]
        duration = declared_duration(opened, stream)
        if not duration or duration <= 0 or not stream.time_base:
            got = 0
            for frame in opened.decode(stream):
                _check_frame(frame)
                got += 1
                if got >= frames:
                    return []
            return [("frames", got, f"decoded {got} of {frames} sampled frames")]
        rate = float(stream.average_rate or 25)
        max_frames = int(rate * 20) + 2  # keyframe gaps of real DivX/H.264 files
        for i in range(frames):
            t = (i + 0.5) * duration / frames
            try:
                frame = _frame_at(opened, stream, t, max_frames)
            except Exception as err:
                return [("frames", round(t, 3), f"frame at {t:.2f} s does not decode "
                                                f"({_why(err)})")]
            if frame is None:
                return [("frames", round(t, 3), f"has no frame at {t:.2f} s of the "
                                                f"{duration:.2f} s its header declares "
                                                f"(truncated?)")]
        return []
    except Exception as err:
        return [("readable", None, f"cannot be decoded ({_why(err)})")]


def _why(err: Exception) -> str:
    """An exception as text, without the file path FFmpeg appends (the message names it)."""
    text = getattr(err, "strerror", None) or str(err)
    return f"{type(err).__name__}: {text}"


def _check_frame(frame) -> None:
    rgb = frame.to_ndarray(format="rgb24")
    if rgb.ndim != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"empty frame {rgb.shape}")


def probe_landmarks(image: str | Path) -> list[Problem]:
    """A FaceSynthetics image's ``_ldmks.txt``, where there is one: 70 finite ``x y`` points
    (a missing file is allowed: the image then has no landmarks)."""
    from avemo.data import facesynthetics
    from avemo.data.errors import IngestError

    path = Path(image).with_name(f"{Path(image).stem}_ldmks.txt")
    if not path.is_file():
        return []
    try:
        points = facesynthetics.read_landmarks(path)
    except IngestError as err:
        return [("landmarks", None, f"has a bad landmark file: {err}")]
    bad = int((~np.isfinite(points)).any(1).sum())
    if bad:
        return [("landmarks", bad, f"has {bad} non-finite point(s) in {path.name}; fix or delete the "
                                   f"file (the image then has no landmarks)")]
    return []


def probe_image(path: str | Path) -> list[Problem]:
    """Decode with OpenCV; it must give a 3-channel (BGR) image."""
    try:
        img = decode_image(path, unchanged=True)
    except Exception as err:
        return [("readable", None, f"cannot be read ({type(err).__name__}: {err})")]
    if img is None:
        return [("image", None, "cannot be decoded as an image")]
    channels = 1 if img.ndim == 2 else img.shape[2]
    if channels != 3 or img.shape[0] == 0 or img.shape[1] == 0:
        return [("image", channels, f"has {channels} channel(s) {tuple(img.shape)}, "
                                    f"expected a 3-channel colour image")]
    return []


# --- running over manifests -------------------------------------------------------------


def kind_of(column: str, path: str) -> str:
    if column == "audio_path":
        return "audio"
    return "image" if path.lower().endswith(IMAGE_SUFFIXES) else "video"


def jobs(manifests: Mapping[str, pd.DataFrame], roots: Mapping[str, str | Path]) -> list[FileJob]:
    """One job per distinct existing file referenced by a manifest (missing ones are skipped)."""
    out: list[FileJob] = []
    for corpus, df in manifests.items():
        root = Path(roots[corpus])
        df = df.reset_index(drop=True)
        clips = df["clip_id"] if "clip_id" in df else pd.Series([None] * len(df))
        for column in ("audio_path", "video_path"):
            if column not in df:
                continue
            groups: dict[str, list[int]] = {}
            for i, p in enumerate(df[column]):
                if isinstance(p, str) and p:
                    groups.setdefault(p, []).append(i)
            audio = column == "audio_path" and {"start_s", "end_s"} <= set(df.columns)
            for rel, rows in groups.items():
                file = root / rel
                if not file.is_file():
                    continue
                ids = tuple(str(clips.iat[i]) for i in rows if isinstance(clips.iat[i], str))
                spans = tuple((float(df["start_s"].iat[i]), float(df["end_s"].iat[i])) for i in rows) if audio else ()
                out.append(FileJob(corpus, column, rel, file, kind_of(column, rel),
                                   tuple(rows), ids, spans, corpus in SEGMENTED))
    return out


def probe_file(job: FileJob, cfg: ValidateConfig) -> list[Problem]:
    try:
        if job.kind == "audio":
            return probe_audio(job.file, cfg.sample_rate, cfg, job)
        if job.kind == "image":
            return probe_image(job.file) + (probe_landmarks(job.file) if job.corpus == "facesynthetics" else [])
        return probe_video(job.file, cfg.video_frames)
    except Exception as err:  # a probe must report, never crash the stage
        return [("readable", None, f"probe crashed ({type(err).__name__}: {err})")]


def _failure(job: FileJob, problem: Problem) -> dict:
    check, value, reason = problem[:3]
    rows = problem[3] if len(problem) > 3 else None
    ids = job.clip_ids if rows is None else tuple(job.clip_ids[job.rows.index(r)] for r in rows
                                                 if job.rows.index(r) < len(job.clip_ids))
    n = len(ids)
    shown = ", ".join(repr(c) for c in ids[:3]) + (f" and {n - 3} more" if n > 3 else "")
    clips = f"; used by {n} clip(s): {shown}" if n and rows is None else ""
    return {
        "suite": "probe",
        "expectation": "decodes",
        "check": check,
        "corpus": job.corpus,
        "file": str(job.file),
        "path": job.path,
        "column": job.column,
        "value": value,
        "message": f"{job.corpus} {job.kind} file '{job.path}' {reason}{clips}",
        "clip_ids": list(ids),
        **({"rows": list(rows)} if rows is not None else {}),
    }


def _probe_all(
    todo: list[FileJob], cfg: ValidateConfig, progress: Callable[[int, int], None] | None,
) -> dict[int, list[Problem]]:
    """The problems of each job (by index) that has any, probed with ``cfg.workers`` threads.

    At most ``IN_FLIGHT_PER_WORKER`` jobs per worker are submitted ahead of the results, and
    clean files keep nothing: memory does not grow with the number of files (a future per
    file of the 100,000-image FaceSynthetics release held hundreds of MB).
    """
    found: dict[int, list[Problem]] = {}
    window = cfg.workers * IN_FLIGHT_PER_WORKER
    pending: dict[Future, int] = {}
    done = 0

    def collect() -> None:  # wait for at least one result
        nonlocal done
        for fut in wait(pending, return_when=FIRST_COMPLETED).done:
            problems = fut.result()
            k = pending.pop(fut)
            if problems:
                found[k] = problems
            done += 1
            if progress:
                progress(done, len(todo))

    with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        for k, job in enumerate(todo):
            pending[pool.submit(probe_file, job, cfg)] = k
            while len(pending) >= window:
                collect()
        while pending:
            collect()
    return found


def probe(
    manifests: Mapping[str, pd.DataFrame],
    roots: Mapping[str, str | Path],
    cfg: ValidateConfig,
    progress: Callable[[int, int], None] | None = None,
) -> ProbeResult:
    """Probe every distinct file with ``cfg.workers`` threads; ``progress(done, total)``."""
    import cv2

    todo = jobs(manifests, roots)
    result = ProbeResult(files=len(todo))
    for job in todo:
        result.files_per_corpus[job.corpus] = result.files_per_corpus.get(job.corpus, 0) + 1
    if progress:
        progress(0, len(todo))
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        found = _probe_all(todo, cfg, progress)
    finally:
        cv2.utils.logging.setLogLevel(level)
    bad_rows: dict[str, set[int]] = {}
    bad_ids: dict[str, set[str]] = {}
    for k, job in enumerate(todo):  # manifest order: stable reports
        for problem in found.get(k, []):
            failure = _failure(job, problem)
            result.failures.append(failure)
            bad_rows.setdefault(job.corpus, set()).update(failure.get("rows", job.rows))
            bad_ids.setdefault(job.corpus, set()).update(failure["clip_ids"])
    result.affected = {c: sorted(r) for c, r in bad_rows.items()}
    result.clip_ids = {c: sorted(ids) for c, ids in bad_ids.items()}
    return result

"""One recording: the program picture and the studio sound, fed to ffmpeg, written as fragmented MP4.

The feeder thread is the recording's clock. For each chunk of sound (one frame's worth) it
composes the program picture, converts it to YUV 4:2:0 and writes both to ffmpeg over pipes: the
picture on ffmpeg's standard input, the sound on a second pipe. Video is constant frame rate
and audio a constant sample rate, so ffmpeg's timestamps for both are exact and the two streams
stay in sync. When the machine falls behind (sound chunks pile up), the feeder sends the last
picture again instead of composing a new one and counts a dropped frame; sound is never dropped.
If the sound input stalls, the system clock takes over and silence is recorded (``audio_gaps``).

ffmpeg writes fragmented MP4 (a fragment per keyframe, every ``keyframe_seconds``): if the hub
or ffmpeg is killed, every complete fragment already on disk plays. ``finish.py`` turns the
working file into the final one (chapters, metadata, index at the front).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from studio.errors import RecordingError
from studio.program.program import LayoutSwitch, Program
from studio.recording.audio import PIPE_BYTES, AudioInput
from studio.settings import AUDIO_CHANNELS, AUDIO_RATE, StudioSettings

log = logging.getLogger(__name__)

LATE_CHUNKS = 3  # this many sound chunks waiting: skip composing, repeat the last picture
AUDIO_STALL_S = 0.25


def encoder_command(settings: StudioSettings, output: Path, audio_fd: int, metadata: dict[str, str]) -> list[str]:
    width, height = settings.size
    gop = max(1, round(settings.fps * settings.keyframe_seconds))
    # Both inputs are fully described, so ffmpeg must not probe them: probing reads megabytes from one
    # pipe while the feeder is blocked on the other, full one (a deadlock).
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin", "-y",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", str(settings.fps),
        "-thread_queue_size", "64", "-probesize", "32", "-analyzeduration", "0", "-i", "pipe:0",
    ]  # fmt: skip
    if settings.audio_offset_ms:
        command += ["-itsoffset", f"{settings.audio_offset_ms / 1000:.3f}"]
    command += [
        "-f", "s16le", "-ar", str(AUDIO_RATE), "-ac", str(AUDIO_CHANNELS), "-thread_queue_size", "512",
        "-probesize", "32", "-analyzeduration", "0", "-i", f"pipe:{audio_fd}",
        "-map", "0:v:0", "-map", "1:a:0",
        "-c:v", "libx264", "-preset", settings.x264_preset, "-crf", str(settings.crf), "-g", str(gop),
        "-pix_fmt", "yuv420p",
    ]  # fmt: skip
    if settings.encoder_threads:
        command += ["-threads", str(settings.encoder_threads)]
    command += ["-c:a", "aac", "-b:a", f"{settings.audio_bitrate_k}k"]
    for key, value in metadata.items():
        command += ["-metadata", f"{key}={value}"]
    # A fragment per keyframe, the (empty) index first: a killed recording plays up to its last fragment.
    command += ["-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-flush_packets", "1", "-f", "mp4",
                str(output)]  # fmt: skip
    return command


@dataclass
class RecorderStats:
    frames: int = 0
    dropped_frames: int = 0
    audio_gap_frames: int = 0
    started_wall: float = 0.0
    started_mono: float = 0.0
    ended_mono: float | None = None
    switches: list[tuple[float, str]] = field(default_factory=list)  # (media seconds, layout)

    def achieved_fps(self) -> float:
        end = self.ended_mono if self.ended_mono is not None else time.monotonic()
        seconds = end - self.started_mono
        return self.frames / seconds if seconds > 0 else 0.0


@dataclass(frozen=True)
class RecorderResult:
    path: Path
    frames: int
    seconds: float
    dropped_frames: int
    audio_gap_frames: int
    encoder_failed: bool  # ffmpeg died or refused: the file is partial
    exit_code: int | None
    error: str | None


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


class Recorder:
    def __init__(
        self,
        program: Program,
        audio: AudioInput,
        settings: StudioSettings,
        output: Path,
        *,
        metadata: dict[str, str] | None = None,
        on_encoder_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.program = program
        self.audio = audio
        self.settings = settings
        self.output = output
        self.metadata = metadata or {}
        self.stats = RecorderStats()
        self.error: str | None = None
        self._on_encoder_failure = on_encoder_failure
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._audio_write = -1
        self._sink: queue.Queue[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._remove_listener: Callable[[], None] | None = None
        self.log_path = output.with_suffix(".ffmpeg.log")

    @property
    def encoder_pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def media_seconds(self) -> float:
        return self.stats.frames / self.settings.fps

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start ffmpeg and the feeder (blocks for the process start: call from a worker thread)."""
        self.output.parent.mkdir(parents=True, exist_ok=True)
        # The work is already spread over threads (one per camera, the feeder) and ffmpeg's x264
        # threads; OpenCV's own worker pool inside each resize/convert only adds contention on a
        # 2-core hub.
        cv2.setNumThreads(1)
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError):
            import fcntl

            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        command = encoder_command(self.settings, self.output, read_fd, self.metadata)
        try:
            with self.log_path.open("wb") as log_file:
                self._process = subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log_file,
                    pass_fds=(read_fd,), bufsize=0,
                )  # fmt: skip
        except OSError as err:
            os.close(write_fd)
            raise RecordingError(f"cannot start ffmpeg: {err}") from err
        finally:
            os.close(read_fd)
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):
            import fcntl

            fcntl.fcntl(self._process.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self._audio_write = write_fd
        self.stats.started_wall = time.time()
        self.stats.started_mono = time.monotonic()
        self.stats.switches.append((0.0, str(self.program.layout)))
        self._remove_listener = self.program.on_switch(self._switched)
        self._thread = threading.Thread(target=self._feed, name="recorder-feed", daemon=True)
        self._thread.start()
        log.info("event=recording_started file=%s pid=%s", self.output, self._process.pid)

    def _switched(self, switch: LayoutSwitch) -> None:
        self.stats.switches.append((round(self.media_seconds, 3), str(switch.layout)))

    def _feed(self) -> None:
        assert self._process is not None and self._process.stdin is not None
        video_fd = self._process.stdin.fileno()
        fps = self.settings.fps
        silence = bytes(self.audio.chunk_bytes)
        clock_start: float | None = None
        try:
            # ffmpeg takes a good half second to start; sound that came meanwhile would have no
            # pictures. The first picture's write returns once ffmpeg reads: only then listen.
            last_picture: np.ndarray = cv2.cvtColor(self.program.compose(), cv2.COLOR_BGR2YUV_I420)
            _write_all(video_fd, last_picture.data.cast("B"))
            self._sink = self.audio.subscribe()
            first = True
            while not self._stopping.is_set():
                chunks: list[bytes]
                try:
                    chunks = [self._sink.get(timeout=AUDIO_STALL_S)]
                    if clock_start is None:
                        clock_start = time.monotonic() - self.stats.frames / fps
                except queue.Empty:
                    # No sound: keep time with the system clock and record silence.
                    if clock_start is None:
                        clock_start = self.stats.started_mono
                    due = int((time.monotonic() - clock_start) * fps) - self.stats.frames
                    chunks = [silence] * max(0, due)
                    self.stats.audio_gap_frames += len(chunks)
                for chunk in chunks:
                    if first:  # its picture is already written
                        first = False
                        _write_all(self._audio_write, memoryview(chunk))
                        self.stats.frames += 1
                        continue
                    if self._sink.qsize() >= LATE_CHUNKS or len(chunks) > LATE_CHUNKS:
                        self.stats.dropped_frames += 1
                    else:
                        last_picture = cv2.cvtColor(self.program.compose(), cv2.COLOR_BGR2YUV_I420)
                    _write_all(self._audio_write, memoryview(chunk))
                    _write_all(video_fd, last_picture.data.cast("B"))
                    self.stats.frames += 1
        except OSError as err:  # BrokenPipeError: ffmpeg is gone
            self.error = f"encoder stopped taking data: {err}"
            log.error("event=recording_encoder_lost file=%s error=%r", self.output, self.error)
            if self._on_encoder_failure is not None:
                self._on_encoder_failure(self.error)
        finally:
            self.stats.ended_mono = time.monotonic()

    def stop(self, timeout: float = 60.0) -> RecorderResult:
        """Finish the recording and wait for ffmpeg to close the file (blocks: call from a worker thread)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        if self._sink is not None:
            self.audio.unsubscribe(self._sink)
        if self._audio_write >= 0:
            with contextlib.suppress(OSError):
                os.close(self._audio_write)
            self._audio_write = -1
        exit_code: int | None = None
        if self._process is not None:
            if self._process.stdin is not None:
                with contextlib.suppress(OSError):
                    self._process.stdin.close()
            try:
                exit_code = self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                exit_code = self._process.wait()
                self.error = self.error or f"ffmpeg did not finish within {timeout:g} s"
        failed = self.error is not None or exit_code != 0
        if failed and self.error is None:
            self.error = f"ffmpeg exited with {exit_code}: {self._log_tail()}"
        log.info("event=recording_stopped file=%s frames=%d dropped=%d exit=%s", self.output, self.stats.frames,
                 self.stats.dropped_frames, exit_code)  # fmt: skip
        return RecorderResult(
            path=self.output,
            frames=self.stats.frames,
            seconds=self.media_seconds,
            dropped_frames=self.stats.dropped_frames,
            audio_gap_frames=self.stats.audio_gap_frames,
            encoder_failed=failed,
            exit_code=exit_code,
            error=self.error,
        )

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

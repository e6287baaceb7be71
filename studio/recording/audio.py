"""The studio's sound: an ffmpeg process reads the input and hands the hub raw PCM on a pipe.

Whatever the input (PulseAudio, ALSA, a file, a test tone), the hub receives 48 kHz stereo
signed 16-bit samples in chunks of one video frame's length (1600 samples at 30 fps). The chunks
are the recording's clock: the recorder writes one picture per chunk, so picture and sound stay
in step by construction, however the two clocks of the machine and the sound card drift.
Each chunk also feeds the level meter (RMS in dBFS) that the studio page shows.

Source strings (room file, ``[[devices]] kind = "audio"``, field ``source``):

| source | input |
|---|---|
| ``pulse:default`` / ``pulse:<source name>`` | a PulseAudio (or PipeWire-pulse) source |
| ``alsa:hw:1,0`` / ``alsa:default`` | an ALSA capture device |
| ``file:/path/sound.wav`` | a file, played in real time, looped |
| ``tone:440`` | a sine tone of that frequency (tests) |
| ``silence`` | digital silence (a studio without audio input) |
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import logging
import math
import queue
import subprocess
import threading
from dataclasses import dataclass
from typing import IO, Literal

import numpy as np

from classroom_hub.backoff import Backoff
from studio.errors import StudioConfigError
from studio.settings import AUDIO_CHANNELS, AUDIO_RATE

log = logging.getLogger(__name__)

BYTES_PER_SAMPLE = 2 * AUDIO_CHANNELS
PIPE_BYTES = 1 << 20  # ~5 s of sound waits in the pipe while the recorder catches up
SILENCE_DB = -90.0
RESTART_MIN_S, RESTART_MAX_S = 0.5, 10.0

AudioKind = Literal["pulse", "alsa", "file", "tone", "silence"]


@dataclass(frozen=True)
class AudioSpec:
    kind: AudioKind
    argument: str = ""

    @property
    def live(self) -> bool:
        return self.kind in ("pulse", "alsa")


def parse_audio_source(text: str) -> AudioSpec:
    kind, _, argument = text.strip().partition(":")
    if kind == "silence" and not argument:
        return AudioSpec("silence")
    if kind in ("pulse", "alsa"):
        return AudioSpec(kind, argument or "default")  # type: ignore[arg-type]
    if kind == "file" and argument:
        return AudioSpec("file", argument)
    if kind == "tone":
        try:
            frequency = float(argument or "440")
        except ValueError:
            frequency = -1.0
        if not 20 <= frequency <= 20_000:
            raise StudioConfigError(f"audio source {text!r}: tone frequency must be 20..20000 Hz")
        return AudioSpec("tone", f"{frequency:g}")
    raise StudioConfigError(
        f"audio source {text!r}: use pulse:<source>, alsa:<device>, file:<path>, tone:<Hz> or silence"
    )


def ffmpeg_input(spec: AudioSpec) -> list[str]:
    """The ffmpeg input options for a source; non-live inputs are read at their real rate (-re)."""
    match spec.kind:
        case "pulse" | "alsa":
            return ["-thread_queue_size", "1024", "-f", spec.kind, "-i", spec.argument]
        case "file":
            return ["-re", "-stream_loop", "-1", "-i", spec.argument]
        case "tone":
            return ["-re", "-f", "lavfi", "-i", f"sine=frequency={spec.argument}:sample_rate={AUDIO_RATE}"]
    return ["-re", "-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo"]


def capture_command(spec: AudioSpec) -> list[str]:
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", *ffmpeg_input(spec),
        "-vn", "-f", "s16le", "-ac", str(AUDIO_CHANNELS), "-ar", str(AUDIO_RATE), "pipe:1",
    ]  # fmt: skip


def rms_dbfs(chunk: bytes) -> float:
    samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32)
    if samples.size == 0:
        return SILENCE_DB
    mean_square = float(np.mean(samples * samples)) / (32768.0 * 32768.0)
    return max(SILENCE_DB, 10 * math.log10(mean_square)) if mean_square > 0 else SILENCE_DB


def widen_pipe(stream: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class AudioInput:
    """Runs the capture process (restarting it if it dies) and hands out chunks and the level."""

    def __init__(self, spec: AudioSpec, samples_per_chunk: int) -> None:
        self.spec = spec
        self.chunk_bytes = samples_per_chunk * BYTES_PER_SAMPLE
        self.chunks = 0
        self.restarts = 0
        self.last_error: str | None = None
        self._levels: collections.deque[float] = collections.deque(maxlen=8)  # ~1/4 s of chunks
        self._sinks: list[queue.Queue[bytes]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    @property
    def level_db(self) -> float:
        """RMS over the last quarter second, dBFS (0 = full scale, -90 = silence)."""
        levels = list(self._levels)
        if not levels:
            return SILENCE_DB
        mean_square = sum(10 ** (db / 10) for db in levels) / len(levels)
        return max(SILENCE_DB, 10 * math.log10(mean_square))

    def subscribe(self) -> queue.Queue[bytes]:
        sink: queue.Queue[bytes] = queue.Queue()
        with self._lock:
            self._sinks.append(sink)
        return sink

    def unsubscribe(self, sink: queue.Queue[bytes]) -> None:
        with self._lock:
            if sink in self._sinks:
                self._sinks.remove(sink)

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="audio-input", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the capture process and the reader thread (blocks briefly: call from a worker thread)."""
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        backoff = Backoff(2 * RESTART_MIN_S, RESTART_MAX_S, jitter="none")
        while not self._stopping.is_set():
            delivered = self._capture_once()
            if self._stopping.is_set():
                break
            self.restarts += 1
            log.warning("event=audio_input_stopped source=%s:%s error=%r", self.spec.kind, self.spec.argument,
                        self.last_error)  # fmt: skip
            if delivered:  # it worked for a while: restart at once, and back off again from the start
                backoff.reset()
            pause = RESTART_MIN_S if delivered else backoff.next()
            self._stopping.wait(pause)

    def _capture_once(self) -> bool:
        try:
            process = subprocess.Popen(
                capture_command(self.spec), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as err:
            self.last_error = f"cannot start ffmpeg: {err}"
            return False
        self._process = process
        assert process.stdout is not None and process.stderr is not None
        widen_pipe(process.stdout)
        delivered = False
        try:
            while not self._stopping.is_set():
                chunk = process.stdout.read(self.chunk_bytes)
                if len(chunk) < self.chunk_bytes:
                    break
                delivered = True
                self.chunks += 1
                self._levels.append(rms_dbfs(chunk))
                with self._lock:
                    sinks = list(self._sinks)
                for sink in sinks:
                    sink.put(chunk)
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            errors = process.stderr.read().decode(errors="replace").strip()
            process.stdout.close()
            process.stderr.close()
            self._process = None
        if errors and not self._stopping.is_set():
            self.last_error = errors.splitlines()[-1]
        return delivered

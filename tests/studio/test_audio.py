"""The studio's sound input: source strings, chunks of one frame, and the RMS meter."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from studio.errors import StudioConfigError
from studio.recording.audio import AudioInput, AudioSpec, ffmpeg_input, parse_audio_source, rms_dbfs
from tests.conftest import wait_for


def test_source_strings() -> None:
    assert parse_audio_source("pulse:default") == AudioSpec("pulse", "default")
    assert parse_audio_source("alsa:hw:1,0") == AudioSpec("alsa", "hw:1,0")
    assert parse_audio_source("tone:1000") == AudioSpec("tone", "1000")
    assert parse_audio_source("silence") == AudioSpec("silence")
    assert ffmpeg_input(AudioSpec("alsa", "hw:1,0"))[-4:] == ["-f", "alsa", "-i", "hw:1,0"]
    assert "-re" in ffmpeg_input(AudioSpec("file", "/srv/nhac.wav")), "files play in real time"
    assert parse_audio_source("pulse") == AudioSpec("pulse", "default")
    for bad in ("mic", "tone:5", "file:"):
        with pytest.raises(StudioConfigError, match="audio source"):
            parse_audio_source(bad)


def test_rms_of_known_signals() -> None:
    t = np.arange(48000) / 48000
    full = (np.sin(2 * math.pi * 440 * t) * 32767).astype("<i2")
    stereo = np.repeat(full, 2).tobytes()
    assert rms_dbfs(stereo) == pytest.approx(-3.01, abs=0.05)
    assert rms_dbfs(bytes(6400)) == -90.0


async def test_the_meter_reads_the_tone_in_chunks_of_one_frame() -> None:
    audio = AudioInput(parse_audio_source("tone:440"), samples_per_chunk=1600)
    sink = audio.subscribe()
    audio.start()
    try:
        await wait_for(lambda: audio.chunks >= 15, timeout=10)
        # ffmpeg's sine source: amplitude 1/8, RMS 1/(8 * sqrt 2) = -21.07 dBFS, mono; spread over
        # two channels at -3 dB each (ffmpeg's mono-to-stereo mix): -24.08 dBFS.
        assert audio.level_db == pytest.approx(-24.08, abs=0.3)
        chunk = await asyncio.to_thread(sink.get, True, 5)
        assert len(chunk) == 1600 * 4
    finally:
        await asyncio.to_thread(audio.stop)
    assert audio.restarts == 0 and audio.last_error is None

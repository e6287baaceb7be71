"""How well the studio records: N cameras composed into one program, with sound, against bare ffmpeg.

    python bench/studio_record.py --cameras 2 --size 1280x720 --fps 30 --seconds 30 [--preset veryfast]

Sources (the same for both runs): one clip per camera, rendered once from the synthetic studio
camera (each looking somewhere else, a ball moving, a clock ticking), H.264 at the given size and
rate, looped; and a 440 Hz tone played in real time.

- studio: the hub's pipeline in its own process: OpenCV decodes the clips at their frame rate, the
  program composes picture-in-picture (camera 2 inset) with numpy/OpenCV, the recorder feeds
  ffmpeg (libx264 + AAC, fragmented MP4) paced by the sound, exactly as in the studio.
- floor: one bare ffmpeg command doing the same job: decode the same clips (-re, looped), overlay
  the inset with a filter, the same tone, the same encoder settings.

CPU is the user+system time of each run's whole process tree (getrusage of the waited-for
children) over its wall time, in % of one core (this machine: see "cores"). av_drift_ms is the
difference between the video and audio stream lengths in the output file as ffprobe counts them.
Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIP_SECONDS = 10
PIP_SCALE = 0.3
PIP_MARGIN = 0.025


def render_clip(path: Path, index: int, size: tuple[int, int], fps: int, grain: int = 0) -> None:
    """A looping camera clip from the synthetic studio, the head aimed differently per camera.
    ``grain`` adds sensor-like noise of that amplitude: real cameras are much harder to encode."""
    import cv2
    import numpy as np

    from device_drivers.camera.simulated_head import SimulatedHead
    from device_drivers.camera.visca import PanTiltAbsolute, ZoomDirect
    from studio.capture.synthetic import SyntheticCamera

    head = SimulatedHead()
    head.handle(PanTiltAbsolute(-600 + 900 * index, 100 * index).encode(1))
    head.handle(ZoomDirect(0x1000 * index).encode(1))
    camera = SyntheticCamera(f"cam-{index + 1}", size=size, fps=fps, head=head)
    width, height = size
    encoder = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
         "-framerate", str(fps), "-i", "pipe:0", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
         "-g", str(fps), "-pix_fmt", "yuv420p", str(path)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert encoder.stdin is not None
    rng = np.random.default_rng(index)
    noise = [rng.integers(0, 2 * grain + 1, (height, width, 3), dtype=np.uint8) for _ in range(8)] if grain else []
    for n in range(CLIP_SECONDS * fps):
        image = camera.render(n / fps, n)
        if noise:
            image = cv2.subtract(cv2.add(image, noise[n % len(noise)]), (grain, grain, grain, 0))
        encoder.stdin.write(image.tobytes())
    encoder.stdin.close()
    if encoder.wait() != 0:
        raise SystemExit(f"could not render {path}")


def probe_drift(path: Path, fps: int) -> dict[str, float]:
    """Video length = frames / fps (ffprobe counts them); audio length = samples after decoding
    (the AAC priming and padding removed, as a player plays it)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-show_streams", "-print_format", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    video = next(s for s in json.loads(out)["streams"] if s["codec_type"] == "video")
    video_s = int(video["nb_read_packets"]) / fps
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le", "-ac", "1", "-ar", "48000",
         "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    audio_s = len(pcm) / 2 / 48000
    return {"video_s": round(video_s, 3), "audio_s": round(audio_s, 3),
            "av_drift_ms": round(abs(video_s - audio_s) * 1000, 1)}  # fmt: skip


def run_measured(command: list[str]) -> tuple[float, float, str]:
    """Run a command to its end; (wall seconds, CPU seconds of its whole tree, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def pipeline(args: argparse.Namespace) -> None:
    """The studio's own pipeline (runs in a child process so its CPU is measured alone)."""
    from studio.capture.sources import OpenCvSource
    from studio.program import Layout, Program
    from studio.recording.audio import AudioInput, parse_audio_source
    from studio.recording.recorder import Recorder
    from studio.settings import StudioSettings

    settings = StudioSettings(program_size=args.size, fps=args.fps, x264_preset=args.preset,
                              encoder_threads=args.threads, preview_width=160)  # fmt: skip
    sources = [OpenCvSource(f"cam-{i + 1}", clip, fps=args.fps) for i, clip in enumerate(args.clips)]
    for source in sources:
        source.start()
    while any(s.latest() is None for s in sources):
        time.sleep(0.01)
    program = Program(settings.size, cam1=sources[0], cam2=sources[1] if len(sources) > 1 else None,
                      layout=Layout.PIP if len(sources) > 1 else Layout.CAM1)  # fmt: skip
    audio = AudioInput(parse_audio_source("tone:440"), settings.samples_per_frame)
    audio.start()  # in the studio the sound input runs all along; the recording joins it
    while audio.chunks < args.fps:
        time.sleep(0.01)
    recorder = Recorder(program, audio, settings, Path(args.out))
    started = time.monotonic()
    recorder.start()
    while recorder.media_seconds < args.seconds and recorder.running:
        time.sleep(0.02)
    result = recorder.stop()
    wall = time.monotonic() - started
    audio.stop()
    for source in sources:
        source.stop()
    print(json.dumps({
        "frames": result.frames, "dropped_frames": result.dropped_frames, "audio_gap_frames": result.audio_gap_frames,
        "achieved_fps": round(recorder.stats.achieved_fps(), 2), "wall_s": round(wall, 2), "error": result.error,
    }))  # fmt: skip


def floor_command(clips: list[str], out: Path, args: argparse.Namespace) -> list[str]:
    width, height = (int(x) for x in args.size.split("x"))
    command = ["ffmpeg", "-v", "error", "-y"]
    for clip in clips:
        command += ["-re", "-stream_loop", "-1", "-i", clip]
    command += ["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    inset_w = round(width * PIP_SCALE) // 2 * 2
    inset_h = round(height * PIP_SCALE) // 2 * 2
    margin = round(width * PIP_MARGIN)
    if len(clips) > 1:
        graph = (f"[0:v]scale={width}:{height}[main];[1:v]scale={inset_w}:{inset_h}[inset];"
                 f"[main][inset]overlay={width - inset_w - margin}:{height - inset_h - margin}[v]")  # fmt: skip
    else:
        graph = f"[0:v]scale={width}:{height}[v]"
    command += ["-filter_complex", graph, "-map", "[v]", "-map", f"{len(clips)}:a",
                "-c:v", "libx264", "-preset", args.preset, "-crf", "23", "-g", str(args.fps * 2), "-pix_fmt", "yuv420p",
                "-r", str(args.fps), "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-t", str(args.seconds),
                "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", str(out)]  # fmt: skip
    if args.threads:
        command[command.index("-c:v") + 2 : command.index("-c:v") + 2] = ["-threads", str(args.threads)]
    return command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=2, choices=[1, 2])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--threads", type=int, default=0, help="x264 threads, 0 = x264's choice")
    parser.add_argument("--grain", type=int, default=0, help="sensor noise in the camera clips (e.g. 6)")
    parser.add_argument("--pipeline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--clips", nargs="*", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pipeline:
        pipeline(args)
        return

    width, height = (int(x) for x in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        work = Path(tmp)
        clips = [work / f"cam-{i + 1}.mp4" for i in range(args.cameras)]
        for index, clip in enumerate(clips):
            render_clip(clip, index, (width, height), args.fps, args.grain)
            print(f"rendered {clip.name}", file=sys.stderr)

        studio_out = work / "studio.mp4"
        wall, cpu, stdout = run_measured(
            [sys.executable, __file__, "--pipeline", "--size", args.size, "--fps", str(args.fps), "--seconds",
             str(args.seconds), "--preset", args.preset, "--threads", str(args.threads), "--out", str(studio_out),
             "--clips", *map(str, clips)]
        )  # fmt: skip
        studio = json.loads(stdout.strip().splitlines()[-1])
        studio_drift = probe_drift(studio_out, args.fps)
        print(f"studio: {json.dumps(studio)} {studio_drift}", file=sys.stderr)

        floor_out = work / "floor.mp4"
        floor_wall, floor_cpu, _ = run_measured(floor_command([str(c) for c in clips], floor_out, args))
        floor_drift = probe_drift(floor_out, args.fps)
        floor_frames = round(floor_drift["video_s"] * args.fps)
        size_mb = studio_out.stat().st_size / 1e6

    report: dict[str, Any] = {
        "cameras": args.cameras, "size": args.size, "fps": args.fps, "seconds": args.seconds, "preset": args.preset,
        "threads": args.threads, "grain": args.grain, "cores": os.cpu_count(),
        "dropped_frames": studio["dropped_frames"], "achieved_fps": studio["achieved_fps"],
        "av_drift_ms": studio_drift["av_drift_ms"], "cpu_pct": round(cpu / wall * 100, 1),
        "frames": studio["frames"], "audio_gap_frames": studio["audio_gap_frames"],
        "file_mb": round(size_mb, 1), "video_s": studio_drift["video_s"], "audio_s": studio_drift["audio_s"],
        "floor_cpu_pct": round(floor_cpu / floor_wall * 100, 1), "floor_fps": round(floor_frames / floor_wall, 2),
        "floor_av_drift_ms": floor_drift["av_drift_ms"],
    }  # fmt: skip
    print(json.dumps(report))


if __name__ == "__main__":
    main()

"""Recording: the audio input, the ffmpeg encoder fed from the program, the recording files."""

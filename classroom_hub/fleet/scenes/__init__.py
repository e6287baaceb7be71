"""VR/AR scenes: the hub's library of scene packages, which headset holds which, and launches
that reach only the headsets ready for them (docs/scenes.md).

Module by idea: ``package`` (a scene .zip and its ``scene.json``), ``shelf`` (the
content-addressed library and the sample scenes), ``keys`` (the headsets' download keys),
``copies`` (each headset's copy: missing, downloading, ready, failed), ``launcher``,
``web`` (``/api/scenes``, ``/scenes/<sha256>``) and ``cli`` (``classroom-hub scene ...``).
"""

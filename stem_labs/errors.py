"""Errors of the STEM labs; :class:`LabError` is the root of every one of them."""

from __future__ import annotations

from classroom_hub.errors import HubError


class LabError(HubError):
    """Base of every error the labs raise on purpose."""

    code = "refused"
    http_status = 409


class UnknownKit(LabError):
    """No Vinaponics kit or robot with that id in this room."""

    code = "unknown"
    http_status = 404


class CalibrationError(LabError):
    """Calibration points that cannot give a calibration (too few, equal, out of range)."""

    code = "invalid"
    http_status = 400


class ConditionError(LabError):
    """A trigger condition that does not parse, e.g. ``pH < 6.5`` with an unknown sensor."""

    code = "invalid"
    http_status = 400


class RunError(LabError):
    """An experiment run asked to do something its state does not allow."""

    code = "run_state"
    http_status = 409


class SafetyRefusal(LabError):
    """A manual actuator request that a safety rule forbids now (pump on while the tank is low)."""

    code = "safety_rule"
    http_status = 409


class UploadFailed(LabError):
    """A robot program could not be uploaded (refused, CRC mismatch, robot away)."""

    code = "upload_failed"
    http_status = 502

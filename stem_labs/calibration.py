"""Sensor calibration: pH (two or three buffers), EC (one standard), dissolved oxygen (air
saturation, optionally with a zero solution). Pure arithmetic; the lab book keeps the records.

Every calibration is a list of (raw, reference) points, sorted by raw, and a calibrated value
is the piecewise-linear interpolation through them (the end segments extrapolate):

* pH, two buffers: one line; three buffers: an acid and a base segment meeting at the middle
  buffer, as bench pH meters do. The electrode's *slope* (its response to the buffers, in %
  of the ideal) is kept with the record; outside 85-105 % the electrode needs attention,
  outside 70-130 % the points are refused (buffers mixed up or a dead electrode).
* EC, one standard (e.g. 1.413 mS/cm): a line through zero; a dry probe reads 0.
* DO, one point in water-saturated air at a known temperature and pressure: the reference
  is the oxygen solubility from Benson & Krause (1984), the equation of APHA *Standard
  Methods* 4500-O and the USGS DOTABLES; with a zero-oxygen solution, a two-point line.
"""

from __future__ import annotations

import itertools
import math
import time
import uuid
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from stem_labs.errors import CalibrationError
from stem_labs.sensors import SENSORS

Method = Literal["ph_2pt", "ph_3pt", "ec_1pt", "do_1pt", "do_2pt"]
METHODS: tuple[Method, ...] = ("ph_2pt", "ph_3pt", "ec_1pt", "do_1pt", "do_2pt")
Point = tuple[float, float]  # (raw reading, reference value)

PH_SLOPE_WARN = (85.0, 105.0)
PH_SLOPE_REFUSE = (70.0, 130.0)
STANDARD_PRESSURE_KPA = 101.325


@dataclass(frozen=True)
class Calibration:
    kit_id: str
    sensor: str
    method: Method
    points: tuple[Point, ...]
    performed_at: float
    performed_by: str
    due_days: int
    quality: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def apply(self, raw: float) -> float:
        return interpolate(self.points, raw)

    @property
    def due_at(self) -> float:
        return self.performed_at + self.due_days * 86_400.0

    def overdue(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) > self.due_at

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kit_id": self.kit_id, "sensor": self.sensor, "method": self.method,
            "points": [list(p) for p in self.points], "performed_at": self.performed_at,
            "performed_by": self.performed_by, "due_days": self.due_days, "due_at": self.due_at,
            "quality": self.quality, "note": self.note,
        }  # fmt: skip


def interpolate(points: Sequence[Point], raw: float) -> float:
    """Piecewise-linear through ``points`` (sorted by raw, at least two), extrapolating at the ends."""
    raws = [p[0] for p in points]
    index = min(max(bisect_right(raws, raw) - 1, 0), len(points) - 2)
    (x0, y0), (x1, y1) = points[index], points[index + 1]
    return y0 + (raw - x0) * (y1 - y0) / (x1 - x0)


# --- pH ----------------------------------------------------------------------------------


def ph_points(readings: Sequence[Point]) -> tuple[tuple[Point, ...], dict[str, Any]]:
    """Two or three (raw, buffer pH) pairs -> sorted points and the electrode slope per segment."""
    if len(readings) not in (2, 3):
        raise CalibrationError(f"pH calibration takes 2 or 3 buffers, not {len(readings)}")
    points = tuple(sorted((float(r), float(b)) for r, b in readings))
    for raw, buffer in points:
        if not (0.0 <= buffer <= 14.0 and math.isfinite(raw)):
            raise CalibrationError(f"buffer pH {buffer:g} (read {raw:g}) is not a pH buffer value")
    slopes = []
    for (r0, b0), (r1, b1) in itertools.pairwise(points):
        if b1 - b0 < 1.0:
            raise CalibrationError(
                f"buffers {b0:g} and {b1:g} read {r0:g} and {r1:g}: buffers must differ by 1 pH or more "
                "and the readings must rise with them"
            )
        slope = 100.0 * (r1 - r0) / (b1 - b0)
        if not PH_SLOPE_REFUSE[0] <= slope <= PH_SLOPE_REFUSE[1]:
            raise CalibrationError(
                f"electrode slope {slope:.0f} % between buffers {b0:g} and {b1:g}: "
                "outside 70-130 %, check the buffers and the electrode"
            )
        slopes.append(round(slope, 1))
    worn = any(not PH_SLOPE_WARN[0] <= s <= PH_SLOPE_WARN[1] for s in slopes)
    return points, {"slope_pct": slopes, "electrode_ok": not worn}


# --- EC ----------------------------------------------------------------------------------


def ec_points(raw: float, standard: float) -> tuple[tuple[Point, ...], dict[str, Any]]:
    """One standard solution (mS/cm): a line through zero; ``factor`` corrects the cell constant."""
    if not (raw > 0 and standard > 0 and math.isfinite(raw) and math.isfinite(standard)):
        raise CalibrationError(f"EC standard {standard:g} read as {raw:g}: both must be above zero")
    factor = standard / raw
    if not 0.5 <= factor <= 2.0:
        raise CalibrationError(f"EC probe reads {raw:g} in a {standard:g} standard: off by more than 2x")
    return ((0.0, 0.0), (float(raw), float(standard))), {"factor": round(factor, 5)}


# --- dissolved oxygen --------------------------------------------------------------------


def oxygen_saturation(temperature_c: float, pressure_kpa: float = STANDARD_PRESSURE_KPA) -> float:
    """Oxygen solubility in fresh water, mg/L, at ``temperature_c`` and barometric ``pressure_kpa``.

    Benson & Krause (1984) with the pressure correction of APHA Standard Methods 4500-O (as in
    USGS DOTABLES): 8.26 mg/L at 25 °C and 1 atm, 9.09 at 20 °C, 14.62 at 0 °C.
    """
    if not (0.0 <= temperature_c <= 50.0 and 50.0 <= pressure_kpa <= 110.0):
        raise CalibrationError(f"DO saturation needs 0-50 °C and 50-110 kPa, not {temperature_c:g} °C "
                               f"{pressure_kpa:g} kPa")  # fmt: skip
    t = temperature_c + 273.15
    at_one_atm = math.exp(
        -139.34411 + 1.575701e5 / t - 6.642308e7 / t**2 + 1.243800e10 / t**3 - 8.621949e11 / t**4
    )
    p = pressure_kpa / STANDARD_PRESSURE_KPA  # atm
    water_vapour = math.exp(11.8571 - 3840.70 / t - 216961.0 / t**2)  # atm
    theta = 0.000975 - 1.426e-5 * temperature_c + 6.436e-8 * temperature_c**2
    return at_one_atm * p * ((1 - water_vapour / p) * (1 - theta * p)) / ((1 - water_vapour) * (1 - theta))


def do_points(
    raw_saturated: float,
    temperature_c: float,
    pressure_kpa: float = STANDARD_PRESSURE_KPA,
    raw_zero: float | None = None,
) -> tuple[tuple[Point, ...], dict[str, Any]]:
    """Air-saturation point (and optionally a zero-oxygen point) -> points through the references."""
    saturation = oxygen_saturation(temperature_c, pressure_kpa)
    zero = 0.0 if raw_zero is None else float(raw_zero)
    if not raw_saturated > zero:
        raise CalibrationError(
            f"DO read {raw_saturated:g} in saturated air and {zero:g} at zero: the first must be higher"
        )
    factor = saturation / (raw_saturated - zero)
    if not 0.5 <= factor <= 2.0:
        raise CalibrationError(
            f"DO probe reads {raw_saturated:g} where saturation is {saturation:.2f} mg/L: off by more than 2x"
        )
    quality = {"saturation_mg_l": round(saturation, 3), "temperature_c": temperature_c, "pressure_kpa": pressure_kpa}
    return ((zero, 0.0), (float(raw_saturated), saturation)), quality


# --- one entry point for the page and the API ---------------------------------------------


def calibrate(
    kit_id: str,
    sensor: str,
    method: Method,
    data: dict[str, Any],
    performed_by: str,
    now: float | None = None,
) -> Calibration:
    """Build a calibration from what the lab lead entered (``data`` per method, see docs/stem-labs.md)."""
    description = SENSORS.get(sensor)
    if description is None or description.calibration is None:
        raise CalibrationError(f"sensor {sensor!r} takes no calibration")
    if not method.startswith(description.calibration + "_"):
        raise CalibrationError(f"method {method!r} does not calibrate {sensor!r}")
    try:
        if method in ("ph_2pt", "ph_3pt"):
            pairs = [(float(p["raw"]), float(p["reference"])) for p in data["points"]]
            if len(pairs) != (2 if method == "ph_2pt" else 3):
                raise CalibrationError(f"{method} needs {2 if method == 'ph_2pt' else 3} buffers")
            points, quality = ph_points(pairs)
        elif method == "ec_1pt":
            points, quality = ec_points(float(data["raw"]), float(data["reference"]))
        else:
            zero = data.get("raw_zero") if method == "do_2pt" else None
            if method == "do_2pt" and zero is None:
                raise CalibrationError("do_2pt needs raw_zero (the reading in zero-oxygen solution)")
            points, quality = do_points(
                float(data["raw"]),
                float(data["temperature_c"]),
                float(data.get("pressure_kpa", STANDARD_PRESSURE_KPA)),
                None if zero is None else float(zero),
            )
    except (KeyError, TypeError, ValueError) as err:
        raise CalibrationError(f"{method}: missing or non-numeric field ({err})") from err
    return Calibration(
        kit_id=kit_id,
        sensor=sensor,
        method=method,
        points=points,
        performed_at=now if now is not None else time.time(),
        performed_by=performed_by,
        due_days=description.calibration_days,
        quality=quality,
        note=str(data.get("note", ""))[:200],
    )

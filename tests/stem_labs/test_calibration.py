"""Calibration arithmetic against known values, and calibrations applied to live readings."""

from __future__ import annotations

import pytest

from stem_labs.calibration import calibrate, do_points, ec_points, interpolate, oxygen_saturation, ph_points
from stem_labs.errors import CalibrationError
from tests.conftest import wait_for


@pytest.mark.parametrize(
    ("celsius", "mg_l"),
    # USGS Office of Water Quality Technical Memorandum 2011.03, DOTABLES (fresh water, 760 mm Hg).
    [(0.0, 14.62), (10.0, 11.29), (20.0, 9.09), (25.0, 8.26), (30.0, 7.56), (35.0, 6.95)],
)
def test_oxygen_solubility_matches_the_usgs_table(celsius: float, mg_l: float) -> None:
    assert oxygen_saturation(celsius) == pytest.approx(mg_l, abs=0.006)


def test_oxygen_solubility_falls_with_pressure() -> None:
    # 25 °C at 700 mm Hg (93.33 kPa, a school at ~700 m altitude): DOTABLES gives 7.59 mg/L.
    assert oxygen_saturation(25.0, 93.326) == pytest.approx(7.59, abs=0.01)


def test_ph_two_point() -> None:
    points, quality = ph_points([(7.10, 7.00), (4.20, 4.00)])
    assert points == ((4.20, 4.00), (7.10, 7.00))
    assert quality == {"slope_pct": [96.7], "electrode_ok": True}
    assert interpolate(points, 4.20) == pytest.approx(4.00)
    assert interpolate(points, 5.65) == pytest.approx(5.50)
    assert interpolate(points, 9.00) == pytest.approx(7.0 + 1.9 * 3 / 2.9)  # extrapolated on the same line


def test_ph_three_point_has_an_acid_and_a_base_segment() -> None:
    points, quality = ph_points([(4.10, 4.00), (7.05, 7.00), (9.90, 10.00)])
    assert quality["slope_pct"] == [98.3, 95.0]
    assert interpolate(points, 7.05) == pytest.approx(7.00)
    assert interpolate(points, 5.575) == pytest.approx(5.50)  # halfway along the acid segment
    assert interpolate(points, 8.475) == pytest.approx(8.50)  # halfway along the base segment


def test_ph_refuses_mixed_up_buffers_and_flags_a_worn_electrode() -> None:
    with pytest.raises(CalibrationError, match="rise with them"):
        ph_points([(7.0, 4.0), (4.0, 7.0)])  # buffers swapped: readings fall as the buffers rise
    with pytest.raises(CalibrationError, match="70-130"):
        ph_points([(4.0, 4.0), (5.0, 7.0)])  # a 33 % slope: a dead electrode
    with pytest.raises(CalibrationError, match="differ by 1 pH"):
        ph_points([(6.9, 6.86), (7.0, 7.0)])
    _, quality = ph_points([(4.6, 4.0), (7.1, 7.0)])  # 83 %: usable, but tell the lab lead
    assert quality["electrode_ok"] is False


def test_ec_one_point_and_do_points() -> None:
    points, quality = ec_points(1.30, 1.413)
    assert quality["factor"] == pytest.approx(1.08692, abs=1e-5)
    assert interpolate(points, 2.60) == pytest.approx(2.826)
    points, _ = do_points(7.9, 25.0)  # the probe reads 7.9 in saturated air at 25 °C
    assert interpolate(points, 7.9) == pytest.approx(8.263, abs=0.001)
    assert interpolate(points, 3.95) == pytest.approx(8.263 / 2, abs=0.001)
    points, _ = do_points(8.4, 25.0, raw_zero=0.3)
    assert interpolate(points, 0.3) == pytest.approx(0.0)
    assert interpolate(points, 8.4) == pytest.approx(8.263, abs=0.001)


def test_calibrate_checks_method_and_sensor() -> None:
    with pytest.raises(CalibrationError, match="takes no calibration"):
        calibrate("k", "level", "ph_2pt", {}, "a")
    with pytest.raises(CalibrationError, match="does not calibrate"):
        calibrate("k", "ph", "ec_1pt", {"raw": 1, "reference": 1}, "a")
    with pytest.raises(CalibrationError, match="needs 3 buffers"):
        calibrate("k", "ph", "ph_3pt", {"points": [{"raw": 4, "reference": 4}, {"raw": 7, "reference": 7}]}, "a")
    cal = calibrate("k", "ph", "ph_2pt", {"points": [{"raw": 4.2, "reference": 4}, {"raw": 7.1, "reference": 7}]},
                    "co.lan", now=1_780_000_000.0)  # fmt: skip
    assert cal.due_at == 1_780_000_000.0 + 30 * 86400
    assert not cal.overdue(cal.due_at - 1) and cal.overdue(cal.due_at + 1)


@pytest.mark.mosquitto
async def test_a_calibration_applies_to_live_readings_and_overdue_ones_are_flagged(lab_room) -> None:
    async with await lab_room() as room:
        await room.online("vina-1")
        kit = room.lab.kits["vina-1"]
        room.node.pin("ph", 5.65)
        await room.kit_value("ph", lambda v: abs(v - 5.65) < 0.01)
        assert kit.readings["ph"].flag == "uncalibrated"
        assert kit.readings["level"].flag is None  # a level sensor needs no calibration

        session = await room.login("lab_lead", "co.lan")
        data = {"points": [{"raw": 4.2, "reference": 4.0}, {"raw": 7.1, "reference": 7.0}]}
        async with session.post("/api/lab/kits/vina-1/calibrations",
                                json={"sensor": "ph", "method": "ph_2pt", "data": data}) as response:  # fmt: skip
            assert response.status == 201, await response.text()
            body = await response.json()
        assert body["performed_by"] == "co.lan" and body["quality"]["slope_pct"] == [96.7]
        await room.kit_value("ph", lambda v: abs(v - 5.50) < 0.01)  # 5.65 raw is 5.50 calibrated
        assert kit.readings["ph"].flag is None and kit.readings["ph"].raw == pytest.approx(5.65, abs=1e-5)

        # A month and a day later (the calibration was done long ago): flagged, still applied.
        kit.calibrations["ph"] = calibrate("vina-1", "ph", "ph_2pt", data, "co.lan", now=1_600_000_000.0)
        await wait_for(lambda: kit.readings["ph"].flag == "calibration_overdue", timeout=3)
        assert kit.readings["ph"].value == pytest.approx(5.50, abs=0.01)

        empty = {"sensor": "ph", "method": "ph_2pt", "data": {"points": []}}
        async with session.post("/api/lab/kits/vina-1/calibrations", json=empty) as response:
            assert response.status == 400
        async with session.get("/api/lab/kits/vina-1/calibrations") as response:
            history = (await response.json())["calibrations"]
        assert [c["method"] for c in history] == ["ph_2pt"] and history[0]["performed_by"] == "co.lan"

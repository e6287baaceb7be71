"""Every reason the OneRoster importer gives for a bad row has its place in the admin page's
catalogues; and the upload route refuses what is not a bundle, before or while reading it."""

from __future__ import annotations

import asyncio
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp.payload import AsyncIterablePayload

from classroom_hub.admin.roster_problems import explain
from classroom_hub.admin.rosters import UPLOAD_LIMIT
from classroom_hub.roster import import_oneroster
from tests.classroom_hub.admin.bundles import zip_bundle
from tests.conftest import add_user, room_settings, run_hub

CATALOGUES = Path(__file__).parents[3] / "classroom_hub" / "admin" / "i18n"
HEADER = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,"
# Rows spoilt in every way a school's export is: each line names the reason it should give.
BAD_USERS = [
    "hs-x-01,,,maybe,thcs-demo,student,,,An,Lê,,036213900201,,,,,07,",  # bad_bool
    "hs-x-02,,,true,thcs-demo,janitor,,,An,Lê,,036213900202,,,,,07,",  # one_of
    "hs-x-03,,,true,thcs-demo,student,,,An,Lê,,03621390020A,,,,,07,",  # cccd_digits
    "hs-x-04,,,true,thcs-demo,student,,,An,Lê,,999213900204,,,,,07,",  # cccd_province
    "hs-x-05,,,true,thcs-demo,student,,,An,Lê,,036999900205,,,,,07,",  # cccd_future
    "hs-x-06,,,true,thcs-demo,student,,,An,Lê,,36213900206,,,,,07,",  # cccd_leading_zeros
    "hs-x-07,,,true,thcs-demo,student,,,An,Lê,,3.62139E+11,,,,,07,",  # cccd_excel
    "hs x 08,,,true,thcs-demo,student,,,An,Lê,,036213900208,,,,,07,",  # sourced_id_chars
    "036213900209,,,true,thcs-demo,student,,,An,Lê,,036213900209,,,,,07,",  # sourced_id_is_cccd
    "hs-x-10,,,true,thcs-demo,student,,,An,Lê,,036213900210,,,,,15,",  # bad_grade
    "hs-x-11,,,true,thcs-demo,student,,,An,Lê,,036213900211,,,,,\"07,08\",",  # one_grade
    "hs-x-12,,,true,thcs-demo,student,,{cccd:036213900299},An,Lê,,036213900212,,,,,07,",  # cccd_differs
    "hs-x-13,,,true,thcs-demo,student,,,An,Lê,,035213900004,,,,,07,",  # same_citizen_id (as hs-7a-01's)
    "hs-x-14,,,true,thcs-demo,student,,,An,Lê,,036213900214,,,,,07,,extra,cells",  # too_many_cells
    "hs-x-15,,,true,,student,,,An,Lê,,036213900215,,,,,07,",  # required (no school)
    "hs-x-16,,,true,thcs-demo,student,,,An,Lê,,036213900216,,,,,\",\",",  # no_grade
]
BAD_SESSIONS = [
    "hk-x,,,Học kỳ lỗi,semester,2026-05-31,2026-01-19,nh-2025-2026,2026",  # dates_order
    "hk-y,,,Học kỳ lỗi,semester,31/05/2026,2026-06-30,nh-2025-2026,2026",  # bad_date
    "hk-z,,,Học kỳ lỗi,semester,2026-01-19,2026-05-31,nh-2025-2026,năm nay",  # bad_int
    "hk-w,,,Học kỳ lỗi,semester,2026-01-19,2026-05-31,nh-2025-2026,1800",  # minimum
    "hk-v,2026-01-01,hôm qua,Học kỳ lỗi,semester,2026-01-19,2026-05-31,nh-2025-2026,2026",  # bad_time
]
BAD_ENROLLMENTS = ["e-x-1,,,khtn-7a,thcs-demo,gv-01,student,false,,"]  # role_mismatch


def test_every_reason_of_a_spoilt_bundle_is_translated(tmp_path: Path) -> None:
    bundle = zip_bundle(tmp_path / "spoilt.zip", {
        "users.csv": BAD_USERS, "academicSessions.csv": BAD_SESSIONS, "enrollments.csv": BAD_ENROLLMENTS})  # fmt: skip
    report = import_oneroster(bundle)
    codes = [explain(p.reason)[0] for p in report.problems]
    untranslated = [str(p) for p, code in zip(report.problems, codes, strict=True) if code == "other"]
    assert untranslated == []
    expected = {"bad_bool", "one_of", "cccd_digits", "cccd_province", "cccd_future", "cccd_leading_zeros",
                "cccd_excel", "sourced_id_chars", "sourced_id_is_cccd", "bad_grade", "one_grade", "cccd_differs",
                "same_citizen_id", "too_many_cells", "required", "no_grade", "dates_order", "bad_date", "bad_int",
                "minimum", "bad_time", "role_mismatch"}  # fmt: skip
    assert expected <= set(codes), expected - set(codes)
    for lang in ("vi", "en"):
        strings = json.loads((CATALOGUES / f"{lang}.json").read_text(encoding="utf-8"))
        assert [c for c in set(codes) if f"admin.roster.reason.{c}" not in strings] == []
    # The values a Vietnamese text needs come along: the row a duplicate repeats, a file's column count.
    assert explain("duplicate of row 80: row skipped") == ("duplicate", {"row": "80"})
    assert explain("Input should be 'student', 'teacher' or 'administrator'") == (
        "one_of", {"values": "'student', 'teacher', 'administrator'"})
    new_check = "a check added to the importer tomorrow"
    assert explain(new_check) == ("other", {"text": new_check})


def _zip_with_manifest(target: Path, manifest: str) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("manifest.csv", manifest)
    return target


async def test_the_upload_refuses_what_is_not_a_bundle(tmp_path: Path) -> None:
    async with run_hub(room_settings(tmp_path, None)) as hub:
        password = await add_user(hub, "hieu-truong", "admin")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(f"{hub.url}/login", data={"username": "hieu-truong", "password": password})
            url = f"{hub.url}/api/admin/roster"

            async def send(data: object, name: str = "bundle") -> tuple[int, str]:
                form = aiohttp.MultipartWriter("form-data")
                part = form.append(data)  # type: ignore[arg-type]
                part.set_content_disposition("form-data", name=name, filename="danh-sach.zip")
                async with http.post(url, data=form) as response:
                    body = await response.json()
                    return response.status, body["error"] + (f":{body['reason']}" if "reason" in body else "")

            assert await send(b"PK\x03\x04 not really a zip") == (400, "bad_bundle:not_zip")
            old = _zip_with_manifest(tmp_path / "old.zip", "propertyName,value\noneroster.version,1.0\n")
            assert await send(await asyncio.to_thread(old.read_bytes)) == (400, "bad_bundle:wrong_version")
            assert await send(b"") == (400, "empty_upload")
            assert await send(b"a,b\n1,2\n", name="other") == (400, "no_file")
            async with http.post(url, data=b"PK\x03\x04", headers={"Content-Type": "application/zip"}) as response:
                assert response.status == 415  # a form, as browsers send files

            async def too_much() -> AsyncIterator[bytes]:  # sent chunked: no Content-Length to refuse it early
                chunk = b"\0" * (1024 * 1024)
                for _ in range(UPLOAD_LIMIT // len(chunk) + 2):
                    yield chunk

            assert await send(AsyncIterablePayload(too_much())) == (413, "body_too_large")
            # Nothing of those is left on the hub's disk.
            assert list((tmp_path / "hub" / "admin" / "uploads").iterdir()) == []
            async with http.get(f"{hub.url}/api/admin/classes") as response:
                assert (await response.json())["counts"]["classes"] == 0

"""OneRoster 1.1 bundles: the demo imports cleanly, bad rows are reported one by one, export round-trips."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from classroom_hub.roster import BundleError, Problem, export_oneroster, import_oneroster


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write_lines(path: Path, lines: list[str], *, bom: bool = False, delimiter: str = ",") -> None:
    text = "\r\n".join(lines) + "\r\n"
    if delimiter != ",":
        text = text.replace(",", delimiter)
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))


def where(problems: list[Problem]) -> set[tuple[str, int, str]]:
    return {(p.file, p.row, p.column) for p in problems}


def test_demo_school_imports_without_problems(sample_dir: Path) -> None:
    report = import_oneroster(sample_dir)
    assert report.ok, [str(p) for p in report.problems]
    assert report.imported == {
        "orgs.csv": 2, "academicSessions.csv": 3, "courses.csv": 1,
        "classes.csv": 2, "users.csv": 78, "enrollments.csv": 79,
    }  # fmt: skip
    roster = report.roster
    assert len(roster.members("khtn-7a", "student")) == 40
    assert len(roster.members("khtn-7b", "student")) == 35
    teachers = {p.sourced_id for p in roster.people.values() if p.role == "teacher"}
    assert teachers == {"gv-01", "gv-02", "gv-03"}
    assert roster.schools["thcs-demo"].code == "THCS-DEMO"
    assert roster.people["gv-01"].display_name == "Trần Thị Minh Huệ"
    assert roster.classes["khtn-7a"].grade == "07"
    assert roster.classes["khtn-7a"].term_sourced_ids == ("hk1-2025-2026", "hk2-2025-2026")


def test_bad_rows_are_reported_and_good_rows_kept(bundle: Path) -> None:
    users = read_lines(bundle / "users.csv")
    row_of = {line.split(",", 1)[0]: number for number, line in enumerate(users, start=1)}
    users = [
        line.replace("036313900006", "36313900006")  # hs-7a-03: Excel dropped the leading zero
        .replace("thcs-demo,student,,,Dung,Lê", "thcs-demo,parent,,,Dung,Lê")  # hs-7a-05: not a hub role
        .replace(",,,Hùng,Lý,Bảo,", ",,,,Lý,Bảo,")  # hs-7b-10: no given name
        for line in users
    ]
    users += [
        "hs-new-1,,,true,thcs-demo,student,,,Nam,Phạm,Văn,035213900004,,,,,07,",  # hs-7a-01's citizen ID
        "hs-7a-01,,,true,thcs-demo,student,,,An,Phạm,Văn,036213900099,,,,,07,",  # duplicate sourcedId
        "hs-new-2,,,true,thpt-khac,student,,,Lan,Võ,Thị,036313900098,,,,,07,",  # unknown org
        "hs-new-3,,,maybe,thcs-demo,student,,,Mai,Võ,Thị,036313900097,,,,,07,",  # enabledUser not a boolean
        "hs-new-4,,,true,thcs-demo,student,,,Hoa,Võ,Thị,036313900096,,,,,07,,extra",  # a cell too many
        "hs-new-5,,,true,thcs-demo,student,,,Hoa,Võ,Thị,003313900095,,,,,07,",  # no such province
        "hs mới 6,,,true,thcs-demo,student,,,Hoa,Võ,Thị,036313900094,,,,,07,",  # a space in the short id
    ]
    write_lines(bundle / "users.csv", users)
    n_users = len(read_lines(bundle / "users.csv"))

    enrollments = read_lines(bundle / "enrollments.csv")
    enrollments += [
        "e-x-1,,,lop-ma,thcs-demo,hs-7a-02,student,false,,",  # unknown class
        "e-x-2,,,khtn-7a,thcs-demo,hs-7a-02,student,yes,,",  # primary not a boolean
        "e-x-3,,,khtn-7a,thcs-demo,gv-01,student,false,,",  # a teacher enrolled as a student
    ]
    write_lines(bundle / "enrollments.csv", enrollments)
    n_enr = len(enrollments)
    row_of_enr = {line.split(",", 1)[0]: number for number, line in enumerate(enrollments, start=1)}

    sessions = read_lines(bundle / "academicSessions.csv")
    sessions.append("hk3,,,Học kỳ hè,term,2026-08-01,2026-06-01,nh-2025-2026,2026")  # ends before it starts
    write_lines(bundle / "academicSessions.csv", sessions)

    classes = read_lines(bundle / "classes.csv")
    classes.append("khtn-78,,,KHTN ghép 7-8,\"07,08\",khtn-7,78,scheduled,lop-7a,thcs-demo,,Khoa học tự nhiên,,")
    write_lines(bundle / "classes.csv", classes)

    report = import_oneroster(bundle)

    expected = {
        ("users.csv", row_of["hs-7a-03"], "identifier"),
        ("users.csv", row_of["hs-7a-05"], "role"),
        ("users.csv", row_of["hs-7b-10"], "givenName"),
        ("users.csv", n_users - 6, "identifier"),
        ("users.csv", n_users - 5, "sourcedId"),
        ("users.csv", n_users - 4, "orgSourcedIds"),
        ("users.csv", n_users - 3, "enabledUser"),
        ("users.csv", n_users - 2, ""),
        ("users.csv", n_users - 1, "identifier"),
        ("users.csv", n_users, "sourcedId"),
        # enrollments of rejected users cannot be kept either
        ("enrollments.csv", row_of_enr["e-7a-03"], "userSourcedId"),
        ("enrollments.csv", row_of_enr["e-7a-05"], "userSourcedId"),
        ("enrollments.csv", row_of_enr["e-7b-10"], "userSourcedId"),
        ("enrollments.csv", n_enr - 2, "classSourcedId"),
        ("enrollments.csv", n_enr - 1, "primary"),
        ("enrollments.csv", n_enr, "role"),
        ("academicSessions.csv", 5, "endDate"),
        ("classes.csv", 4, "grades"),
    }
    assert where(report.problems) == expected, "\n".join(map(str, report.problems))
    reasons = {(p.file, p.row): p.reason for p in report.problems}
    assert "11 digits" in reasons["users.csv", row_of["hs-7a-03"]]
    assert "Excel" in reasons["users.csv", row_of["hs-7a-03"]]
    assert "required" in reasons["users.csv", row_of["hs-7b-10"]]
    assert "same citizen ID as user 'hs-7a-01'" in reasons["users.csv", n_users - 6]
    assert "duplicate of row 5" in reasons["users.csv", n_users - 5]
    assert "'thpt-khac' is not in orgs.csv" in reasons["users.csv", n_users - 4]
    assert "not a province code" in reasons["users.csv", n_users - 1]
    assert "no spaces" in reasons["users.csv", n_users]
    assert "'lop-ma' is not in classes.csv" in reasons["enrollments.csv", n_enr - 2]
    assert reasons["enrollments.csv", n_enr] == "student enrollment for a user whose role is teacher"
    assert reasons["academicSessions.csv", 5] == "endDate is before startDate"
    assert str(report.problems[0]).startswith("academicSessions.csv row 5, column endDate: ")

    # the good rows are all there
    assert report.imported["users.csv"] == 78 - 3
    assert report.imported["enrollments.csv"] == 79 - 3
    assert report.imported["classes.csv"] == 2
    assert report.imported["academicSessions.csv"] == 3
    assert "hs-7a-04" in report.roster.people and "hs-7a-03" not in report.roster.people
    assert report.roster.people["hs-7a-01"].given_name != "An"  # the first row wins over the duplicate
    assert len(report.roster.members("khtn-7a", "student")) == 38


def test_no_citizen_id_in_any_problem_and_a_readable_report(bundle: Path) -> None:
    users = [line.replace("036313900006", "036313900006x") for line in read_lines(bundle / "users.csv")]
    write_lines(bundle / "users.csv", users)
    report = import_oneroster(bundle)
    assert report.lines() == [
        "orgs.csv: 2 imported (bulk)",
        "academicSessions.csv: 3 imported (bulk)",
        "courses.csv: 1 imported (bulk)",
        "classes.csv: 2 imported (bulk)",
        "users.csv: 77 imported (bulk)",
        "enrollments.csv: 78 imported (bulk)",
        "2 problem(s)",
        "  users.csv row 7, column identifier: must be 12 digits, with no letters, spaces or dots",
        "  enrollments.csv row 4, column userSourcedId: 'hs-7a-03' is not in users.csv (or its row was rejected)",
    ]
    assert "036313900006" not in "\n".join(report.lines())


def test_citizen_id_may_come_in_user_ids(bundle: Path) -> None:
    users = read_lines(bundle / "users.csv")
    users = [
        users[0],
        *(
            line.replace(",,,Chi,Đỗ,Ngọc,036313900006,", ',,"{cccd:036313900006},{LDAP:chi.do}",Chi,Đỗ,Ngọc,,')
            .replace(",,,Dung,Lê,Khánh,036313900008,", ",,{CCCD:036313900009},Dung,Lê,Khánh,036313900008,")
            for line in users[1:]
        ),
    ]
    write_lines(bundle / "users.csv", users)
    report = import_oneroster(bundle)
    assert report.roster.people["hs-7a-03"].citizen_id == "036313900006"
    assert [(p.row, p.column, p.reason) for p in report.problems if p.file == "users.csv"] == [
        (9, "userIds", "{cccd:...} differs from identifier")
    ]


def test_round_trip_through_a_folder(sample_dir: Path, tmp_path: Path) -> None:
    first = import_oneroster(sample_dir)
    export_oneroster(first.roster, tmp_path / "out")
    second = import_oneroster(tmp_path / "out")
    assert second.ok, [str(p) for p in second.problems]
    assert second.roster == first.roster
    assert second.imported == first.imported


def test_round_trip_through_a_zip_with_every_field_set(bundle: Path, tmp_path: Path) -> None:
    users = read_lines(bundle / "users.csv")
    users.append(
        "hs-x,tobedeleted,2025-08-15T08:00:00.123Z,false,thcs-demo,student,hs.x,,Ý,Âu,Dương Ngọc,"
        "036313900077,x@thcs-demo.example,,0912345678,,07,"
    )
    write_lines(bundle / "users.csv", users)
    enrollments = read_lines(bundle / "enrollments.csv")
    enrollments.append("e-x,active,2025-08-15T01:00:00+07:00,khtn-7a,thcs-demo,gv-02,teacher,true,2025-09-05,2026-05-31")
    write_lines(bundle / "enrollments.csv", enrollments)
    first = import_oneroster(bundle)
    assert first.ok, [str(p) for p in first.problems]
    export_oneroster(first.roster, tmp_path / "roster.zip")
    with zipfile.ZipFile(tmp_path / "roster.zip") as zipped:
        assert sorted(zipped.namelist()) == sorted(
            ["manifest.csv", "orgs.csv", "academicSessions.csv", "courses.csv", "classes.csv", "users.csv",
             "enrollments.csv"]
        )  # fmt: skip
    second = import_oneroster(tmp_path / "roster.zip")
    assert second.ok, [str(p) for p in second.problems]
    assert second.roster == first.roster
    person = second.roster.people["hs-x"]
    assert (person.status, person.enabled, person.phone, person.middle_name) == (
        "tobedeleted", False, "0912345678", "Dương Ngọc",
    )  # fmt: skip
    assert person.date_last_modified is not None and person.date_last_modified.microsecond == 123000
    assert second.roster.enrollments["e-x"].date_last_modified == first.roster.enrollments["e-x"].date_last_modified


def test_zip_with_a_top_folder_and_excel_bom(sample_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "from-excel.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for item in sample_dir.iterdir():
            zipped.writestr(f"demo-school/{item.name}", b"\xef\xbb\xbf" + item.read_bytes())
    report = import_oneroster(archive)
    assert report.ok, [str(p) for p in report.problems]
    assert report.imported["users.csv"] == 78
    # the BOM did not end up in the first column's name or the first value
    assert "pgd-demo" in report.roster.schools


def test_export_with_bom_for_excel(sample_dir: Path, tmp_path: Path) -> None:
    roster = import_oneroster(sample_dir).roster
    export_oneroster(roster, tmp_path / "excel", bom=True)
    assert (tmp_path / "excel" / "users.csv").read_bytes().startswith(b"\xef\xbb\xbfsourcedId,")
    assert import_oneroster(tmp_path / "excel").roster == roster


def test_semicolon_separated_files_from_vietnamese_excel(bundle: Path) -> None:
    for name in ("users.csv", "orgs.csv"):
        lines = read_lines(bundle / name)
        assert not any(";" in line or '"' in line for line in lines)
        write_lines(bundle / name, lines, bom=True, delimiter=";")
    report = import_oneroster(bundle)
    assert report.ok, [str(p) for p in report.problems]
    assert report.roster.people["gv-03"].display_name == "Phạm Quốc Khánh"


def test_windows_1258_file_is_reported_not_crashed(bundle: Path) -> None:
    lines = read_lines(bundle / "users.csv")
    legacy = "\r\n".join(lines).encode("cp1258", errors="replace")  # Excel's "CSV (Comma delimited)"
    (bundle / "users.csv").write_bytes(legacy)
    first_bad_line = next(n for n, line in enumerate(legacy.split(b"\n"), start=1) if max(line) > 0x7F)
    report = import_oneroster(bundle)
    problem = next(p for p in report.problems if p.file == "users.csv")
    assert problem.row == 0
    assert problem.reason.startswith(f"not UTF-8 (line {first_bad_line}); in Excel save as 'CSV UTF-8")
    assert "users.csv" not in report.imported
    assert report.imported["classes.csv"] == 2  # the other files are still read


def test_columns_in_another_order_and_unknown_columns(bundle: Path) -> None:
    lines = read_lines(bundle / "orgs.csv")
    rows = [line.split(",") for line in lines]
    reordered = [",".join([*reversed(row), "x"]) for row in rows]
    reordered[0] = reordered[0].removesuffix(",x") + ",ghiChu"
    (bundle / "orgs.csv").write_text("\n".join(reordered) + "\n", encoding="utf-8")
    report = import_oneroster(bundle)
    assert [str(p) for p in report.problems] == ["orgs.csv row 1, column ghiChu: not a OneRoster 1.1 column: ignored"]
    assert report.roster.schools["thcs-demo"].parent_sourced_id == "pgd-demo"


def test_missing_manifest_reads_the_files_present(bundle: Path) -> None:
    (bundle / "manifest.csv").unlink()
    report = import_oneroster(bundle)
    assert [str(p) for p in report.problems] == ["manifest.csv: missing; the files present are read as bulk"]
    assert report.imported["users.csv"] == 78


def test_manifest_and_files_disagree(bundle: Path) -> None:
    (bundle / "courses.csv").unlink()
    lines = [line.replace("file.orgs,bulk", "file.orgs,absent") for line in read_lines(bundle / "manifest.csv")]
    write_lines(bundle / "manifest.csv", lines)
    report = import_oneroster(bundle)
    assert {str(p) for p in report.problems} == {
        "courses.csv: the manifest says bulk but the file is missing",
        "orgs.csv: present but the manifest says absent: ignored",
    }
    # with no orgs.csv, references to schools cannot be checked and are kept as they are
    assert report.imported["users.csv"] == 78


def test_delta_file_may_refer_to_records_not_in_the_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "delta"
    bundle.mkdir()
    write_lines(bundle / "manifest.csv", ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1",
                                          "file.enrollments,delta"])  # fmt: skip
    write_lines(bundle / "enrollments.csv", [
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate",
        "e-7a-01,tobedeleted,2026-01-20T00:00:00Z,khtn-7a,thcs-demo,hs-7a-01,student,false,,",
    ])  # fmt: skip
    report = import_oneroster(bundle)
    assert report.ok
    assert report.roster.enrollments["e-7a-01"].status == "tobedeleted"
    assert report.modes == {"enrollments.csv": "delta"}


def test_unreadable_bundles_raise(tmp_path: Path, bundle: Path) -> None:
    with pytest.raises(BundleError, match="no such folder or zip file"):
        import_oneroster(tmp_path / "nowhere")
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(BundleError, match="not a folder or a readable zip"):
        import_oneroster(tmp_path / "not.zip")
    manifest = read_lines(bundle / "manifest.csv")
    lines = [line.replace("oneroster.version,1.1", "oneroster.version,1.2") for line in manifest]
    write_lines(bundle / "manifest.csv", lines)
    with pytest.raises(BundleError, match=r"oneroster\.version is '1\.2'"):
        import_oneroster(bundle)


def test_export_to_an_unwritable_place_raises(sample_dir: Path, tmp_path: Path) -> None:
    roster = import_oneroster(sample_dir).roster
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(BundleError, match="cannot write the bundle"):
        export_oneroster(roster, blocker / "out")


def test_export_quotes_formula_cells_and_the_import_takes_the_quote_off(bundle: Path, tmp_path: Path) -> None:
    users = read_lines(bundle / "users.csv")
    users.append(
        'hs-f,,,true,thcs-demo,student,,,"=HYPERLINK(""http://evil.example"",""Xem điểm"")",'
        "@SUM(1+9),-Lan,036313900077,x@thcs-demo.example,,+84 912 345 678,,07,"
    )
    write_lines(bundle / "users.csv", users)
    first = import_oneroster(bundle)
    assert first.ok, [str(p) for p in first.problems]
    export_oneroster(first.roster, tmp_path / "out")
    exported = (tmp_path / "out" / "users.csv").read_text(encoding="utf-8")
    line = next(line for line in exported.splitlines() if line.startswith("hs-f,"))
    assert '"\'=HYPERLINK(""http://evil.example"",""Xem điểm"")"' in line
    assert ",'@SUM(1+9),'-Lan," in line and ",'+84 912 345 678," in line
    second = import_oneroster(tmp_path / "out")
    assert second.ok and second.roster == first.roster
    person = second.roster.people["hs-f"]
    assert (person.given_name, person.family_name, person.phone) == (
        '=HYPERLINK("http://evil.example","Xem điểm")', "@SUM(1+9)", "+84 912 345 678",
    )  # fmt: skip

-- The province's roster: schools (OneRoster orgs), rooms with a hub, school years and terms,
-- courses, classes, people (unique citizen ID) and enrollments.
-- Keys are the OneRoster sourcedIds issued by the province's student information system.
-- Foreign keys are deferred to commit, so a roster can be written in any order in one transaction.

CREATE TABLE schools (
    sourced_id          text PRIMARY KEY,
    code                text UNIQUE,                  -- school code (OneRoster org identifier); hubs pull by it
    name                text NOT NULL,
    org_type            text NOT NULL DEFAULT 'school'
                        CHECK (org_type IN ('department', 'school', 'district', 'local', 'state', 'national')),
    parent_sourced_id   text REFERENCES schools (sourced_id) DEFERRABLE INITIALLY DEFERRED,
    status              text CHECK (status IN ('active', 'tobedeleted')),
    date_last_modified  timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rooms (
    school_sourced_id   text NOT NULL REFERENCES schools (sourced_id) DEFERRABLE INITIALLY DEFERRED,
    room_id             text NOT NULL,                -- the hub's [room] id, e.g. lop-7a
    name                text NOT NULL,
    kind                text NOT NULL DEFAULT 'classroom' CHECK (kind IN ('classroom', 'stem_lab', 'studio')),
    hub_id              text UNIQUE,                  -- the hub serving this room, if any
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_sourced_id, room_id)
);

CREATE TABLE academic_sessions (
    sourced_id          text PRIMARY KEY,
    title               text NOT NULL,
    session_type        text NOT NULL
                        CHECK (session_type IN ('calendarYear', 'gradingPeriod', 'schoolYear', 'semester', 'term')),
    start_date          date NOT NULL,
    end_date            date NOT NULL CHECK (end_date >= start_date),
    parent_sourced_id   text REFERENCES academic_sessions (sourced_id) DEFERRABLE INITIALLY DEFERRED,
    school_year         integer NOT NULL,             -- the year the school year ends: 2026 for 2025-2026
    status              text CHECK (status IN ('active', 'tobedeleted')),
    date_last_modified  timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE courses (
    sourced_id              text PRIMARY KEY,
    title                   text NOT NULL,
    school_sourced_id       text NOT NULL REFERENCES schools (sourced_id) DEFERRABLE INITIALLY DEFERRED,
    course_code             text,
    grade                   text,
    subjects                text[] NOT NULL DEFAULT '{}',
    school_year_sourced_id  text REFERENCES academic_sessions (sourced_id) DEFERRABLE INITIALLY DEFERRED,
    status                  text CHECK (status IN ('active', 'tobedeleted')),
    date_last_modified      timestamptz,
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX courses_by_school ON courses (school_sourced_id);

CREATE TABLE classes (
    sourced_id          text PRIMARY KEY,
    title               text NOT NULL,
    school_sourced_id   text NOT NULL REFERENCES schools (sourced_id) DEFERRABLE INITIALLY DEFERRED,
    grade               text,                         -- CEDS code: '07' for lớp 7
    subjects            text[] NOT NULL DEFAULT '{}',
    class_type          text NOT NULL DEFAULT 'scheduled' CHECK (class_type IN ('homeroom', 'scheduled')),
    class_code          text,
    location            text,
    course_sourced_id   text REFERENCES courses (sourced_id) DEFERRABLE INITIALLY DEFERRED,
    term_sourced_ids    text[] NOT NULL DEFAULT '{}',
    status              text CHECK (status IN ('active', 'tobedeleted')),
    date_last_modified  timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX classes_by_school ON classes (school_sourced_id);

CREATE TABLE people (
    sourced_id          text PRIMARY KEY,             -- short id used by hubs; never the citizen ID
    citizen_id          text NOT NULL UNIQUE CHECK (citizen_id ~ '^[0-9]{12}$'),  -- số định danh cá nhân (CCCD)
    role                text NOT NULL CHECK (role IN ('administrator', 'student', 'teacher')),
    family_name         text NOT NULL,                -- họ
    middle_name         text NOT NULL DEFAULT '',     -- tên đệm
    given_name          text NOT NULL,                -- tên
    school_sourced_ids  text[] NOT NULL,              -- OneRoster orgSourcedIds
    enabled             boolean NOT NULL DEFAULT true,
    username            text,
    email               text,
    phone               text,
    grade               text,
    status              text CHECK (status IN ('active', 'tobedeleted')),
    date_last_modified  timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (sourced_id !~ '^[0-9]{12}$')
);
CREATE INDEX people_by_school ON people USING gin (school_sourced_ids);

CREATE TABLE enrollments (
    sourced_id          text PRIMARY KEY,
    class_sourced_id    text NOT NULL REFERENCES classes (sourced_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    school_sourced_id   text NOT NULL REFERENCES schools (sourced_id) DEFERRABLE INITIALLY DEFERRED,
    person_sourced_id   text NOT NULL REFERENCES people (sourced_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    role                text NOT NULL CHECK (role IN ('administrator', 'student', 'teacher')),
    is_primary          boolean NOT NULL DEFAULT false,   -- OneRoster "primary" (a reserved word here)
    begin_date          date,
    end_date            date,
    status              text CHECK (status IN ('active', 'tobedeleted')),
    date_last_modified  timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrollments_by_class ON enrollments (class_sourced_id);
CREATE INDEX enrollments_by_person ON enrollments (person_sourced_id);
CREATE INDEX enrollments_by_school ON enrollments (school_sourced_id);

-- The materials bank: lesson packages addressed by the SHA-256 of their bytes, so a hub can
-- fetch, resume and verify them, and the same package published twice is stored once.

CREATE TABLE materials (
    content_hash       text PRIMARY KEY CHECK (content_hash ~ '^[0-9a-f]{64}$'),  -- SHA-256, lower-case hex
    title              text NOT NULL,
    kind               text NOT NULL DEFAULT 'lesson_package',
    media_type         text NOT NULL DEFAULT 'application/zip',
    size_bytes         bigint NOT NULL CHECK (size_bytes >= 0),
    location           text,                          -- where the bytes are: URL or object-store key
    language           text NOT NULL DEFAULT 'vi',
    grades             text[] NOT NULL DEFAULT '{}',
    subjects           text[] NOT NULL DEFAULT '{}',
    school_sourced_id  text REFERENCES schools (sourced_id) ON DELETE SET NULL,  -- NULL: whole province
    status             text NOT NULL DEFAULT 'published'
                       CHECK (status IN ('submitted', 'published', 'rejected', 'withdrawn')),
    submitted_by       text REFERENCES people (sourced_id) ON DELETE SET NULL,   -- a teacher's own lesson
    metadata           jsonb NOT NULL DEFAULT '{}',   -- anything else: author, licence, curriculum codes
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX materials_listing ON materials (status, updated_at);
CREATE INDEX materials_subjects ON materials USING gin (subjects);
CREATE INDEX materials_metadata ON materials USING gin (metadata jsonb_path_ops);

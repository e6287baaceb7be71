-- Sensor readings as a time series partitioned by month, devices and their state history.
-- Every key includes what the hub sends with each record, so a re-delivered batch is
-- absorbed by INSERT ... ON CONFLICT DO NOTHING.

CREATE TABLE sensor_readings (
    hub_id       text NOT NULL,
    device_id    text NOT NULL,
    sensor_key   text NOT NULL,                       -- e.g. 'ph', 'water_temp_c'
    measured_at  timestamptz NOT NULL,
    value        double precision NOT NULL,
    unit         text,
    samples      integer NOT NULL DEFAULT 1 CHECK (samples >= 1),  -- > 1: a mean of that many readings (downsampled)
    school_code  text,
    room_id      text,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hub_id, device_id, sensor_key, measured_at)
) PARTITION BY RANGE (measured_at);

-- Catches readings outside every monthly partition (a hub with a wrong clock, a month not
-- yet created); ensure_sensor_partitions() moves them out when their month is created.
CREATE TABLE sensor_readings_default PARTITION OF sensor_readings DEFAULT;

CREATE INDEX sensor_readings_room ON sensor_readings (school_code, room_id, measured_at);

-- Creates the partition of the month of from_time and of the months_ahead months after it
-- (sensor_readings_y2025m09, ...), bounds at UTC month starts. Idempotent; safe to call
-- from several hubs at once. Returns how many partitions it created.
CREATE FUNCTION ensure_sensor_partitions(from_time timestamptz, months_ahead integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    first_month timestamp := date_trunc('month', from_time AT TIME ZONE 'UTC');
    lower_bound timestamptz;
    upper_bound timestamptz;
    part        text;
    created     integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('classroom_hub.sensor_partitions'));
    FOR i IN 0 .. months_ahead LOOP
        lower_bound := (first_month + make_interval(months => i)) AT TIME ZONE 'UTC';
        upper_bound := (first_month + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
        part := 'sensor_readings_' || to_char(first_month + make_interval(months => i), '"y"YYYY"m"MM');
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE sensor_readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        -- Rows that waited in the default partition move to their month before it is attached.
        EXECUTE format(
            'WITH moved AS (DELETE FROM sensor_readings_default WHERE measured_at >= %L AND measured_at < %L'
            ' RETURNING *) INSERT INTO %I SELECT * FROM moved', lower_bound, upper_bound, part);
        EXECUTE format('ALTER TABLE sensor_readings ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       part, lower_bound, upper_bound);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;

CREATE TABLE devices (
    hub_id            text NOT NULL,
    device_id         text NOT NULL,                  -- the hub's device id (MQTT classroom/{room}/devices/{id})
    kind              text NOT NULL,                  -- display, tablet, sensor_node, ...
    name              text,
    school_code       text,
    room_id           text,
    vendor            text,
    model             text,
    firmware          text,
    metadata          jsonb NOT NULL DEFAULT '{}',
    state             text,                           -- latest state: online, offline, fault, ...
    state_changed_at  timestamptz,
    first_seen        timestamptz NOT NULL DEFAULT now(),
    last_seen         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hub_id, device_id)
);
CREATE INDEX devices_room ON devices (school_code, room_id);

CREATE TABLE device_state_history (
    hub_id      text NOT NULL,
    device_id   text NOT NULL,
    changed_at  timestamptz NOT NULL,
    state       text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hub_id, device_id, changed_at)
);
CREATE INDEX device_state_history_changed ON device_state_history USING brin (changed_at);

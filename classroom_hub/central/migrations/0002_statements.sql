-- Learning events as xAPI 1.0.3 statements, keyed by the statement id the hub gave them,
-- so a statement delivered twice is stored once (INSERT ... ON CONFLICT (id) DO NOTHING).
-- The query columns are filled from the statement by a trigger when the writer leaves them NULL.

-- One text key per xAPI agent, from its inverse functional identifier (xAPI 1.0.3, 2.4.2.3):
-- 'mailto:...' | 'sha1:<mbox_sha1sum>' | '<openid>' | 'account:<homePage>|<name>'.
CREATE FUNCTION xapi_agent_key(agent jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(
        agent ->> 'mbox',
        'sha1:' || (agent ->> 'mbox_sha1sum'),
        agent ->> 'openid',
        'account:' || (agent #>> '{account,homePage}') || '|' || (agent #>> '{account,name}')
    )
$$;

CREATE TABLE xapi_statements (
    id           uuid PRIMARY KEY,                    -- statement.id
    statement    jsonb NOT NULL,                      -- the statement as sent
    actor        text,                                -- xapi_agent_key(statement.actor)
    verb         text,                                -- statement.verb.id
    object_id    text,                                -- statement.object.id (or agent key)
    occurred_at  timestamptz,                         -- statement.timestamp
    stored_at    timestamptz NOT NULL DEFAULT now(),  -- when the central side got it (xAPI "stored")
    school_code  text,                                -- where it happened: schools.code
    room_id      text,                                -- and the hub's room id
    hub_id       text                                 -- the hub that delivered it
);
CREATE INDEX xapi_statements_actor ON xapi_statements (actor);
CREATE INDEX xapi_statements_verb ON xapi_statements (verb);
CREATE INDEX xapi_statements_object ON xapi_statements (object_id);
CREATE INDEX xapi_statements_occurred ON xapi_statements (occurred_at);
CREATE INDEX xapi_statements_room ON xapi_statements (school_code, room_id, occurred_at);

CREATE FUNCTION xapi_statements_fill() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.actor IS NULL THEN
        NEW.actor := xapi_agent_key(NEW.statement -> 'actor');
    END IF;
    IF NEW.verb IS NULL THEN
        NEW.verb := NEW.statement #>> '{verb,id}';
    END IF;
    IF NEW.object_id IS NULL THEN
        NEW.object_id := COALESCE(NEW.statement #>> '{object,id}', xapi_agent_key(NEW.statement -> 'object'));
    END IF;
    IF NEW.occurred_at IS NULL AND (NEW.statement ->> 'timestamp') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' THEN
        NEW.occurred_at := (NEW.statement ->> 'timestamp')::timestamptz;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER xapi_statements_fill BEFORE INSERT ON xapi_statements
    FOR EACH ROW EXECUTE FUNCTION xapi_statements_fill();

-- Peer support groups (issue 14). Same conventions as before: BLOB columns named after content
-- are sealed; every foreign-key child column has an index, so erasing a person never scans a
-- table. A person's every row here goes with them (ON DELETE CASCADE from people).

-- A group of a programme. What it is (name, language, online or a venue, the link, the
-- schedule, the first meeting) is sealed under the service secret: a group's name or place can
-- say what it is for. capacity and status are plain, so places and the ranking are counted
-- without opening anything. config_tag: a keyed tag of the id of a group the config defines
-- (NULL for one a coordinator made in the bot).
CREATE TABLE groups (
    id            TEXT PRIMARY KEY,                    -- short random code (callback data)
    programme_tag BLOB NOT NULL,                       -- HMAC of the programme id
    config_tag    BLOB UNIQUE,
    details       BLOB NOT NULL,                       -- sealed (service secret)
    capacity      INTEGER NOT NULL CHECK (capacity BETWEEN 2 AND 50),
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paused', 'closed')),
    created_by    TEXT REFERENCES people(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX groups_programme ON groups(programme_tag, status);
CREATE INDEX groups_created_by ON groups(created_by) WHERE created_by IS NOT NULL;

-- The supporters who run a group.
CREATE TABLE group_facilitators (
    group_id  TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, person_id)
);
CREATE INDEX group_facilitators_person ON group_facilitators(person_id);

-- A person's place in a group: invited (the invitation is out and holds a place), asked (the
-- group was full: asked whether to join the waiting list), member, waiting (the waiting list,
-- in queued_at order), declined, left. How facilitators see them (their preferred name
-- or its initials, as they chose) is sealed under the person's own key. referral_id: the
-- referral the place was offered on (its holder hears a facilitator's concern).
CREATE TABLE group_places (
    group_id    TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    person_id   TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    referral_id TEXT REFERENCES referrals(id) ON DELETE SET NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('invited', 'asked', 'member', 'waiting', 'declined', 'left')),
    shown_as    BLOB,                                  -- sealed (the person's key)
    reminders   INTEGER NOT NULL DEFAULT 0 CHECK (reminders IN (0, 1)),
    queued_at   TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    PRIMARY KEY (group_id, person_id)
);
CREATE INDEX group_places_person ON group_places(person_id);
CREATE INDEX group_places_referral ON group_places(referral_id) WHERE referral_id IS NOT NULL;
CREATE INDEX group_places_queue ON group_places(group_id, status, queued_at);

-- One meeting of a group's schedule. slot: the schedule's instant (UTC) it stands for, which
-- never changes (so making the same meeting twice makes it once); starts_at: when it is now
-- (moved: a new time).
CREATE TABLE group_meetings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id   TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    slot       TEXT NOT NULL,
    starts_at  TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'planned'
               CHECK (state IN ('planned', 'moved', 'cancelled', 'held')),
    changed_at TEXT NOT NULL,
    UNIQUE (group_id, slot)
);
CREATE INDEX group_meetings_starts ON group_meetings(starts_at);

-- A member's answer for a meeting (Coming / Can't come) and whether they came (marked by a
-- facilitator after it).
CREATE TABLE group_attendance (
    meeting_id INTEGER NOT NULL REFERENCES group_meetings(id) ON DELETE CASCADE,
    person_id  TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    answer     TEXT CHECK (answer IN ('coming', 'not_coming')),
    came       INTEGER CHECK (came IN (0, 1)),
    PRIMARY KEY (meeting_id, person_id)
);
CREATE INDEX group_attendance_person ON group_attendance(person_id);

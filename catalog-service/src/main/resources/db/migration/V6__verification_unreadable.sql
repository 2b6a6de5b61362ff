-- A verification that could not read the object store (BackupVerified outcome UNREADABLE) is no verdict on the
-- backup: it is shown apart, with its time and what could not be read, and leaves verification as it was.
alter table backup
    add column unreadable_at       timestamptz,
    add column unreadable_problems text;

-- WAL archiving of a physical source has exactly one owner at a time: the worker holding its lease. A lease is taken
-- when it is free or has expired (the database's clock decides, so workers' clocks do not matter), renewed well
-- before it expires, and carries a fencing token that grows with every change of owner: a report or write under a
-- lower token is from an owner that lost the source.
create sequence archiver_lease_token;

create table archiver_lease (
    source_id   text primary key,
    owner       text        not null,
    token       bigint      not null,
    acquired_at timestamptz not null,
    expires_at  timestamptz not null,
    -- the first WAL segment archived for the source (its timeline's name): where the continuity check starts
    archive_from text
);

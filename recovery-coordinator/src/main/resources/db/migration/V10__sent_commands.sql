-- Every command the coordinator sent, as last sent (a resumed run re-sends its pending command with a later deadline),
-- its payload kept as the exact text sent: what a participant reads a command it received back from before acting on
-- it (GET /api/v1/runs/{id}/commands). Written in the transaction that decides the send; kept as long as its run.
create table sent_commands (
    command_id text primary key,
    run_id     text        not null references runs (id) on delete cascade,
    step       int         not null,
    action     text        not null,
    type       text        not null,
    payload    text        not null,
    sent_at    timestamptz not null default now()
);
create index sent_commands_run on sent_commands (run_id);

-- the commands runs and late drops wait for at the upgrade
insert into sent_commands (command_id, run_id, step, action, type, payload)
select pending->>'commandId', id, (pending->>'step')::int, pending->>'action', pending->>'type', pending->>'payload'
from runs where pending is not null and pending->>'payload' is not null
on conflict (command_id) do nothing;
insert into sent_commands (command_id, run_id, step, action, type, payload)
select d.command_id, d.run_id, d.step, d.pending->>'action', d.pending->>'type', d.pending->>'payload'
from late_drops d join runs r on r.id = d.run_id where d.pending->>'payload' is not null
on conflict (command_id) do nothing;

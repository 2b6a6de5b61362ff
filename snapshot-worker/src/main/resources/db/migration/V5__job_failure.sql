-- A backup's failure is recorded here before BackupFailed is sent: a delivery of that backup that comes again (the
-- send failed, or its offset was never committed) announces the recorded failure instead of redoing the backup,
-- which could end it a second time, differently.
alter table job add column failure_stage text;
alter table job add column failure_reason text;

-- When a finished backup was last announced again (SnapshotService.announceAgain): at most once per
-- lifeboat.snapshot.reannounce-interval, whoever asks and however often.
alter table job add column announced_again_at timestamptz;

-- Every transaction the source acknowledged before this time is in the archive, as the owner last measured it (its
-- reported lag counts back from its report). An owner that takes the source over counts its lag from here until it
-- has archived positions of its own, so a takeover does not make the lag look smaller than what is missing.
alter table archiver_lease add column archived_through timestamptz;

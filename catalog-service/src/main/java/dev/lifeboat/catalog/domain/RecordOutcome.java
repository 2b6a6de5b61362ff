package dev.lifeboat.catalog.domain;

/** What recording one event did. */
public enum RecordOutcome {
    /** First time this event id was seen: it is in the history and folded into its backup. */
    RECORDED,
    /** The event id was recorded before (redelivery or re-publication): nothing changed. */
    DUPLICATE
}

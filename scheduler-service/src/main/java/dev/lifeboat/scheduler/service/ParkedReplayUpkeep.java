package dev.lifeboat.scheduler.service;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.List;

/**
 * Keeps the replays of held records up on a timer ({@code lifeboat.replay.upkeep-interval}): deletes the rows about
 * records the holding topics no longer have, and settles the claims whose copies were never recorded, so that neither
 * waits for someone to list or replay those records.
 */
@ApplicationScoped
public class ParkedReplayUpkeep {
    private static final Logger LOG = Logger.getLogger(ParkedReplayUpkeep.class);

    @Inject
    ParkedRecordService parked;

    @Scheduled(every = "${lifeboat.replay.upkeep-interval}", delayed = "1m",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void keepUp() {
        for (String from : List.of("parked", "dead-letter")) {
            try {
                parked.upkeep(from);
            } catch (RuntimeException e) {
                LOG.warnf("replays of the %s records not kept up this round, the next round tries again: %s", from,
                        e.getMessage());
            }
        }
    }
}

package dev.lifeboat.scheduler;

import java.util.HashMap;
import java.util.Map;

/**
 * {@link RealServers} with a bulk replay that keeps at most 16 KiB of held records in memory, a look for stale claims'
 * copies that reads at most {@value #CLAIM_CHECK_MAX_RECORDS} records, and no upkeep timer: the tests settle claims and
 * delete rows through the list, the replays, or one upkeep round they start themselves.
 */
public class ReplayTestServers extends RealServers {
    static final long MAX_HELD_BYTES = 16 * 1024;
    static final int CLAIM_CHECK_MAX_RECORDS = 500;

    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        config.put("lifeboat.replay.max-held-bytes", Long.toString(MAX_HELD_BYTES));
        config.put("lifeboat.replay.upkeep-interval", "off");
        config.put("lifeboat.replay.claim-check-max-records", Integer.toString(CLAIM_CHECK_MAX_RECORDS));
        return config;
    }
}

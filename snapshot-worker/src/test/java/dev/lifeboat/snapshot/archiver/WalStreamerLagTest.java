package dev.lifeboat.snapshot.archiver;

import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.snapshot.service.SourceConnection;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The lag a streamer reports before it has archived a position of its own (it cannot reach the source, or it is
 * catching up after taking the source over): counted from the previous owner's horizon, not from its own start, so
 * a change of owner does not make what may be missing look smaller. The lag under streaming is measured against real
 * servers in WalArchiverTest and PointInTimeRecoveryIT.
 */
class WalStreamerLagTest {

    @Test
    void aNewOwnerCountsItsLagFromThePreviousOwnersHorizon() {
        long horizon = System.currentTimeMillis() - 60_000;
        WalStreamer streamer = new WalStreamer(context(Optional.of(Instant.ofEpochMilli(horizon))), "src", () -> null,
                status -> { });
        streamer.inheritHorizon();
        long now = System.currentTimeMillis();
        assertThat(streamer.lagSeconds(now)).isCloseTo((now - horizon) / 1000.0, within(0.001));
    }

    @Test
    void withoutAHorizonOnRecordTheLagCountsFromTheStreamersStart() {
        long before = System.currentTimeMillis();
        WalStreamer streamer = new WalStreamer(context(Optional.empty()), "src", () -> null, status -> { });
        streamer.inheritHorizon();
        long now = before + 5_000;
        assertThat(streamer.lagSeconds(now)).isBetween(0.0, 5.0);
    }

    private static WalStreamer.Context context(Optional<Instant> archivedThrough) {
        ArchiverConfig config = (ArchiverConfig) Proxy.newProxyInstance(ArchiverConfig.class.getClassLoader(),
                new Class<?>[] {ArchiverConfig.class}, (proxy, method, args) -> {
                    if (method.getName().equals("slotPrefix")) {
                        return "lifeboat_wal_";
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        LeaseStore leases = new LeaseStore((javax.sql.DataSource) null) {
            @Override
            public Optional<Instant> archivedThrough(String sourceId) {
                return archivedThrough;
            }
        };
        return new WalStreamer.Context() {
            @Override
            public ArchiverConfig config() {
                return config;
            }

            @Override
            public SourceConnection connect(String sourceId) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Repository repository(String sourceId) {
                throw new UnsupportedOperationException();
            }

            @Override
            public LeaseStore leases() {
                return leases;
            }

            @Override
            public int connectTimeoutSeconds() {
                return 1;
            }

            @Override
            public String workerId() {
                return "worker-test";
            }
        };
    }
}

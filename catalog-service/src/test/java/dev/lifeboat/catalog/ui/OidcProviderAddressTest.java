package dev.lifeboat.catalog.ui;

import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.assertj.core.api.Assertions.assertThat;

/** Where the dashboard's sign-in may send its code and client secret: https, or plain http on the loopback only. */
class OidcProviderAddressTest {

    @Test
    void httpsAnywhereAndPlainHttpOnlyOnTheLoopback() {
        assertThat(OidcProvider.secureOrLoopback(URI.create("https://login.example.com/realms/lifeboat"))).isTrue();
        assertThat(OidcProvider.secureOrLoopback(URI.create("http://127.0.0.1:8180/realms/lifeboat"))).isTrue();
        assertThat(OidcProvider.secureOrLoopback(URI.create("http://localhost:8180/default"))).isTrue();
        assertThat(OidcProvider.secureOrLoopback(URI.create("http://[::1]:8180/default"))).isTrue();

        assertThat(OidcProvider.secureOrLoopback(URI.create("http://login.example.com/realms/lifeboat"))).isFalse();
        assertThat(OidcProvider.secureOrLoopback(URI.create("http://10.0.0.5/realms/lifeboat"))).isFalse();
        assertThat(OidcProvider.secureOrLoopback(URI.create("http://127.0.0.1.example.com/"))).isFalse();
        // not an address but a name (looked up in DNS, search domains and all)
        assertThat(OidcProvider.secureOrLoopback(URI.create("http://127.0.0.999/"))).isFalse();
        assertThat(OidcProvider.secureOrLoopback(URI.create("http://127.1.2.255:8080/"))).isTrue();
        assertThat(OidcProvider.secureOrLoopback(URI.create("ftp://login.example.com/"))).isFalse();
        assertThat(OidcProvider.secureOrLoopback(URI.create("javascript:alert(1)"))).isFalse();
    }
}

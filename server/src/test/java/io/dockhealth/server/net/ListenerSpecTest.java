package io.dockhealth.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dockhealth.testing.TestCertificates;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which listener speaks TLS, and how each says where it listens. */
class ListenerSpecTest {
  @TempDir static Path dir;
  private static ServerTls tls;

  @BeforeAll
  static void loadTls() throws Exception {
    TestCertificates certs = TestCertificates.create(dir);
    tls = ServerTls.load(new TlsFiles(certs.server().certificate(), certs.server().key(), Optional.of(certs.ca())));
  }

  @Test
  void of_tcpAddress_speaksTls_unixSocket_plaintextWithItsMode() {
    ListenAddress tcp = ListenAddress.parse("127.0.0.1:4245");
    ListenAddress unix = ListenAddress.parse("unix:///run/dockhealth/http.sock");

    ListenerSpec overTcp = ListenerSpec.of(tcp, Optional.of(tls), ListenerSpec.DEFAULT_SOCKET_MODE);
    ListenerSpec overUnix = ListenerSpec.of(unix, Optional.of(tls), PosixFilePermissions.fromString("rw-------"));

    assertThat(overTcp.tls()).contains(tls);
    assertThat(overTcp.socketFile()).isEmpty();
    assertThat(overTcp.describe(tcp)).isEqualTo("127.0.0.1:4245 (TLS, client certificates required)");
    assertThat(overUnix.tls()).isEmpty();
    assertThat(overUnix.socketFile()).isPresent();
    assertThat(overUnix.describe(unix)).isEqualTo("unix:///run/dockhealth/http.sock (mode rw-------)");
    assertThat(ListenerSpec.tcp(new java.net.InetSocketAddress("::1", 0)).describe(ListenAddress.parse("[::1]:4245")))
        .isEqualTo("[::1]:4245 (plaintext)");
  }

  @Test
  void unixSocketWithTls_isRefused() {
    assertThatThrownBy(() -> new ListenerSpec(ListenAddress.parse("unix:///run/g.sock"), Optional.of(tls),
        ListenerSpec.DEFAULT_SOCKET_MODE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("file mode says who may connect");
  }
}

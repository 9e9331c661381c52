package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.server.Sidecar;
import io.dockhealth.server.Main;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.DockerProxy;
import io.dockhealth.testing.HealthClient;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Losing Docker and finding it again: the daemon restarted, or the connection cut while it runs. */
class DockerReconnectIT {
  private static final Duration RECONNECT_DEADLINE = Duration.ofSeconds(30);

  private DockerEngine engine;
  private DockerProxy proxy;
  private Sidecar sidecar;
  private HealthClient client;

  @BeforeEach
  void startEngine() {
    engine = DockerEngine.start("reconnect-it");
  }

  @AfterEach
  void stopAll() throws Exception {
    if (client != null) {
      client.close();
    }
    if (sidecar != null) {
      sidecar.stop();
    }
    if (proxy != null) {
      proxy.close();
    }
    engine.close();
  }

  private void startSidecar(String dockerHost) {
    sidecar = Sidecar.start(Main.parseConfig("--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0", "--docker-host=" + dockerHost,
        "--resync-interval=10m", "--drain-period=0s"));
    client = new HealthClient(sidecar.grpcAddress());
  }

  @Test
  void daemonRestarted_sidecarNotServingWhileDown_thenStatusesRightAfterResync() {
    engine.docker("run", "-d", "--name", "plain", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    engine.docker("run", "-d", "--name", "always", "--restart", "always", "--network", "host",
        DockerEngine.IMAGE, "sleep", "600");
    startSidecar(engine.host());
    HealthClient.Watch sidecarWatch = client.watch("");
    await().atMost(RECONNECT_DEADLINE).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("plain")).isEqualTo("SERVING");
      assertThat(client.check("always")).isEqualTo("SERVING");
    });

    engine.stop();
    await().atMost(RECONNECT_DEADLINE).until(() -> client.check("").equals("NOT_SERVING"));
    assertThat(client.container("plain").getStale()).isTrue();

    engine.restart();
    // The daemon stopped both containers; its restart policy brings back only "always".
    await().atMost(RECONNECT_DEADLINE).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("plain")).isEqualTo("NOT_SERVING");
      assertThat(client.check("always")).isEqualTo("SERVING");
      assertThat(client.container("always").getStale()).isFalse();
    });
    assertThat(sidecarWatch.statuses()).containsExactly("NOT_SERVING", "SERVING", "NOT_SERVING", "SERVING");

    // Events flow again after the reconnect.
    engine.docker("stop", "always");
    await().atMost(Duration.ofSeconds(5)).until(() -> client.check("always").equals("NOT_SERVING"));
  }

  @Test
  void connectionCut_containersChangedMeanwhile_foundOnReconnect() {
    proxy = DockerProxy.start(engine.socketPath());
    engine.docker("run", "-d", "--name", "before", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    startSidecar(proxy.host());
    await().atMost(RECONNECT_DEADLINE).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("before")).isEqualTo("SERVING");
    });

    proxy.cut();
    await().atMost(RECONNECT_DEADLINE).until(() -> client.check("").equals("NOT_SERVING"));
    // Fail static: the last known status stays, marked stale.
    assertThat(client.check("before")).isEqualTo("SERVING");
    assertThat(client.container("before").getStale()).isTrue();

    // While the sidecar cannot see Docker, the daemon itself carries on.
    engine.docker("run", "-d", "--name", "during", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    engine.docker("stop", "before");
    assertThat(client.check("during")).isEqualTo("NOT_FOUND");

    proxy.restore();
    await().atMost(RECONNECT_DEADLINE).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("during")).isEqualTo("SERVING");
      assertThat(client.check("before")).isEqualTo("NOT_SERVING");
      assertThat(client.container("before").getStale()).isFalse();
    });
  }
}

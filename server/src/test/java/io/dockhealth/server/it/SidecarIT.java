package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.HealthStatus;
import io.dockhealth.proto.v1.State;
import io.dockhealth.server.Sidecar;
import io.dockhealth.server.Main;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The sidecar against a real Docker engine, asked over real TCP. */
class SidecarIT {
  // Generous: these assert what is seen, not how fast (bench/ measures that), on a machine that may
  // be busy with other builds. Awaitility returns as soon as the status is there.
  private static final Duration EVENT_DEADLINE = Duration.ofSeconds(10);
  private static final Duration HEALTHCHECK_DEADLINE = Duration.ofSeconds(30);

  private static DockerEngine engine;
  private static Sidecar sidecar;
  private static HealthClient client;

  @BeforeAll
  static void start() {
    engine = DockerEngine.start("sidecar-it");
    // Forgetting removed containers at once lets a removal show as SERVICE_UNKNOWN here;
    // GroupsIT covers the grace a removal gets by default.
    sidecar = Sidecar.start(Main.parseConfig("--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0", "--docker-host=" + engine.host(),
        "--drain-period=0s", "--forget-after=0s"));
    client = new HealthClient(sidecar.grpcAddress());
    await().atMost(Duration.ofSeconds(30)).until(() -> client.check("").equals("SERVING"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (sidecar != null) {
      sidecar.stop();
    }
    if (engine != null) {
      engine.close();
    }
  }

  private static void awaitStatus(Duration within, String name, String expected, HealthClient.Watch watch) {
    await().atMost(within).untilAsserted(() -> {
      assertThat(watch.last()).as("Watch(%s)", name).isEqualTo(expected);
      assertThat(client.check(name)).as("Check(%s)", name).isEqualTo(expected.equals("SERVICE_UNKNOWN") ? "NOT_FOUND" : expected);
    });
  }

  @Test
  void healthcheckedContainer_everyTransition_seenByCheckAndWatch() {
    HealthClient.Watch watch = client.watch("web");
    await().atMost(Duration.ofSeconds(5)).until(() -> "SERVICE_UNKNOWN".equals(watch.last()));

    String id = engine.docker("run", "-d", "--name", "web", "--network", "host",
        "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1",
        DockerEngine.IMAGE, "sleep", "600");
    awaitStatus(EVENT_DEADLINE, "web", "NOT_SERVING", watch);
    assertThat(client.container("web").getHealth()).isEqualTo(HealthStatus.HEALTH_STARTING);
    assertThat(client.check(id)).isEqualTo("NOT_SERVING");

    engine.docker("exec", "web", "touch", "/tmp/ok");
    awaitStatus(HEALTHCHECK_DEADLINE, "web", "SERVING", watch);
    // A health_status event turns the status at once; the probe log comes with the inspect after it.
    await().atMost(EVENT_DEADLINE).untilAsserted(() -> {
      Container healthy = client.container(id.substring(0, 12));
      assertThat(healthy.getHealth()).isEqualTo(HealthStatus.HEALTH_HEALTHY);
      assertThat(healthy.getProbesList()).isNotEmpty();
      assertThat(healthy.getProbes(healthy.getProbesCount() - 1).getExitCode()).isZero();
    });

    engine.docker("exec", "web", "rm", "/tmp/ok");
    awaitStatus(HEALTHCHECK_DEADLINE, "web", "NOT_SERVING", watch);
    await().atMost(EVENT_DEADLINE).untilAsserted(() -> {
      Container unhealthy = client.container("web");
      assertThat(unhealthy.getHealth()).isEqualTo(HealthStatus.HEALTH_UNHEALTHY);
      assertThat(unhealthy.getFailingStreak()).isPositive();
    });

    engine.docker("exec", "web", "touch", "/tmp/ok");
    awaitStatus(HEALTHCHECK_DEADLINE, "web", "SERVING", watch);

    engine.docker("pause", "web");
    awaitStatus(EVENT_DEADLINE, "web", "NOT_SERVING", watch);
    assertThat(client.container("web").getState()).isEqualTo(State.STATE_PAUSED);

    engine.docker("unpause", "web");
    awaitStatus(HEALTHCHECK_DEADLINE, "web", "SERVING", watch);

    engine.docker("stop", "web");
    awaitStatus(EVENT_DEADLINE, "web", "NOT_SERVING", watch);
    assertThat(client.container("web").getState()).isEqualTo(State.STATE_EXITED);

    // /tmp/ok survives in the container's file system: healthy again after the first probe.
    engine.docker("start", "web");
    awaitStatus(HEALTHCHECK_DEADLINE, "web", "SERVING", watch);

    engine.docker("rm", "-f", "web");
    awaitStatus(EVENT_DEADLINE, "web", "SERVICE_UNKNOWN", watch);

    assertThat(watch.statuses()).containsExactly("SERVICE_UNKNOWN",
        "NOT_SERVING", "SERVING", // created (starting), then healthy
        "NOT_SERVING", "SERVING", // unhealthy, healthy
        "NOT_SERVING", "SERVING", // paused, unpaused
        "NOT_SERVING", "SERVING", // stopped, started
        "NOT_SERVING", "SERVICE_UNKNOWN"); // rm -f kills, then removes
    assertThat(watch.end()).isNull();
  }

  @Test
  void containerWithoutHealthcheck_isServingWhileRunning() {
    String id = engine.docker("run", "-d", "--name", "plain", "--network", "host",
        DockerEngine.IMAGE, "sleep", "600");
    HealthClient.Watch watch = client.watch(id.substring(0, 12));
    awaitStatus(EVENT_DEADLINE, "plain", "SERVING", watch);
    assertThat(client.container("plain").getHealth()).isEqualTo(HealthStatus.HEALTH_NONE);

    engine.docker("stop", "plain");
    awaitStatus(EVENT_DEADLINE, "plain", "NOT_SERVING", watch);
    assertThat(watch.last()).isEqualTo("NOT_SERVING");

    engine.docker("start", "plain");
    awaitStatus(EVENT_DEADLINE, "plain", "SERVING", watch);
    engine.docker("rm", "-f", "plain");
  }

  @Test
  void malformedRequest_isInvalidArgument_andTheServerKeepsServing() {
    // A service name that is not UTF-8, and bytes that are not a protobuf message at all.
    for (byte[] request : List.of(new byte[] {0x0a, 0x02, (byte) 0xff, (byte) 0xfe}, new byte[] {(byte) 0xff, 0x01})) {
      Status status = client.raw("grpc.health.v1.Health/Check", request);
      assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription()).contains("malformed grpc.health.v1.Health/Check request");
    }
    assertThat(client.check("")).isEqualTo("SERVING");
  }

  @Test
  void reflection_listsTheHealthAndContainerServices() throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress(sidecar.grpcAddress()).usePlaintext().build();
    try {
      List<String> services = Reflection.services(channel);
      assertThat(services).contains("grpc.health.v1.Health", "dockhealth.v1.ContainerHealth",
          "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection");
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}

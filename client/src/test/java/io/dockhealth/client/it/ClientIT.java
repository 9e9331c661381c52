package io.dockhealth.client.it;

import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.SERVING;
import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.UNKNOWN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.dockhealth.client.ContainerListener;
import io.dockhealth.client.DockhealthClient;
import io.dockhealth.client.HealthListener;
import io.dockhealth.client.HealthUpdate;
import io.dockhealth.client.ReconnectBackoff;
import io.dockhealth.client.Watch;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.MembershipRule;
import io.dockhealth.proto.v1.State;
import io.dockhealth.proto.v1.WatchContainersResponse;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.FakeHealthServer;
import io.dockhealth.testing.SidecarProcess;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The library against the packaged sidecar over real TCP and a real Docker engine. */
class ClientIT {
  /** Quick reconnects, so that a restart is followed within the test's patience. */
  private static final ReconnectBackoff QUICK =
      new ReconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(1), 1.6, 0.2);

  private static DockerEngine engine;
  private static String webId;
  private static SidecarProcess sidecar; // for the tests that do not stop it

  @BeforeAll
  static void start() throws Exception {
    engine = DockerEngine.start("client-it");
    webId = engine.docker("run", "-d", "--name", "web", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    sidecar = SidecarProcess.builder(engine.host()).start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (sidecar != null) {
      sidecar.close();
    }
    if (engine != null) {
      engine.close();
    }
  }

  /** What a watch delivered, in order. */
  private static final class Recorder implements HealthListener {
    final List<HealthUpdate> updates = new CopyOnWriteArrayList<>();
    final List<Status> stops = new CopyOnWriteArrayList<>();

    @Override
    public void onUpdate(HealthUpdate update) {
      updates.add(update);
    }

    @Override
    public void onStopped(Status status) {
      stops.add(status);
    }

    List<ServingStatus> statuses() {
      return updates.stream().map(HealthUpdate::status).toList();
    }

    ServingStatus last() {
      List<ServingStatus> statuses = statuses();
      return statuses.isEmpty() ? null : statuses.get(statuses.size() - 1);
    }
  }

  @Test
  void unaryCalls_answerFromTheRealSidecar() throws Exception {
    try (DockhealthClient client = DockhealthClient.newBuilder(sidecar.grpcAddress()).deadline(Duration.ofSeconds(5)).build()) {
      assertThat(client.awaitReady(Duration.ofSeconds(10))).isTrue();
      await().atMost(Duration.ofSeconds(30)).until(() -> client.check("") == SERVING);

      assertThat(client.check("web")).isEqualTo(SERVING);
      assertThat(client.check(webId)).isEqualTo(SERVING);
      assertThatThrownBy(() -> client.check("nope")).isInstanceOfSatisfying(StatusRuntimeException.class,
          e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
      assertThat(client.list()).containsEntry("", SERVING).containsEntry("web", SERVING)
          .containsEntry(webId.substring(0, 12), SERVING);

      Container web = client.getContainer("web");
      assertThat(web.getId()).isEqualTo(webId);
      assertThat(web.getState()).isEqualTo(State.STATE_RUNNING);
      assertThat(client.listContainers().getContainersList()).extracting(Container::getId).contains(webId);
      assertThat(client.getService("web").getMembersList()).singleElement()
          .satisfies(m -> assertThat(m.getRule()).isEqualTo(MembershipRule.MEMBERSHIP_RULE_CONTAINER_NAME));
      assertThat(client.listServices().getInSync()).isTrue();
    }
  }

  @Test
  void watch_followsTheSidecarThroughARestart() throws Exception {
    SidecarProcess first = SidecarProcess.builder(engine.host()).start();
    int port = first.grpcPort();
    Recorder recorder = new Recorder();
    List<ServingStatus> statuses;
    try (DockhealthClient client = DockhealthClient.newBuilder(first.grpcAddress()).reconnectBackoff(QUICK).build();
        Watch watch = client.watch("web", recorder)) {
      await().atMost(Duration.ofSeconds(30)).until(() -> recorder.last() == SERVING);

      first.stop();
      await().atMost(Duration.ofSeconds(10)).until(() -> recorder.last() == UNKNOWN);
      // Why the stream ended, e.g. CANCELLED (the server reset it on its way down) or UNAVAILABLE.
      assertThat(recorder.updates.get(recorder.updates.size() - 1).error()).isNotEmpty();

      try (SidecarProcess second = SidecarProcess.builder(engine.host()).grpcPort(port).start()) {
        await().atMost(Duration.ofSeconds(30)).until(() -> recorder.last() == SERVING);
        assertThat(client.check("web")).isEqualTo(SERVING);
        statuses = recorder.statuses();
      }
    } finally {
      first.close();
    }
    // A sidecar that has just started may not know "web" yet (SERVICE_UNKNOWN), one that stops
    // first tells its watchers NOT_SERVING; what matters: SERVING, then UNKNOWN while it is gone,
    // then SERVING again from the new one, and never the same status twice in a row.
    assertThat(statuses.indexOf(SERVING)).isLessThan(statuses.indexOf(UNKNOWN));
    assertThat(statuses).endsWith(SERVING);
    for (int i = 1; i < statuses.size(); i++) {
      assertThat(statuses.get(i)).as("only changes: %s", statuses).isNotEqualTo(statuses.get(i - 1));
    }
    assertThat(recorder.stops).isEmpty();
  }

  @Test
  void watch_serverWithoutTheHealthService_stopsAfterOneCall() throws Exception {
    Recorder recorder = new Recorder();
    try (FakeHealthServer bare = FakeHealthServer.onLoopback().withoutHealthService().start();
        DockhealthClient client = DockhealthClient.newBuilder(bare.address()).reconnectBackoff(QUICK).build();
        Watch watch = client.watch("web", recorder)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> !recorder.stops.isEmpty());
      assertThat(recorder.stops).singleElement()
          .satisfies(status -> assertThat(status.getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
      // With 100 ms backoff, a watch that kept trying would call again many times in a second.
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
          .until(() -> bare.unimplementedCalls() == 1);
      assertThat(recorder.updates).isEmpty();
    }
  }

  @Test
  void watchContainers_everythingFirst_thenChanges() throws Exception {
    List<WatchContainersResponse> updates = new CopyOnWriteArrayList<>();
    try (DockhealthClient client = DockhealthClient.newBuilder(sidecar.grpcAddress()).build()) {
      await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> client.check("web") == SERVING);
      try (Watch watch = client.watchContainers(new ContainerListener() {
        @Override
        public void onUpdate(WatchContainersResponse update) {
          updates.add(update);
        }

        @Override
        public void onDisconnected(Status status) {}

        @Override
        public void onStopped(Status status) {}
      })) {
        await().atMost(Duration.ofSeconds(10)).until(() -> !updates.isEmpty());
        assertThat(updates.get(0).getReset()).isTrue();
        assertThat(updates.get(0).getChangedList()).extracting(Container::getId).contains(webId);

        String other = engine.docker("run", "-d", "--name", "other", "--network", "host", DockerEngine.IMAGE,
            "sleep", "600");
        await().atMost(Duration.ofSeconds(10)).until(() -> updates.stream().skip(1)
            .anyMatch(u -> !u.getReset() && u.getChangedList().stream().anyMatch(c -> c.getId().equals(other))));
      } finally {
        engine.docker("rm", "-f", "other");
      }
    }
  }
}

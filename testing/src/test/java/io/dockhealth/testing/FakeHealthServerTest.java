package io.dockhealth.testing;

import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING;
import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.SERVING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.health.v1.HealthListRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fake health server on each of its transports, as a client sees it. */
class FakeHealthServerTest {
  @TempDir Path tmp;

  @Test
  void inProcess_checkListAndWatch() throws Exception {
    try (FakeHealthServer server = FakeHealthServer.inProcess().start()) {
      answersAsSet(server);
    }
  }

  @Test
  void onLoopback_checkListAndWatch() throws Exception {
    try (FakeHealthServer server = FakeHealthServer.onLoopback().start()) {
      assertThat(server.address()).isEqualTo("127.0.0.1:" + server.port());
      answersAsSet(server);
    }
  }

  @Test
  void onUnixSocket_checkListAndWatch() throws Exception {
    Path socket = tmp.resolve("health.sock");
    try (FakeHealthServer server = FakeHealthServer.onUnixSocket(socket).start()) {
      assertThat(server.address()).isEqualTo("unix://" + socket);
      answersAsSet(server);
    }
  }

  /** Check, List and a Watch that follows set(), and the headers of every call. */
  private static void answersAsSet(FakeHealthServer server) throws Exception {
    server.set("web", SERVING);
    try (HealthClient client = new HealthClient(server.channel())) {
      assertThat(client.check("web")).isEqualTo("SERVING");
      assertThatThrownBy(() -> HealthGrpc.newBlockingStub(client.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(HealthCheckRequest.newBuilder().setService("nope").build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(e.getStatus().getDescription()).isEqualTo("unknown service \"nope\"");
          });
      assertThat(HealthGrpc.newBlockingStub(client.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
          .list(HealthListRequest.getDefaultInstance()).getStatusesMap()).containsOnlyKeys("web");

      HealthClient.Watch web = client.watch("web");
      HealthClient.Watch later = client.watch("later");
      await().atMost(Duration.ofSeconds(10)).until(() -> server.watches().size() == 2);
      server.set("web", NOT_SERVING);
      server.set("later", SERVING);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(web.statuses()).containsExactly("SERVING", "NOT_SERVING");
        assertThat(later.statuses()).containsExactly("SERVICE_UNKNOWN", "SERVING");
      });
      assertThat(server.headers()).hasSize(5);

      server.reset();
      assertThat(server.headers()).isEmpty();
      assertThat(client.check("web")).isEqualTo("NOT_FOUND");
    }
  }

  @Test
  void manualWatches_sendOnlyWhatTheTestSends_andHangIsNeverAnswered() throws Exception {
    try (FakeHealthServer server = FakeHealthServer.inProcess().manualWatches().start();
        HealthClient client = new HealthClient(server.channel())) {
      server.set("web", SERVING);
      HealthClient.Watch web = client.watch("web");
      server.set("web", NOT_SERVING);
      assertThat(web.statuses()).isEmpty();

      server.lastWatch().onNext(FakeHealthServer.response(SERVING));
      server.lastWatch().onError(Status.UNAVAILABLE.asRuntimeException());
      assertThat(web.statuses()).containsExactly("SERVING");
      assertThat(web.end().getCode()).isEqualTo(Status.Code.UNAVAILABLE);

      assertThatThrownBy(() -> HealthGrpc.newBlockingStub(client.channel()).withDeadlineAfter(50, TimeUnit.MILLISECONDS)
          .check(HealthCheckRequest.newBuilder().setService(FakeHealthServer.HANG).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    }
  }

  @Test
  void withoutHealthService_everyCallIsUnimplemented_andCounted() throws Exception {
    try (FakeHealthServer server = FakeHealthServer.onLoopback().withoutHealthService().start();
        HealthClient client = new HealthClient(server.channel())) {
      assertThatThrownBy(() -> HealthGrpc.newBlockingStub(client.channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
            assertThat(e.getStatus().getDescription()).isEqualTo("Method not found: grpc.health.v1.Health/Check");
          });
      assertThat(server.unimplementedCalls()).isEqualTo(1);
      assertThat(server.headers()).isEmpty();
    }
  }

  @Test
  void inProcess_hasNoAddress() throws Exception {
    try (FakeHealthServer server = FakeHealthServer.inProcess().start()) {
      assertThatThrownBy(server::address).isInstanceOf(IllegalStateException.class).hasMessageContaining("channel()");
    }
  }
}

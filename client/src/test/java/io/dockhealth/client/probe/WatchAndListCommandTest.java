package io.dockhealth.client.probe;

import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING;
import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.SERVING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.client.HealthUpdate;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.testing.FakeHealthServer;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** watch and list against a health server on a real loopback port (the sidecar: see ProbeIT). */
class WatchAndListCommandTest {
  private FakeHealthServer server;

  @BeforeEach
  void start() throws Exception {
    server = FakeHealthServer.onLoopback().start();
    server.set("", SERVING);
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  @Test
  void watch_printsEachChangeWithATimestamp_untilCount() {
    server.set("web", NOT_SERVING);
    CompletableFuture<ProbeRun> run = CompletableFuture.supplyAsync(
        () -> ProbeRun.of("watch", "-addr=" + server.address(), "-service=web", "-count=3"));
    // The first line is the status the server sends at once; then each set() is a change.
    await().atMost(Duration.ofSeconds(10)).until(() -> !server.headers().isEmpty());
    server.set("web", NOT_SERVING); // no change: not printed
    server.set("web", SERVING);
    server.set("web", NOT_SERVING);

    ProbeRun done = run.join();
    assertThat(done.exitCode()).isZero();
    assertThat(done.outLines()).hasSize(3).satisfiesExactly(
        line -> assertThat(line).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z web NOT_SERVING"),
        line -> assertThat(line).endsWith(" web SERVING"),
        line -> assertThat(line).endsWith(" web NOT_SERVING"));
  }

  @Test
  void watch_unknownName_printsServiceUnknown_json() {
    ProbeRun run = ProbeRun.of("watch", "-addr=" + server.address(), "-service=later", "-count=1", "-o=json");
    assertThat(run.exitCode()).isZero();
    assertThat(run.outLines()).singleElement().asString()
        .matches("\\{\"time\":\"[0-9T:.-]+Z\",\"service\":\"later\",\"status\":\"SERVICE_UNKNOWN\"\\}");
  }

  @Test
  void watch_serverWithoutHealthService_exits3() throws Exception {
    try (FakeHealthServer bare = FakeHealthServer.onLoopback().withoutHealthService().start()) {
      ProbeRun run = ProbeRun.of("watch", "-addr=" + bare.address());
      assertThat(run.exitCode()).isEqualTo(ExitCode.RPC_FAILURE);
      assertThat(run.errLines()).containsExactly("error: this server does not implement the grpc health protocol"
          + " (grpc.health.v1.Health): Method not found: grpc.health.v1.Health/Watch");
    }
  }

  @Test
  void watch_badFlags_exit1() {
    assertThat(ProbeRun.of("watch").errLines()).containsExactly("error: -addr not specified");
    ProbeRun negative = ProbeRun.of("watch", "-addr=x:1", "-count=-1");
    assertThat(negative.exitCode()).isEqualTo(ExitCode.INVALID_ARGUMENTS);
    assertThat(negative.errLines()).containsExactly("error: -count must not be negative (specified: -1)");
    assertThat(ProbeRun.of("watch", "-addr=x:1", "-o=yaml").errLines()).first().asString()
        .startsWith("invalid value \"yaml\" for flag -o: ");
  }

  @Test
  void watchLine_formats() {
    HealthUpdate lost = new HealthUpdate("", ServingStatus.UNKNOWN, Instant.parse("2026-05-04T10:15:02Z"),
        "UNAVAILABLE: io exception");
    assertThat(WatchCommand.text(lost)).isEqualTo("2026-05-04T10:15:02.000Z \"\" UNKNOWN (UNAVAILABLE: io exception)");
    assertThat(WatchCommand.json(lost)).isEqualTo(
        "{\"time\":\"2026-05-04T10:15:02.000Z\",\"service\":\"\",\"status\":\"UNKNOWN\",\"error\":\"UNAVAILABLE: io exception\"}");
  }

  @Test
  void list_serverWithHealthOnly_fallsBackToHealthList() {
    server.set("web", SERVING);
    server.set("db", NOT_SERVING);
    ProbeRun run = ProbeRun.of("list", "-addr=" + server.address());
    assertThat(run.exitCode()).isZero();
    assertThat(run.outLines()).containsExactly(
        "NAME  STATUS",
        "\"\"    SERVING",
        "db    NOT_SERVING",
        "web   SERVING");

    ProbeRun json = ProbeRun.of("list", "-addr=" + server.address(), "-o", "JSON");
    assertThat(json.exitCode()).isZero();
    assertThat(json.out()).contains("\"statuses\"", "\"db\"", "\"NOT_SERVING\"");
  }

  @Test
  void list_serverWithoutAnyHealthService_exits3() throws Exception {
    try (FakeHealthServer bare = FakeHealthServer.onLoopback().withoutHealthService().start()) {
      ProbeRun run = ProbeRun.of("list", "-addr=" + bare.address());
      assertThat(run.exitCode()).isEqualTo(ExitCode.RPC_FAILURE);
      assertThat(run.errLines()).singleElement().asString()
          .startsWith("error: this server does not implement the grpc health protocol (grpc.health.v1.Health)");
    }
  }
}

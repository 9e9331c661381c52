package io.dockhealth.client;

import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING;
import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.SERVING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dockhealth.testing.FakeHealthServer;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The unary calls, on an in-process server. */
class DockhealthClientTest {
  private FakeHealthServer server;

  @BeforeEach
  void start() throws Exception {
    server = FakeHealthServer.inProcess().start();
    server.set("", SERVING);
    server.set("web", SERVING);
    server.set("db", NOT_SERVING);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void check_knownNames_answerTheirStatus() {
    try (DockhealthClient client = DockhealthClient.forChannel(server.channel(), b -> b)) {
      assertThat(client.check("web")).isEqualTo(SERVING);
      assertThat(client.check("db")).isEqualTo(NOT_SERVING);
      assertThat(client.check("")).isEqualTo(SERVING);
    }
  }

  @Test
  void check_unknownName_throwsNotFoundWithTheServersDescription() {
    try (DockhealthClient client = DockhealthClient.forChannel(server.channel(), b -> b)) {
      assertThatThrownBy(() -> client.check("nope"))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(e.getStatus().getDescription()).isEqualTo("unknown service \"nope\"");
          });
    }
  }

  @Test
  void check_serverNeverAnswers_failsAtTheClientsDeadline() {
    try (DockhealthClient client = DockhealthClient.forChannel(server.channel(),
        b -> b.deadline(Duration.ofMillis(50)))) {
      assertThatThrownBy(() -> client.check(FakeHealthServer.HANG))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
      assertThatThrownBy(() -> client.check(FakeHealthServer.HANG, Duration.ofMillis(20)))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    }
  }

  @Test
  void list_everyNameByName() {
    try (DockhealthClient client = DockhealthClient.forChannel(server.channel(), b -> b)) {
      assertThat(client.list()).containsExactly(
          org.assertj.core.api.Assertions.entry("", SERVING),
          org.assertj.core.api.Assertions.entry("db", NOT_SERVING),
          org.assertj.core.api.Assertions.entry("web", SERVING));
    }
  }

  @Test
  void headersAndGzip_sentOnEveryCall() {
    try (DockhealthClient client = DockhealthClient.forChannel(server.channel(), b -> b
        .header("X-Token", "abc").header("x-token", "def").header("trace-bin", "\u00e9").gzip(true))) {
      client.check("web");
      client.list();
    }
    assertThat(server.headers()).hasSize(2).allSatisfy(headers -> {
      assertThat(headers.getAll(Metadata.Key.of("x-token", Metadata.ASCII_STRING_MARSHALLER)))
          .containsExactly("abc", "def");
      assertThat(headers.get(Metadata.Key.of("trace-bin", Metadata.BINARY_BYTE_MARSHALLER)))
          .isEqualTo("\u00e9".getBytes(StandardCharsets.UTF_8));
      assertThat(headers.get(Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER)))
          .isEqualTo("gzip");
    });
  }

  @Test
  void builder_badArguments_failFast() {
    assertThatThrownBy(() -> DockhealthClient.newBuilder("localhost"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("address localhost: missing port in address");
    assertThatThrownBy(() -> DockhealthClient.newBuilder("127.0.0.1:1").deadline(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("deadline: PT0S (expected: > 0)");
    assertThatThrownBy(() -> DockhealthClient.newBuilder("127.0.0.1:1").header("bad name", "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void watch_afterClose_isRefused() {
    DockhealthClient client = DockhealthClient.forChannel(server.channel(), b -> b);
    client.close();
    assertThatThrownBy(() -> client.watch("web", new RecordingListener()))
        .isInstanceOf(IllegalStateException.class).hasMessage("client closed");
  }
}

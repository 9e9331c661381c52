package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import io.dockhealth.testing.SidecarProcess;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged sidecar listening on unix sockets, as a process: served over them, their mode, their
 * removal on exit, a crashed run's sockets replaced, and paths that must not be taken.
 */
class UnixSocketIT {
  private static DockerEngine engine;

  @TempDir Path dir;

  @BeforeAll
  static void startEngine() {
    engine = DockerEngine.start("unix-it");
  }

  @AfterAll
  static void stopEngine() {
    if (engine != null) {
      engine.close();
    }
  }

  private SidecarProcess.Builder onSockets(Path grpc, Path http) {
    return SidecarProcess.builder(engine.host()).grpcSocket(grpc).httpSocket(http)
        .readiness(SidecarProcess.Readiness.IN_SYNC);
  }

  private static boolean exists(Path path) {
    return Files.exists(path, LinkOption.NOFOLLOW_LINKS);
  }

  @Test
  void unixSockets_serveGrpcAndHttp_withTheirMode_andAreRemovedOnExit() throws Exception {
    Path grpc = dir.resolve("grpc.sock");
    Path http = dir.resolve("http.sock");
    try (SidecarProcess sidecar = onSockets(grpc, http).flags("--socket-mode=0600").start()) {
      assertThat(Files.getPosixFilePermissions(grpc)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
      assertThat(Files.getPosixFilePermissions(http)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
      try (HealthClient client = new HealthClient(sidecar.grpcChannel())) {
        assertThat(client.check("")).isEqualTo("SERVING");
      }
      assertThat(sidecar.httpGet("/healthz").status()).isEqualTo(200);
      assertThat(sidecar.httpGet("/v1/health").body()).contains("\"version\"");
      assertThat(sidecar.log()).anySatisfy(line -> assertThat(line)
          .endsWith("gRPC listening on unix://" + grpc + " (mode rw-------)"));
      assertThat(sidecar.log()).as("no warning for the connections made").noneSatisfy(line -> assertThat(line)
          .containsAnyOf(" WARN ", "WARNING", " ERROR "));

      sidecar.stop();

      assertThat(sidecar.awaitExit(Duration.ZERO)).isEqualTo(OptionalInt.of(143));
      assertThat(exists(grpc)).as("gRPC socket removed; the sidecar's log:%n%s", String.join("\n", sidecar.log()))
          .isFalse();
      assertThat(exists(http)).as("HTTP socket removed; the sidecar's log:%n%s", String.join("\n", sidecar.log()))
          .isFalse();
    }
  }

  @Test
  void killedSidecar_leavesStaleSockets_whichTheNextRunReplaces() throws Exception {
    Path grpc = dir.resolve("grpc.sock");
    Path http = dir.resolve("http.sock");
    try (SidecarProcess sidecar = onSockets(grpc, http).start()) {
      sidecar.kill();
      assertThat(exists(grpc) && exists(http)).as("a crash leaves its sockets").isTrue();

      sidecar.start();

      try (HealthClient client = new HealthClient(sidecar.grpcChannel())) {
        assertThat(client.check("")).isEqualTo("SERVING");
      }
      assertThat(sidecar.httpGet("/healthz").status()).isEqualTo(200);
      assertThat(Files.getPosixFilePermissions(grpc)).isEqualTo(PosixFilePermissions.fromString("rw-rw----"));
      assertThat(sidecar.log()).anySatisfy(line -> assertThat(line).contains("replaced the stale socket " + grpc));
    }
  }

  @Test
  void pathThatIsNotASocket_stopsTheStart_andIsLeftAlone() throws Exception {
    Path grpc = Files.writeString(dir.resolve("grpc.sock"), "someone's data");

    try (SidecarProcess sidecar = onSockets(grpc, dir.resolve("http.sock")).launch()) {
      assertThat(sidecar.awaitExit(Duration.ofSeconds(60))).isEqualTo(OptionalInt.of(1));
      assertThat(sidecar.log()).anySatisfy(line -> assertThat(line)
          .contains("cannot start: " + grpc + " exists and is not a socket, so it is left alone"));
    }
    assertThat(Files.readString(grpc)).isEqualTo("someone's data");
    assertThat(exists(dir.resolve("http.sock"))).isFalse();
  }

  @Test
  void socketAnotherSidecarListensOn_stopsTheStart_andTheOtherServesOn() throws Exception {
    Path grpc = dir.resolve("grpc.sock");
    try (SidecarProcess first = onSockets(grpc, dir.resolve("http.sock")).start();
        SidecarProcess second = onSockets(grpc, dir.resolve("http-2.sock")).launch()) {
      assertThat(second.awaitExit(Duration.ofSeconds(60))).isEqualTo(OptionalInt.of(1));
      assertThat(second.log()).anySatisfy(line -> assertThat(line)
          .contains("cannot start: another process listens on socket " + grpc));

      try (HealthClient client = new HealthClient(first.grpcChannel())) {
        assertThat(client.check("")).isEqualTo("SERVING");
      }
    }
  }
}

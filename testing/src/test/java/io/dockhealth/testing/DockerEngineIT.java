package io.dockhealth.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Proves the test helpers against a real, private dockerd. */
class DockerEngineIT {

  @Test
  void runsHealthchecksAndSurvivesARestart() {
    Path dir;
    try (DockerEngine engine = DockerEngine.start("engine-it")) {
      dir = engine.dir();
      String container =
          engine.docker(
              "run", "-d", "--network", "host",
              "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1",
              DockerEngine.IMAGE, "sleep", "600");

      engine.docker("exec", container, "sh", "-c", ">/tmp/ok");
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> health(engine, container), "healthy"::equals);

      engine.stop();
      assertThat(engine.isRunning()).isFalse();
      assertThat(daemonsIn(dir)).as("dockerd/containerd processes of a stopped engine").isZero();
      assertThatThrownBy(() -> engine.docker("version"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("exit code");

      engine.restart();
      assertThat(engine.docker("version", "--format", "{{.Server.Version}}")).isNotBlank();
      assertThat(engine.docker("image", "ls", "-q", DockerEngine.IMAGE)).isNotBlank();
      // The daemon's shutdown stopped the container; it is still there and starts again.
      engine.docker("start", container);
      assertThat(engine.docker("inspect", "-f", "{{.State.Running}}", container)).isEqualTo("true");
    }
    assertThat(dir).doesNotExist();
    assertThat(daemonsIn(dir)).as("dockerd/containerd processes of a closed engine").isZero();
  }

  @Test
  void proxyCanCutDockerOffAndRestoreIt() throws Exception {
    try (DockerEngine engine = DockerEngine.start("proxy-it");
        DockerProxy proxy = DockerProxy.start(engine.socketPath())) {
      assertThat(DockerEngine.dockerAt(proxy.host(), "version", "--format", "{{.Server.Version}}"))
          .isNotBlank();

      // A long-lived stream through the proxy: cut() must drop it, not only new connections.
      Process events =
          new ProcessBuilder(DockerEngine.DOCKER_CLI, "-H", proxy.host(), "events")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      try {
        await().atMost(Duration.ofSeconds(30)).until(() -> proxy.openConnections() >= 1);
        proxy.cut();
        await().atMost(Duration.ofSeconds(30)).until(() -> !events.isAlive());
        assertThat(proxy.openConnections()).isZero();
      } finally {
        events.destroyForcibly();
      }

      int before = proxy.connectionsAccepted();
      assertThatThrownBy(() -> DockerEngine.dockerAt(proxy.host(), "version"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("exit code");
      assertThat(proxy.connectionsAccepted()).isGreaterThan(before);
      assertThat(engine.docker("version", "--format", "{{.Server.Version}}"))
          .as("the daemon itself still answers on its socket")
          .isNotBlank();

      proxy.restore();
      assertThat(DockerEngine.dockerAt(proxy.host(), "version", "--format", "{{.Server.Version}}"))
          .isNotBlank();
    }
  }

  private static String health(DockerEngine engine, String container) {
    return engine.docker("inspect", "-f", "{{.State.Health.Status}}", container);
  }

  /** How many dockerd/containerd processes name {@code dir} on their command line. */
  private static long daemonsIn(Path dir) {
    String marker = dir + "/";
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs
          .filter(proc -> proc.getFileName().toString().matches("\\d+"))
          .map(DockerEngineIT::commandLine)
          .filter(cmd -> cmd.contains(marker))
          .filter(cmd -> cmd.contains("dockerd") || cmd.contains("containerd"))
          .count();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String commandLine(Path proc) {
    try {
      return new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8)
          .replace('\0', ' ');
    } catch (IOException gone) {
      return "";
    }
  }
}

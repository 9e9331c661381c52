package io.dockhealth.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

  @Test
  void proxyFaultsHitOnlyMatchingRequests_keepAliveConnectionsStayInStep_pauseFreezesDockerd() throws Exception {
    try (DockerEngine engine = DockerEngine.start("faults-proxy-it");
        DockerProxy proxy = DockerProxy.start(engine.socketPath())) {
      // Requests with bodies pass through: create (POST with a JSON body) and start.
      DockerEngine.dockerAt(proxy.host(), "run", "-d", "--name", "one", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
      DockerEngine.dockerAt(proxy.host(), "run", "-d", "--name", "two", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
      String one = engine.docker("inspect", "--format", "{{.Id}}", "one");

      proxy.answer500("GET", "(/v[0-9.]+)?/containers/" + one + "/json");
      // One CLI run asks about both (one by its ID, as the rule names it) on one keep-alive
      // connection: only the request about one is answered 500, and the answer about two that
      // follows it on the connection is Docker's.
      int connectionsBefore = proxy.connectionsAccepted();
      Process both = cli(proxy.host(), "container", "inspect", "--format", "{{.Name}}", one, "two");
      assertThat(both.waitFor(30, TimeUnit.SECONDS)).isTrue();
      String output = new String(both.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(output).contains("fault injected by DockerProxy").contains("/two").doesNotContain("/one");
      assertThat(proxy.connectionsAccepted() - connectionsBefore).as("connections the CLI opened").isEqualTo(1);
      assertThat(proxy.faultsInjected()).isEqualTo(1);

      proxy.restore();
      assertThat(DockerEngine.dockerAt(proxy.host(), "inspect", "--format", "{{.Name}}", "one")).isEqualTo("/one");

      // A held request gets no answer until restore(); then it goes on to the daemon.
      proxy.hangRequests("GET", "(/v[0-9.]+)?/containers/" + one + "/json");
      assertBlockedUntil(cli(proxy.host(), "container", "inspect", one), proxy::restore);

      // The whole proxy hung: a new connection is read, never answered.
      proxy.hang();
      assertBlockedUntil(cli(proxy.host(), "version"), proxy::restore);

      // SIGSTOP on this engine's dockerd: its socket accepts, nothing answers, until SIGCONT.
      engine.pause();
      assertBlockedUntil(cli(engine.host(), "version"), engine::resume);
    }
  }

  /** Asserts that a CLI run stays blocked (for a second) until {@code lift} runs, then succeeds. */
  private static void assertBlockedUntil(Process cli, Runnable lift) throws InterruptedException {
    try {
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10)).until(cli::isAlive);
    } finally {
      lift.run();
    }
    assertThat(cli.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(cli.exitValue()).isZero();
  }

  /**
   * Starts the Docker CLI in the background, for calls expected to block or fail; stdout and stderr
   * together are its input stream (small outputs only: nothing drains it meanwhile).
   */
  private static Process cli(String host, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(DockerEngine.DOCKER_CLI, "-H", host));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().remove("DOCKER_HOST");
    return builder.start();
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

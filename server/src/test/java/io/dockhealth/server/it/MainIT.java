package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import io.dockhealth.testing.SidecarProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar run as operators run it, asked by an independent client (Python grpcio), and
 * stopped with SIGTERM.
 */
class MainIT {
  private static final Path CLIENT = Path.of("src/test/resources/health_client.py");

  private static DockerEngine engine;

  @BeforeAll
  static void startEngine() {
    engine = DockerEngine.start("main-it");
  }

  @AfterAll
  static void stopEngine() {
    engine.close();
  }

  /** Runs the Python client to completion and returns its output lines. */
  private static List<String> python(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("/usr/bin/python3", CLIENT.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("python client finished").isTrue();
    List<String> lines = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
        .lines().toList();
    assertThat(process.exitValue()).as("python client: %s", lines).isZero();
    return lines;
  }

  @Test
  void independentClient_seesStatusesOfRealContainers_andAWatchThatFollowsHealth() throws Exception {
    engine.docker("run", "-d", "--name", "ok", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    engine.docker("run", "-d", "--name", "sick", "--network", "host",
        "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1",
        DockerEngine.IMAGE, "sleep", "600");
    SidecarProcess sidecar = SidecarProcess.builder(engine.host()).start();
    try {
      String addr = sidecar.grpcAddress();
      await().atMost(Duration.ofSeconds(30)).until(() -> python(addr, "check", "").equals(List.of(" SERVING")));

      assertThat(python(addr, "check", "ok", "sick", "nope"))
          .containsExactly("ok SERVING", "sick NOT_SERVING", "nope NOT_FOUND");

      Process watch = new ProcessBuilder("/usr/bin/python3", CLIENT.toString(), addr, "watch", "sick", "2")
          .redirectErrorStream(true).start();
      engine.docker("exec", "sick", "touch", "/tmp/ok");
      assertThat(watch.waitFor(30, TimeUnit.SECONDS)).as("watch saw two statuses").isTrue();
      assertThat(new String(watch.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines())
          .containsExactly("NOT_SERVING", "SERVING");
    } finally {
      sidecar.kill();
      engine.docker("rm", "-f", "ok", "sick");
    }
  }

  @Test
  void sigterm_everyNameNotServingForTheDrainPeriod_thenExits() throws Exception {
    engine.docker("run", "-d", "--name", "web", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    SidecarProcess sidecar = SidecarProcess.builder(engine.host()).drainPeriod("3s").start();
    try (HealthClient client = new HealthClient(sidecar.grpcSocketAddress())) {
      await().atMost(Duration.ofSeconds(30)).until(() -> client.check("web").equals("SERVING"));
      HealthClient.Watch web = client.watch("web");
      HealthClient.Watch self = client.watch("");
      await().atMost(Duration.ofSeconds(5)).until(() -> "SERVING".equals(web.last()) && "SERVING".equals(self.last()));

      sidecar.terminate();

      await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> {
        assertThat(web.last()).isEqualTo("NOT_SERVING");
        assertThat(self.last()).isEqualTo("NOT_SERVING");
      });
      // Still answering during the drain, so balancers learn why rather than seeing a refusal.
      assertThat(client.check("web")).isEqualTo("NOT_SERVING");
      assertThat(sidecar.isAlive()).isTrue();
      assertThat(sidecar.awaitExit(Duration.ofSeconds(15))).as("exited after draining").isPresent();
      assertThat(sidecar.log()).anyMatch(l -> l.contains("stopping: every name is NOT_SERVING"))
          .anyMatch(l -> l.contains("stopped"));
      assertThat(web.end()).as("watch stream ended by the server stopping").isNotNull();
    } finally {
      sidecar.kill();
      engine.docker("rm", "-f", "web");
    }
  }

  @Test
  void badFlag_exitsWithCode2AndSaysWhatWasExpected() {
    SidecarProcess sidecar = SidecarProcess.builder(engine.host()).flags("--resync-interval", "soon").launch();
    assertThat(sidecar.awaitExit(Duration.ofSeconds(30))).hasValue(2);
    assertThat(String.join("\n", sidecar.log())).contains("--resync-interval").contains("'soon'").contains("expected");
  }

  @Test
  void portInUse_exitsWithCode1AndSaysSo() {
    try (SidecarProcess first = SidecarProcess.builder(engine.host()).start()) {
      SidecarProcess second = SidecarProcess.builder(engine.host()).grpcPort(first.grpcPort()).launch();
      assertThat(second.awaitExit(Duration.ofSeconds(30))).as("%s", second.log()).hasValue(1);
      assertThat(String.join("\n", second.log())).contains("cannot start").containsIgnoringCase("address already in use");
    }
  }

  static {
    assertThat(Files.exists(CLIENT)).as(CLIENT.toAbsolutePath().toString()).isTrue();
  }
}

package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar run as operators run it, asked by an independent client (Python grpcio), and
 * stopped with SIGTERM.
 */
class MainIT {
  private static final Path JAR = Path.of("target/dockhealth.jar");
  private static final Path CLIENT = Path.of("src/test/resources/health_client.py");
  private static final Pattern LISTENING = Pattern.compile("gRPC listening on .*:(\\d+)$");

  private static DockerEngine engine;

  @BeforeAll
  static void startEngine() {
    engine = DockerEngine.start("main-it");
  }

  @AfterAll
  static void stopEngine() {
    engine.close();
  }

  /** The sidecar as a process, with its log lines collected. */
  private record Running(Process process, List<String> log, int port) {}

  private static Running startJar(String... flags) throws IOException {
    assertThat(JAR).as("the runnable jar (mvn package)").exists();
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString(),
        "--grpc-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--docker-host", engine.host()));
    command.addAll(List.of(flags));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<String> log = new CopyOnWriteArrayList<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        lines.lines().forEach(log::add);
      } catch (IOException | java.io.UncheckedIOException e) {
        log.add("(log ends: " + e + ")"); // the process was killed
      }
    });
    reader.setDaemon(true);
    reader.start();
    int[] port = new int[1];
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      for (String line : log) {
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          port[0] = Integer.parseInt(m.group(1));
          return true;
        }
      }
      assertThat(process.isAlive()).as("sidecar exited early: %s", log).isTrue();
      return false;
    });
    return new Running(process, log, port[0]);
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
    Running sidecar = startJar("--drain-period", "0s");
    try {
      String addr = "127.0.0.1:" + sidecar.port();
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
      sidecar.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      engine.docker("rm", "-f", "ok", "sick");
    }
  }

  @Test
  void sigterm_everyNameNotServingForTheDrainPeriod_thenExits() throws Exception {
    engine.docker("run", "-d", "--name", "web", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    Running sidecar = startJar("--drain-period", "3s");
    try (HealthClient client = new HealthClient(new InetSocketAddress("127.0.0.1", sidecar.port()))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> client.check("web").equals("SERVING"));
      HealthClient.Watch web = client.watch("web");
      HealthClient.Watch self = client.watch("");
      await().atMost(Duration.ofSeconds(5)).until(() -> "SERVING".equals(web.last()) && "SERVING".equals(self.last()));

      // SIGTERM; through the handle, which unlike Process.destroy() leaves the log stream open.
      sidecar.process().toHandle().destroy();

      await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> {
        assertThat(web.last()).isEqualTo("NOT_SERVING");
        assertThat(self.last()).isEqualTo("NOT_SERVING");
      });
      // Still answering during the drain, so balancers learn why rather than seeing a refusal.
      assertThat(client.check("web")).isEqualTo("NOT_SERVING");
      assertThat(sidecar.process().isAlive()).isTrue();
      assertThat(sidecar.process().waitFor(15, TimeUnit.SECONDS)).as("exited after draining").isTrue();
      assertThat(sidecar.log()).anyMatch(l -> l.contains("stopping: every name is NOT_SERVING"))
          .anyMatch(l -> l.contains("stopped"));
      assertThat(web.end()).as("watch stream ended by the server stopping").isNotNull();
    } finally {
      sidecar.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      engine.docker("rm", "-f", "web");
    }
  }

  @Test
  void badFlag_exitsWithCode2AndSaysWhatWasExpected() throws Exception {
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", JAR.toString(), "--resync-interval", "soon").redirectErrorStream(true).start();
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.exitValue()).isEqualTo(2);
    assertThat(output).contains("--resync-interval").contains("'soon'").contains("expected");
  }

  @Test
  void portInUse_exitsWithCode1AndSaysSo() throws Exception {
    Running first = startJar("--drain-period", "0s");
    try {
      Process second = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-jar", JAR.toString(), "--grpc-address", "127.0.0.1:" + first.port(), "--docker-host", engine.host())
          .redirectErrorStream(true).start();
      assertThat(second.waitFor(30, TimeUnit.SECONDS)).isTrue();
      String output = new String(second.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(second.exitValue()).as(output).isEqualTo(1);
      assertThat(output).contains("cannot start").containsIgnoringCase("address already in use");
    } finally {
      first.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  static {
    assertThat(Files.exists(CLIENT)).as(CLIENT.toAbsolutePath().toString()).isTrue();
  }
}

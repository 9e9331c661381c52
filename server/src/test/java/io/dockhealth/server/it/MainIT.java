package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.WatchContainersRequest;
import io.dockhealth.proto.v1.WatchContainersResponse;
import io.dockhealth.testing.DockerApi;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import io.dockhealth.testing.SidecarProcess;
import io.dockhealth.testing.StreamReader;
import io.grpc.Status;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
  /** Long enough that a Docker event reaches a watcher within it on a busy machine (about 1 s there). */
  private static final Duration DRAIN = Duration.ofSeconds(10);
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

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

  private static HttpResponse<String> httpGet(SidecarProcess sidecar, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sidecar.httpPort() + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void assertEndedUnavailable(Status end, String stream) {
    assertThat(end).as("%s ended", stream).isNotNull();
    assertThat(end.getCode()).as("%s: %s", stream, end).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(end.getDescription()).as(stream).isEqualTo("server shutting down");
  }

  @Test
  void sigterm_onlyTheSidecarTurnsNotServing_namesKeepFollowingDocker_thenStreamsEndUnavailable() throws Exception {
    engine.docker("run", "-d", "--name", "web", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    engine.docker("run", "-d", "--name", "flip", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    SidecarProcess sidecar = SidecarProcess.builder(engine.host()).drainPeriod(DRAIN.toSeconds() + "s").start();
    try (HealthClient client = new HealthClient(sidecar.grpcSocketAddress());
        DockerApi api = new DockerApi(engine.socketPath())) {
      await().atMost(Duration.ofSeconds(30)).until(() -> client.check("web").equals("SERVING")
          && client.check("flip").equals("SERVING"));
      HealthClient.Watch web = client.watch("web");
      HealthClient.Watch flip = client.watch("flip");
      HealthClient.Watch self = client.watch("");
      StreamReader<WatchContainersRequest, WatchContainersResponse> containers = new StreamReader<>(client.channel(),
          ContainerHealthGrpc.getWatchContainersMethod(), WatchContainersRequest.getDefaultInstance());
      containers.read(Integer.MAX_VALUE);
      await().atMost(Duration.ofSeconds(10)).until(() -> "SERVING".equals(web.last())
          && "SERVING".equals(flip.last()) && "SERVING".equals(self.last()) && !containers.received().isEmpty());

      long sigterm = System.nanoTime();
      sidecar.terminate();

      // The sidecar itself goes at once; the containers keep their truth, and Docker's changes still
      // reach their watchers while the server drains.
      await().atMost(Duration.ofSeconds(5)).until(() -> "NOT_SERVING".equals(self.last()));
      api.pause("flip");
      await().atMost(DRAIN).until(() -> "NOT_SERVING".equals(flip.last()));
      assertThat(flip.end()).as("still open: the drain has not ended").isNull();
      assertThat(client.check("web")).isEqualTo("SERVING");
      assertThat(client.check("flip")).isEqualTo("NOT_SERVING");
      assertThat(web.statuses()).containsExactly("SERVING");
      assertThat(self.statuses()).containsExactly("SERVING", "NOT_SERVING");
      assertThat(httpGet(sidecar, "/healthz").statusCode()).isEqualTo(503);
      assertThat(httpGet(sidecar, "/v1/health/web").statusCode()).isEqualTo(200);
      // A long-poll parked now is answered when the server stops, not cut.
      String version = new ObjectMapper().readTree(httpGet(sidecar, "/v1/health").body()).get("version").asText();
      CompletableFuture<HttpResponse<String>> poll = HTTP.sendAsync(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + sidecar.httpPort() + "/v1/health?since=" + version + "&wait=2m"))
          .build(), HttpResponse.BodyHandlers.ofString());

      // Then every stream ends with a status clients retry, and the process exits.
      await().atMost(DRAIN.plusSeconds(30)).until(() -> web.end() != null && flip.end() != null
          && self.end() != null && containers.end() != null);
      assertThat(Duration.ofNanos(System.nanoTime() - sigterm)).as("streams ended after the drain")
          .isGreaterThanOrEqualTo(DRAIN);
      assertEndedUnavailable(web.end(), "Watch(web)");
      assertEndedUnavailable(flip.end(), "Watch(flip)");
      assertEndedUnavailable(self.end(), "Watch(\"\")");
      assertEndedUnavailable(containers.end(), "WatchContainers");
      assertThat(web.statuses()).containsExactly("SERVING");
      assertThat(poll.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(304);
      assertThat(sidecar.awaitExit(Duration.ofSeconds(30))).as("exited after draining").hasValue(143);
      assertThat(sidecar.log())
          .anyMatch(l -> l.contains("stopping: \"\" is NOT_SERVING, every other name keeps following Docker"))
          .anyMatch(l -> l.contains("stopped"));
    } finally {
      sidecar.kill();
      engine.docker("rm", "-f", "web", "flip");
    }
  }

  @Test
  void sigterm_withDrainNames_everyNameNotServingForTheDrainPeriod_thenStreamsEndUnavailable() throws Exception {
    engine.docker("run", "-d", "--name", "web", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    SidecarProcess sidecar = SidecarProcess.builder(engine.host()).drainPeriod("3s").flags("--drain-names").start();
    try (HealthClient client = new HealthClient(sidecar.grpcSocketAddress())) {
      await().atMost(Duration.ofSeconds(30)).until(() -> client.check("web").equals("SERVING"));
      HealthClient.Watch web = client.watch("web");
      HealthClient.Watch self = client.watch("");
      await().atMost(Duration.ofSeconds(5)).until(() -> "SERVING".equals(web.last()) && "SERVING".equals(self.last()));

      sidecar.terminate();

      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
        assertThat(web.last()).isEqualTo("NOT_SERVING");
        assertThat(self.last()).isEqualTo("NOT_SERVING");
      });
      // Still answering during the drain, so balancers learn why rather than seeing a refusal.
      assertThat(client.check("web")).isEqualTo("NOT_SERVING");
      assertThat(sidecar.isAlive()).isTrue();
      await().atMost(Duration.ofSeconds(30)).until(() -> web.end() != null && self.end() != null);
      assertEndedUnavailable(web.end(), "Watch(web)");
      assertEndedUnavailable(self.end(), "Watch(\"\")");
      assertThat(sidecar.awaitExit(Duration.ofSeconds(30))).as("exited after draining").isPresent();
      assertThat(sidecar.log()).anyMatch(l -> l.contains("stopping: every name is NOT_SERVING (--drain-names)"))
          .anyMatch(l -> l.contains("stopped"));
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

package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.dockhealth.server.Main;
import io.dockhealth.server.Sidecar;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.DockerProxy;
import io.dockhealth.testing.HealthClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Docker misbehaving while the sidecar watches it, each fault injected into a real engine: the
 * daemon restarted, the connection cut while it runs, the daemon hung (SIGSTOP), an error about one
 * container, and more events than Docker keeps while the sidecar cannot see them.
 */
class DockerFaultsIT {
  private static final Logger logger = LoggerFactory.getLogger(DockerFaultsIT.class);

  /** The contract says a hung Docker is noticed within 10 s; asserted with room for a loaded machine. */
  private static final Duration HANG_NOTICED = Duration.ofSeconds(20);
  private static final Duration RECOVERED = Duration.ofSeconds(40);
  private static final Duration SETTLED = Duration.ofSeconds(30);
  /** How long the sidecar lets a list or an inspect take. */
  private static final Duration INSPECT_DEADLINE = Duration.ofSeconds(30);
  /** Docker keeps this many recent events for a subscriber that resumes with {@code since}. */
  private static final int DOCKER_EVENT_RING = 256;
  /** The container actions the sidecar subscribes to. */
  private static final Set<String> SUBSCRIBED = Set.of("create", "start", "restart", "die", "stop", "kill", "pause",
      "unpause", "oom", "rename", "update", "destroy", "health_status");

  private static DockerEngine engine;

  private DockerProxy proxy;
  private Sidecar sidecar;
  private HealthClient client;
  private final ListAppender<ILoggingEvent> dockerLog = new ListAppender<>();

  @BeforeAll
  static void startEngine() {
    engine = DockerEngine.start("faults-it");
  }

  @AfterAll
  static void stopEngine() {
    if (engine != null) {
      engine.close();
    }
  }

  @BeforeEach
  void captureDockerLog() {
    dockerLog.start();
    dockerSideLogger().addAppender(dockerLog);
  }

  @AfterEach
  void stopAll() throws Exception {
    engine.resume();
    if (!engine.isRunning()) {
      engine.restart(); // a test that stopped it failed before starting it again
    }
    dockerSideLogger().detachAppender(dockerLog);
    if (client != null) {
      client.close();
    }
    if (sidecar != null) {
      sidecar.stop();
    }
    if (proxy != null) {
      proxy.close();
    }
    engine.removeAllContainers();
  }

  private static ch.qos.logback.classic.Logger dockerSideLogger() {
    return (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.dockhealth.server.docker");
  }

  private void startSidecar(String dockerHost, String... flags) {
    List<String> args = new ArrayList<>(List.of("--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
        "--docker-host=" + dockerHost, "--drain-period=0s"));
    args.addAll(List.of(flags));
    sidecar = Sidecar.start(Main.parseConfig(args.toArray(String[]::new)));
    client = new HealthClient(sidecar.grpcAddress());
  }

  private static void run(String name, String... extra) {
    List<String> args = new ArrayList<>(List.of("run", "-d", "--name", name, "--network", "host"));
    args.addAll(List.of(extra));
    args.addAll(List.of(DockerEngine.IMAGE, "sleep", "600"));
    engine.docker(args.toArray(String[]::new));
  }

  /** The warnings the Docker side logged since the test began. */
  private List<String> dockerWarnings() {
    synchronized (dockerLog) { // the appender adds under its own lock
      return dockerLog.list.stream()
          .filter(e -> e.getLevel() == Level.WARN)
          .map(ILoggingEvent::getFormattedMessage)
          .toList();
    }
  }

  private List<String> dockerWarningsAbout(String containerId) {
    return dockerWarnings().stream().filter(line -> line.contains(containerId)).toList();
  }

  private String httpGet(String path) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sidecar.httpAddress().getPort() + path))
        .timeout(Duration.ofSeconds(5)).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
  }

  private static long millisSince(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  @Test
  void daemonRestarted_sidecarNotServingWhileDown_thenStatusesRightAfterResync() {
    run("plain");
    run("always", "--restart", "always");
    startSidecar(engine.host(), "--resync-interval=10m");
    HealthClient.Watch sidecarWatch = client.watch("");
    await().atMost(SETTLED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("plain")).isEqualTo("SERVING");
      assertThat(client.check("always")).isEqualTo("SERVING");
    });

    engine.stop();
    await().atMost(SETTLED).until(() -> client.check("").equals("NOT_SERVING"));
    assertThat(client.container("plain").getStale()).isTrue();

    engine.restart();
    // The daemon stopped both containers; its restart policy brings back only "always".
    await().atMost(SETTLED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("plain")).isEqualTo("NOT_SERVING");
      assertThat(client.check("always")).isEqualTo("SERVING");
      assertThat(client.container("always").getStale()).isFalse();
    });
    // The sidecar syncs on its own once started: the watch opened during its first sync (NOT_SERVING
    // first) or, on a busy machine, just after it.
    await().atMost(SETTLED).untilAsserted(() -> {
      List<String> statuses = sidecarWatch.statuses();
      assertThat(statuses).isNotEmpty();
      assertThat(statuses.get(0).equals("NOT_SERVING") ? statuses.subList(1, statuses.size()) : statuses)
          .containsExactly("SERVING", "NOT_SERVING", "SERVING");
    });

    // Events flow again after the reconnect.
    engine.docker("stop", "always");
    await().atMost(Duration.ofSeconds(5)).until(() -> client.check("always").equals("NOT_SERVING"));
  }

  @Test
  void connectionCut_containersChangedMeanwhile_modelEqualsDockerAfterRestore_eachEventCountedOnce()
      throws Exception {
    proxy = DockerProxy.start(engine.socketPath());
    run("before");
    startSidecar(proxy.host(), "--resync-interval=10m");
    await().atMost(SETTLED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("before")).isEqualTo("SERVING");
    });
    // Subscribed from here on: every container event after this instant reaches the sidecar.
    String subscribedAt = String.format(Locale.ROOT, "%.3f", System.currentTimeMillis() / 1000.0);
    run("second");
    await().atMost(SETTLED).until(() -> client.check("second").equals("SERVING"));

    proxy.cut();
    await().atMost(SETTLED).until(() -> client.check("").equals("NOT_SERVING"));
    // Fail static: the last known status stays, marked stale.
    assertThat(client.check("before")).isEqualTo("SERVING");
    assertThat(client.container("before").getStale()).isTrue();

    // While the sidecar cannot see Docker, the daemon itself carries on.
    run("during");
    engine.docker("stop", "before");
    engine.docker("pause", "second");
    assertThat(client.check("during")).isEqualTo("NOT_FOUND");

    proxy.restore();
    await().atMost(SETTLED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.containerStates()).isEqualTo(engine.containerStates());
    });
    assertThat(client.check("during")).isEqualTo("SERVING");
    assertThat(client.check("before")).isEqualTo("NOT_SERVING");
    assertThat(client.check("second")).isEqualTo("NOT_SERVING");
    assertThat(client.listContainers().getContainersList()).noneMatch(c -> c.getStale());

    // The stream resumed with since= the last event before the cut, which Docker sent again: each
    // event is still counted once, as Docker itself lists them.
    String until = String.format(Locale.ROOT, "%.3f", System.currentTimeMillis() / 1000.0);
    Map<String, Long> docker = Arrays.stream(engine.docker("events", "--since", subscribedAt, "--until", until,
            "--filter", "type=container", "--format", "{{.Action}}").split("\n"))
        .map(action -> action.split(":")[0])
        .filter(SUBSCRIBED::contains)
        .collect(Collectors.groupingBy(action -> action, TreeMap::new, Collectors.counting()));
    assertThat(docker).containsKeys("create", "start", "pause", "die");
    await().atMost(SETTLED).untilAsserted(() -> assertThat(countedEvents()).isEqualTo(docker));
  }

  /** dockhealth_docker_events_total by action, from the sidecar's /metrics. */
  private Map<String, Long> countedEvents() throws Exception {
    Map<String, Long> counted = new TreeMap<>();
    Matcher line = Pattern.compile("(?m)^dockhealth_docker_events_total\\{action=\"([a-z_]+)\"} ([0-9.]+)$")
        .matcher(httpGet("/metrics"));
    while (line.find()) {
      long count = (long) Double.parseDouble(line.group(2));
      if (count > 0) {
        counted.put(line.group(1), count);
      }
    }
    return counted;
  }

  @ParameterizedTest(name = "over {0}")
  @ValueSource(strings = {"unix", "tcp"})
  void hungDaemon_noticedWithinTenSeconds_thenRecoversByItself(String transport) throws Exception {
    run("web");
    String host = engine.host();
    if (transport.equals("tcp")) {
      proxy = DockerProxy.start(engine.socketPath()); // relays faithfully: the daemon itself hangs
      host = proxy.host();
    }
    startSidecar(host);
    await().atMost(SETTLED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("web")).isEqualTo("SERVING");
    });
    HealthClient.Watch sidecarWatch = client.watch("");
    await().atMost(SETTLED).until(() -> "SERVING".equals(sidecarWatch.last()));

    int warningsBefore = dockerWarnings().size();
    int statusesBefore = sidecarWatch.statuses().size();
    long pausedAt = System.nanoTime();
    engine.pause();
    await().atMost(HANG_NOTICED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("NOT_SERVING");
      assertThat(client.container("web").getStale()).isTrue();
    });
    long noticedMillis = millisSince(pausedAt);
    logger.info("hung dockerd over {}: \"\" NOT_SERVING and names stale after {} ms", transport, noticedMillis);
    // Fail static: the last known status stays through the stale grace (30 s by default), marked stale.
    assertThat(client.check("web")).isEqualTo("SERVING");
    assertThat(httpGet("/v1/health/web")).contains("\"stale\": true");
    assertThat(dockerWarnings()).hasSize(warningsBefore + 1);
    assertThat(dockerWarnings().get(warningsBefore)).startsWith("lost Docker");

    long resumedAt = System.nanoTime();
    engine.resume();
    await().atMost(RECOVERED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.container("web").getStale()).isFalse();
    });
    logger.info("hung dockerd over {}: back in sync {} ms after SIGCONT", transport, millisSince(resumedAt));
    List<String> statuses = sidecarWatch.statuses();
    assertThat(statuses.subList(statusesBefore, statuses.size())).containsExactly("NOT_SERVING", "SERVING");
    assertThat(dockerWarnings()).as("one warning for the whole outage, retries included").hasSize(warningsBefore + 1);

    // Events flow again.
    engine.docker("stop", "web");
    await().atMost(SETTLED).until(() -> client.check("web").equals("NOT_SERVING"));
  }

  /**
   * @param fault {@code 500}: Docker answers the container's inspect with an error; {@code silence}:
   *     it never answers it (as when a container's lock is held by a stuck operation), while it
   *     answers everything else
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"500", "silence"})
  void faultAboutOneContainer_onlyThatContainerStale_othersAndSidecarServe_recoversWhenLifted(String fault)
      throws Exception {
    run("sick");
    run("well");
    run("other");
    proxy = DockerProxy.start(engine.socketPath());
    // A short grace, and a resync every 2 s that runs into the fault as well.
    startSidecar(proxy.host(), "--stale-grace=5s", "--resync-interval=2s");
    await().atMost(SETTLED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("sick")).isEqualTo("SERVING");
      assertThat(client.check("well")).isEqualTo("SERVING");
    });
    String sickId = engine.docker("inspect", "--format", "{{.Id}}", "sick");

    String inspectSick = "(/v[0-9.]+)?/containers/" + sickId + "/json";
    if (fault.equals("500")) {
      proxy.answer500("GET", inspectSick);
    } else {
      proxy.hangRequests("GET", inspectSick);
    }
    long faultAt = System.nanoTime();
    engine.docker("kill", "--signal", "WINCH", "sick"); // an event, so the sidecar inspects it
    // Without an answer, the inspect gets the 30 s a slow Docker may take before it counts as failed.
    Duration staleWithin = fault.equals("500") ? SETTLED : SETTLED.plus(INSPECT_DEADLINE);
    await().atMost(staleWithin).until(() -> client.container("sick").getStale());
    logger.info("one container's {}: it went stale after {} ms", fault, millisSince(faultAt));
    assertThat(client.check("sick")).as("last known, during the grace").isEqualTo("SERVING");
    assertThat(client.check("")).isEqualTo("SERVING");
    assertThat(client.container("well").getStale()).isFalse();
    assertThat(client.container("other").getStale()).isFalse();
    assertThat(httpGet("/v1/containers/sick")).contains("\"stale\": true");
    assertThat(httpGet("/v1/containers/well")).contains("\"stale\": false");

    // Docker is fine about every other container: their events still apply.
    engine.docker("stop", "well");
    await().atMost(SETTLED).until(() -> client.check("well").equals("NOT_SERVING"));

    // After the grace, the stale container is NOT_SERVING, as with a lost Docker; "" stays SERVING.
    await().atMost(SETTLED).until(() -> client.check("sick").equals("NOT_SERVING"));
    logger.info("one container's {}: it turned NOT_SERVING {} ms after the fault", fault, millisSince(faultAt));
    assertThat(client.container("sick").getStale()).isTrue();
    assertThat(client.check("")).isEqualTo("SERVING");
    assertThat(client.container("other").getStale()).isFalse();
    assertThat(client.check("other")).isEqualTo("SERVING");
    int answered = proxy.faultsInjected();
    await().atMost(staleWithin).until(() -> proxy.faultsInjected() > answered); // still retried
    // Only the lines about this container: a loaded machine may also log a slow ping, which is not
    // this test's fault.
    String sickShortId = sickId.substring(0, 12);
    assertThat(dockerWarningsAbout(sickShortId)).as("logged once, however often retried").hasSize(1);

    long liftedAt = System.nanoTime();
    proxy.restore();
    await().atMost(RECOVERED).untilAsserted(() -> {
      assertThat(client.container("sick").getStale()).isFalse();
      assertThat(client.check("sick")).isEqualTo("SERVING");
    });
    logger.info("one container's {}: fresh again {} ms after the fault was lifted", fault, millisSince(liftedAt));
    assertThat(client.check("")).isEqualTo("SERVING");
    assertThat(dockerWarningsAbout(sickShortId)).hasSize(1);
  }

  @Test
  void moreEventsThanDockerKeepsWhileCut_modelEqualsDockerAfterRestore() {
    List<String> noisy = IntStream.rangeClosed(1, 10).mapToObj(i -> "noisy-" + i).toList();
    noisy.forEach(DockerFaultsIT::run);
    run("to-stop");
    run("to-pause");
    run("to-remove");
    run("checked", "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1");
    engine.docker("exec", "checked", "touch", "/tmp/ok");
    proxy = DockerProxy.start(engine.socketPath());
    startSidecar(proxy.host(), "--resync-interval=10m");
    await().atMost(SETTLED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.check("checked")).isEqualTo("SERVING");
      assertThat(client.containerStates()).isEqualTo(engine.containerStates());
    });

    proxy.cut();
    await().atMost(SETTLED).until(() -> client.check("").equals("NOT_SERVING"));
    // The real changes first, so that the burst after them pushes them out of Docker's ring.
    engine.docker("stop", "to-stop");
    engine.docker("pause", "to-pause");
    engine.docker("rm", "-f", "to-remove");
    run("born");
    engine.docker("create", "--name", "created", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    engine.docker("exec", "checked", "rm", "/tmp/ok");
    await().atMost(SETTLED).until(() -> engine.docker("inspect", "--format", "{{.State.Health.Status}}", "checked")
        .equals("unhealthy"));
    int rounds = DOCKER_EVENT_RING / noisy.size() + 5;
    for (int round = 0; round < rounds; round++) {
      List<String> kill = new ArrayList<>(List.of("kill", "--signal", "WINCH")); // ignored, but an event each
      kill.addAll(noisy);
      engine.docker(kill.toArray(String[]::new));
    }
    logger.info("event burst: {} kill events after the changes, while the sidecar was cut off", rounds * noisy.size());

    long restoredAt = System.nanoTime();
    proxy.restore();
    await().atMost(SETTLED).untilAsserted(() -> {
      assertThat(client.check("")).isEqualTo("SERVING");
      assertThat(client.containerStates()).isEqualTo(engine.containerStates());
    });
    logger.info("event burst: model equal to Docker's {} ms after the connection came back", millisSince(restoredAt));
    assertThat(client.listContainers().getContainersList()).noneMatch(c -> c.getStale());
    assertThat(client.check("to-stop")).isEqualTo("NOT_SERVING");
    assertThat(client.check("to-pause")).isEqualTo("NOT_SERVING");
    assertThat(client.check("born")).isEqualTo("SERVING");
    assertThat(client.check("created")).isEqualTo("NOT_SERVING");
    assertThat(client.check("checked")).isEqualTo("NOT_SERVING");
  }
}

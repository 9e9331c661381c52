package io.dockhealth.server.it;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.State;
import io.dockhealth.proto.v1.WatchContainersRequest;
import io.dockhealth.proto.v1.WatchContainersResponse;
import io.dockhealth.server.Main;
import io.dockhealth.server.Sidecar;
import io.dockhealth.testing.DockerApi;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import io.dockhealth.testing.StreamReader;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Clients that stop reading while a real container flips 2,000 times: the server hands each of them
 * at most one message more than it has read (its memory for the stream stays flat), and when it
 * reads again it gets the newest status within two messages.
 *
 * <p>The flips are real Docker changes, pause and unpause of one container through the engine's
 * API on one connection (a CLI process per flip would take minutes). What the server holds is read
 * from its own count of messages handed to gRPC ({@code dockhealth_grpc_messages_sent_total}),
 * exact where heap sizes are noisy. The stuck clients take a receive window smaller than one
 * message, so that nothing waits in their own buffers and all that waits, waits on the server.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SlowWatchIT {
  private static final int FLIPS = 2000;
  private static final String NAME = "flip";
  private static final Pattern SENT = Pattern.compile(
      "dockhealth_grpc_messages_sent_total\\{method=\"([^\"]+)\"} ([0-9.E]+)");
  private static final Pattern TRANSITIONS = Pattern.compile(
      "dockhealth_status_transitions_total\\{from=\"(SERVING|NOT_SERVING)\",to=\"(SERVING|NOT_SERVING)\"} ([0-9.E]+)");

  private static DockerEngine engine;
  private static Sidecar sidecar;
  private static HealthClient reader;
  private static ManagedChannel stuckChannel;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    engine = DockerEngine.start("slow-watch-it");
    engine.docker("run", "-d", "--name", NAME, "--network", "host", DockerEngine.IMAGE, "sleep", "3600");
    sidecar = Sidecar.start(Main.parseConfig("--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
        "--docker-host=" + engine.host(), "--drain-period=0s"));
    reader = new HealthClient(sidecar.grpcAddress());
    stuckChannel = NettyChannelBuilder.forAddress(sidecar.grpcAddress()).usePlaintext()
        .flowControlWindow(4).build();
    await().atMost(Duration.ofSeconds(30)).until(() -> reader.check(NAME).equals("SERVING"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (stuckChannel != null) {
      stuckChannel.shutdownNow().awaitTermination(5, SECONDS);
    }
    if (reader != null) {
      reader.close();
    }
    if (sidecar != null) {
      sidecar.stop();
    }
    if (engine != null) {
      engine.close();
    }
  }

  private static String metrics() throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + sidecar.httpAddress().getPort() + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  /** Messages the server handed to gRPC to send, by full method name. */
  private static Map<String, Long> sent() throws Exception {
    Map<String, Long> sent = new HashMap<>();
    Matcher m = SENT.matcher(metrics());
    while (m.find()) {
      sent.put(m.group(1), (long) Double.parseDouble(m.group(2)));
    }
    return sent;
  }

  /** Status changes between SERVING and NOT_SERVING the sidecar published, over all names. */
  private static long flipsPublished() throws Exception {
    long flips = 0;
    Matcher m = TRANSITIONS.matcher(metrics());
    while (m.find()) {
      flips += (long) Double.parseDouble(m.group(3));
    }
    return flips;
  }

  @Test
  void clientsThatStopReading_during2000Flips_holdOneMessageEach_thenGetTheNewestWithinTwo() throws Exception {
    String watchMethod = HealthGrpc.getWatchMethod().getFullMethodName();
    String containersMethod = ContainerHealthGrpc.getWatchContainersMethod().getFullMethodName();
    HealthClient.Watch reading = reader.watch(NAME);
    StreamReader<HealthCheckRequest, HealthCheckResponse> watch = new StreamReader<>(stuckChannel,
        HealthGrpc.getWatchMethod(), HealthCheckRequest.newBuilder().setService(NAME).build());
    StreamReader<WatchContainersRequest, WatchContainersResponse> containers = new StreamReader<>(stuckChannel,
        ContainerHealthGrpc.getWatchContainersMethod(), WatchContainersRequest.getDefaultInstance());
    watch.read(1);
    containers.read(1);
    await().atMost(Duration.ofSeconds(10)).until(() ->
        watch.received().size() == 1 && containers.received().size() == 1 && reading.statuses().size() == 1);
    assertThat(sent()).containsEntry(watchMethod, 2L).containsEntry(containersMethod, 1L);
    long flipsBefore = flipsPublished();

    long t0 = System.nanoTime();
    try (DockerApi api = new DockerApi(engine.socketPath())) {
      for (int i = 0; i < FLIPS / 2; i++) {
        api.pause(NAME);
        api.unpause(NAME);
      }
    }
    System.err.printf("SlowWatchIT: %d flips in %.1f s%n", FLIPS, (System.nanoTime() - t0) / 1e9);

    // The reading client follows every change it can; once it has the last, the server is done.
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(reading.last()).isEqualTo("SERVING");
      assertThat(reader.check(NAME)).isEqualTo("SERVING");
    });
    // Each flip changes three names (name, ID, short ID): the sidecar published them, not fewer.
    assertThat(flipsPublished() - flipsBefore).as("status changes published").isGreaterThanOrEqualTo(3L * FLIPS);
    System.err.printf("SlowWatchIT: reader got %d statuses, published changes %d%n", reading.statuses().size(),
        flipsPublished() - flipsBefore);
    // Every message the server handed on went to the reading client, but for at most one more per
    // stuck stream: nothing queued for them.
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Map<String, Long> sent = sent();
      assertThat(sent.get(watchMethod) - reading.statuses().size()).as("Watch messages beyond what was read")
          .isLessThanOrEqualTo(2);
      assertThat(sent.get(containersMethod)).as("WatchContainers messages").isLessThanOrEqualTo(2);
    });

    watch.read(100);
    containers.read(100);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      List<HealthCheckResponse> resumed = watch.received().subList(1, watch.received().size());
      assertThat(resumed).hasSizeBetween(1, 2);
      assertThat(resumed.get(resumed.size() - 1).getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      assertThat(sent().get(watchMethod)).isEqualTo(reading.statuses().size() + watch.received().size());

      assertThat(containers.received().size() - 1).as("WatchContainers messages after reading again").isBetween(1, 2);
      Map<String, Container> view = new HashMap<>();
      for (WatchContainersResponse message : containers.received()) {
        message.getChangedList().forEach(c -> view.put(c.getNames(0), c));
      }
      assertThat(view.get(NAME).getState()).isEqualTo(State.STATE_RUNNING);
      assertThat(sent().get(containersMethod)).isEqualTo(containers.received().size());
    });
    watch.cancel();
    containers.cancel();
    assertThat(reading.end()).isNull();
  }
}

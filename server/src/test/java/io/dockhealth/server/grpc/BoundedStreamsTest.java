package io.dockhealth.server.grpc;

import static io.dockhealth.server.testing.ContainerFixtures.container;
import static io.dockhealth.server.testing.ContainerFixtures.running;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.State;
import io.dockhealth.proto.v1.WatchContainersRequest;
import io.dockhealth.proto.v1.WatchContainersResponse;
import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceRules;
import io.dockhealth.server.net.ListenerSpec;
import io.dockhealth.server.testing.FakeClock;
import io.dockhealth.testing.StreamReader;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Slow readers over a real transport (Netty, loopback TCP), where grpc's readiness and HTTP/2 flow
 * control decide what queues: the in-process transport never queues and cannot show it.
 *
 * <p>The clients here take a receive window smaller than one message. A client's window is its own
 * buffer, which the server cannot see into and which the client fills before anything waits on the
 * server; so the smallest window makes what the server holds, and nothing else, decide what a
 * client that reads again gets.
 */
class BoundedStreamsTest {
  /** Smaller than the smallest Watch message (5 bytes of gRPC framing and 2 of status). */
  static final int CLIENT_WINDOW_BYTES = 4;

  private final FakeClock clock = new FakeClock(Instant.parse("2026-11-23T10:00:00Z"));
  private final Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30),
      Duration.ofSeconds(60), clock, clock);
  private final Metrics metrics = new Metrics();
  private GrpcFrontEnd front;
  private ManagedChannel channel;

  @BeforeEach
  void start() {
    front = new GrpcFrontEnd(ListenerSpec.tcp(new InetSocketAddress("127.0.0.1", 0)), registry, 10, 10, false,
        Exposure.DEFAULT, GrpcLimits.defaults(), metrics);
    front.startAsync().awaitRunning();
    channel = NettyChannelBuilder.forAddress(front.address()).usePlaintext()
        .flowControlWindow(CLIENT_WINDOW_BYTES).build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, SECONDS);
    front.stopAsync().awaitTerminated();
  }

  /** What the server handed to gRPC to send on calls of {@code method}, from its metrics. */
  private long sent(MethodDescriptor<?, ?> method) {
    String text = new String(metrics.scrape(), StandardCharsets.UTF_8);
    Matcher m = Pattern.compile("dockhealth_grpc_messages_sent_total\\{method=\""
        + Pattern.quote(method.getFullMethodName()) + "\"} ([0-9.]+)").matcher(text);
    return m.find() ? (long) Double.parseDouble(m.group(1)) : 0;
  }

  @Test
  void watch_clientThatStopsReading_isSentOneMessageMore_thenTheNewestWhenItReads() {
    ContainerRecord serving = running("web-1");
    ContainerRecord notServing = container("web-1", ContainerState.RUNNING, HealthStatus.UNHEALTHY);
    registry.replaceAll(List.of(serving));
    StreamReader<HealthCheckRequest, HealthCheckResponse> reader = new StreamReader<>(channel, HealthGrpc.getWatchMethod(),
        HealthCheckRequest.newBuilder().setService("web-1").build());
    reader.read(1);
    await().atMost(Duration.ofSeconds(10)).until(() -> reader.received().size() == 1);

    // 10,001 changes, ending NOT_SERVING -> SERVING; the first (NOT_SERVING) enters the transport.
    for (int flip = 0; flip < 10_000; flip++) {
      registry.put(flip % 2 == 0 ? notServing : serving);
    }
    registry.put(notServing);
    registry.put(serving);

    // Before the fix, every change was handed on until 32 KiB waited in the transport.
    assertThat(sent(HealthGrpc.getWatchMethod())).as("messages handed to gRPC while the client did not read")
        .isLessThanOrEqualTo(2);
    reader.read(100);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(reader.received()).extracting(HealthCheckResponse::getStatus)
          .containsExactly(ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVING);
      assertThat(sent(HealthGrpc.getWatchMethod())).isEqualTo(3);
    });
    assertThat(reader.end()).isNull();
  }

  @Test
  void watchContainers_clientThatStopsReading_isSentOneMessageMore_thenOneThatBringsItUpToDate() {
    registry.replaceAll(List.of(running("a"), running("b")));
    StreamReader<WatchContainersRequest, WatchContainersResponse> reader = new StreamReader<>(channel,
        ContainerHealthGrpc.getWatchContainersMethod(), WatchContainersRequest.getDefaultInstance());
    reader.read(1);
    await().atMost(Duration.ofSeconds(10)).until(() -> reader.received().size() == 1);

    for (int i = 0; i < 1000; i++) {
      registry.put(container("c" + i, ContainerState.RUNNING, HealthStatus.NONE));
      registry.put(container(i % 2 == 0 ? "a" : "b", ContainerState.PAUSED, HealthStatus.NONE));
      registry.put(running(i % 2 == 0 ? "a" : "b"));
    }
    registry.put(container("a", ContainerState.EXITED, HealthStatus.NONE));

    assertThat(sent(ContainerHealthGrpc.getWatchContainersMethod()))
        .as("messages handed to gRPC while the client did not read").isLessThanOrEqualTo(2);
    reader.read(100);
    long newest = registry.current().version();
    await().atMost(Duration.ofSeconds(10)).until(() ->
        reader.received().get(reader.received().size() - 1).getVersion() == newest);
    assertThat(reader.received()).hasSizeLessThanOrEqualTo(3);
    Map<String, Container> view = new LinkedHashMap<>();
    for (WatchContainersResponse message : reader.received()) {
      if (message.getReset()) {
        view.clear();
      }
      message.getChangedList().forEach(c -> view.put(c.getNames(0), c));
      message.getRemovedIdsList().forEach(id -> view.values().removeIf(c -> c.getId().equals(id)));
    }
    assertThat(view).hasSize(1002);
    assertThat(view.get("a").getState()).isEqualTo(State.STATE_EXITED);
    assertThat(view.get("b").getState()).isEqualTo(State.STATE_RUNNING);
  }

  @Test
  void shutDown_endsOpenStreamsWithUnavailable_evenOneWhoseClientDoesNotRead() throws Exception {
    registry.replaceAll(List.of(running("web-1")));
    ManagedChannel reading = NettyChannelBuilder.forAddress(front.address()).usePlaintext().build();
    try {
      StreamReader<HealthCheckRequest, HealthCheckResponse> watch = new StreamReader<>(reading, HealthGrpc.getWatchMethod(),
          HealthCheckRequest.newBuilder().setService("web-1").build());
      watch.read(100);
      StreamReader<WatchContainersRequest, WatchContainersResponse> containers = new StreamReader<>(reading,
          ContainerHealthGrpc.getWatchContainersMethod(), WatchContainersRequest.getDefaultInstance());
      containers.read(100);
      StreamReader<HealthCheckRequest, HealthCheckResponse> stuck = new StreamReader<>(channel, HealthGrpc.getWatchMethod(),
          HealthCheckRequest.newBuilder().setService("web-1").build());
      await().atMost(Duration.ofSeconds(10)).until(() ->
          watch.received().size() == 1 && containers.received().size() == 1 && front.openWatches() == 2);

      // The client that does not read must not hold the shutdown up (it throws on a timeout).
      front.stopAsync().awaitTerminated(30, TimeUnit.SECONDS);

      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(watch.end()).as("watch").isNotNull();
        assertThat(containers.end()).as("containers").isNotNull();
      });
      for (Status end : List.of(watch.end(), containers.end())) {
        assertThat(end.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(end.getDescription()).isEqualTo("server shutting down");
      }
      // A client learns how its stream ended after the messages before it: once it reads.
      assertThat(stuck.end()).isNull();
      stuck.read(100);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(stuck.end()).isNotNull());
      assertThat(stuck.end().getCode()).as("cut after the grace").isNotEqualTo(Status.Code.OK);
      assertThat(front.openWatches()).isZero();
      assertThat(front.openContainerWatches()).isZero();
    } finally {
      reading.shutdownNow().awaitTermination(5, SECONDS);
    }
  }
}

package io.dockhealth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceRules;
import io.dockhealth.server.testing.FakeClock;
import io.dockhealth.testing.HealthClient;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Calls counted as the transport ends them, by method and status code. */
class CallMetricsTest {
  private final FakeClock clock = new FakeClock(Instant.parse("2026-11-23T10:00:00Z"));
  private final Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30),
      Duration.ofSeconds(60), clock, clock);
  private final Metrics metrics = new Metrics();
  private Server server;
  private ManagedChannel channel;

  private void start() throws Exception {
    HealthService health = new HealthService(registry, 10, false);
    registry.addListener(health);
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name)
        .directExecutor()
        .addService(health)
        .addStreamTracerFactory(new CallMetrics(metrics, Set.of(HealthGrpc.getCheckMethod().getFullMethodName(),
            HealthGrpc.getWatchMethod().getFullMethodName())))
        .build()
        .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private String scrape() {
    return new String(metrics.scrape(), StandardCharsets.UTF_8);
  }

  @Test
  void everyCall_isCountedOnceByMethodAndCode_aCancelledWatchAsCancelled() throws Exception {
    start();
    HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    stub.check(HealthCheckRequest.newBuilder().setService("").build());
    assertThatThrownBy(() -> stub.check(HealthCheckRequest.newBuilder().setService("nope").build()))
        .isInstanceOf(StatusRuntimeException.class);

    List<HealthCheckResponse> received = new CopyOnWriteArrayList<>();
    Context.CancellableContext watch = Context.current().withCancellation();
    watch.run(() -> HealthGrpc.newStub(channel).watch(HealthCheckRequest.newBuilder().setService("x").build(),
        new StreamObserver<>() {
          @Override
          public void onNext(HealthCheckResponse value) {
            received.add(value);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        }));
    await().atMost(Duration.ofSeconds(5)).until(() -> !received.isEmpty());
    assertThat(scrape()).doesNotContain("dockhealth_grpc_requests_total{code=\"CANCELLED\"");
    watch.cancel(null);

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(scrape())
        .contains("dockhealth_grpc_requests_total{code=\"OK\",method=\"grpc.health.v1.Health/Check\"} 1.0")
        .contains("dockhealth_grpc_requests_total{code=\"NOT_FOUND\",method=\"grpc.health.v1.Health/Check\"} 1.0")
        .contains("dockhealth_grpc_requests_total{code=\"CANCELLED\",method=\"grpc.health.v1.Health/Watch\"} 1.0")
        .contains("dockhealth_grpc_messages_sent_total{method=\"grpc.health.v1.Health/Check\"} 1.0")
        .contains("dockhealth_grpc_messages_sent_total{method=\"grpc.health.v1.Health/Watch\"} 1.0"));
  }

  @Test
  void aMethodTheServerDoesNotHave_isCountedAsUnimplementedUnderOneLabel() throws Exception {
    start();
    HealthClient client = new HealthClient(channel);
    for (String name : List.of("x.Y/Z", "a.B/C")) {
      assertThat(client.raw(name, new byte[0]).getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
    }

    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(scrape())
        .contains("dockhealth_grpc_requests_total{code=\"UNIMPLEMENTED\",method=\"unknown\"} 2.0")
        .doesNotContain("x.Y/Z"));
  }
}

package io.dockhealth.server.metrics;

import static io.dockhealth.server.testing.ContainerFixtures.container;
import static io.dockhealth.server.testing.ContainerFixtures.running;
import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceRules;
import io.dockhealth.server.testing.FakeClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetricsTest {
  private final FakeClock clock = new FakeClock(Instant.parse("2026-11-23T10:00:00Z"));
  private final Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30),
      Duration.ofSeconds(60), clock, clock);
  private final Metrics metrics = new Metrics();

  private String scrape() {
    return new String(metrics.scrape(), StandardCharsets.UTF_8);
  }

  @Test
  void observe_namesByStatusAndTransitions_followTheRegistry() {
    metrics.observe(registry);
    registry.replaceAll(List.of(running("web")));
    // web, its full ID and short ID appear SERVING; "" goes NOT_SERVING -> SERVING.
    assertThat(scrape())
        .contains("dockhealth_services{status=\"SERVING\"} 4.0")
        .contains("dockhealth_services{status=\"NOT_SERVING\"} 0.0")
        .contains("dockhealth_status_transitions_total{from=\"UNKNOWN\",to=\"SERVING\"} 3.0")
        .contains("dockhealth_status_transitions_total{from=\"NOT_SERVING\",to=\"SERVING\"} 1.0")
        .contains("dockhealth_in_sync 1.0")
        .contains("dockhealth_containers 1.0");

    registry.put(container("web", ContainerState.EXITED, HealthStatus.NONE));
    assertThat(scrape())
        .contains("dockhealth_services{status=\"NOT_SERVING\"} 3.0")
        .contains("dockhealth_status_transitions_total{from=\"SERVING\",to=\"NOT_SERVING\"} 3.0")
        .contains("dockhealth_snapshot_version " + registry.current().version() + ".0");
  }

  @Test
  void observe_containersDockerErrsAbout_areCountedStale() {
    metrics.observe(registry);
    registry.replaceAll(List.of(running("web"), running("api")));
    assertThat(scrape()).contains("dockhealth_containers_stale 0.0");

    registry.markStale(running("web").id());

    assertThat(scrape()).contains("dockhealth_containers_stale 1.0").contains("dockhealth_in_sync 1.0");
  }

  @Test
  void docker_countsWhatTheDockerSideReports() {
    metrics.docker().eventReceived("start");
    metrics.docker().eventReceived("start");
    metrics.docker().resynced();
    metrics.docker().reconnected();
    metrics.docker().error();
    assertThat(scrape())
        .contains("dockhealth_docker_events_total{action=\"start\"} 2.0")
        .contains("dockhealth_docker_resyncs_total 1.0")
        .contains("dockhealth_docker_reconnects_total 1.0")
        .contains("dockhealth_docker_errors_total 1.0");
  }

  @Test
  void gauges_areReadAtScrapeTime() {
    int[] open = {2};
    metrics.watchStreams(() -> open[0]);
    assertThat(scrape()).contains("dockhealth_grpc_watch_streams 2.0");
    open[0] = 5;
    assertThat(scrape()).contains("dockhealth_grpc_watch_streams 5.0");
  }

  @Test
  void grpcRequests_byMethodAndCode() {
    metrics.grpcRequests("grpc.health.v1.Health/Check", "NOT_FOUND").inc();
    assertThat(scrape())
        .contains("dockhealth_grpc_requests_total{code=\"NOT_FOUND\",method=\"grpc.health.v1.Health/Check\"} 1.0");
  }
}

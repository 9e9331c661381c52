package io.dockhealth.server.model;

import static io.dockhealth.server.testing.ContainerFixtures.container;
import static io.dockhealth.server.testing.ContainerFixtures.running;
import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.server.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Per-container stale: Docker erring about one container affects that container only. */
class StaleContainerTest {
  private final FakeClock clock = new FakeClock(Instant.parse("2026-11-23T10:00:00Z"));
  private final Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30),
      Duration.ofSeconds(60), clock, clock);
  private final ContainerRecord web = running("web-1");
  private final ContainerRecord api = running("api-1");

  @Test
  void markStale_onlyThatContainerIsStale_keepsItsLastStatusForTheGrace_thenNotServing() {
    registry.replaceAll(List.of(web, api));

    registry.markStale(web.id());

    Snapshot snapshot = registry.current();
    assertThat(snapshot.inSync()).isTrue();
    assertThat(snapshot.status("")).contains(ServingStatus.SERVING);
    assertThat(snapshot.isStale(web.id())).isTrue();
    assertThat(snapshot.isStale(api.id())).isFalse();
    assertThat(snapshot.isStale(snapshot.services().get("web-1"))).isTrue();
    assertThat(snapshot.isStale(snapshot.services().get("web"))).as("its group").isTrue();
    assertThat(snapshot.isStale(snapshot.services().get("api-1"))).isFalse();
    assertThat(snapshot.isStale(snapshot.services().get(""))).isFalse();
    assertThat(snapshot.status("web-1")).contains(ServingStatus.SERVING);

    clock.advance(Duration.ofSeconds(29));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.SERVING);

    clock.advance(Duration.ofSeconds(1));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.NOT_SERVING);
    assertThat(registry.current().status("web")).contains(ServingStatus.NOT_SERVING);
    assertThat(registry.current().status("api-1")).contains(ServingStatus.SERVING);
    assertThat(registry.current().status("")).contains(ServingStatus.SERVING);
    assertThat(registry.current().containers().get(web.id())).as("the last known record").isEqualTo(web);
  }

  @Test
  void put_afterTheGrace_freshAgainWithTheNewStatus() {
    registry.replaceAll(List.of(web));
    registry.markStale(web.id());
    clock.advance(Duration.ofSeconds(30));

    registry.put(web);

    assertThat(registry.current().isStale(web.id())).isFalse();
    assertThat(registry.current().status("web-1")).contains(ServingStatus.SERVING);
  }

  @Test
  void putFromEvent_appliesTheEventButTheContainerStaysStale() {
    registry.replaceAll(List.of(web));
    registry.markStale(web.id());

    registry.putFromEvent(container("web-1", ContainerState.EXITED, HealthStatus.NONE));

    assertThat(registry.current().status("web-1")).contains(ServingStatus.NOT_SERVING);
    assertThat(registry.current().isStale(web.id())).isTrue();
  }

  @Test
  void markStale_again_keepsTheTimeItFirstWentStale() {
    registry.replaceAll(List.of(web));
    registry.markStale(web.id());
    clock.advance(Duration.ofSeconds(20));
    long version = registry.current().version();

    registry.markStale(web.id());

    assertThat(registry.current().version()).as("nothing changed").isEqualTo(version);
    clock.advance(Duration.ofSeconds(10));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.NOT_SERVING);
  }

  @Test
  void replaceAll_withTheContainerStillStale_keepsTheTime_withoutItFreshAgain() {
    registry.replaceAll(List.of(web, api));
    registry.markStale(web.id());
    clock.advance(Duration.ofSeconds(20));

    registry.replaceAll(List.of(web, api), Set.of(web.id()));
    assertThat(registry.current().isStale(web.id())).isTrue();
    clock.advance(Duration.ofSeconds(10));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.NOT_SERVING);

    registry.replaceAll(List.of(web, api));
    assertThat(registry.current().isStale(web.id())).isFalse();
    assertThat(registry.current().status("web-1")).contains(ServingStatus.SERVING);
  }

  @Test
  void replaceAll_withAStaleIdFirstTime_startsItsGraceNow() {
    registry.replaceAll(List.of(web, api), Set.of(web.id()));

    assertThat(registry.current().isStale(web.id())).isTrue();
    assertThat(registry.current().status("web-1")).contains(ServingStatus.SERVING);
    clock.advance(Duration.ofSeconds(30));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.NOT_SERVING);
    assertThat(registry.current().status("api-1")).contains(ServingStatus.SERVING);
  }

  @Test
  void markStale_unknownContainer_changesNothing() {
    registry.replaceAll(List.of(web));
    long version = registry.current().version();

    registry.markStale(api.id());

    assertThat(registry.current().version()).isEqualTo(version);
    assertThat(registry.current().staleContainers()).isEmpty();
  }

  @Test
  void remove_staleContainer_isNoLongerStale() {
    registry.replaceAll(List.of(web));
    registry.markStale(web.id());

    registry.remove(web.id());

    assertThat(registry.current().staleContainers()).isEmpty();
    assertThat(registry.current().status("web-1")).contains(ServingStatus.NOT_SERVING);
  }

  @Test
  void dockerDisconnected_everythingStale_theContainersOwnMarkSurvivesTheReconnect() {
    registry.replaceAll(List.of(web, api));
    registry.markStale(web.id());

    registry.dockerDisconnected();
    assertThat(registry.current().isStale(api.id())).isTrue();

    registry.replaceAll(List.of(web, api), Set.of(web.id()));
    assertThat(registry.current().isStale(api.id())).isFalse();
    assertThat(registry.current().isStale(web.id())).isTrue();
  }
}

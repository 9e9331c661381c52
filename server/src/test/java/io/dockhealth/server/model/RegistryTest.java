package io.dockhealth.server.model;

import static io.dockhealth.server.testing.ContainerFixtures.container;
import static io.dockhealth.server.testing.ContainerFixtures.idOf;
import static io.dockhealth.server.testing.ContainerFixtures.running;
import static io.dockhealth.server.testing.ContainerFixtures.withLabels;
import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.server.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RegistryTest {
  private final FakeClock clock = new FakeClock(Instant.parse("2026-11-23T10:00:00Z"));
  private final Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30),
      Duration.ofSeconds(60), clock, clock);
  private final List<Snapshot> published = new ArrayList<>();
  private final List<Long> versionSteps = new ArrayList<>();

  @BeforeEach
  void listen() {
    registry.addListener((previous, current) -> {
      versionSteps.add(current.version() - previous.version());
      published.add(current);
    });
  }

  @AfterEach
  void everyPublicationIsOneVersionUp() {
    assertThat(versionSteps).allMatch(step -> step == 1L);
  }

  @Test
  void new_hasOnlyTheSidecarNotServing() {
    Snapshot snapshot = registry.current();

    assertThat(snapshot.version()).isZero();
    assertThat(snapshot.inSync()).isFalse();
    assertThat(snapshot.services()).containsOnlyKeys("");
    assertThat(snapshot.status("")).contains(ServingStatus.NOT_SERVING);
  }

  @Test
  void replaceAll_makesSidecarServingAndEveryNameKnown() {
    ContainerRecord web = running("web-1");

    registry.replaceAll(List.of(web));

    Snapshot snapshot = registry.current();
    assertThat(snapshot.inSync()).isTrue();
    assertThat(snapshot.status("")).contains(ServingStatus.SERVING);
    assertThat(snapshot.status("web-1")).contains(ServingStatus.SERVING);
    assertThat(snapshot.status(web.id())).contains(ServingStatus.SERVING);
    assertThat(snapshot.status(web.shortId())).contains(ServingStatus.SERVING);
    assertThat(snapshot.status("web")).contains(ServingStatus.SERVING); // the default name pattern's group
    assertThat(snapshot.status("web-")).isEmpty();
    assertThat(snapshot.namesByContainer().get(web.id())).containsExactly(web.id(), "web-1", web.shortId(), "web");
    assertThat(snapshot.container("web-1")).contains(web);
    assertThat(snapshot.container(web.shortId())).contains(web);
    assertThat(snapshot.container("web")).as("a group is not a container").isEmpty();
  }

  @Test
  void put_changed_publishesNextVersionAtClockTime() {
    registry.replaceAll(List.of(running("web-1")));
    clock.advance(Duration.ofSeconds(7));

    registry.put(container("web-1", ContainerState.RUNNING, HealthStatus.UNHEALTHY));

    assertThat(published).hasSize(2);
    Snapshot snapshot = registry.current();
    assertThat(snapshot.version()).isEqualTo(2);
    assertThat(snapshot.publishedAt()).isEqualTo(Instant.parse("2026-11-23T10:00:07Z"));
    assertThat(snapshot.status("web-1")).contains(ServingStatus.NOT_SERVING);
  }

  @Test
  void put_sameRecordAgain_publishesNothing() {
    registry.replaceAll(List.of(running("web-1")));
    clock.advance(Duration.ofMinutes(1));

    registry.put(running("web-1"));
    registry.replaceAll(List.of(running("web-1")));

    assertThat(published).hasSize(1);
    assertThat(registry.current().version()).isEqualTo(1);
    assertThat(registry.current().publishedAt()).isEqualTo(Instant.parse("2026-11-23T10:00:00Z"));
  }

  @Test
  void put_detailChangeWithoutStatusChange_publishesNewVersion() {
    registry.replaceAll(List.of(running("web-1")));

    ContainerRecord restarted = running("web-1").withOomKilled();
    registry.put(restarted);

    assertThat(published).hasSize(2);
    assertThat(registry.current().container("web-1")).contains(restarted);
    assertThat(registry.current().status("web-1")).contains(ServingStatus.SERVING);
  }

  @Test
  void put_detailChangeWithoutStatusChange_wakesNoHealthListener() {
    List<Long> health = new ArrayList<>();
    registry.addHealthListener((previous, current) -> health.add(current.version()));
    registry.replaceAll(List.of(running("web-1")));

    registry.put(running("web-1").withOomKilled());

    assertThat(published).hasSize(2);
    assertThat(health).containsExactly(registry.current().version() - 1);
  }

  @Test
  void put_statusChange_tellsHealthListenersFirst_withTheLastPublishedAsPrevious() {
    List<String> heard = new ArrayList<>();
    registry.addListener((previous, current) -> heard.add("all " + current.version()));
    registry.addHealthListener((previous, current) -> heard.add(
        "health " + previous.version() + "->" + current.version() + " " + current.status("web-1").orElseThrow()));
    registry.replaceAll(List.of(running("web-1")));
    registry.put(running("web-1").withOomKilled());
    heard.clear();

    registry.put(running("web-1").withOomKilled().withExit(137, Instant.parse("2026-11-23T10:00:01Z"),
        HealthStatus.NONE));

    assertThat(heard).containsExactly("health 2->3 NOT_SERVING", "all 3");
  }

  @Test
  void put_ofOneContainer_givesWhatARebuildGives() {
    ContainerRecord a = withLabels(running("web-1"), Map.of("dockhealth.service", "shop"));
    ContainerRecord b = withLabels(running("web-2"), Map.of("dockhealth.service", "shop", "dockhealth.policy", "all"));
    ContainerRecord c = running("db-1");
    registry.replaceAll(List.of(a, b, c));
    registry.remove(c.id());
    List<ContainerRecord> changes = List.of(
        a.withState(ContainerState.RUNNING, HealthStatus.UNHEALTHY),
        b.withExit(1, Instant.parse("2026-11-23T10:00:01Z"), HealthStatus.NONE),
        a.withState(ContainerState.RUNNING, HealthStatus.HEALTHY),
        b.withStart(Instant.parse("2026-11-23T10:00:02Z"), HealthStatus.NONE),
        b.withOomKilled(),
        withLabels(a, Map.of("dockhealth.service", "cart")),
        c);

    for (ContainerRecord change : changes) {
      registry.put(change);
      Snapshot now = registry.current();
      Snapshot rebuilt = registry.rebuilt();
      assertThat(now.services()).as("after %s", change.name()).isEqualTo(rebuilt.services());
      assertThat(now.services().keySet()).containsExactlyElementsOf(rebuilt.services().keySet());
      assertThat(now.containers()).isEqualTo(rebuilt.containers());
      assertThat(now.containers().keySet()).containsExactlyElementsOf(rebuilt.containers().keySet());
      assertThat(now.namesByContainer()).isEqualTo(rebuilt.namesByContainer());
    }
    assertThat(registry.current().status("shop")).contains(ServingStatus.SERVING);
  }

  @Test
  void removeListener_stopsAHealthListener() {
    List<Long> health = new ArrayList<>();
    SnapshotListener listener = (previous, current) -> health.add(current.version());
    registry.addHealthListener(listener);

    registry.removeListener(listener);
    registry.replaceAll(List.of(running("web-1")));

    assertThat(health).isEmpty();
  }

  @Test
  void remove_namesStayNotServingForForgetAfter_thenUnknown() {
    ContainerRecord web = running("web-1");
    registry.replaceAll(List.of(web));

    registry.remove(web.id());
    registry.remove(idOf("never-there"));

    assertThat(published).hasSize(2);
    Snapshot removed = registry.current();
    assertThat(removed.services()).containsOnlyKeys("", "web-1", web.id(), web.shortId(), "web");
    assertThat(removed.services().values()).filteredOn(e -> !e.name().isEmpty())
        .allMatch(e -> e.status() == ServingStatus.NOT_SERVING);
    assertThat(removed.removed()).containsExactly(web.id());

    clock.advance(Duration.ofSeconds(59));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.NOT_SERVING);
    clock.advance(Duration.ofSeconds(1));
    assertThat(registry.current().services()).containsOnlyKeys("");
    assertThat(registry.current().containers()).isEmpty();
    assertThat(published).hasSize(3);
  }

  @Test
  void dockerDisconnected_sidecarNotServingContainersKeepLastStatus() {
    registry.replaceAll(List.of(running("web-1")));

    registry.dockerDisconnected();
    registry.dockerDisconnected();

    Snapshot snapshot = registry.current();
    assertThat(published).hasSize(2);
    assertThat(snapshot.inSync()).isFalse();
    assertThat(snapshot.status("")).contains(ServingStatus.NOT_SERVING);
    assertThat(snapshot.status("web-1")).contains(ServingStatus.SERVING);
  }

  @Test
  void replaceAll_containersNotInTheNewSetAreRemoved_withTheSameGrace() {
    registry.replaceAll(List.of(running("a"), running("b")));

    registry.replaceAll(List.of(running("b")));

    assertThat(registry.current().status("a")).contains(ServingStatus.NOT_SERVING);
    assertThat(registry.current().status("b")).contains(ServingStatus.SERVING);
    clock.advance(Duration.ofSeconds(60));
    assertThat(registry.current().status("a")).isEmpty();
  }

  @Test
  void enterShutdown_onlyTheSidecarNotServing_namesGoOnFollowingDocker() {
    ContainerRecord web = running("web-1");
    registry.replaceAll(List.of(web));

    registry.enterShutdown();

    Snapshot draining = registry.current();
    assertThat(draining.shuttingDown()).isTrue();
    assertThat(draining.terminal()).isFalse();
    assertThat(draining.status("")).contains(ServingStatus.NOT_SERVING);
    assertThat(draining.status("web-1")).contains(ServingStatus.SERVING);
    assertThat(draining.inSync()).as("still connected to Docker").isTrue();

    registry.put(container("web-1", ContainerState.PAUSED, HealthStatus.NONE));
    registry.put(running("web-2"));
    assertThat(registry.current().status("web-1")).contains(ServingStatus.NOT_SERVING);
    assertThat(registry.current().status("web-2")).contains(ServingStatus.SERVING);

    // A resync does not bring "" back: the sidecar is going.
    registry.replaceAll(List.of(web));
    assertThat(registry.current().status("")).contains(ServingStatus.NOT_SERVING);
    assertThat(registry.current().status("web-1")).contains(ServingStatus.SERVING);
    assertThat(published).hasSize(5);
  }

  @Test
  void enterTerminalState_everyNameNotServingAndLaterWritesIgnored() {
    registry.replaceAll(List.of(running("web-1")));

    registry.enterTerminalState();
    registry.put(running("web-2"));
    registry.replaceAll(List.of(running("web-1")));

    Snapshot snapshot = registry.current();
    assertThat(snapshot.terminal()).isTrue();
    assertThat(snapshot.shuttingDown()).isTrue();
    assertThat(snapshot.services().values()).allMatch(e -> e.status() == ServingStatus.NOT_SERVING);
    assertThat(snapshot.status("web-1")).contains(ServingStatus.NOT_SERVING);
    assertThat(snapshot.status("web-2")).isEmpty();
    assertThat(published).hasSize(2);
    clock.advance(Duration.ofMinutes(5));
    assertThat(published).hasSize(2);
  }

  @Test
  void names_collide_fullIdBeatsNameBeatsShortId() {
    ContainerRecord target = running("target");
    // A container whose name is another container's short ID: Docker resolves a reference by
    // full ID, then name, then ID prefix, and so does dockhealth.
    ContainerRecord impostor = container(target.shortId(), ContainerState.EXITED, HealthStatus.NONE);

    registry.replaceAll(List.of(target, impostor));

    Snapshot snapshot = registry.current();
    assertThat(snapshot.services().get(target.shortId()).containerIds()).containsExactly(impostor.id());
    assertThat(snapshot.status(target.shortId())).contains(ServingStatus.NOT_SERVING);
    assertThat(snapshot.status(target.id())).contains(ServingStatus.SERVING);
    assertThat(snapshot.namesByContainer().get(target.id())).containsExactly(target.id(), "target");
  }

  @Test
  void listener_thatThrows_doesNotStopOthersOrPublishing() {
    List<Long> heard = new ArrayList<>();
    registry.addListener((previous, current) -> {
      throw new IllegalStateException("broken front end");
    });
    registry.addListener((previous, current) -> heard.add(current.version()));

    registry.replaceAll(List.of(running("a")));
    registry.put(container("a", ContainerState.EXITED, HealthStatus.NONE));

    assertThat(heard).containsExactly(1L, 2L);
    assertThat(registry.current().status("a")).isEqualTo(Optional.of(ServingStatus.NOT_SERVING));
  }
}

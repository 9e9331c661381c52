package io.dockhealth.server.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.api.model.Event;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import io.dockhealth.server.model.PortMapping;
import io.dockhealth.server.model.ProbeResult;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link EventUpdates}: what one Docker event says about a container before the inspect that
 * confirms it; and the small helpers of the event loop ({@link Backoff}, {@link NewEvents},
 * {@link DockerSource#since}).
 */
class EventUpdatesTest {
  private static final String ID = "3f4e8b2a9c1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
  private static final Instant CREATED = Instant.parse("2024-03-08T06:00:00Z");
  private static final Instant STARTED = Instant.parse("2024-03-08T06:00:01.5Z");
  private static final Instant FINISHED = Instant.parse("2024-03-08T06:05:00Z");
  /** When the event happened: Docker's timeNano of 1709878217123456789. */
  private static final Instant EVENT_TIME = Instant.ofEpochSecond(1709878217L, 123_456_789);
  /** The attributes Docker sends with a container event, besides the action's own. */
  private static final Map<String, String> ATTRIBUTES = Map.of(
      "image", "nginx:1.25", "name", "web", "com.docker.compose.service", "web");

  // ----- health_status -----

  @ParameterizedTest(name = "{0}: {1} -> {2}")
  @CsvSource({
    "'health_status: healthy', STARTING, HEALTHY",
    "'health_status: healthy', UNHEALTHY, HEALTHY",
    "'health_status: unhealthy', HEALTHY, UNHEALTHY",
    "'health_status: starting', UNHEALTHY, STARTING",
  })
  void apply_healthStatus_setsHealthAndKeepsEverythingElse(String action, HealthStatus before, HealthStatus after) {
    ContainerRecord container = container(ContainerState.RUNNING, before);

    assertThat(EventUpdates.apply(container, action, ATTRIBUTES, EVENT_TIME))
        .contains(container(ContainerState.RUNNING, after));
  }

  @Test
  void apply_healthStatusOnPausedContainer_keepsItPaused() {
    ContainerRecord container = container(ContainerState.PAUSED, HealthStatus.HEALTHY);

    assertThat(EventUpdates.apply(container, "health_status: unhealthy", ATTRIBUTES, EVENT_TIME))
        .contains(container(ContainerState.PAUSED, HealthStatus.UNHEALTHY));
  }

  // ----- start, restart -----

  @ParameterizedTest(name = "{0} of a container with health {1} -> {2}")
  @CsvSource({
    "start, UNHEALTHY, STARTING",
    "restart, UNHEALTHY, STARTING",
    "start, HEALTHY, STARTING",
    "restart, HEALTHY, STARTING",
    "start, NONE, NONE",
    "restart, NONE, NONE",
  })
  void apply_startOrRestart_isRunningFromEventTimeWithHealthcheckStartingAgain(
      String action, HealthStatus before, HealthStatus after) {
    ContainerRecord exited = new ContainerRecord(ID, "web", "nginx:1.25", "nginx -g daemon off;", CREATED,
        ContainerState.EXITED, before, 0, probes(), 137, true, Optional.of(STARTED), Optional.of(FINISHED),
        2, ports(), labels());

    ContainerRecord started = EventUpdates.apply(exited, action, ATTRIBUTES, EVENT_TIME).orElseThrow();

    assertThat(started.state()).isEqualTo(ContainerState.RUNNING);
    assertThat(started.health()).isEqualTo(after);
    assertThat(started.startedAt()).contains(EVENT_TIME);
    assertThat(started.oomKilled()).as("Docker clears OOMKilled on start").isFalse();
    assertThat(started)
        .usingRecursiveComparison()
        .ignoringFields("state", "health", "startedAt", "oomKilled", "exitCode")
        .isEqualTo(exited);
  }

  // ----- die -----

  @Test
  void apply_dieWithHealthcheck_isExitedUnhealthyWithExitCodeAndFinishTime() {
    ContainerRecord container = container(ContainerState.RUNNING, HealthStatus.HEALTHY);

    ContainerRecord died = EventUpdates.apply(container, "die", withExitCode("137"), EVENT_TIME).orElseThrow();

    assertThat(died).isEqualTo(new ContainerRecord(ID, "web", "nginx:1.25", "nginx -g daemon off;", CREATED,
        ContainerState.EXITED, HealthStatus.UNHEALTHY, 0, probes(), 137, false, Optional.of(STARTED),
        Optional.of(EVENT_TIME), 0, ports(), labels()));
  }

  @Test
  void apply_dieWithoutHealthcheck_isExitedWithNoHealth() {
    ContainerRecord container = container(ContainerState.RUNNING, HealthStatus.NONE);

    ContainerRecord died = EventUpdates.apply(container, "die", withExitCode("0"), EVENT_TIME).orElseThrow();

    assertThat(died.state()).isEqualTo(ContainerState.EXITED);
    assertThat(died.health()).isEqualTo(HealthStatus.NONE);
    assertThat(died.exitCode()).isZero();
    assertThat(died.finishedAt()).contains(EVENT_TIME);
    assertThat(died.startedAt()).contains(STARTED);
  }

  @Test
  void apply_dieWithoutExitCodeAttribute_keepsTheKnownExitCode() {
    ContainerRecord container = new ContainerRecord(ID, "web", "nginx:1.25", "nginx -g daemon off;", CREATED,
        ContainerState.RUNNING, HealthStatus.NONE, 0, probes(), 3, false, Optional.of(STARTED),
        Optional.empty(), 0, ports(), labels());

    ContainerRecord died = EventUpdates.apply(container, "die", ATTRIBUTES, EVENT_TIME).orElseThrow();

    assertThat(died.state()).isEqualTo(ContainerState.EXITED);
    assertThat(died.exitCode()).isEqualTo(3);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "one", "1.5", "137 ", "99999999999"})
  void apply_dieWithNonIntegerExitCode_throwsNamingTheAttribute(String exitCode) {
    ContainerRecord container = container(ContainerState.RUNNING, HealthStatus.HEALTHY);

    assertThatThrownBy(() -> EventUpdates.apply(container, "die", withExitCode(exitCode), EVENT_TIME))
        .isInstanceOf(DockerAnswerException.class)
        .hasMessageContaining("web")
        .hasMessageContaining("exitCode \"" + exitCode + "\"")
        .hasMessageContaining("expected");
  }

  // ----- events an inspect has overtaken -----

  @Test
  void apply_dieOlderThanTheStartAnInspectShowed_isEmpty() {
    // docker restart: the inspect asked for on kill already found the container running again.
    Instant died = Instant.parse("2024-03-08T06:10:00Z");
    ContainerRecord restarted = new ContainerRecord(ID, "web", "nginx:1.25", "nginx -g daemon off;", CREATED,
        ContainerState.RUNNING, HealthStatus.STARTING, 0, probes(), 0, false,
        Optional.of(died.plusMillis(300)), Optional.of(died), 3, ports(), labels());

    assertThat(EventUpdates.apply(restarted, "die", ATTRIBUTES, died)).isEmpty();
    assertThat(EventUpdates.apply(restarted, "die", ATTRIBUTES, died.plusSeconds(1)))
        .as("a die after the start it knows is news").isPresent();
  }

  @Test
  void apply_startOlderThanTheExitAnInspectShowed_isEmpty() {
    Instant started = Instant.parse("2024-03-08T06:10:00Z");
    ContainerRecord exited = new ContainerRecord(ID, "web", "nginx:1.25", "nginx -g daemon off;", CREATED,
        ContainerState.EXITED, HealthStatus.UNHEALTHY, 0, probes(), 1, false,
        Optional.of(started), Optional.of(started.plusMillis(50)), 0, ports(), labels());

    assertThat(EventUpdates.apply(exited, "start", ATTRIBUTES, started)).isEmpty();
    assertThat(EventUpdates.apply(exited, "restart", ATTRIBUTES, started)).isEmpty();
    assertThat(EventUpdates.apply(exited, "start", ATTRIBUTES, started.plusSeconds(1))).isPresent();
  }

  @Test
  void apply_healthStatusOlderThanAProbeAnInspectShowed_isEmpty() {
    ContainerRecord container = container(ContainerState.RUNNING, HealthStatus.HEALTHY);
    Instant beforeLastProbe = container.probes().get(0).start().minusSeconds(1);

    assertThat(EventUpdates.apply(container, "health_status: unhealthy", ATTRIBUTES, beforeLastProbe)).isEmpty();
  }

  // ----- pause, unpause, oom -----

  @Test
  void apply_pause_isPausedKeepingHealth() {
    ContainerRecord container = container(ContainerState.RUNNING, HealthStatus.HEALTHY);

    assertThat(EventUpdates.apply(container, "pause", ATTRIBUTES, EVENT_TIME))
        .contains(container(ContainerState.PAUSED, HealthStatus.HEALTHY));
  }

  @Test
  void apply_unpause_isRunningKeepingHealth() {
    ContainerRecord container = container(ContainerState.PAUSED, HealthStatus.HEALTHY);

    assertThat(EventUpdates.apply(container, "unpause", ATTRIBUTES, EVENT_TIME))
        .contains(container(ContainerState.RUNNING, HealthStatus.HEALTHY));
  }

  @Test
  void apply_oom_marksOomKilledAndChangesNothingElse() {
    ContainerRecord container = container(ContainerState.RUNNING, HealthStatus.HEALTHY);

    ContainerRecord killed = EventUpdates.apply(container, "oom", ATTRIBUTES, EVENT_TIME).orElseThrow();

    assertThat(killed.oomKilled()).isTrue();
    assertThat(killed).usingRecursiveComparison().ignoringFields("oomKilled").isEqualTo(container);
  }

  // ----- actions that need an inspect -----

  @ParameterizedTest
  @ValueSource(strings = {"create", "rename", "update", "stop", "kill", "destroy", "exec_start: sh -c true"})
  void apply_actionThatSaysNothingCertain_isEmpty(String action) {
    ContainerRecord container = container(ContainerState.RUNNING, HealthStatus.HEALTHY);

    assertThat(EventUpdates.apply(container, action, withExitCode("0"), EVENT_TIME)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"start", "restart", "die", "pause", "unpause", "oom", "health_status"})
  void actions_includeEveryActionThatApplyFollows(String action) {
    assertThat(EventUpdates.ACTIONS).contains(action);
  }

  // ----- Backoff -----

  @Test
  void backoff_next_doublesUpToMaxThenStaysThere() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1));

    assertThat(Stream.generate(backoff::next).limit(6))
        .containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400),
            Duration.ofMillis(800), Duration.ofSeconds(1), Duration.ofSeconds(1));
  }

  @Test
  void backoff_reset_startsAgainFromInitial() {
    Backoff backoff = new Backoff(Duration.ofMillis(250), Duration.ofSeconds(30));
    backoff.next();
    backoff.next();
    backoff.next();

    backoff.reset();

    assertThat(backoff.next()).isEqualTo(Duration.ofMillis(250));
    assertThat(backoff.next()).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void backoff_maxEqualToInitial_neverGrows() {
    Backoff backoff = new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(2));

    assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(2));
    assertThat(backoff.next()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void backoff_badArguments_areRejectedSayingWhatWasExpected() {
    assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("initial")
        .hasMessageContaining("expected");
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max")
        .hasMessageContaining("expected");
  }

  // ----- NewEvents -----

  /** Counts what it is told, as the metrics would. */
  private static final class CountingStats implements DockerStats {
    final List<String> events = new ArrayList<>();

    @Override
    public void eventReceived(String action) {
      events.add(action);
    }
  }

  @Test
  void newEvents_sameEventTwice_admittedAndCountedOnce() {
    CountingStats stats = new CountingStats();
    NewEvents events = new NewEvents(16, stats);

    assertThat(events.admit(event(1709878217123456789L, "die"), ID)).isTrue();
    assertThat(events.admit(event(1709878217123456789L, "die"), ID)).isFalse();

    assertThat(stats.events).containsExactly("die");
  }

  @Test
  void newEvents_replayAfterResume_countsOnlyTheEventsNotSeenBefore() {
    CountingStats stats = new CountingStats();
    NewEvents events = new NewEvents(1024, stats);
    events.admit(event(1_000L, "create"), ID);
    events.admit(event(2_000L, "start"), ID);

    // Resumed with since=2000: Docker sends the event at that instant again, then the new ones.
    for (Event replayed : List.of(event(2_000L, "start"), event(3_000L, "health_status: healthy"),
        event(4_000L, "pause"))) {
      events.admit(replayed, ID);
    }

    assertThat(stats.events).containsExactly("create", "start", "health_status", "pause");
  }

  @Test
  void newEvents_eventsDifferingInTimeActionOrContainer_areAllNew() {
    CountingStats stats = new CountingStats();
    NewEvents events = new NewEvents(16, stats);
    String otherId = "0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c";

    assertThat(events.admit(event(1709878217123456789L, "die"), ID)).isTrue();
    assertThat(events.admit(event(1709878217123456790L, "die"), ID)).isTrue();
    assertThat(events.admit(event(1709878217123456789L, "stop"), ID)).isTrue();
    assertThat(events.admit(event(1709878217123456789L, "die"), otherId)).isTrue();
    assertThat(stats.events).hasSize(4);
  }

  @Test
  void newEvents_withoutTime_cannotBeToldFromARepeat_soAreAllAdmitted() {
    CountingStats stats = new CountingStats();
    NewEvents events = new NewEvents(16, stats);
    Event timeless = new Event("die", ID, "nginx:1.25", null).withAction("die");

    assertThat(events.admit(timeless, ID)).isTrue();
    assertThat(events.admit(timeless, ID)).isTrue();
  }

  @Test
  void newEvents_afterCapacityPlusOneEvents_forgetsTheFirst() {
    int capacity = 3;
    NewEvents events = new NewEvents(capacity, DockerStats.NONE);
    for (int i = 0; i <= capacity; i++) {
      assertThat(events.admit(event(1_000L + i, "start"), ID)).as("event %s", i).isTrue();
    }

    // The last `capacity` are still remembered (asking again does not evict anything)...
    for (int i = capacity; i >= 1; i--) {
      assertThat(events.admit(event(1_000L + i, "start"), ID)).as("event %s again", i).isFalse();
    }
    // ...and the first one was forgotten, so memory stays bounded.
    assertThat(events.admit(event(1_000L, "start"), ID)).isTrue();
  }

  // ----- DockerSource.since -----

  @ParameterizedTest
  @CsvSource({
    "1700000000000000005, 1700000000.000000005",
    "1709878217123456789, 1709878217.123456789",
    "1700000000000000000, 1700000000.000000000",
    "999999999, 0.999999999",
    "0, 0.000000000",
  })
  void since_epochNanos_isSecondsWithNineDigitFraction(long epochNanos, String expected) {
    assertThat(DockerSource.since(epochNanos)).isEqualTo(expected);
  }

  // ----- fixtures -----

  private static ContainerRecord container(ContainerState state, HealthStatus health) {
    return new ContainerRecord(ID, "web", "nginx:1.25", "nginx -g daemon off;", CREATED, state, health, 0,
        probes(), 0, false, Optional.of(STARTED), Optional.empty(), 0, ports(), labels());
  }

  private static ImmutableList<ProbeResult> probes() {
    return ImmutableList.of(new ProbeResult(Instant.parse("2024-03-08T06:00:31Z"),
        Instant.parse("2024-03-08T06:00:31.08Z"), 0, "ok\n"));
  }

  private static ImmutableList<PortMapping> ports() {
    return ImmutableList.of(new PortMapping(80, "tcp", "127.0.0.1", 8080));
  }

  private static ImmutableMap<String, String> labels() {
    return ImmutableMap.of("com.docker.compose.service", "web");
  }

  private static Map<String, String> withExitCode(String exitCode) {
    return ImmutableMap.<String, String>builder().putAll(ATTRIBUTES).put("exitCode", exitCode).buildOrThrow();
  }

  private static Event event(long timeNano, String action) {
    return new Event(action, ID, "nginx:1.25", timeNano / 1_000_000_000L).withTimenano(timeNano).withAction(action);
  }
}

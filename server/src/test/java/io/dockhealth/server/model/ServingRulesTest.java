package io.dockhealth.server.model;

import static io.dockhealth.server.model.ServingStatus.NOT_SERVING;
import static io.dockhealth.server.model.ServingStatus.SERVING;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Every row of the serving-status table in the README and DESIGN.md. */
class ServingRulesTest {
  @ParameterizedTest(name = "running + {0} -> {1}")
  @CsvSource({
    "NONE, SERVING",
    "HEALTHY, SERVING",
    "STARTING, NOT_SERVING",
    "UNHEALTHY, NOT_SERVING",
    "UNKNOWN, NOT_SERVING",
  })
  void servingStatus_running_followsHealth(HealthStatus health, ServingStatus expected) {
    assertThat(ServingRules.servingStatus(ContainerState.RUNNING, health)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} + any health -> NOT_SERVING")
  @EnumSource(value = ContainerState.class, names = "RUNNING", mode = EnumSource.Mode.EXCLUDE)
  void servingStatus_notRunning_isNotServingWhateverTheHealth(ContainerState state) {
    for (HealthStatus health : EnumSet.allOf(HealthStatus.class)) {
      assertThat(ServingRules.servingStatus(state, health)).as("%s/%s", state, health).isEqualTo(NOT_SERVING);
    }
  }

  @ParameterizedTest
  @CsvSource({
    "running, RUNNING", "paused, PAUSED", "restarting, RESTARTING", "removing, REMOVING",
    "created, CREATED", "exited, EXITED", "dead, DEAD", "weird, UNKNOWN", "unknown, UNKNOWN",
  })
  void containerState_fromDocker(String docker, ContainerState expected) {
    assertThat(ContainerState.fromDocker(docker)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource(value = {
    "NULL, NONE", "'', NONE", "none, NONE", "starting, STARTING", "healthy, HEALTHY",
    "unhealthy, UNHEALTHY", "sick, UNKNOWN",
  }, nullValues = "NULL")
  void healthStatus_fromDocker(String docker, HealthStatus expected) {
    assertThat(HealthStatus.fromDocker(docker)).isEqualTo(expected);
  }

  @ParameterizedTest
  @EnumSource(HealthStatus.class)
  void servingStatus_ofRecord_matchesStateAndHealth(HealthStatus health) {
    ContainerRecord container = io.dockhealth.server.testing.ContainerFixtures.container("c", ContainerState.RUNNING, health);
    assertThat(ServingRules.servingStatus(container))
        .isEqualTo(health == HealthStatus.NONE || health == HealthStatus.HEALTHY ? SERVING : NOT_SERVING);
  }
}

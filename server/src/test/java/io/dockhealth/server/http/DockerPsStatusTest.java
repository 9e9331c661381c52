package io.dockhealth.server.http;

import static io.dockhealth.server.testing.ContainerFixtures.container;
import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class DockerPsStatusTest {
  /** The fixture container started at 2026-01-01T00:00:01Z. */
  private static final Instant STARTED = Instant.parse("2026-01-01T00:00:01Z");

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {
    "PT0.5S    | Less than a second",
    "PT1S      | 1 second",
    "PT59S     | 59 seconds",
    "PT60S     | About a minute",
    "PT119S    | About a minute",
    "PT2M      | 2 minutes",
    "PT59M59S  | 59 minutes",
    "PT60M     | About an hour",
    "PT89M     | About an hour",
    "PT90M     | 2 hours",
    "PT47H     | 47 hours",
    "PT48H     | 2 days",
    "P5D       | 5 days",
    "P13D      | 13 days",
    "P14D      | 2 weeks",
    "P59D      | 8 weeks",
    "P60D      | 2 months",
    "P729D     | 24 months",
    "P730D     | 2 years",
    "-PT5S     | Less than a second",
  })
  void humanDuration_followsGoUnits(Duration duration, String expected) {
    assertThat(DockerPsStatus.humanDuration(duration)).isEqualTo(expected);
  }

  @Test
  void of_eachState_readsLikeDockerPs() {
    Instant now = STARTED.plus(Duration.ofDays(5));
    assertThat(DockerPsStatus.of(container("a", ContainerState.RUNNING, HealthStatus.NONE), now))
        .isEqualTo("Up 5 days");
    assertThat(DockerPsStatus.of(container("a", ContainerState.RUNNING, HealthStatus.HEALTHY), now))
        .isEqualTo("Up 5 days (healthy)");
    assertThat(DockerPsStatus.of(container("a", ContainerState.RUNNING, HealthStatus.UNHEALTHY), now))
        .isEqualTo("Up 5 days (unhealthy)");
    assertThat(DockerPsStatus.of(container("a", ContainerState.RUNNING, HealthStatus.STARTING), STARTED.plusSeconds(3)))
        .isEqualTo("Up 3 seconds (health: starting)");
    assertThat(DockerPsStatus.of(container("a", ContainerState.PAUSED, HealthStatus.HEALTHY), now))
        .isEqualTo("Up 5 days (Paused)");
    assertThat(DockerPsStatus.of(container("a", ContainerState.CREATED, HealthStatus.NONE), now)).isEqualTo("Created");
    assertThat(DockerPsStatus.of(container("a", ContainerState.DEAD, HealthStatus.NONE), now)).isEqualTo("Dead");
    assertThat(DockerPsStatus.of(container("a", ContainerState.REMOVING, HealthStatus.NONE), now))
        .isEqualTo("Removal In Progress");

    ContainerRecord exited = container("a", ContainerState.RUNNING, HealthStatus.NONE)
        .withExit(137, now.minus(Duration.ofHours(2)), HealthStatus.NONE);
    assertThat(DockerPsStatus.of(exited, now)).isEqualTo("Exited (137) 2 hours ago");
  }
}

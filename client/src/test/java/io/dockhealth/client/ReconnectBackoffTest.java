package io.dockhealth.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ReconnectBackoffTest {
  @Test
  void delay_growsByTheMultiplier_upToTheMax() {
    ReconnectBackoff backoff = ReconnectBackoff.DEFAULT;
    assertThat(backoff.delay(0, 0.5)).isEqualTo(Duration.ofSeconds(1));
    assertThat(backoff.delay(1, 0.5)).isEqualTo(Duration.ofMillis(1600));
    assertThat(backoff.delay(2, 0.5)).isEqualTo(Duration.ofMillis(2560));
    assertThat(backoff.delay(50, 0.5)).isEqualTo(Duration.ofSeconds(120));
    assertThat(backoff.delay(Integer.MAX_VALUE, 0.5)).isEqualTo(Duration.ofSeconds(120));
  }

  @Test
  void delay_spreadByTheJitter() {
    assertThat(ReconnectBackoff.DEFAULT.delay(0, 0.0)).isEqualTo(Duration.ofMillis(800));
    assertThat(ReconnectBackoff.DEFAULT.delay(0, 0.999999)).isBetween(Duration.ofMillis(1199), Duration.ofMillis(1200));
  }

  @Test
  void badValues_refused() {
    assertThatThrownBy(() -> new ReconnectBackoff(Duration.ZERO, Duration.ofSeconds(1), 2, 0))
        .hasMessage("initial: PT0S (expected: > 0)");
    assertThatThrownBy(() -> new ReconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 0))
        .hasMessage("max: PT1S (expected: >= initial PT2S)");
    assertThatThrownBy(() -> new ReconnectBackoff(Duration.ofSeconds(1), Duration.ofSeconds(1), 0.5, 0))
        .hasMessage("multiplier: 0.5 (expected: >= 1)");
    assertThatThrownBy(() -> new ReconnectBackoff(Duration.ofSeconds(1), Duration.ofSeconds(1), 2, 1.5))
        .hasMessage("jitter: 1.5 (expected: 0 to 1)");
  }
}

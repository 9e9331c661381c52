package io.dockhealth.server.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/** {@link Reconnects}: one warning per outage, and attempts numbered from 1. */
class ReconnectsTest {
  private static final URI HOST = URI.create("unix:///var/run/docker.sock");

  private final Reconnects reconnects = new Reconnects(HOST, new Backoff(Duration.ofMillis(100), Duration.ofMillis(400)));

  @Test
  void lostThenAttemptsFail_oneWarningThenDebugLinesNumberingTheNextAttempt() {
    Reconnects.Plan lost = reconnects.lost("connection refused");
    Reconnects.Plan first = reconnects.attemptFailed("connection refused");
    Reconnects.Plan second = reconnects.attemptFailed("connection refused");

    assertThat(lost.level()).isEqualTo(Level.WARN);
    assertThat(lost.message()).isEqualTo(
        "lost Docker at unix:///var/run/docker.sock (connection refused); reconnecting in 100 ms");
    assertThat(first.level()).isEqualTo(Level.DEBUG);
    assertThat(first.message()).isEqualTo("attempt 1 to reach Docker failed (connection refused); attempt 2 in 200 ms");
    assertThat(second.message()).isEqualTo("attempt 2 to reach Docker failed (connection refused); attempt 3 in 400 ms");
    assertThat(reconnects.connected()).isEqualTo(2);
  }

  @Test
  void firstAttemptAtStartUpFails_warnsOnceAnnouncingAttemptTwo() {
    Reconnects.Plan first = reconnects.attemptFailed("no such file");
    Reconnects.Plan second = reconnects.attemptFailed("no such file");

    assertThat(first.level()).isEqualTo(Level.WARN);
    assertThat(first.message()).isEqualTo("cannot reach Docker at unix:///var/run/docker.sock (no such file);"
        + " attempt 2 in 100 ms, then with backoff up to 400 ms");
    assertThat(second.level()).isEqualTo(Level.DEBUG);
    assertThat(second.message()).startsWith("attempt 2 to reach Docker failed").endsWith("attempt 3 in 200 ms");
  }

  @Test
  void delays_doubleUpToTheMax_andStartOverAfterAConnection() {
    reconnects.lost("x");
    assertThat(reconnects.attemptFailed("x").delay()).isEqualTo(Duration.ofMillis(200));
    assertThat(reconnects.attemptFailed("x").delay()).isEqualTo(Duration.ofMillis(400));
    assertThat(reconnects.attemptFailed("x").delay()).isEqualTo(Duration.ofMillis(400));

    assertThat(reconnects.connected()).isEqualTo(3);
    Reconnects.Plan nextOutage = reconnects.lost("x");

    assertThat(nextOutage.delay()).isEqualTo(Duration.ofMillis(100));
    assertThat(nextOutage.level()).isEqualTo(Level.WARN);
    assertThat(reconnects.connected()).isZero();
  }
}

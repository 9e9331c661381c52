package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkNotNull;

import java.net.URI;
import java.time.Duration;
import org.slf4j.event.Level;

/**
 * The attempts to reach Docker during one outage: when to try again (capped exponential backoff)
 * and what to log. An outage logs one warning, enough to act on; the attempts after it are logged
 * at debug. Attempts are numbered from 1, the first try to connect after Docker was lost (or at
 * start-up), so the line after the first failure announces attempt 2.
 */
final class Reconnects {
  /** When to make the next attempt, and the line to log about the failure that led to it. */
  record Plan(Duration delay, Level level, String message) {}

  private final URI dockerHost;
  private final Backoff backoff;
  private int failedAttempts;
  private boolean warned;

  Reconnects(URI dockerHost, Backoff backoff) {
    this.dockerHost = checkNotNull(dockerHost, "dockerHost");
    this.backoff = checkNotNull(backoff, "backoff");
  }

  /** Docker was lost while connected: an outage begins. */
  Plan lost(String cause) {
    failedAttempts = 0;
    backoff.reset();
    warned = true;
    Duration delay = backoff.next();
    return new Plan(delay, Level.WARN,
        "lost Docker at " + dockerHost + " (" + cause + "); reconnecting in " + delay.toMillis() + " ms");
  }

  /** An attempt to connect failed; the first one at start-up begins an outage. */
  Plan attemptFailed(String cause) {
    failedAttempts++;
    Duration delay = backoff.next();
    String next = "attempt " + (failedAttempts + 1) + " in " + delay.toMillis() + " ms";
    if (!warned) {
      warned = true;
      return new Plan(delay, Level.WARN, "cannot reach Docker at " + dockerHost + " (" + cause + "); " + next
          + ", then with backoff up to " + backoff.max().toMillis() + " ms");
    }
    return new Plan(delay, Level.DEBUG, "attempt " + failedAttempts + " to reach Docker failed (" + cause + "); " + next);
  }

  /**
   * Connected: the outage, if any, is over.
   *
   * @return how many attempts of the outage failed
   */
  int connected() {
    int failed = failedAttempts;
    failedAttempts = 0;
    warned = false;
    backoff.reset();
    return failed;
  }
}

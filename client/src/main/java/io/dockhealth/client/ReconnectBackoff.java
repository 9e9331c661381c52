package io.dockhealth.client;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.time.Duration;

/**
 * How long a broken Watch waits before it tries again: {@code initial}, growing by
 * {@code multiplier} per failed attempt up to {@code max}, each delay spread by ±{@code jitter} so
 * that many clients do not come back at the same instant. The count starts over whenever the
 * server sends a message (gRFC A17).
 *
 * @param initial the delay after the first failure
 * @param max the longest delay
 * @param multiplier the growth per failed attempt, at least 1
 * @param jitter the relative spread, 0 to 1 (0.2 is ±20%)
 */
public record ReconnectBackoff(Duration initial, Duration max, double multiplier, double jitter) {
  /** gRPC's connection backoff: 1 s, ×1.6, at most 120 s, ±20%. */
  public static final ReconnectBackoff DEFAULT =
      new ReconnectBackoff(Duration.ofSeconds(1), Duration.ofSeconds(120), 1.6, 0.2);

  public ReconnectBackoff {
    checkNotNull(initial, "initial");
    checkNotNull(max, "max");
    checkArgument(initial.compareTo(Duration.ZERO) > 0, "initial: %s (expected: > 0)", initial);
    checkArgument(max.compareTo(initial) >= 0, "max: %s (expected: >= initial %s)", max, initial);
    checkArgument(multiplier >= 1, "multiplier: %s (expected: >= 1)", multiplier);
    checkArgument(jitter >= 0 && jitter <= 1, "jitter: %s (expected: 0 to 1)", jitter);
  }

  /**
   * The delay before retry number {@code attempt} (0 for the first retry).
   *
   * @param uniform a random number in [0, 1) choosing where in the jitter band the delay falls
   */
  Duration delay(int attempt, double uniform) {
    checkArgument(attempt >= 0, "attempt: %s (expected: >= 0)", attempt);
    double base = initial.toNanos();
    for (int i = 0; i < attempt && base < max.toNanos(); i++) {
      base *= multiplier;
    }
    base = Math.min(base, max.toNanos());
    double spread = base * jitter * (2 * uniform - 1);
    return Duration.ofNanos(Math.max(0, Math.round(base + spread)));
  }
}

package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkArgument;

import java.time.Duration;

/** Capped exponential backoff: initial, twice that, ... up to max; reset after a success. */
final class Backoff {
  private final Duration initial;
  private final Duration max;
  private Duration next;

  Backoff(Duration initial, Duration max) {
    checkArgument(initial.compareTo(Duration.ZERO) > 0, "initial: %s (expected: > 0)", initial);
    checkArgument(max.compareTo(initial) >= 0, "max: %s (expected: >= initial %s)", max, initial);
    this.initial = initial;
    this.max = max;
    this.next = initial;
  }

  /** The delay before the next attempt; each call doubles the one after, up to max. */
  Duration next() {
    Duration delay = next;
    Duration doubled = next.multipliedBy(2);
    next = doubled.compareTo(max) > 0 ? max : doubled;
    return delay;
  }

  Duration max() {
    return max;
  }

  void reset() {
    next = initial;
  }
}

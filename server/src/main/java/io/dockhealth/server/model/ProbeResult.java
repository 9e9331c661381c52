package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkNotNull;

import java.time.Instant;

/** One run of a container's HEALTHCHECK command, from Docker's {@code State.Health.Log}. */
public record ProbeResult(Instant start, Instant end, int exitCode, String output) {
  public ProbeResult {
    checkNotNull(start, "start");
    checkNotNull(end, "end");
    checkNotNull(output, "output");
  }
}

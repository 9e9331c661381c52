package io.dockhealth.server.api;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

/**
 * What clients may see beyond health. Probe output (a HEALTHCHECK's stdout and stderr) and command
 * lines often carry tokens and passwords; a sidecar reachable from other hosts may serve health
 * alone.
 *
 * @param details {@link Details#FULL}: container detail as well as health; {@link Details#HEALTH}:
 *     health only, no dockhealth.v1, no {@code /v1/containers}, no command lines
 * @param probeOutput whether probe results carry their output; when not, {@code output} is empty
 */
public record Exposure(Details details, boolean probeOutput) {
  /** Everything but probe output: the default. */
  public static final Exposure DEFAULT = new Exposure(Details.FULL, false);

  /** How much the sidecar tells beyond health. */
  public enum Details {
    /** Health, and container detail: dockhealth.v1, {@code /v1/containers}, command lines. */
    FULL,
    /** Health only: grpc.health.v1, {@code /v1/health*}, {@code /healthz}, the drop-in routes without command lines. */
    HEALTH,
  }

  public Exposure {
    checkNotNull(details, "details");
    checkArgument(details == Details.FULL || !probeOutput,
        "probeOutput: true (expected: false with details %s, which shows no probe results)", details);
  }

  /** Whether dockhealth.v1 and {@code /v1/containers} are served. */
  public boolean containerDetail() {
    return details == Details.FULL;
  }

  /** Whether a container's command line is shown (the drop-in routes' {@code command}). */
  public boolean commandLines() {
    return details == Details.FULL;
  }

  /** Why container detail is not served, for the answers that refuse it. */
  public static String containerDetailOff(String what) {
    return what + " is off: this sidecar serves health only (--details=health; expected: --details=full to serve"
        + " container detail)";
  }
}

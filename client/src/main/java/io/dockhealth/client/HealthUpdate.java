package io.dockhealth.client;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import java.time.Instant;

/**
 * A change in the health of a watched service.
 *
 * @param service the watched name ("" is the sidecar itself)
 * @param status the new status. {@code SERVICE_UNKNOWN}: the server does not know the name (yet).
 *     {@code UNKNOWN}: the client lost the stream and does not know; it is reconnecting.
 * @param time when the client learned it, by the client's clock
 * @param error why the status is {@code UNKNOWN}, e.g. {@code UNAVAILABLE: io exception}; "" otherwise
 */
public record HealthUpdate(String service, ServingStatus status, Instant time, String error) {
  public HealthUpdate {
    checkNotNull(service, "service");
    checkNotNull(status, "status");
    checkNotNull(time, "time");
    checkNotNull(error, "error");
    checkArgument(error.isEmpty() || status == ServingStatus.UNKNOWN,
        "error: %s (expected: only with UNKNOWN, not %s)", error, status);
  }
}

package io.dockhealth.server;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;

/**
 * Everything the sidecar is told at start-up.
 *
 * @param grpcAddress where the gRPC server listens
 * @param dockerHost the Docker engine, {@code unix:///path} or {@code tcp://host:port}
 * @param resyncInterval how often every container is re-read from Docker
 * @param drainPeriod how long names stay NOT_SERVING before the server stops, on shutdown
 * @param maxWatchStreams the most Watch streams open at once
 */
public record SidecarConfig(
    InetSocketAddress grpcAddress,
    URI dockerHost,
    Duration resyncInterval,
    Duration drainPeriod,
    int maxWatchStreams) {
  public SidecarConfig {
    checkNotNull(grpcAddress, "grpcAddress");
    checkNotNull(dockerHost, "dockerHost");
    checkArgument(resyncInterval.compareTo(Duration.ZERO) > 0, "resyncInterval: %s (expected: > 0)", resyncInterval);
    checkArgument(!drainPeriod.isNegative(), "drainPeriod: %s (expected: >= 0)", drainPeriod);
    checkArgument(maxWatchStreams > 0, "maxWatchStreams: %s (expected: > 0)", maxWatchStreams);
  }
}

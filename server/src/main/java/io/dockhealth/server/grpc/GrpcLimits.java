package io.dockhealth.server.grpc;

import static com.google.common.base.Preconditions.checkArgument;

import java.time.Duration;

/**
 * What the gRPC server lets clients do.
 *
 * @param maxConnections the most connections held at once (see {@link io.dockhealth.server.net.ConnectionCap})
 * @param maxCallsPerConnection the HTTP/2 MAX_CONCURRENT_STREAMS each connection is given: a client's
 *     calls beyond it wait in the client until one ends
 * @param maxWatchesPerConnection the most Watch and WatchContainers streams one connection may hold,
 *     its share of the server's Watch slots; more fail with RESOURCE_EXHAUSTED
 * @param handshakeTimeout how long a new connection may take to send its HTTP/2 preface and settings
 * @param maxConnectionIdle a connection without a call this long is told to go away (GOAWAY)
 */
public record GrpcLimits(int maxConnections, int maxCallsPerConnection, int maxWatchesPerConnection,
    Duration handshakeTimeout, Duration maxConnectionIdle) {
  public static final int DEFAULT_MAX_CONNECTIONS = 1_000;
  public static final int DEFAULT_MAX_CALLS_PER_CONNECTION = 10_000;
  public static final int DEFAULT_MAX_WATCHES_PER_CONNECTION = 5_000;
  public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_MAX_CONNECTION_IDLE = Duration.ofMinutes(5);

  public GrpcLimits {
    checkArgument(maxConnections > 0, "maxConnections: %s (expected: > 0)", maxConnections);
    checkArgument(maxCallsPerConnection > 0, "maxCallsPerConnection: %s (expected: > 0)", maxCallsPerConnection);
    checkArgument(maxWatchesPerConnection > 0, "maxWatchesPerConnection: %s (expected: > 0)", maxWatchesPerConnection);
    checkArgument(handshakeTimeout.compareTo(Duration.ZERO) > 0, "handshakeTimeout: %s (expected: > 0)",
        handshakeTimeout);
    checkArgument(maxConnectionIdle.compareTo(Duration.ZERO) > 0, "maxConnectionIdle: %s (expected: > 0)",
        maxConnectionIdle);
  }

  /** Every limit at its default. */
  public static GrpcLimits defaults() {
    return new GrpcLimits(DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CALLS_PER_CONNECTION,
        DEFAULT_MAX_WATCHES_PER_CONNECTION, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_CONNECTION_IDLE);
  }

  public GrpcLimits withMaxConnections(int max) {
    return new GrpcLimits(max, maxCallsPerConnection, maxWatchesPerConnection, handshakeTimeout, maxConnectionIdle);
  }
}

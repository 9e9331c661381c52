package io.dockhealth.server;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import io.dockhealth.server.grpc.GrpcLimits;
import io.dockhealth.server.http.HttpFrontEnd;
import io.dockhealth.server.http.HttpLimits;
import io.dockhealth.server.model.ServiceRules;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/**
 * Everything the sidecar is told at start-up. {@link Main#parseConfig} builds one from flags, the
 * way operators and tests alike give it.
 *
 * @param grpcAddress where the gRPC server listens
 * @param dockerHost the Docker engine, {@code unix:///path} or {@code tcp://host:port}
 * @param resyncInterval how often every container is re-read from Docker
 * @param drainPeriod how long names stay NOT_SERVING before the server stops, on shutdown
 * @param maxWatchStreams the most Watch streams open at once
 * @param rules which containers are shown, their service names and how statuses are derived
 * @param staleGrace how long names keep their last status while Docker cannot be reached
 * @param forgetAfter how long a removed container's names stay NOT_SERVING before they are unknown
 * @param serviceFromAuthority whether a request for "" names its service in its authority
 * @param httpAddress where the HTTP gateway listens
 * @param compatPrefix where the gateway's container-healthcheck routes live, or empty for the root
 * @param httpLimits what the HTTP gateway lets a client do: connections, request time, Host names
 * @param grpcLimits what the gRPC server lets a client do: connections, calls and Watch streams per
 *     connection, handshake and idle times
 */
public record SidecarConfig(
    InetSocketAddress grpcAddress,
    URI dockerHost,
    Duration resyncInterval,
    Duration drainPeriod,
    int maxWatchStreams,
    ServiceRules rules,
    Duration staleGrace,
    Duration forgetAfter,
    boolean serviceFromAuthority,
    InetSocketAddress httpAddress,
    String compatPrefix,
    HttpLimits httpLimits,
    GrpcLimits grpcLimits) {
  public SidecarConfig {
    checkNotNull(grpcAddress, "grpcAddress");
    checkNotNull(dockerHost, "dockerHost");
    checkArgument(resyncInterval.compareTo(Duration.ZERO) > 0, "resyncInterval: %s (expected: > 0)", resyncInterval);
    checkArgument(!drainPeriod.isNegative(), "drainPeriod: %s (expected: >= 0)", drainPeriod);
    checkArgument(maxWatchStreams > 0, "maxWatchStreams: %s (expected: > 0)", maxWatchStreams);
    checkNotNull(rules, "rules");
    checkArgument(!staleGrace.isNegative(), "staleGrace: %s (expected: >= 0)", staleGrace);
    checkArgument(!forgetAfter.isNegative(), "forgetAfter: %s (expected: >= 0)", forgetAfter);
    checkNotNull(httpAddress, "httpAddress");
    Optional<String> prefixProblem = HttpFrontEnd.compatPrefixProblem(compatPrefix);
    checkArgument(prefixProblem.isEmpty(), "compatPrefix: %s (expected: %s)", compatPrefix, prefixProblem.orElse(""));
    checkNotNull(httpLimits, "httpLimits");
    checkNotNull(grpcLimits, "grpcLimits");
  }
}

package io.dockhealth.server;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.grpc.GrpcLimits;
import io.dockhealth.server.http.HttpFrontEnd;
import io.dockhealth.server.http.HttpLimits;
import io.dockhealth.server.model.ServiceRules;
import io.dockhealth.server.net.ListenAddress;
import io.dockhealth.server.net.ListenerSecurity;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/**
 * Everything the sidecar is told at start-up. {@link Main#parseConfig} builds one from flags, the
 * way operators and tests alike give it.
 *
 * @param grpcAddress where the gRPC server listens: TCP or a unix socket
 * @param dockerHost the Docker engine, {@code unix:///path} or {@code tcp://host:port}
 * @param resyncInterval how often every container is re-read from Docker
 * @param dockerTimeout how long Docker may take to answer a ping before it counts as hung
 * @param drainPeriod on shutdown, how long the server goes on answering (with "" NOT_SERVING)
 *     before it stops
 * @param maxWatchStreams the most Watch streams open at once
 * @param rules which containers are shown, their service names and how statuses are derived
 * @param staleGrace how long names keep their last status while Docker cannot be reached
 * @param forgetAfter how long a removed container's names stay NOT_SERVING before they are unknown
 * @param serviceFromAuthority whether a request for "" names its service in its authority
 * @param httpAddress where the HTTP gateway listens: TCP or a unix socket
 * @param compatPrefix where the gateway's container-healthcheck routes live, or empty for the root
 * @param maxWatchContainersStreams the most WatchContainers streams open at once
 * @param drainNames whether every name, not only "", turns NOT_SERVING on shutdown
 * @param listenerSecurity who may connect: TLS for TCP listeners, the mode of unix sockets
 * @param exposure what clients see beyond health
 * @param httpLimits what the HTTP gateway lets a client do: connections, request time, Host names
 * @param grpcLimits what the gRPC server lets a client do: connections, calls and Watch streams per
 *     connection, handshake and idle times
 */
public record SidecarConfig(
    ListenAddress grpcAddress,
    URI dockerHost,
    Duration resyncInterval,
    Duration dockerTimeout,
    Duration drainPeriod,
    int maxWatchStreams,
    ServiceRules rules,
    Duration staleGrace,
    Duration forgetAfter,
    boolean serviceFromAuthority,
    ListenAddress httpAddress,
    String compatPrefix,
    int maxWatchContainersStreams,
    boolean drainNames,
    ListenerSecurity listenerSecurity,
    Exposure exposure,
    HttpLimits httpLimits,
    GrpcLimits grpcLimits) {
  public SidecarConfig {
    checkNotNull(grpcAddress, "grpcAddress");
    checkNotNull(dockerHost, "dockerHost");
    checkArgument(resyncInterval.compareTo(Duration.ZERO) > 0, "resyncInterval: %s (expected: > 0)", resyncInterval);
    checkArgument(dockerTimeout.compareTo(Duration.ZERO) > 0, "dockerTimeout: %s (expected: > 0)", dockerTimeout);
    checkArgument(!drainPeriod.isNegative(), "drainPeriod: %s (expected: >= 0)", drainPeriod);
    checkArgument(maxWatchStreams > 0, "maxWatchStreams: %s (expected: > 0)", maxWatchStreams);
    checkNotNull(rules, "rules");
    checkArgument(!staleGrace.isNegative(), "staleGrace: %s (expected: >= 0)", staleGrace);
    checkArgument(!forgetAfter.isNegative(), "forgetAfter: %s (expected: >= 0)", forgetAfter);
    checkNotNull(httpAddress, "httpAddress");
    Optional<String> prefixProblem = HttpFrontEnd.compatPrefixProblem(compatPrefix);
    checkArgument(prefixProblem.isEmpty(), "compatPrefix: %s (expected: %s)", compatPrefix, prefixProblem.orElse(""));
    checkArgument(maxWatchContainersStreams > 0, "maxWatchContainersStreams: %s (expected: > 0)",
        maxWatchContainersStreams);
    checkArgument(!(grpcAddress instanceof ListenAddress.Unix && grpcAddress.equals(httpAddress)),
        "httpAddress: %s (expected: another socket than grpcAddress's)", httpAddress);
    checkNotNull(listenerSecurity, "listenerSecurity");
    checkNotNull(exposure, "exposure");
    checkNotNull(httpLimits, "httpLimits");
    checkNotNull(grpcLimits, "grpcLimits");
  }
}

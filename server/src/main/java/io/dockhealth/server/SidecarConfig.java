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
 * Everything the sidecar is told at start-up, grouped by the part that uses it, each group checked
 * when it is made. {@link Main#parseConfig} builds one from flags, the way operators and tests alike
 * give it.
 *
 * @param docker the Docker engine and how it is read
 * @param model which containers are shown under which names, and how long names outlive what Docker says
 * @param grpc the gRPC server: where it listens, its streams and limits
 * @param http the HTTP gateway: where it listens, its routes and limits
 * @param drain what happens on shutdown
 * @param listenerSecurity who may connect: TLS for TCP listeners, the mode of unix sockets
 * @param exposure what clients see beyond health
 */
public record SidecarConfig(Docker docker, Model model, Grpc grpc, Http http, Drain drain,
    ListenerSecurity listenerSecurity, Exposure exposure) {
  public SidecarConfig {
    checkNotNull(docker, "docker");
    checkNotNull(model, "model");
    checkNotNull(grpc, "grpc");
    checkNotNull(http, "http");
    checkNotNull(drain, "drain");
    checkNotNull(listenerSecurity, "listenerSecurity");
    checkNotNull(exposure, "exposure");
    checkArgument(!(grpc.address() instanceof ListenAddress.Unix && grpc.address().equals(http.address())),
        "http.address: %s (expected: another socket than grpc.address's)", http.address());
  }

  /**
   * @param host the Docker engine, {@code unix:///path} or {@code tcp://host:port}
   * @param resyncInterval how often every container is re-read from Docker
   * @param timeout how long Docker may take to answer a ping before it counts as hung
   */
  public record Docker(URI host, Duration resyncInterval, Duration timeout) {
    public Docker {
      checkNotNull(host, "host");
      checkArgument(resyncInterval.compareTo(Duration.ZERO) > 0, "resyncInterval: %s (expected: > 0)", resyncInterval);
      checkArgument(timeout.compareTo(Duration.ZERO) > 0, "timeout: %s (expected: > 0)", timeout);
    }
  }

  /**
   * @param rules which containers are shown, their service names and how statuses are derived
   * @param staleGrace how long names keep their last status while Docker cannot be reached
   * @param forgetAfter how long a removed container's names stay NOT_SERVING before they are unknown
   */
  public record Model(ServiceRules rules, Duration staleGrace, Duration forgetAfter) {
    public Model {
      checkNotNull(rules, "rules");
      checkArgument(!staleGrace.isNegative(), "staleGrace: %s (expected: >= 0)", staleGrace);
      checkArgument(!forgetAfter.isNegative(), "forgetAfter: %s (expected: >= 0)", forgetAfter);
    }
  }

  /**
   * @param address where the gRPC server listens: TCP or a unix socket
   * @param maxWatchStreams the most Watch streams open at once
   * @param maxWatchContainersStreams the most WatchContainers streams open at once
   * @param serviceFromAuthority whether a request for "" names its service in its authority
   * @param limits what the server lets a client do: connections, calls and Watch streams per
   *     connection, handshake and idle times
   */
  public record Grpc(ListenAddress address, int maxWatchStreams, int maxWatchContainersStreams,
      boolean serviceFromAuthority, GrpcLimits limits) {
    public Grpc {
      checkNotNull(address, "address");
      checkArgument(maxWatchStreams > 0, "maxWatchStreams: %s (expected: > 0)", maxWatchStreams);
      checkArgument(maxWatchContainersStreams > 0, "maxWatchContainersStreams: %s (expected: > 0)",
          maxWatchContainersStreams);
      checkNotNull(limits, "limits");
    }
  }

  /**
   * @param address where the HTTP gateway listens: TCP or a unix socket
   * @param compatPrefix where the container-healthcheck routes live, or empty for the root
   * @param limits what the gateway lets a client do: connections, request time, Host names
   */
  public record Http(ListenAddress address, String compatPrefix, HttpLimits limits) {
    public Http {
      checkNotNull(address, "address");
      Optional<String> prefixProblem = HttpFrontEnd.compatPrefixProblem(compatPrefix);
      checkArgument(prefixProblem.isEmpty(), "compatPrefix: %s (expected: %s)", compatPrefix, prefixProblem.orElse(""));
      checkNotNull(limits, "limits");
    }
  }

  /**
   * @param period on shutdown, how long the server goes on answering (with "" NOT_SERVING) before
   *     it stops
   * @param allNames whether every name, not only "", turns NOT_SERVING meanwhile
   */
  public record Drain(Duration period, boolean allNames) {
    public Drain {
      checkArgument(!period.isNegative(), "period: %s (expected: >= 0)", period);
    }
  }
}

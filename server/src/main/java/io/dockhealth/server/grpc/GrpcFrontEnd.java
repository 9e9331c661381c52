package io.dockhealth.server.grpc;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.util.concurrent.AbstractIdleService;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server: grpc.health.v1.Health, dockhealth.v1.ContainerHealth and server reflection
 * (v1 and v1alpha, for grpcurl), on one TCP address.
 */
public final class GrpcFrontEnd extends AbstractIdleService {
  private static final Logger logger = LoggerFactory.getLogger(GrpcFrontEnd.class);

  /** Requests are a service name at most; anything bigger is refused before it is parsed. */
  private static final int MAX_INBOUND_MESSAGE_BYTES = 16 * 1024;

  /**
   * How long streams ended on shutdown may take to send their status. A client that does not read
   * keeps its stream's status waiting behind what it has not read; after this it is cut.
   */
  private static final Duration STREAM_END_GRACE = Duration.ofSeconds(2);

  private final Registry registry;
  private final HealthService health;
  private final ContainerHealthService containers;
  private final Server server;

  /**
   * @param maxWatchStreams the most grpc.health.v1 Watch streams open at once
   * @param maxWatchContainersStreams the most dockhealth.v1 WatchContainers streams open at once
   * @param metrics counts every call by method and status code
   */
  public GrpcFrontEnd(InetSocketAddress address, Registry registry, int maxWatchStreams,
      int maxWatchContainersStreams, boolean serviceFromAuthority, Metrics metrics) {
    this.registry = checkNotNull(registry, "registry");
    this.health = new HealthService(registry, maxWatchStreams, serviceFromAuthority);
    this.containers = new ContainerHealthService(registry, maxWatchContainersStreams);
    this.server = NettyServerBuilder.forAddress(address)
        // Every handler only reads an immutable snapshot and never blocks, so it runs on the
        // transport thread without a hop to an executor.
        .directExecutor()
        .addService(ServerInterceptors.intercept(MalformedRequests.rejected(health),
            HealthService.authorityInterceptor()))
        .addService(MalformedRequests.rejected(containers))
        .addService(ProtoReflectionServiceV1.newInstance())
        .addService(ProtoReflectionService.newInstance())
        .intercept(new MetricsInterceptor(checkNotNull(metrics, "metrics")))
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        // Watch streams live for hours and are mostly silent: ping to find dead peers behind NAT
        // or a crashed balancer, and let clients ping us (Envoy and grpc clients do, every 10 s
        // or more) without being told they ping too often.
        .keepAliveTime(30, TimeUnit.SECONDS)
        .keepAliveTimeout(10, TimeUnit.SECONDS)
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .build();
  }

  @Override
  protected void startUp() throws Exception {
    registry.addListener(health);
    registry.addListener(containers);
    server.start();
    logger.info("gRPC listening on {}", address());
  }

  /**
   * Stops taking calls (a GOAWAY tells clients to go elsewhere or wait for our successor), then ends
   * every open stream with UNAVAILABLE, a status clients retry, rather than resetting it, which
   * they read as CANCELLED ("I cancelled"). Streams whose clients do not read are cut after
   * {@link #STREAM_END_GRACE}.
   */
  @Override
  protected void shutDown() throws Exception {
    server.shutdown();
    health.endStreams(OpenStreams.SHUTTING_DOWN);
    containers.endStreams(OpenStreams.SHUTTING_DOWN);
    if (!server.awaitTermination(STREAM_END_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    registry.removeListener(health);
    registry.removeListener(containers);
  }

  /** Where the server listens; the real port when it was asked for port 0. */
  public InetSocketAddress address() {
    return (InetSocketAddress) server.getListenSockets().get(0);
  }

  /** Watch streams open now. */
  public int openWatches() {
    return health.openWatches();
  }

  /** WatchContainers streams open now. */
  public int openContainerWatches() {
    return containers.openWatches();
  }
}

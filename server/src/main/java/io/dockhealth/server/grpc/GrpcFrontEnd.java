package io.dockhealth.server.grpc;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.base.Ticker;
import com.google.common.util.concurrent.AbstractIdleService;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.server.logging.ClientFaults;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.net.ConnectionCap;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server: grpc.health.v1.Health, dockhealth.v1.ContainerHealth and server reflection
 * (v1 and v1alpha, for grpcurl), on one TCP address, within {@link GrpcLimits}.
 */
public final class GrpcFrontEnd extends AbstractIdleService {
  private static final Logger logger = LoggerFactory.getLogger(GrpcFrontEnd.class);

  /** Requests are a service name at most; anything bigger is refused before it is parsed. */
  private static final int MAX_INBOUND_MESSAGE_BYTES = 16 * 1024;

  private final Registry registry;
  private final HealthService health;
  private final ContainerHealthService containers;
  private final ConnectionCap cap;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Server server;

  /**
   * @param limits connections, calls and Watch streams per connection, handshake and idle times
   * @param metrics counts every call by method and status code, and the connections
   */
  public GrpcFrontEnd(InetSocketAddress address, Registry registry, int maxWatchStreams,
      boolean serviceFromAuthority, GrpcLimits limits, Metrics metrics) {
    this.registry = checkNotNull(registry, "registry");
    checkNotNull(metrics, "metrics");
    this.health = new HealthService(registry, maxWatchStreams, serviceFromAuthority);
    this.containers = new ContainerHealthService(registry);
    ClientFaults faults = new ClientFaults(logger, Ticker.systemTicker());
    List<ServerServiceDefinition> services = List.of(
        ServerInterceptors.intercept(MalformedRequests.rejected(health, faults), HealthService.authorityInterceptor()),
        MalformedRequests.rejected(containers, faults),
        MalformedRequests.rejected(ProtoReflectionServiceV1.newInstance(), faults),
        MalformedRequests.rejected(ProtoReflectionService.newInstance(), faults));
    Set<String> methods = services.stream()
        .flatMap(service -> service.getMethods().stream())
        .map(method -> method.getMethodDescriptor().getFullMethodName())
        .collect(Collectors.toUnmodifiableSet());
    this.cap = ConnectionCap.forTransport(limits.maxConnections(), GrpcFrontEnd::closeAtTheSocket);
    GrpcConnections connections = new GrpcConnections(cap, limits.maxWatchesPerConnection(), Set.of(
        HealthGrpc.getWatchMethod().getFullMethodName(),
        ContainerHealthGrpc.getWatchContainersMethod().getFullMethodName()));
    this.boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("dockhealth-grpc-accept", true),
        NioIoHandler.newFactory());
    this.workers = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("dockhealth-grpc", true),
        NioIoHandler.newFactory());
    NettyServerBuilder builder = NettyServerBuilder.forAddress(address)
        // Our own listening channel, to put the connection cap in front of grpc-java's acceptor; its
        // event loops must then be ours too.
        .channelFactory(cap.wrap(NioServerSocketChannel::new))
        .bossEventLoopGroup(boss)
        .workerEventLoopGroup(workers)
        // Every handler only reads an immutable snapshot and never blocks, so it runs on the
        // transport thread without a hop to an executor.
        .directExecutor()
        .addTransportFilter(connections)
        .intercept(connections)
        .addStreamTracerFactory(new CallMetrics(metrics, methods))
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .maxConcurrentCallsPerConnection(limits.maxCallsPerConnection())
        // A connection that never finishes its HTTP/2 handshake is closed, as a slow HTTP head is.
        .handshakeTimeout(limits.handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS)
        .maxConnectionIdle(limits.maxConnectionIdle().toNanos(), TimeUnit.NANOSECONDS)
        // No maximum connection age: Watch streams are meant to live for hours, and a per-host
        // sidecar has no pool of servers to rebalance clients across.
        // Watch streams are mostly silent: ping to find dead peers behind NAT or a crashed
        // balancer, and let clients ping us (Envoy and grpc clients do, every 10 s or more)
        // without being told they ping too often.
        .keepAliveTime(30, TimeUnit.SECONDS)
        .keepAliveTimeout(10, TimeUnit.SECONDS)
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true);
    services.forEach(builder::addService);
    this.server = builder.build();
    metrics.grpcConnections(cap::open);
    metrics.connectionCap("grpc", cap::refused, cap::evicted);
  }

  /**
   * Closes a reclaimed connection outright: it has no call open. Below grpc-java's handler, whose
   * close is a graceful GOAWAY and ping that waits up to 10 s for a client that never answers (a
   * silent one), holding the descriptor all along.
   */
  private static void closeAtTheSocket(Channel connection) {
    ChannelHandlerContext first = connection.pipeline().firstContext();
    if (first != null) {
      first.close();
    } else {
      connection.close();
    }
  }

  @Override
  protected void startUp() throws Exception {
    registry.addListener(health);
    registry.addListener(containers);
    try {
      server.start();
    } catch (Exception e) {
      shutDownGroups();
      throw e;
    }
    logger.info("gRPC listening on {}", address());
  }

  @Override
  protected void shutDown() throws Exception {
    server.shutdown();
    // Watch streams never end by themselves; after the drain period they are cut.
    if (!server.awaitTermination(1, TimeUnit.SECONDS)) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    shutDownGroups();
    registry.removeListener(health);
    registry.removeListener(containers);
  }

  private void shutDownGroups() {
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  /** Where the server listens; the real port when it was asked for port 0. */
  public InetSocketAddress address() {
    return (InetSocketAddress) server.getListenSockets().get(0);
  }

  /** Watch streams open now. */
  public int openWatches() {
    return health.openWatches();
  }
}

package io.dockhealth.client.it;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.grpc.HandlerRegistry;
import io.grpc.Server;
import io.grpc.ServerMethodDefinition;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain grpc-java server, for what the sidecar does not offer: none of the health service (to
 * see UNIMPLEMENTED), or a health service on a unix socket. It counts the calls it receives for
 * methods it lacks.
 */
final class BareServer implements AutoCloseable {
  private final Server server;
  private final EventLoopGroup eventLoop; // for a unix socket; null on TCP
  private final AtomicInteger unimplementedCalls;

  private BareServer(Server server, EventLoopGroup eventLoop, AtomicInteger unimplementedCalls) {
    this.server = server;
    this.eventLoop = eventLoop;
    this.unimplementedCalls = unimplementedCalls;
  }

  /** A server on a loopback TCP port without any service: every call is UNIMPLEMENTED. */
  static BareServer withoutHealthService() throws IOException {
    AtomicInteger calls = new AtomicInteger();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
        .fallbackHandlerRegistry(new HandlerRegistry() {
          @Override
          public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
            calls.incrementAndGet();
            return null; // grpc-java answers UNIMPLEMENTED
          }
        })
        .build().start();
    return new BareServer(server, null, calls);
  }

  /** Calls the server received for methods it lacks, so far. */
  int unimplementedCalls() {
    return unimplementedCalls.get();
  }

  /** A health server on a unix socket, answering SERVING for "" and NOT_FOUND otherwise. */
  static BareServer healthOnUnixSocket(Path socket) throws IOException {
    EventLoopGroup eventLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    Server server = NettyServerBuilder.forAddress(UnixDomainSocketAddress.of(socket))
        .channelType(NioServerDomainSocketChannel.class)
        .bossEventLoopGroup(eventLoop)
        .workerEventLoopGroup(eventLoop)
        .addService(new HealthGrpc.HealthImplBase() {
          @Override
          public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
            if (!request.getService().isEmpty()) {
              responseObserver.onError(io.grpc.Status.NOT_FOUND.withDescription("unknown service").asRuntimeException());
              return;
            }
            responseObserver.onNext(HealthCheckResponse.newBuilder().setStatus(ServingStatus.SERVING).build());
            responseObserver.onCompleted();
          }
        })
        .build().start();
    return new BareServer(server, eventLoop, new AtomicInteger());
  }

  String address() {
    return "127.0.0.1:" + server.getPort();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    if (eventLoop != null) {
      eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
  }
}

package io.dockhealth.client.probe;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.health.v1.HealthListRequest;
import io.dockhealth.proto.health.v1.HealthListResponse;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A small health server on a real loopback TCP port, for the probe's own tests (the sidecar itself
 * is run in the integration tests): Check and List answer from a map, Watch sends the status and
 * then each {@link #set}. "hang" is never answered.
 */
final class LocalHealthServer implements AutoCloseable {
  final Map<String, ServingStatus> statuses = new ConcurrentHashMap<>();
  final List<Metadata> headers = new CopyOnWriteArrayList<>();
  private final Map<String, List<StreamObserver<HealthCheckResponse>>> watchers = new ConcurrentHashMap<>();
  private final Server server;

  /** With the health service, or (false) a server that has none: every call is UNIMPLEMENTED. */
  LocalHealthServer(boolean withHealthService) throws IOException {
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    if (withHealthService) {
      builder.addService(ServerInterceptors.intercept(new Service(), new ServerInterceptor() {
        @Override
        public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
            Metadata requestHeaders, ServerCallHandler<ReqT, RespT> next) {
          headers.add(requestHeaders);
          return next.startCall(call, requestHeaders);
        }
      }));
    }
    server = builder.build().start();
  }

  String address() {
    return "127.0.0.1:" + server.getPort();
  }

  int port() {
    return server.getPort();
  }

  /** Changes a status and tells its watchers. */
  void set(String service, ServingStatus status) {
    statuses.put(service, status);
    watchers.getOrDefault(service, List.of()).forEach(w -> w.onNext(response(status)));
  }

  private static HealthCheckResponse response(ServingStatus status) {
    return HealthCheckResponse.newBuilder().setStatus(status).build();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private final class Service extends HealthGrpc.HealthImplBase {
    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
      if (request.getService().equals("hang")) {
        return;
      }
      ServingStatus status = statuses.get(request.getService());
      if (status == null) {
        responseObserver.onError(Status.NOT_FOUND
            .withDescription("unknown service \"" + request.getService() + "\"").asRuntimeException());
        return;
      }
      responseObserver.onNext(response(status));
      responseObserver.onCompleted();
    }

    @Override
    public void list(HealthListRequest request, StreamObserver<HealthListResponse> responseObserver) {
      HealthListResponse.Builder response = HealthListResponse.newBuilder();
      statuses.forEach((name, status) -> response.putStatuses(name, response(status)));
      responseObserver.onNext(response.build());
      responseObserver.onCompleted();
    }

    @Override
    public void watch(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
      watchers.computeIfAbsent(request.getService(), s -> new CopyOnWriteArrayList<>()).add(responseObserver);
      responseObserver.onNext(response(statuses.getOrDefault(request.getService(), ServingStatus.SERVICE_UNKNOWN)));
    }
  }
}

package io.dockhealth.client;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.health.v1.HealthListRequest;
import io.dockhealth.proto.health.v1.HealthListResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An in-process health server the test drives by hand: Check answers from a map, and each Watch
 * stream is kept so the test can send on it and end it. Everything runs on the calling thread.
 */
final class FakeHealthServer implements AutoCloseable {
  /** The name Check never answers for. */
  static final String HANG = "hang";
  final Map<String, ServingStatus> statuses = new ConcurrentHashMap<>();
  /** Every Watch stream opened, oldest first. */
  final List<StreamObserver<HealthCheckResponse>> watches = new CopyOnWriteArrayList<>();
  /** The headers of every call. */
  final List<Metadata> headers = new CopyOnWriteArrayList<>();
  private final String name = InProcessServerBuilder.generateName();
  private final Server server;

  FakeHealthServer(boolean withHealthService) throws IOException {
    InProcessServerBuilder builder = InProcessServerBuilder.forName(name).directExecutor();
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

  ManagedChannel channel() {
    return InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  /** The newest Watch stream. */
  StreamObserver<HealthCheckResponse> lastWatch() {
    return watches.get(watches.size() - 1);
  }

  static HealthCheckResponse response(ServingStatus status) {
    return HealthCheckResponse.newBuilder().setStatus(status).build();
  }

  @Override
  public void close() {
    server.shutdownNow();
  }

  private final class Service extends HealthGrpc.HealthImplBase {
    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
      if (request.getService().equals(HANG)) {
        return; // never answers
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
      statuses.forEach((service, status) -> response.putStatuses(service, response(status)));
      responseObserver.onNext(response.build());
      responseObserver.onCompleted();
    }

    @Override
    public void watch(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
      watches.add(responseObserver);
    }
  }
}

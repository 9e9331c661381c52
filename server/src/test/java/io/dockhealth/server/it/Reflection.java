package io.dockhealth.server.it;

import io.grpc.ManagedChannel;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Server reflection (v1) as grpcurl asks it: one request on a stream of its own, with a deadline. */
final class Reflection {
  private Reflection() {}

  /** The services the server lists. */
  static List<String> services(ManagedChannel channel) throws Exception {
    return ask(channel, ServerReflectionRequest.newBuilder().setListServices("").build())
        .getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList();
  }

  /** The server's answer to {@code request}. */
  static ServerReflectionResponse ask(ManagedChannel channel, ServerReflectionRequest request) throws Exception {
    CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse value) {
            answer.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            answer.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    requests.onNext(request);
    requests.onCompleted();
    return answer.get(5, TimeUnit.SECONDS);
  }
}

package io.dockhealth.server.grpc;

import io.dockhealth.server.metrics.Metrics;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Counts every call by method and status code once it ends, and the messages sent on it. A call the
 * client cancels (how a Watch usually ends) is never closed by the server, so it is counted as
 * CANCELLED when grpc reports the cancellation.
 */
final class MetricsInterceptor implements ServerInterceptor {
  private final Metrics metrics;

  MetricsInterceptor(Metrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    AtomicBoolean counted = new AtomicBoolean();
    CounterDataPoint sent = metrics.grpcMessagesSent(method);
    ServerCall<Q, R> counting = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void sendMessage(R message) {
        sent.inc();
        super.sendMessage(message);
      }

      @Override
      public void close(Status status, Metadata trailers) {
        if (counted.compareAndSet(false, true)) {
          metrics.grpcRequest(method, status.getCode().name());
        }
        super.close(status, trailers);
      }
    };
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(counting, headers)) {
      @Override
      public void onCancel() {
        if (counted.compareAndSet(false, true)) {
          metrics.grpcRequest(method, Status.Code.CANCELLED.name());
        }
        super.onCancel();
      }
    };
  }
}

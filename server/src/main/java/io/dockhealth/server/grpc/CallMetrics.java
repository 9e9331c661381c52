package io.dockhealth.server.grpc;

import com.google.common.collect.ImmutableSet;
import io.dockhealth.server.metrics.Metrics;
import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.util.Set;

/**
 * Counts every call by method and status code once it ends, as the transport ends it: calls the
 * client cancels (how a Watch usually ends) as CANCELLED, a message over the size limit as
 * RESOURCE_EXHAUSTED, a request for a method the server does not have as UNIMPLEMENTED (under
 * {@value #UNKNOWN_METHOD}, so clients cannot add label values). It also counts the messages sent
 * on each call, as they are handed to the transport (grpc frames a message as the call sends it).
 */
final class CallMetrics extends ServerStreamTracer.Factory {
  /** The method label of a call to a method the server does not have. */
  static final String UNKNOWN_METHOD = "unknown";

  private final Metrics metrics;
  private final ImmutableSet<String> methods;

  /** @param methods the full names of the methods the server has */
  CallMetrics(Metrics metrics, Set<String> methods) {
    this.metrics = metrics;
    this.methods = ImmutableSet.copyOf(methods);
  }

  @Override
  public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
    String method = methods.contains(fullMethodName) ? fullMethodName : UNKNOWN_METHOD;
    CounterDataPoint sent = metrics.grpcMessagesSent(method);
    return new ServerStreamTracer() {
      @Override
      public void outboundMessage(int seqNo) {
        sent.inc();
      }

      @Override
      public void streamClosed(Status status) {
        metrics.grpcRequest(method, status.getCode().name());
      }
    };
  }
}

package io.dockhealth.server.grpc;

import com.google.common.base.Supplier;
import com.google.common.base.Suppliers;
import com.google.common.collect.ImmutableMap;
import io.dockhealth.server.metrics.Metrics;
import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.Stream;

/**
 * Counts every call by method and status code once it ends, as the transport ends it: calls the
 * client cancels (how a Watch usually ends) as CANCELLED, a message over the size limit as
 * RESOURCE_EXHAUSTED, a request for a method the server does not have as UNIMPLEMENTED (under
 * {@value #UNKNOWN_METHOD}, so clients cannot add label values). It also counts the messages sent
 * on each call, as they are handed to the transport (grpc frames a message as the call sends it).
 *
 * <p>Each counter is looked up by its labels once, when it is first needed, and kept: a call then
 * costs no label lookup.
 */
final class CallMetrics extends ServerStreamTracer.Factory {
  /** The method label of a call to a method the server does not have. */
  static final String UNKNOWN_METHOD = "unknown";

  private final ImmutableMap<String, MethodCounters> byMethod;
  private final MethodCounters unknown;

  /** @param methods the full names of the methods the server has */
  CallMetrics(Metrics metrics, Set<String> methods) {
    this.byMethod = Stream.concat(methods.stream(), Stream.of(UNKNOWN_METHOD)).distinct()
        .collect(ImmutableMap.toImmutableMap(method -> method, method -> new MethodCounters(metrics, method)));
    this.unknown = byMethod.get(UNKNOWN_METHOD);
  }

  /** The method's tracer, shared by its calls: it counts into the method's counters and holds nothing of a call. */
  @Override
  public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
    return byMethod.getOrDefault(fullMethodName, unknown).started();
  }

  /** One method's counters, each taken from {@link Metrics} when first needed. */
  private static final class MethodCounters extends ServerStreamTracer {
    private final Metrics metrics;
    private final String method;
    private final Supplier<CounterDataPoint> sent;
    private final AtomicReferenceArray<CounterDataPoint> endedByCode =
        new AtomicReferenceArray<>(Status.Code.values().length);

    MethodCounters(Metrics metrics, String method) {
      this.metrics = metrics;
      this.method = method;
      this.sent = Suppliers.memoize(() -> metrics.grpcMessagesSent(method));
    }

    /** A call of the method started: its messages-sent series exists from now on, at 0 if need be. */
    MethodCounters started() {
      sent.get();
      return this;
    }

    @Override
    public void outboundMessage(int seqNo) {
      sent.get().inc();
    }

    @Override
    public void streamClosed(Status status) {
      CounterDataPoint ended = endedByCode.get(status.getCode().ordinal());
      if (ended == null) {
        // Two calls ending at once may both look it up: the metrics hand out one data point per labels.
        ended = metrics.grpcRequests(method, status.getCode().name());
        endedByCode.set(status.getCode().ordinal(), ended);
      }
      ended.inc();
    }
  }
}

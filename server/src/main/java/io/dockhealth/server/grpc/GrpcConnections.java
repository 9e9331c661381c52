package io.dockhealth.server.grpc;

import com.google.common.collect.ImmutableSet;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.dockhealth.server.net.ConnectionCap;
import io.grpc.Attributes;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import javax.annotation.Nullable;

/**
 * Each gRPC connection's calls, seen from the {@link ConnectionCap}: a connection that has finished
 * its HTTP/2 handshake and has no call open is {@link ConnectionCap.State#IDLE}, one with a call
 * open is {@link ConnectionCap.State#BUSY} and never reclaimed; before the handshake it is
 * {@link ConnectionCap.State#FRESH}. It also gives each connection its share of Watch slots, so
 * that one client cannot take all of {@code --max-watch-streams}.
 *
 * <p>grpc-java tells a transport filter about a connection by its attributes, not its channel: the
 * slot is found by the remote address object in them, which is the channel's own (see
 * {@link ConnectionCap#slotFrom}), so TCP and unix-socket connections alike are told apart. A
 * connection whose slot is not found (one already closing) goes on uncounted.
 */
final class GrpcConnections extends ServerTransportFilter implements ServerInterceptor {
  private static final Attributes.Key<Connection> CONNECTION = Attributes.Key.create("dockhealth-connection");

  private final ConnectionCap cap;
  private final int maxWatchesPerConnection;
  private final ImmutableSet<String> watchMethods;

  /** @param watchMethods the full names of the methods whose calls take a Watch slot */
  GrpcConnections(ConnectionCap cap, int maxWatchesPerConnection, Set<String> watchMethods) {
    this.cap = cap;
    this.maxWatchesPerConnection = maxWatchesPerConnection;
    this.watchMethods = ImmutableSet.copyOf(watchMethods);
  }

  @Override
  public Attributes transportReady(Attributes attributes) {
    ConnectionCap.Slot slot = cap.slotFrom(attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)).orElse(null);
    if (slot == null) {
      return attributes;
    }
    slot.enter(ConnectionCap.State.IDLE);
    return attributes.toBuilder().set(CONNECTION, new Connection(slot)).build();
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    Connection connection = call.getAttributes().get(CONNECTION);
    if (connection == null) {
      return next.startCall(call, headers);
    }
    boolean watch = watchMethods.contains(call.getMethodDescriptor().getFullMethodName());
    Status refused = connection.start(watch, maxWatchesPerConnection);
    if (refused != null) {
      call.close(refused, new Metadata());
      return new ServerCall.Listener<>() {};
    }
    CountedCall<Q, R> counted = new CountedCall<>(call, connection, watch);
    return new SimpleForwardingServerCallListener<>(next.startCall(counted, headers)) {
      @Override
      public void onCancel() {
        counted.end();
        super.onCancel();
      }

      @Override
      public void onComplete() {
        counted.end();
        super.onComplete();
      }
    };
  }

  /**
   * A call counted on its connection until it ends: when the server closes it, or the transport
   * reports it complete or cancelled, whichever comes first. One object per call, with the flag in
   * it, since Watch streams live for hours by the hundred thousand.
   */
  private static final class CountedCall<Q, R> extends SimpleForwardingServerCall<Q, R> {
    @SuppressWarnings("rawtypes") // a field updater's class cannot be a parameterized type
    private static final AtomicIntegerFieldUpdater<CountedCall> ENDED =
        AtomicIntegerFieldUpdater.newUpdater(CountedCall.class, "ended");

    private final Connection connection;
    private final boolean watch;
    private volatile int ended;

    CountedCall(ServerCall<Q, R> call, Connection connection, boolean watch) {
      super(call);
      this.connection = connection;
      this.watch = watch;
    }

    void end() {
      if (ENDED.compareAndSet(this, 0, 1)) {
        connection.end(watch);
      }
    }

    @Override
    public void close(Status status, Metadata trailers) {
      end();
      super.close(status, trailers);
    }
  }

  /** One connection's open calls and Watch streams. */
  private static final class Connection {
    private final ConnectionCap.Slot slot;

    @GuardedBy("this")
    private int calls;

    @GuardedBy("this")
    private int watches;

    Connection(ConnectionCap.Slot slot) {
      this.slot = slot;
    }

    /** Counts a call in; the status to refuse it with, or null. */
    @Nullable
    synchronized Status start(boolean watch, int maxWatches) {
      if (watch && watches >= maxWatches) {
        return Status.RESOURCE_EXHAUSTED.withDescription("this connection has " + watches + " Watch streams open,"
            + " its share of the server's (--max-watch-streams-per-connection); close some, or watch over"
            + " another connection");
      }
      if (calls == 0 && !slot.enter(ConnectionCap.State.BUSY)) {
        return Status.UNAVAILABLE.withDescription("connection closed to make room for newer ones; reconnect");
      }
      calls++;
      if (watch) {
        watches++;
      }
      return null;
    }

    synchronized void end(boolean watch) {
      calls--;
      if (watch) {
        watches--;
      }
      if (calls == 0) {
        slot.enter(ConnectionCap.State.IDLE);
      }
    }
  }
}

package io.dockhealth.server.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.jspecify.annotations.Nullable;

/**
 * Feeds a server stream the newest state only. It sends one message at a time and leaves the news
 * where it is until the transport has written that message out, so a client that stops reading
 * costs the server one message in the transport and one pending value, never a queue; when the
 * client reads again it gets that message, then the newest.
 *
 * <p>grpc's {@code isReady()} alone does not give that bound: it stays true until 32 KiB wait in
 * the transport, about 4,600 Watch messages, which a stuck client would then read oldest first. So
 * the stream's on-ready threshold is set to {@value #ON_READY_THRESHOLD_BYTES} byte: the stream is
 * ready only while nothing it sent waits in the transport (grpc-java's
 * {@code AbstractStream.TransportState}: ready while queued bytes are under the threshold, queued
 * bytes falling when Netty has written a frame to the socket, which HTTP/2 flow control holds back
 * once the client's receive window is full).
 *
 * <p>{@link #drain()} and {@link #end} may be called from any thread, as often as wanted; calls to
 * the observer never overlap and no lock is held (the classic work-in-progress counter: whoever
 * raises it from zero works for everyone).
 */
abstract class LatestOnlySender<M> implements Runnable {
  /** Ready only when nothing sent waits in the transport: the smallest threshold grpc accepts. */
  static final int ON_READY_THRESHOLD_BYTES = 1;

  @SuppressWarnings("rawtypes") // a field updater's class cannot be a parameterized type
  private static final AtomicIntegerFieldUpdater<LatestOnlySender> WIP =
      AtomicIntegerFieldUpdater.newUpdater(LatestOnlySender.class, "wip");

  // A stream costs these fields and one more handler: Watch streams are idle by the hundred thousand.
  private final ServerCallStreamObserver<M> observer;
  private volatile int wip;
  private volatile @Nullable Status end;
  private boolean ended; // touched only while draining

  /**
   * Call while the call is being started, before the service method returns: grpc takes the
   * threshold and the handlers only then.
   */
  LatestOnlySender(ServerCallStreamObserver<M> observer) {
    this.observer = observer;
    observer.setOnReadyThreshold(ON_READY_THRESHOLD_BYTES);
    observer.setOnReadyHandler(this);
    // grpc runs exactly one of the two.
    Runnable done = this::done;
    observer.setOnCancelHandler(done);
    observer.setOnCloseHandler(done);
  }

  /**
   * The message that brings the client up to date, or null when it is; called only while draining,
   * never concurrently with itself.
   */
  protected abstract @Nullable M nextMessage();

  /** Runs once when the stream is over, whether the client cancelled it or the server ended it. */
  protected abstract void done();

  /** The on-ready handler: {@link #drain()} (the sender is its own handler: one object less a stream). */
  @Override
  public final void run() {
    drain();
  }

  /** Sends what is new, as far as the transport is ready for it. */
  final void drain() {
    if (WIP.getAndIncrement(this) != 0) {
      return;
    }
    int missed = 1;
    do {
      if (!ended) {
        send();
      }
      missed = WIP.addAndGet(this, -missed);
    } while (missed != 0);
  }

  /**
   * Ends the stream with {@code status}, without waiting for the client to read what is pending:
   * a client that does not read must not hold up a shutdown. Later calls do nothing.
   */
  final void end(Status status) {
    if (end == null) {
      end = status;
    }
    drain();
  }

  private void send() {
    Status ending = end;
    if (ending != null) {
      ended = true;
      if (!observer.isCancelled()) {
        observer.onError(ending.asRuntimeException());
      }
      return;
    }
    while (!observer.isCancelled() && observer.isReady()) {
      M message = nextMessage();
      if (message == null) {
        return;
      }
      observer.onNext(message);
    }
  }
}

package io.dockhealth.server.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Feeds a server stream the newest state only. It sends while the transport is ready for more and
 * otherwise leaves the news where it is, so a client that stops reading costs the server one
 * pending value, never a queue; when the client reads again it gets the newest.
 *
 * <p>{@link #drain()} may be called from any thread, as often as wanted; sends never overlap and
 * no lock is held (the classic work-in-progress counter: whoever raises it from zero sends for
 * everyone).
 */
final class LatestOnlySender<M> {
  private final ServerCallStreamObserver<M> observer;
  private final Supplier<M> nextMessage;
  private final AtomicInteger wip = new AtomicInteger();

  /**
   * @param nextMessage the message that brings the client up to date, or null when it is; called
   *     only while draining, never concurrently with itself
   */
  LatestOnlySender(ServerCallStreamObserver<M> observer, Supplier<M> nextMessage) {
    this.observer = observer;
    this.nextMessage = nextMessage;
    observer.setOnReadyHandler(this::drain);
  }

  /** Sends what is new, as far as the transport is ready for it. */
  void drain() {
    if (wip.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    do {
      while (!observer.isCancelled() && observer.isReady()) {
        M message = nextMessage.get();
        if (message == null) {
          break;
        }
        observer.onNext(message);
      }
      missed = wip.addAndGet(-missed);
    } while (missed != 0);
  }
}

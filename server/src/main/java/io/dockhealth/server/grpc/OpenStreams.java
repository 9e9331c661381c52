package io.dockhealth.server.grpc;

import static com.google.common.base.Preconditions.checkArgument;

import io.grpc.Status;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * The open streams of one method: at most a given number at once, and all of them ended together
 * when the server shuts down, so that clients see a status they retry (UNAVAILABLE) rather than a
 * reset stream (CANCELLED).
 */
final class OpenStreams {
  /** What a stream ended by the server's shutdown is told; clients retry UNAVAILABLE. */
  static final Status SHUTTING_DOWN = Status.UNAVAILABLE.withDescription("server shutting down");

  private final String method;
  private final int max;
  private final String flag;
  private final AtomicInteger count = new AtomicInteger();
  private volatile @Nullable Status ending;

  /**
   * @param method the method's short name, for error messages, such as {@code Watch}
   * @param max the most streams open at once
   * @param flag the flag that sets {@code max}, named in the refusal
   */
  OpenStreams(String method, int max, String flag) {
    checkArgument(max > 0, "max: %s (expected: > 0)", max);
    this.method = method;
    this.max = max;
    this.flag = flag;
  }

  /**
   * Makes room for one more stream, or says why there is none: RESOURCE_EXHAUSTED at the limit,
   * UNAVAILABLE once the streams are being ended. A stream admitted must be {@link #opened} and,
   * when it is over, {@link #closed}.
   *
   * @return null when admitted, else the status to refuse the call with
   */
  @Nullable Status admit() {
    Status refusal = ending;
    if (refusal != null) {
      return refusal;
    }
    if (count.incrementAndGet() > max) {
      count.decrementAndGet();
      return Status.RESOURCE_EXHAUSTED.withDescription(max + " " + method
          + " streams are open, the most this server allows (" + flag + "); close some first");
    }
    return null;
  }

  /**
   * An admitted stream has started; ends it at once if the streams are ending. Call after the
   * stream is where {@link #endAll}'s caller finds it.
   */
  void opened(LatestOnlySender<?> sender) {
    // Checked after the service has added it: endAll() either finds the sender or is seen here.
    Status refusal = ending;
    if (refusal != null) {
      sender.end(refusal);
    }
  }

  /** A stream is over, making room for another. Call once per admitted stream. */
  void closed() {
    count.decrementAndGet();
  }

  /**
   * Ends every stream in {@code open} (the service's own, so that a stream is held in one place
   * only) with {@code status}, and refuses new ones with it from now on.
   */
  void endAll(Status status, Iterable<? extends LatestOnlySender<?>> open) {
    ending = status;
    for (LatestOnlySender<?> sender : open) {
      sender.end(status);
    }
  }

  /** Streams open now. */
  int count() {
    return count.get();
  }
}

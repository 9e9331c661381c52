package io.dockhealth.server.grpc;

import static com.google.common.base.Preconditions.checkArgument;

import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/** The open streams of one method: at most a given number at once. */
final class OpenStreams {
  private final String method;
  private final int max;
  private final String flag;
  private final AtomicInteger count = new AtomicInteger();
  private final Set<LatestOnlySender<?>> open = ConcurrentHashMap.newKeySet();

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
   * Makes room for one more stream, or says why there is none: RESOURCE_EXHAUSTED at the limit. A
   * stream admitted must be {@link #opened} and, when it is over, {@link #closed}.
   *
   * @return null when admitted, else the status to refuse the call with
   */
  @Nullable Status admit() {
    if (count.incrementAndGet() > max) {
      count.decrementAndGet();
      return Status.RESOURCE_EXHAUSTED.withDescription(max + " " + method
          + " streams are open, the most this server allows (" + flag + "); close some first");
    }
    return null;
  }

  /** Tracks an admitted stream until it is {@link #closed}. */
  void opened(LatestOnlySender<?> sender) {
    open.add(sender);
  }

  /** Forgets a stream that is over, making room for another. Call once per admitted stream. */
  void closed(LatestOnlySender<?> sender) {
    open.remove(sender);
    count.decrementAndGet();
  }

  /** Streams open now. */
  int count() {
    return count.get();
  }
}

package io.dockhealth.bench;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * Many open grpc.health.v1 Watch streams, and when each first received the status it waits for.
 * One flip at a time: {@link #expect} a status, make the server flip, {@link #await} every stream.
 */
final class WatchStreams {
  private final int count;
  private final long[] received;
  private final AtomicInteger errors = new AtomicInteger();
  private volatile ServingStatus expected;
  private volatile CountDownLatch remaining;

  /**
   * Opens {@code count} streams round-robin over {@code channels}, stream i watching
   * {@code nameOf.apply(i)}, and waits until each has its first status, {@code initial}.
   */
  WatchStreams(List<ManagedChannel> channels, int count, IntFunction<String> nameOf, ServingStatus initial,
      Duration timeout) {
    this.count = count;
    this.received = new long[count];
    expect(initial);
    for (int i = 0; i < count; i++) {
      int index = i;
      ClientCalls.asyncServerStreamingCall(
          channels.get(i % channels.size()).newCall(HealthGrpc.getWatchMethod(), CallOptions.DEFAULT),
          HealthCheckRequest.newBuilder().setService(nameOf.apply(i)).build(),
          new StreamObserver<HealthCheckResponse>() {
            @Override
            public void onNext(HealthCheckResponse response) {
              long now = System.nanoTime();
              if (response.getStatus() == expected && received[index] == 0) {
                received[index] = now;
                remaining.countDown();
              }
            }

            @Override
            public void onError(Throwable t) {
              errors.incrementAndGet();
            }

            @Override
            public void onCompleted() {
              errors.incrementAndGet();
            }
          });
    }
    if (await(timeout) == null) {
      throw new IllegalStateException((count - remaining.getCount()) + " of " + count
          + " Watch streams got their first status within " + timeout + " (errors: " + errors.get() + ")");
    }
  }

  /** Forgets what was received and waits for {@code status} from now on. Call before the flip. */
  void expect(ServingStatus status) {
    Arrays.fill(received, 0);
    remaining = new CountDownLatch(count);
    expected = status;
  }

  /**
   * Waits until every stream has the expected status; returns when each got it (nanoTime), or null
   * if some did not within {@code timeout}.
   */
  long[] await(Duration timeout) {
    try {
      if (!remaining.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        return null;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
    return received.clone();
  }

  long delivered() {
    return count - remaining.getCount();
  }

  int errors() {
    return errors.get();
  }

  /** Delays from {@code t0} in milliseconds, sorted. */
  static List<Double> delaysMillis(long[] times, long t0) {
    List<Double> delays = new ArrayList<>(times.length);
    for (long t : times) {
      delays.add((t - t0) / 1e6);
    }
    delays.sort(null);
    return delays;
  }
}

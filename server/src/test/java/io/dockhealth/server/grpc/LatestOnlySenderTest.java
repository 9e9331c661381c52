package io.dockhealth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LatestOnlySenderTest {
  /** A stream whose readiness the test sets, recording what is sent and catching overlapping calls. */
  private static final class FakeStream extends ServerCallStreamObserver<Integer> {
    final List<Integer> sent = new ArrayList<>();
    final AtomicInteger inside = new AtomicInteger();
    final AtomicInteger overlaps = new AtomicInteger();
    volatile boolean ready = true;
    volatile boolean cancelled;
    volatile Status error;
    int onReadyThreshold;
    Runnable onReady;
    Runnable onCancel;
    Runnable onClose;

    private void enter() {
      if (inside.incrementAndGet() != 1) {
        overlaps.incrementAndGet();
      }
    }

    @Override
    public void onNext(Integer value) {
      enter();
      sent.add(value);
      inside.decrementAndGet();
    }

    @Override
    public void onError(Throwable t) {
      enter();
      error = Status.fromThrowable(t);
      inside.decrementAndGet();
    }

    @Override
    public void onCompleted() {
      throw new AssertionError("a stream of ours never completes");
    }

    @Override
    public boolean isReady() {
      return ready;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      onReadyThreshold = numBytes;
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {
      onReady = handler;
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {
      onCancel = handler;
    }

    @Override
    public void setOnCloseHandler(Runnable handler) {
      onClose = handler;
    }

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}

    @Override
    public void setCompression(String compression) {}
  }

  private final FakeStream stream = new FakeStream();
  private final AtomicInteger newest = new AtomicInteger();
  private int lastSent;
  private final AtomicInteger done = new AtomicInteger();
  private final LatestOnlySender<Integer> sender = new LatestOnlySender<>(stream) {
    @Override
    protected Integer nextMessage() {
      return next();
    }

    @Override
    protected void done() {
      done.incrementAndGet();
    }
  };

  /** The newest value, once. */
  private Integer next() {
    int value = newest.get();
    if (value == lastSent) {
      return null;
    }
    lastSent = value;
    return value;
  }

  @Test
  void new_asksToBeReadyOnlyWhenNothingWaitsInTheTransport_andRunsDoneOnCancelOrClose() {
    assertThat(stream.onReadyThreshold).isEqualTo(1);
    assertThat(stream.onReady).isNotNull();

    stream.onCancel.run();
    stream.onClose.run();

    assertThat(done.get()).as("grpc runs one of the two; each must count").isEqualTo(2);
  }

  @Test
  void notReady_sendsNothing_thenOnlyTheNewestWhenReady() {
    stream.ready = false;
    for (int i = 1; i <= 1000; i++) {
      newest.set(i);
      sender.drain();
    }
    assertThat(stream.sent).isEmpty();

    stream.ready = true;
    stream.onReady.run();

    assertThat(stream.sent).containsExactly(1000);
  }

  @Test
  void ready_sendsEachChange_andNothingWhenNothingIsNew() {
    newest.set(1);
    sender.drain();
    sender.drain();
    newest.set(2);
    sender.drain();

    assertThat(stream.sent).containsExactly(1, 2);
  }

  @Test
  void end_endsTheStreamOnceWithTheStatus_andSendsNothingMore() {
    newest.set(1);
    sender.drain();
    stream.ready = false;
    newest.set(2);
    sender.drain();

    sender.end(Status.UNAVAILABLE.withDescription("server shutting down"));
    sender.end(Status.INTERNAL);
    stream.ready = true;
    stream.onReady.run();

    assertThat(stream.sent).containsExactly(1);
    assertThat(stream.error.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(stream.error.getDescription()).isEqualTo("server shutting down");
  }

  @Test
  void end_ofACancelledStream_doesNotTouchIt() {
    stream.cancelled = true;

    sender.end(Status.UNAVAILABLE);

    assertThat(stream.error).isNull();
  }

  @Test
  void drainAndEnd_fromManyThreads_neverOverlap_andTheNewestIsSentLast() throws Exception {
    int threads = 4;
    int perThread = 20_000;
    CountDownLatch start = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> running = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread thread = new Thread(() -> {
        try {
          start.await();
          for (int i = 0; i < perThread; i++) {
            newest.incrementAndGet();
            stream.ready = i % 3 != 0;
            if (i % 7 == 0) {
              stream.onReady.run();
            } else {
              sender.drain();
            }
          }
        } catch (Throwable e) {
          failure.set(e);
        }
      });
      thread.start();
      running.add(thread);
    }
    start.countDown();
    for (Thread thread : running) {
      thread.join();
    }
    stream.ready = true;
    sender.drain();
    sender.end(Status.UNAVAILABLE);

    assertThat(failure.get()).isNull();
    assertThat(stream.overlaps.get()).isZero();
    assertThat(stream.sent).isSorted().last().isEqualTo(threads * perThread);
    assertThat(stream.error.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }
}

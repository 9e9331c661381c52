package io.dockhealth.server.http;

import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.Snapshot;
import io.dockhealth.server.model.SnapshotListener;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Long-polls of {@code GET /v1/health?since=V}: parked requests, each woken by the first snapshot
 * whose version exceeds V or by its timeout, whichever comes first. A parked request is an entry
 * in a set and a timer on its channel's event loop: no thread, however many wait.
 */
final class LongPolls implements SnapshotListener {
  private final Registry registry;
  private final Set<Poll> parked = ConcurrentHashMap.newKeySet();

  LongPolls(Registry registry) {
    this.registry = registry;
  }

  /**
   * Waits, without blocking, until the model's version exceeds {@code since} or {@code wait} has
   * passed; then runs {@code done} on {@code loop} with true (changed) or false (timed out). Runs it
   * at once (still on {@code loop}) when the version already exceeds {@code since}. A version
   * below {@code since} also counts as changed: it comes from an earlier run of the sidecar, whose
   * versions started again from 0, and waiting for it to pass would stall the client.
   *
   * @return the poll, to {@link Poll#cancel()} when its connection closes first
   */
  Poll park(EventExecutor loop, long since, Duration wait, Consumer<Boolean> done) {
    Poll poll = new Poll(loop, since, done);
    // Called on the loop, so the timeout cannot run before the poll is parked.
    poll.timeout = loop.schedule(() -> poll.fire(false), wait.toNanos(), TimeUnit.NANOSECONDS);
    parked.add(poll);
    // Checked after parking: a snapshot published in between is seen either here or by onSnapshot.
    poll.offer(registry.current());
    return poll;
  }

  /** Requests parked now. */
  int open() {
    return parked.size();
  }

  @Override
  public void onSnapshot(Snapshot previous, Snapshot current) {
    // On the Docker side's thread: only hand over to each poll's event loop, never write here.
    for (Poll poll : parked) {
      poll.offer(current);
    }
  }

  /** One parked request. */
  final class Poll {
    private final EventExecutor loop;
    private final long since;
    private final Consumer<Boolean> done;
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile ScheduledFuture<?> timeout;

    private Poll(EventExecutor loop, long since, Consumer<Boolean> done) {
      this.loop = loop;
      this.since = since;
      this.done = done;
    }

    private void offer(Snapshot snapshot) {
      if (snapshot.version() != since) {
        fire(true);
      }
    }

    private void fire(boolean changed) {
      if (finish()) {
        loop.execute(() -> done.accept(changed));
      }
    }

    /** Forgets the poll without answering it: its connection is gone. */
    void cancel() {
      finish();
    }

    private boolean finish() {
      if (!finished.compareAndSet(false, true)) {
        return false;
      }
      parked.remove(this);
      ScheduledFuture<?> scheduled = timeout;
      if (scheduled != null) {
        scheduled.cancel(false);
      }
      return true;
    }
  }
}

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
 * Long-polls of {@code GET /v1/health?since=V}: parked requests, each woken by the first change to
 * its answer after version V, or by its timeout, whichever comes first. A parked request is an
 * entry in a set and a timer on its channel's event loop: no thread, however many wait.
 *
 * <p>The answer is every name with its status and members, and whether the sidecar is in sync. A
 * snapshot that changes only a container's detail (each HEALTHCHECK probe adds a result) leaves it
 * as it was, and waking every poller once a second per checked container would make long-polling
 * no better than polling; so only a snapshot whose services or sync differ from its predecessor's
 * counts as a change ({@link Registry#addHealthListener}).
 */
final class LongPolls implements SnapshotListener {
  private final Registry registry;
  private final Set<Poll> parked = ConcurrentHashMap.newKeySet();

  /**
   * The version of the newest snapshot whose answer differs from its predecessor's. Before the
   * first snapshot heard, unknown: the version current at start counts as a change, so a poll
   * from before it is answered at once.
   */
  private volatile long lastChange;

  LongPolls(Registry registry) {
    this.registry = registry;
    this.lastChange = registry.current().version();
  }

  /**
   * Waits, without blocking, until the answer changes in a version after {@code since} or
   * {@code wait} has passed; then runs {@code done} on {@code loop} with true (changed) or false
   * (timed out). Runs it at once (still on {@code loop}) when it already changed after
   * {@code since}. A {@code since} above the current version also counts as changed: it comes from
   * an earlier run of the sidecar, whose versions started again from 0, and waiting for it to be
   * passed would stall the client.
   *
   * @return the poll, to {@link Poll#cancel()} when its connection closes first
   */
  Poll park(EventExecutor loop, long since, Duration wait, Consumer<Boolean> done) {
    Poll poll = new Poll(loop, since, done);
    // Called on the loop, so the timeout cannot run before the poll is parked.
    poll.timeout = loop.schedule(() -> poll.fire(false), wait.toNanos(), TimeUnit.NANOSECONDS);
    parked.add(poll);
    // Checked after parking: a change published in between is seen either here or by onSnapshot.
    if (lastChange > since || registry.current().version() < since) {
      poll.fire(true);
    }
    return poll;
  }

  /**
   * Answers every parked request as if its wait had run out (304), for a server about to close its
   * connections: a poller told "nothing changed" simply polls again, where a cut connection reads as
   * a failure.
   */
  void releaseAll() {
    for (Poll poll : parked) {
      poll.fire(false);
    }
  }

  /** Requests parked now. */
  int open() {
    return parked.size();
  }

  @Override
  public void onSnapshot(Snapshot previous, Snapshot current) {
    // Subscribed with addHealthListener: every snapshot told here answers GET /v1/health differently.
    lastChange = current.version();
    // On the Docker side's thread: only hand over to each poll's event loop, never write here.
    for (Poll poll : parked) {
      if (current.version() > poll.since) {
        poll.fire(true);
      }
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

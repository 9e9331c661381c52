package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkNotNull;

import com.github.dockerjava.api.model.Container;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSet;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import io.dockhealth.server.model.ContainerRecord;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One full re-read of Docker: list every container, then inspect them, {@link #PARALLEL} at a time
 * (each under its own deadline, as every call), so a resync of thousands of containers takes a
 * fraction of one-by-one's time while it still leaves Docker and the connections for the inspects
 * that events ask for. It runs on the control thread's answers and blocks nothing; events keep
 * being applied while it runs.
 *
 * <p>A container Docker errs about is reported as failed, not as a failure of the resync. Only a
 * failed list, or an inspect without answer while a ping fails too, fails the resync: then Docker
 * is lost.
 */
final class Resync {
  /**
   * What a resync found.
   *
   * @param listed the IDs Docker listed, in its order
   * @param described the containers Docker described, by ID; those it removed between list and
   *     inspect are in neither map
   * @param failed the containers Docker erred about, with what went wrong
   */
  record Result(ImmutableSet<String> listed, ImmutableMap<String, ContainerRecord> described,
      ImmutableMap<String, Throwable> failed) {}

  private final DockerCalls calls;
  private final ControlThread control;
  private final Watchdog watchdog;
  /** How many inspects a resync has in flight at most. */
  static final int PARALLEL = 4;

  private final SettableFuture<Result> result = SettableFuture.create();

  // Confined to the control thread.
  private List<String> ids = List.of();
  private int next;
  private int inFlight;
  private final Map<String, ContainerRecord> described = new LinkedHashMap<>();
  private final Map<String, Throwable> failed = new LinkedHashMap<>();

  Resync(DockerCalls calls, ControlThread control, Watchdog watchdog) {
    this.calls = checkNotNull(calls, "calls");
    this.control = checkNotNull(control, "control");
    this.watchdog = checkNotNull(watchdog, "watchdog");
  }

  /** Starts; the future completes on the control thread, unless the generation moves on first. */
  ListenableFuture<Result> start() {
    control.when(calls.list(), this::listed, result::setException);
    return result;
  }

  private void listed(List<Container> containers) {
    ids = containers.stream().map(Container::getId).toList();
    inspectMore();
  }

  /** Starts inspects up to {@link #PARALLEL} in flight; completes the result when all have answered. */
  private void inspectMore() {
    if (result.isDone()) {
      return; // failed: Docker is lost, the answers still on their way do not matter
    }
    while (inFlight < PARALLEL && next < ids.size()) {
      String id = ids.get(next++);
      inFlight++;
      control.when(calls.inspect(id), container -> {
        described.put(id, container);
        answered();
      }, cause -> notDescribed(id, cause));
    }
    if (inFlight == 0 && next == ids.size()) {
      result.set(new Result(ImmutableSet.copyOf(ids), ImmutableMap.copyOf(described), ImmutableMap.copyOf(failed)));
    }
  }

  private void answered() {
    inFlight--;
    inspectMore();
  }

  private void notDescribed(String id, Throwable cause) {
    switch (DockerCalls.classify(cause)) {
      case GONE -> answered(); // removed between list and inspect: not part of the new set
      case ANSWER -> {
        failed.put(id, cause);
        answered();
      }
      case TRANSPORT -> control.when(watchdog.check(), ok -> {
        failed.put(id, cause);
        answered();
      }, result::setException);
    }
  }
}

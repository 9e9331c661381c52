package io.dockhealth.server.docker;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that owns the Docker side's state and writes the model, so the model sees changes
 * in one order and no lock is held across a network call. Nothing here ever blocks on Docker: calls
 * run elsewhere ({@link DockerCalls}) and their answers come back here.
 *
 * <p>Each connection to Docker is a <em>generation</em>. When the connection is lost the generation
 * moves on, and every answer or timer of the old one is dropped on arrival, so nothing learned over
 * a dead connection can reach the model after the model was told Docker is gone.
 *
 * <p>A task that throws cannot kill the thread: the failure is logged and handed to the handler
 * given at construction, which treats it as a lost connection.
 */
final class ControlThread {
  private static final Logger logger = LoggerFactory.getLogger(ControlThread.class);

  private final ScheduledThreadPoolExecutor executor;
  /** The executor for answers: one that arrives after shutdown is dropped, not an error. */
  private final Executor answers;
  private final Consumer<Throwable> onUnexpected;

  // Confined to the thread.
  private long generation;

  ControlThread(String name, Consumer<Throwable> onUnexpected) {
    this.onUnexpected = checkNotNull(onUnexpected, "onUnexpected");
    this.executor = new ScheduledThreadPoolExecutor(1, new ThreadFactoryBuilder().setNameFormat(name).setDaemon(true).build());
    // Every Docker call schedules its deadline here and cancels it when answered: drop those at once.
    executor.setRemoveOnCancelPolicy(true);
    this.answers = task -> {
      try {
        executor.execute(task);
      } catch (RejectedExecutionException e) {
        logger.debug("dropping a Docker answer that came after shutdown");
      }
    };
  }

  /** The scheduler for call deadlines; cheap tasks only. */
  ScheduledExecutorService scheduler() {
    return executor;
  }

  /** Ends the current generation: its pending answers and timers will be dropped. */
  void nextGeneration() {
    generation++;
  }

  /** Runs {@code task} on the thread, whatever the generation. */
  void execute(Runnable task) {
    answers.execute(guarded(task));
  }

  /** Runs {@code task} after {@code delay}, unless the generation has moved on by then. */
  void schedule(Duration delay, Runnable task) {
    long scheduledIn = generation;
    executor.schedule(guarded(() -> {
      if (scheduledIn == generation) {
        task.run();
      }
    }), delay.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Runs {@code task} every {@code period}, whatever the generation, until shutdown. */
  void every(Duration period, Runnable task) {
    executor.scheduleWithFixedDelay(guarded(task), period.toNanos(), period.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * Hands the outcome of {@code future} to {@code onSuccess} or {@code onFailure} on the thread,
   * unless the generation has moved on by then.
   */
  <T> void when(ListenableFuture<T> future, Consumer<T> onSuccess, Consumer<Throwable> onFailure) {
    long issuedIn = generation;
    Futures.addCallback(future, new FutureCallback<T>() {
      @Override
      public void onSuccess(T result) {
        if (issuedIn == generation) {
          run(() -> onSuccess.accept(result));
        }
      }

      @Override
      public void onFailure(Throwable cause) {
        if (issuedIn == generation) {
          run(() -> onFailure.accept(cause));
        }
      }
    }, answers);
  }

  /** Runs {@code task} on the thread; the future tells when it ran. */
  Future<?> submit(Runnable task) {
    return executor.submit(guarded(task));
  }

  void shutdown() {
    executor.shutdownNow();
  }

  private Runnable guarded(Runnable task) {
    return () -> run(task);
  }

  private void run(Runnable task) {
    try {
      task.run();
    } catch (Throwable t) {
      logger.error("unexpected failure in the Docker source; reconnecting", t);
      try {
        onUnexpected.accept(t);
      } catch (Throwable again) {
        logger.error("could not recover from the failure above", again);
      }
    }
  }
}

package io.dockhealth.lua.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Sequential user requests to nginx, and what they show about the routing. */
public final class Traffic {
  private Traffic() {}

  /** {@code n} requests, one after the other (one keep-alive connection, so one nginx worker). */
  public static List<Http.Answer> send(int port, String path, int n) {
    List<Http.Answer> answers = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      answers.add(Http.get(port, path));
    }
    return answers;
  }

  /** Who answered each request: a backend's name, or the status nginx answered with itself. */
  public static List<String> who(List<Http.Answer> answers) {
    return answers.stream().map(Http.Answer::who).toList();
  }

  /** {@link #who} of {@code n} requests. */
  public static List<String> who(int port, String path, int n) {
    return who(send(port, path, n));
  }

  /** The longest stretch of equal neighbours: 1 for strict alternation. */
  public static int longestRun(List<String> seq) {
    int longest = 0;
    int run = 0;
    for (int i = 0; i < seq.size(); i++) {
      run = i > 0 && seq.get(i).equals(seq.get(i - 1)) ? run + 1 : 1;
      longest = Math.max(longest, run);
    }
    return longest;
  }

  /**
   * Requests sent one after the other, without pause, by each of several client threads until
   * {@link #close()}: load while something changes, every answer kept with its times.
   */
  public static final class Load implements AutoCloseable {
    private final List<Http.Answer> answers = Collections.synchronizedList(new ArrayList<>());
    private final ExecutorService threads;
    private final List<Future<?>> running = new ArrayList<>();
    private volatile boolean stopping;

    private Load(int clients) {
      threads = Executors.newFixedThreadPool(clients);
    }

    /** Starts {@code clients} threads, each sending GET {@code path} in a loop. */
    public static Load start(int port, String path, int clients) {
      Load load = new Load(clients);
      for (int i = 0; i < clients; i++) {
        load.running.add(load.threads.submit(() -> {
          while (!load.stopping) {
            load.answers.add(Http.get(port, path));
          }
          return null;
        }));
      }
      return load;
    }

    /** The answers so far. */
    public List<Http.Answer> answers() {
      synchronized (answers) {
        return List.copyOf(answers);
      }
    }

    /** Stops the clients (each finishes its request) and returns every answer; a failed request fails. */
    public List<Http.Answer> stop() {
      stopping = true;
      try {
        for (Future<?> f : running) {
          f.get(30, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      } catch (Exception e) {
        throw new IllegalStateException("a client of the load failed", e);
      } finally {
        threads.shutdownNow();
      }
      return answers();
    }

    @Override
    public void close() {
      stopping = true;
      threads.shutdownNow();
    }
  }
}

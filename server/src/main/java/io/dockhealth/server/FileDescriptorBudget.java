package io.dockhealth.server;

import com.google.common.annotations.VisibleForTesting;
import com.sun.management.UnixOperatingSystemMXBean;
import io.dockhealth.server.grpc.GrpcLimits;
import io.dockhealth.server.http.HttpLimits;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The connection caps, fitted to the file descriptors the process may open: every connection is
 * one, and a process out of them can accept nothing, gRPC included. What the JVM has open at start
 * and {@value #HEADROOM} more (event loops, Docker's connections, the JDK's own) are kept aside; the
 * rest is the budget. When the two caps ask for more than the budget, gRPC's is cut to half of it
 * at most, and HTTP's to what gRPC leaves, so gRPC, which Envoy asks, always has room. Below
 * {@value #MIN_PER_LISTENER} connections per listener the sidecar does not start.
 *
 * @param http the HTTP limits, with the cap fitted
 * @param grpc the gRPC limits, with the cap fitted
 * @param warning what was lowered and how to avoid it, when something was
 */
record FileDescriptorBudget(HttpLimits http, GrpcLimits grpc, Optional<String> warning) {
  /**
   * Descriptors kept aside beyond those open at start, on this machine: {@link #headroom} of its
   * processors.
   */
  static final int HEADROOM = headroom(Runtime.getRuntime().availableProcessors());

  /**
   * What is kept aside on a machine of {@code processors}: 192 for Docker's connections, the JDK's
   * own and a burst of connects that the listeners accept before they pause ({@code ConnectionCap}
   * lets each go a few dozen over its cap while closes are pending), with margin; and 3 for each
   * event loop (its selector's epoll, wake-up and timer descriptors), which are made after the
   * limit is read: gRPC's workers, two per processor (Netty's default), HTTP's 2 and the two
   * accepting loops.
   */
  @VisibleForTesting
  static int headroom(int processors) {
    int eventLoops = 2 * processors + 2 + 2;
    return 192 + 3 * eventLoops;
  }

  /** The smallest cap either listener is fitted to. */
  static final int MIN_PER_LISTENER = 16;

  /** The caps fitted to this process's limit, or as asked when the JVM cannot tell its limit. */
  static FileDescriptorBudget of(HttpLimits http, GrpcLimits grpc) {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof UnixOperatingSystemMXBean unix) {
      return fit(http, grpc, unix.getMaxFileDescriptorCount(), unix.getOpenFileDescriptorCount());
    }
    return new FileDescriptorBudget(http, grpc, Optional.empty());
  }

  /**
   * @throws IllegalStateException when the limit leaves less than {@value #MIN_PER_LISTENER}
   *     connections per listener, saying how to raise it
   */
  @VisibleForTesting
  static FileDescriptorBudget fit(HttpLimits http, GrpcLimits grpc, long limit, long openAtStart) {
    long budget = limit - openAtStart - HEADROOM;
    if (budget < 2L * MIN_PER_LISTENER) {
      throw new IllegalStateException("the file descriptor limit (ulimit -n) is " + limit + ", " + openAtStart
          + " of them open already: too few for " + MIN_PER_LISTENER + " connections per listener (expected: a"
          + " limit of at least " + (openAtStart + HEADROOM + 2 * MIN_PER_LISTENER) + "; raise it with ulimit -n,"
          + " LimitNOFILE= in systemd or docker run --ulimit nofile=)");
    }
    if ((long) http.maxConnections() + grpc.maxConnections() <= budget) {
      return new FileDescriptorBudget(http, grpc, Optional.empty());
    }
    int grpcCap = (int) Math.min(grpc.maxConnections(), budget / 2);
    int httpCap = (int) Math.min(http.maxConnections(), budget - grpcCap);
    List<String> lowered = new ArrayList<>();
    if (grpcCap < grpc.maxConnections()) {
      lowered.add("--grpc-max-connections from " + grpc.maxConnections() + " to " + grpcCap);
    }
    if (httpCap < http.maxConnections()) {
      lowered.add("--http-max-connections from " + http.maxConnections() + " to " + httpCap);
    }
    String warning = "the file descriptor limit (ulimit -n) is " + limit + ", which leaves room for " + budget
        + " connections: lowered " + String.join(" and ", lowered)
        + "; raise the limit (LimitNOFILE= in systemd, docker run --ulimit nofile=) to keep the flags";
    return new FileDescriptorBudget(http.withMaxConnections(httpCap), grpc.withMaxConnections(grpcCap),
        Optional.of(warning));
  }
}

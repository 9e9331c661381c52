package io.dockhealth.server.http;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableList;
import java.time.Duration;
import java.util.List;

/**
 * What the gateway lets clients do: how many connections it holds, how long a client may take to
 * send a request head or to take an answer, and which {@code Host} names it answers.
 *
 * @param maxConnections the most connections held at once (see {@link io.dockhealth.server.net.ConnectionCap})
 * @param requestTimeout the longest a request head may take to arrive, from its first byte (from
 *     connect for a connection's first request), however it trickles in; and the longest an answer
 *     may wait for the client to read it
 * @param allowedHosts {@code Host} names answered besides the loopback names and the listen
 *     address; {@code *} answers any
 */
public record HttpLimits(int maxConnections, Duration requestTimeout, List<String> allowedHosts) {
  /** Every request line and header of a well-behaved client arrives in a few milliseconds. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);

  public HttpLimits {
    checkArgument(maxConnections > 0, "maxConnections: %s (expected: > 0)", maxConnections);
    checkArgument(requestTimeout.compareTo(Duration.ZERO) > 0, "requestTimeout: %s (expected: > 0)", requestTimeout);
    allowedHosts = ImmutableList.copyOf(checkNotNull(allowedHosts, "allowedHosts"));
    allowedHosts.forEach(host -> HostAllowList.problem(host).ifPresent(expected -> {
      throw new IllegalArgumentException("allowedHosts: " + host + " (expected: " + expected + ")");
    }));
  }

  /** {@code maxConnections} with the other limits at their defaults. */
  public static HttpLimits of(int maxConnections) {
    return new HttpLimits(maxConnections, DEFAULT_REQUEST_TIMEOUT, List.of());
  }

  public HttpLimits withMaxConnections(int max) {
    return new HttpLimits(max, requestTimeout, allowedHosts);
  }
}

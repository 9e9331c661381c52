package io.dockhealth.server.http;

import static com.google.common.base.Preconditions.checkArgument;

import io.dockhealth.server.api.Durations;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Turns a request line into the endpoint it asks for, or into the error that answers it. Pure: no
 * I/O, no model, so every rule of the URL space is unit-tested here.
 *
 * <p>Names are the rest of the path after their route's prefix, percent-decoded by
 * {@link PathDecoder}: compose groups are called {@code <project>/<service>}, so
 * {@code /v1/health/shop/web} and {@code /v1/health/shop%2Fweb} both ask for {@code shop/web}.
 */
final class Router {
  /** The methods every route takes; anything else is 405 with this as {@code Allow}. */
  static final String ALLOW = "GET, HEAD";

  /** The route label of a request that matched no route. */
  static final String UNMATCHED = "unmatched";

  /** The route label of a request that could not be parsed at all. */
  static final String MALFORMED = "malformed";

  /** How long a long-poll waits when it names no {@code wait}. */
  static final Duration DEFAULT_WAIT = Duration.ofSeconds(30);

  /**
   * The longest a long-poll waits; a longer {@code wait} is cut to it. Two minutes stays under the
   * idle timeouts of the proxies and NATs a poll may cross, so a poll ends with our 304 rather than
   * a connection cut by something in between.
   */
  static final Duration MAX_WAIT = Duration.ofMinutes(2);

  /** What a compat prefix may look like: path segments of unreserved characters. */
  private static final Pattern PREFIX = Pattern.compile("(/[A-Za-z0-9._~-]+)*");

  /** First path segments our own routes use; a compat prefix starting with one would shadow them. */
  private static final List<String> RESERVED = List.of("v1", "metrics", "healthz");

  /** The endpoints, each with its route template (the compat ones get the prefix put in front). */
  enum Endpoint {
    HEALTH_LIST("/v1/health"),
    HEALTH("/v1/health/{service}"),
    CONTAINERS("/v1/containers"),
    CONTAINER("/v1/containers/{name}"),
    COMPAT_HEALTH("/health"),
    COMPAT_APP("/apps/health/{app}"),
    METRICS("/metrics"),
    HEALTHZ("/healthz");

    private final String template;

    Endpoint(String template) {
      this.template = template;
    }

    boolean compat() {
      return this == COMPAT_HEALTH || this == COMPAT_APP;
    }
  }

  /** Where a request goes, or how it is refused. */
  sealed interface Routed permits Match, Reject {
    /** The route template, for metrics: never the path asked for, so labels stay few. */
    String route();
  }

  /**
   * A request for an endpoint.
   *
   * @param name the decoded name for routes that take one, else empty
   * @param since the version a long-poll of {@code GET /v1/health} waits to pass, or null for none
   * @param maxWait how long that long-poll waits at most
   */
  record Match(Endpoint endpoint, String route, String name, Long since, Duration maxWait) implements Routed {}

  /**
   * A request refused before any endpoint sees it.
   *
   * @param endpoint the endpoint the path named, if it named one (a 405, or a bad name)
   */
  record Reject(HttpResponseStatus status, String route, String message, Optional<Endpoint> endpoint)
      implements Routed {}

  /** Each endpoint's template, the compat prefix included, by ordinal: made once, not per request. */
  private final String[] templates;

  /** @param compatPrefix where the drop-in routes live, checked by {@link #compatPrefixProblem} */
  Router(String compatPrefix) {
    Optional<String> problem = compatPrefixProblem(compatPrefix);
    checkArgument(problem.isEmpty(), "compatPrefix: %s (expected: %s)", compatPrefix, problem.orElse(""));
    this.templates = Arrays.stream(Endpoint.values())
        .map(endpoint -> endpoint.compat() ? compatPrefix + endpoint.template : endpoint.template)
        .toArray(String[]::new);
  }

  /** What is wrong with a compat prefix, phrased as what is expected; empty when it is fine. */
  static Optional<String> compatPrefixProblem(String prefix) {
    if (prefix == null || !PREFIX.matcher(prefix).matches()) {
      return Optional.of("a path such as /container-healthcheck: '/' then letters, digits, '-', '_', '.'"
          + " or '~', more segments allowed, no '/' at the end; or empty for none");
    }
    String first = prefix.isEmpty() ? "" : prefix.substring(1).split("/", 2)[0];
    if (RESERVED.contains(first)) {
      return Optional.of("a prefix whose first segment is not v1, metrics or healthz, which dockhealth's own"
          + " routes use");
    }
    return Optional.empty();
  }

  /** The template of an endpoint's route, the compat prefix included. */
  String template(Endpoint endpoint) {
    return templates[endpoint.ordinal()];
  }

  Routed route(HttpMethod method, String target) {
    String path;
    String rawQuery;
    if (isPlainPath(target)) {
      path = target; // what java.net.URI would make of it, without parsing it
      rawQuery = null;
    } else {
      URI uri;
      try {
        uri = new URI(target);
      } catch (URISyntaxException e) {
        return badTarget(target, e.getReason() + " at index " + e.getIndex());
      }
      boolean absolute = uri.getScheme() != null;
      if (uri.isOpaque() || uri.getRawPath() == null
          || (absolute && !uri.getScheme().equalsIgnoreCase("http") && !uri.getScheme().equalsIgnoreCase("https"))
          || (!absolute && !target.startsWith("/"))) {
        return badTarget(target, "not a path");
      }
      path = uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
      rawQuery = uri.getRawQuery();
    }
    Endpoint endpoint = null;
    String rawName = "";
    for (Endpoint candidate : Endpoint.values()) {
      String template = template(candidate);
      int brace = template.indexOf('{');
      if (brace < 0 ? path.equals(template) : path.regionMatches(0, template, 0, brace)) {
        endpoint = candidate;
        rawName = brace < 0 ? "" : path.substring(brace);
        break;
      }
    }
    if (endpoint == null) {
      return new Reject(HttpResponseStatus.NOT_FOUND, UNMATCHED,
          "no route for " + path + " (expected: /v1/health, /v1/health/{service}, /v1/containers,"
              + " /v1/containers/{name}, /healthz, /metrics, " + template(Endpoint.COMPAT_HEALTH) + " or "
              + template(Endpoint.COMPAT_APP) + ")", Optional.empty());
    }
    String route = template(endpoint);
    if (!method.equals(HttpMethod.GET) && !method.equals(HttpMethod.HEAD)) {
      return new Reject(HttpResponseStatus.METHOD_NOT_ALLOWED, route,
          "method " + method.name() + " is not allowed on " + route + " (expected: " + ALLOW + ")",
          Optional.of(endpoint));
    }
    try {
      String name = switch (endpoint) {
        case HEALTH -> PathDecoder.decode(rawName, "service name");
        case CONTAINER -> PathDecoder.decode(rawName, "container name");
        case COMPAT_APP -> {
          String app = PathDecoder.decode(rawName, "app name");
          if (app.isEmpty()) {
            throw new BadRequest("app name is empty (expected: " + route + ")");
          }
          yield app;
        }
        default -> "";
      };
      Map<String, List<String>> query = query(rawQuery);
      Long since = null;
      Duration wait = DEFAULT_WAIT;
      if (query.containsKey("since") || query.containsKey("wait")) {
        if (endpoint != Endpoint.HEALTH_LIST) {
          throw new BadRequest("since and wait are not taken by " + route
              + " (expected: them on GET /v1/health only, for a long-poll)");
        }
        since = since(query);
        wait = query.containsKey("wait") ? waitOf(query) : DEFAULT_WAIT;
      }
      return new Match(endpoint, route, name, since, wait);
    } catch (BadRequest e) {
      return new Reject(HttpResponseStatus.BAD_REQUEST, route, e.getMessage(), Optional.of(endpoint));
    }
  }

  /**
   * Whether a request target is a path alone, one segment or more of letters, digits and {@code
   * -._~/}: no scheme, authority, query, fragment or escape, nothing for java.net.URI to parse.
   */
  private static boolean isPlainPath(String target) {
    if (!target.startsWith("/") || target.startsWith("//")) {
      return false; // "//" starts an authority
    }
    for (int i = 1; i < target.length(); i++) {
      char c = target.charAt(i);
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')) {
        return false;
      }
    }
    return true;
  }

  private static Reject badTarget(String target, String reason) {
    String shown = target.length() > 100 ? target.substring(0, 100) + "..." : target;
    return new Reject(HttpResponseStatus.BAD_REQUEST, MALFORMED,
        "request target \"" + shown + "\": " + reason + " (expected: a path such as /v1/health/web-1,"
            + " with spaces, quotes and other characters outside URLs percent-encoded)", Optional.empty());
  }

  private static Map<String, List<String>> query(String rawQuery) {
    if (rawQuery == null || rawQuery.isEmpty()) {
      return Map.of();
    }
    try {
      return new QueryStringDecoder(rawQuery, false).parameters();
    } catch (IllegalArgumentException e) {
      throw new BadRequest("query: " + e.getMessage() + " (expected: percent-encoded UTF-8)");
    }
  }

  private static Long since(Map<String, List<String>> query) {
    String value = single(query, "since");
    if (value == null) {
      throw new BadRequest("wait without since (expected: since=V, the version of your last answer, with wait)");
    }
    try {
      long since = Long.parseLong(value);
      if (since >= 0) {
        return since;
      }
    } catch (NumberFormatException e) {
      // Answered below.
    }
    // No quote marks, < or = in messages: proto3 JSON writes them as \u0027, \u003c, \u003d.
    throw new BadRequest("since: \"" + value + "\" (expected: a snapshot version, a whole number from 0 up,"
        + " such as the version of the last answer)");
  }

  private static Duration waitOf(Map<String, List<String>> query) {
    String value = single(query, "wait");
    Duration wait;
    try {
      wait = Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw new BadRequest("wait: " + e.getMessage());
    }
    // A longer wait is cut, not refused: a client asking for 10m is served as well as it can be.
    return wait.compareTo(MAX_WAIT) > 0 ? MAX_WAIT : wait;
  }

  private static String single(Map<String, List<String>> query, String key) {
    List<String> values = query.get(key);
    if (values == null) {
      return null;
    }
    if (values.size() != 1) {
      throw new BadRequest(key + " is given " + values.size() + " times (expected: once)");
    }
    return values.get(0);
  }
}

package io.dockhealth.server.http;

import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.api.ProtoMapping;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.Member;
import io.dockhealth.server.model.ServiceEntry;
import io.dockhealth.server.model.ServingStatus;
import io.dockhealth.server.model.Snapshot;
import io.grpc.Status;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/**
 * The answer of each endpoint, computed from one snapshot. Nothing here calls Docker or waits.
 *
 * <p>Health answers carry the status in the HTTP code, so a balancer needs no body: 200 SERVING,
 * 503 NOT_SERVING, 404 unknown.
 *
 * <p>The exposure decides what they show beyond health: with {@code --details=health} the container
 * routes answer 404 saying so and the drop-in routes leave out command lines; probe output only
 * with {@code --probe-output=show}.
 */
final class Endpoints {
  private final Metrics metrics;
  private final Clock clock;
  private final Exposure exposure;

  /**
   * The health answers of the newest snapshot asked about, by name, each rendered on first request:
   * printing proto3 JSON costs far more than sending it, and balancers ask for the same names over
   * and over. They depend on the snapshot alone, and are dropped with it: at most one per name it has.
   */
  private final AtomicReference<Rendered> rendered = new AtomicReference<>();

  private record Rendered(Snapshot snapshot, Map<String, Reply> health) {}

  Endpoints(Metrics metrics, Clock clock, Exposure exposure) {
    this.metrics = metrics;
    this.clock = clock;
    this.exposure = exposure;
  }

  /** The answer to a matched request; {@code GET /v1/health} is answered at once, without waiting. */
  Reply answer(Router.Match match, Snapshot snapshot) {
    if (!exposure.containerDetail()
        && (match.endpoint() == Router.Endpoint.CONTAINERS || match.endpoint() == Router.Endpoint.CONTAINER)) {
      return error(HttpResponseStatus.NOT_FOUND, Exposure.containerDetailOff(match.route()), false);
    }
    return switch (match.endpoint()) {
      case HEALTH_LIST -> Reply.json(HttpResponseStatus.OK, JsonBodies.proto(ProtoMapping.listServices(snapshot)));
      case HEALTH -> renderedHealth(match.name(), snapshot);
      case HEALTHZ -> renderedHealth(Snapshot.SIDECAR, snapshot);
      case CONTAINERS ->
          Reply.json(HttpResponseStatus.OK, JsonBodies.proto(ProtoMapping.listContainers(snapshot, exposure)));
      case CONTAINER -> container(match.name(), snapshot);
      case COMPAT_HEALTH -> compatHealth(snapshot);
      case COMPAT_APP -> compatApp(match.name(), snapshot, clock.instant(), exposure.commandLines());
      case METRICS -> new Reply(HttpResponseStatus.OK, Metrics.CONTENT_TYPE, metrics.scrape(),
          com.google.common.collect.ImmutableMap.of());
    };
  }

  private Reply renderedHealth(String name, Snapshot snapshot) {
    if (!snapshot.services().containsKey(name)) {
      return health(name, snapshot); // not kept: the names a client makes up are without bound
    }
    Rendered held = rendered.get();
    if (held == null || held.snapshot() != snapshot) {
      Rendered fresh = new Rendered(snapshot, new ConcurrentHashMap<>());
      // Requests on other event loops may hold an older snapshot: the newest version stays.
      held = rendered.accumulateAndGet(fresh, (kept, given) ->
          kept != null && kept.snapshot().version() >= given.snapshot().version() ? kept : given);
      if (held.snapshot() != snapshot) {
        return health(name, snapshot);
      }
    }
    return held.health().computeIfAbsent(name, n -> health(n, snapshot));
  }

  private static Reply health(String name, Snapshot snapshot) {
    ServiceEntry entry = snapshot.services().get(name);
    if (entry == null) {
      return error(HttpResponseStatus.NOT_FOUND, "unknown service \"" + name + "\" (expected: a container name,"
          + " full or 12-character ID, or service group; GET /v1/health lists them)", false);
    }
    return Reply.json(statusCode(entry.status()), JsonBodies.proto(ProtoMapping.toProto(entry, snapshot)));
  }

  private Reply container(String name, Snapshot snapshot) {
    return snapshot.container(name)
        .map(c -> Reply.json(HttpResponseStatus.OK, JsonBodies.proto(ProtoMapping.toProto(c, snapshot, exposure))))
        .orElseGet(() -> error(HttpResponseStatus.NOT_FOUND, "no container named \"" + name
            + "\" (expected: a name, full ID or 12-character ID; GET /v1/containers lists them)", false));
  }

  /** The old tool's {@code /health} said the tool was up; ours also says it sees Docker. */
  private static Reply compatHealth(Snapshot snapshot) {
    if (snapshot.status(Snapshot.SIDECAR).orElse(ServingStatus.NOT_SERVING) == ServingStatus.SERVING) {
      return Reply.compat(HttpResponseStatus.OK, JsonBodies.compatOk(JsonBodies.text("i'm healthy")));
    }
    String why = snapshot.shuttingDown()
        ? "dockhealth is shutting down"
        : "dockhealth is not connected to Docker, or has not read every container since connecting";
    return Reply.compat(HttpResponseStatus.SERVICE_UNAVAILABLE,
        JsonBodies.compatError(JsonBodies.COMPAT_DOCKER_UNREACHABLE, why));
  }

  /**
   * 200 with one container when the app is SERVING. An app is a service name (container name, ID,
   * or group), matched exactly. Of a group's members the answer describes the newest SERVING one
   * (by creation time, then name): after a redeploy that is the new container. Its {@code command}
   * is empty unless {@code commandLine}.
   */
  static Reply compatApp(String app, Snapshot snapshot, Instant now, boolean commandLine) {
    ServiceEntry entry = snapshot.services().get(app);
    if (entry == null || entry.members().isEmpty()) {
      return Reply.compat(HttpResponseStatus.NOT_FOUND, JsonBodies.compatError(JsonBodies.COMPAT_QUERY_ERROR,
          "no container answers to \"" + app + "\" (expected: a container name, full or 12-character ID, or"
              + " service group, matched exactly)"));
    }
    List<ContainerRecord> members = entry.members().stream()
        .map(Member::containerId)
        .map(snapshot.containers()::get)
        .filter(Objects::nonNull)
        .toList();
    if (entry.status() == ServingStatus.SERVING) {
      ContainerRecord newest = members.stream()
          .filter(c -> !snapshot.removed().contains(c.id()))
          .filter(c -> snapshot.status(c.id()).orElse(ServingStatus.NOT_SERVING) == ServingStatus.SERVING)
          .max(Comparator.comparing(ContainerRecord::created).thenComparing(ContainerRecord::name,
              Comparator.reverseOrder()))
          .orElse(null);
      if (newest != null) {
        return Reply.compat(HttpResponseStatus.OK, JsonBodies.compatOk(JsonBodies.compatContainer(newest, now, commandLine)));
      }
    }
    String states = members.stream()
        .map(c -> c.name() + " (" + (snapshot.removed().contains(c.id()) ? "removed" : DockerPsStatus.of(c, now)) + ")")
        .collect(Collectors.joining(", "));
    return Reply.compat(HttpResponseStatus.SERVICE_UNAVAILABLE, JsonBodies.compatError(
        JsonBodies.COMPAT_QUERY_ERROR, "\"" + app + "\" is NOT_SERVING: " + states));
  }

  private static HttpResponseStatus statusCode(ServingStatus status) {
    return status == ServingStatus.SERVING ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE;
  }

  /**
   * An error in the shape of the route it answers: container-healthcheck's envelope on the drop-in
   * routes, google.rpc.Status with the matching gRPC code everywhere else.
   */
  static Reply error(HttpResponseStatus status, String message, boolean compat) {
    if (compat) {
      return Reply.compat(status, JsonBodies.compatError(JsonBodies.COMPAT_QUERY_ERROR, message));
    }
    Status.Code code = switch (status.code()) {
      case 400 -> Status.Code.INVALID_ARGUMENT;
      case 404 -> Status.Code.NOT_FOUND;
      case 405, 505 -> Status.Code.UNIMPLEMENTED;
      case 408 -> Status.Code.DEADLINE_EXCEEDED;
      case 421 -> Status.Code.PERMISSION_DENIED;
      case 413, 414, 431 -> Status.Code.RESOURCE_EXHAUSTED;
      case 503 -> Status.Code.UNAVAILABLE;
      default -> Status.Code.INTERNAL;
    };
    return Reply.json(status, JsonBodies.error(code, message));
  }
}

package io.dockhealth.server.metrics;

import static com.google.common.base.Preconditions.checkNotNull;

import io.dockhealth.server.docker.DockerStats;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceEntry;
import io.dockhealth.server.model.ServingStatus;
import io.dockhealth.server.model.Snapshot;
import io.dockhealth.server.model.SnapshotListener;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Function;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The sidecar's Prometheus metrics: what the Docker side did, what the model holds, and what the
 * front ends were asked. Each sidecar has its own registry, so tests that run several sidecars in
 * one JVM never see each other's counts.
 *
 * <pre>{@code
 * Metrics metrics = new Metrics();
 * new DockerSource(settings, registry, ticker, metrics.docker());
 * metrics.observe(registry);                // names by status, transitions, version
 * metrics.httpRequest("/v1/health/{service}", 200);
 * byte[] body = metrics.scrape();           // the text format, for GET /metrics
 * }</pre>
 *
 * <p>Label values are always from small fixed sets (actions, statuses, route templates, gRPC
 * method names and codes), never a service name or anything else a client or Docker chooses.
 */
public final class Metrics {
  /** The text format's content type, {@code text/plain; version=0.0.4; charset=utf-8}. */
  public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

  private static final String UNKNOWN = "UNKNOWN";

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

  private final Counter dockerEvents = Counter.builder()
      .name("dockhealth_docker_events_total")
      .help("Events received on Docker's /events stream, by action; each counted once, not again when Docker repeats it on a resume")
      .labelNames("action")
      .register(registry);
  private final Counter dockerResyncs = Counter.builder()
      .name("dockhealth_docker_resyncs_total")
      .help("Full re-reads of every container (on connect and on --resync-interval)")
      .register(registry);
  private final Counter dockerReconnects = Counter.builder()
      .name("dockhealth_docker_reconnects_total")
      .help("Times Docker was reached again after the connection had been lost")
      .register(registry);
  private final Counter dockerErrors = Counter.builder()
      .name("dockhealth_docker_errors_total")
      .help("Lost or failed connections to Docker, errors about one container, and unusable Docker answers")
      .register(registry);
  private final Counter transitions = Counter.builder()
      .name("dockhealth_status_transitions_total")
      .help("Service names whose status changed; UNKNOWN stands for a name that appeared or went away")
      .labelNames("from", "to")
      .register(registry);
  private final Counter grpcRequests = Counter.builder()
      .name("dockhealth_grpc_requests_total")
      .help("gRPC calls by full method name and status code, counted when they end")
      .labelNames("method", "code")
      .register(registry);
  private final Counter grpcMessagesSent = Counter.builder()
      .name("dockhealth_grpc_messages_sent_total")
      .help("Messages handed to gRPC to send, by full method name. A Watch stream whose client stops"
          + " reading is sent at most one message more than it reads")
      .labelNames("method")
      .register(registry);
  private final Counter httpRequests = Counter.builder()
      .name("dockhealth_http_requests_total")
      .help("HTTP requests by route template and status code")
      .labelNames("route", "code")
      .register(registry);

  /** A listener's counts of connections refused and reclaimed. */
  private record CapCounts(LongSupplier refused, LongSupplier reclaimed) {}

  /** Each listener's counts, read at each scrape. */
  private final Map<String, CapCounts> connectionCaps = new ConcurrentSkipListMap<>();

  {
    connectionCapCounter("dockhealth_connections_refused_total",
        "Connections closed as they were accepted, every slot under the listener's cap answering a request",
        CapCounts::refused);
    connectionCapCounter("dockhealth_connections_reclaimed_total",
        "Connections closed to give their slot to a newer one: silent, slow or idle ones first", CapCounts::reclaimed);
  }

  /** A counter by listener, read at each scrape from each listener's {@link #connectionCap}. */
  private void connectionCapCounter(String name, String help, Function<CapCounts, LongSupplier> count) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames("listener")
        .callback(callback -> connectionCaps.forEach((listener, counts) ->
            callback.call(count.apply(counts).getAsLong(), listener)))
        .register(registry);
  }

  private final DockerStats docker = new DockerStats() {
    @Override
    public void eventReceived(String action) {
      dockerEvents.labelValues(action).inc();
    }

    @Override
    public void resynced() {
      dockerResyncs.inc();
    }

    @Override
    public void reconnected() {
      dockerReconnects.inc();
    }

    @Override
    public void error() {
      dockerErrors.inc();
    }
  };

  /** What the Docker side reports, to hand to {@link io.dockhealth.server.docker.DockerSource}. */
  public DockerStats docker() {
    return docker;
  }

  /**
   * Follows a registry: service names by status, containers, the snapshot version and whether the
   * sidecar is in sync are read from its newest snapshot at each scrape; status transitions are
   * counted from the snapshots it publishes. Call once per registry.
   */
  public void observe(Registry model) {
    checkNotNull(model, "model");
    GaugeWithCallback.builder()
        .name("dockhealth_services")
        .help("Service names by status, the sidecar's own name \"\" included")
        .labelNames("status")
        .callback(callback -> {
          Map<ServingStatus, Integer> counts = new EnumMap<>(ServingStatus.class);
          for (ServingStatus status : ServingStatus.values()) {
            counts.put(status, 0);
          }
          for (ServiceEntry entry : model.current().services().values()) {
            counts.merge(entry.status(), 1, Integer::sum);
          }
          counts.forEach((status, count) -> callback.call(count, status.name()));
        })
        .register(registry);
    GaugeWithCallback.builder()
        .name("dockhealth_containers")
        .help("Containers in the model, removed ones not yet forgotten included")
        .callback(callback -> callback.call(model.current().containers().size()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("dockhealth_containers_stale")
        .help("Containers Docker erred about, kept at their last known state (all are stale while Docker is lost)")
        .callback(callback -> callback.call(model.current().staleContainers().size()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("dockhealth_snapshot_version")
        .help("The version of the newest snapshot; it grows with every change")
        .callback(callback -> callback.call(model.current().version()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("dockhealth_in_sync")
        .help("1 while the sidecar is connected to Docker and has resynced since connecting, else 0")
        .callback(callback -> callback.call(model.current().inSync() ? 1 : 0))
        .register(registry);
    model.addHealthListener(transitionCounter());
  }

  /** Counts status transitions between consecutive snapshots. */
  SnapshotListener transitionCounter() {
    return (previous, current) -> {
      Set<String> names = new HashSet<>(previous.services().keySet());
      names.addAll(current.services().keySet());
      for (String name : names) {
        String from = statusName(previous, name);
        String to = statusName(current, name);
        if (!from.equals(to)) {
          transitions.labelValues(from, to).inc();
        }
      }
    };
  }

  private static String statusName(Snapshot snapshot, String name) {
    return snapshot.status(name).map(ServingStatus::name).orElse(UNKNOWN);
  }

  /** Open gRPC Watch streams, read at each scrape. */
  public void watchStreams(IntSupplier open) {
    gauge("dockhealth_grpc_watch_streams", "Open grpc.health.v1.Health/Watch streams", open);
  }

  /** Open WatchContainers streams, read at each scrape. */
  public void watchContainersStreams(IntSupplier open) {
    gauge("dockhealth_grpc_watch_containers_streams", "Open dockhealth.v1.ContainerHealth/WatchContainers streams",
        open);
  }

  /** HTTP requests parked in a long-poll, read at each scrape. */
  public void longPolls(IntSupplier open) {
    gauge("dockhealth_http_long_polls", "HTTP requests waiting in a long-poll of GET /v1/health", open);
  }

  /** Open HTTP connections, read at each scrape. */
  public void httpConnections(IntSupplier open) {
    gauge("dockhealth_http_connections", "Open HTTP connections", open);
  }

  /** Open gRPC connections, read at each scrape. */
  public void grpcConnections(IntSupplier open) {
    gauge("dockhealth_grpc_connections", "Open gRPC connections", open);
  }

  /**
   * A listener's connection cap: connections it refused and connections it closed to reclaim their
   * slot, read at each scrape.
   *
   * @param listener {@code http} or {@code grpc}
   */
  public void connectionCap(String listener, LongSupplier refused, LongSupplier reclaimed) {
    connectionCaps.put(checkNotNull(listener, "listener"),
        new CapCounts(checkNotNull(refused, "refused"), checkNotNull(reclaimed, "reclaimed")));
  }

  private void gauge(String name, String help, IntSupplier value) {
    checkNotNull(value, "value");
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .callback(callback -> callback.call(value.getAsInt()))
        .register(registry);
  }

  /**
   * The count of gRPC calls of {@code method} that ended with {@code code}, to be taken once and
   * incremented per call, so that ending a call costs no label lookup.
   *
   * @param method the full method name, such as {@code grpc.health.v1.Health/Check}
   * @param code the status code's name, such as {@code OK} or {@code NOT_FOUND}
   */
  public CounterDataPoint grpcRequests(String method, String code) {
    return grpcRequests.labelValues(method, code);
  }

  /**
   * The count of messages sent on calls of {@code method}: taken once per call, incremented per
   * message, so that sending costs no label lookup.
   */
  public CounterDataPoint grpcMessagesSent(String method) {
    return grpcMessagesSent.labelValues(method);
  }

  /**
   * One HTTP request was answered.
   *
   * @param route the route's template, such as {@code /v1/health/{service}}, never the path asked for
   */
  public void httpRequest(String route, int code) {
    httpRequests(route, code).inc();
  }

  /**
   * The count of HTTP requests of {@code route} answered with {@code code}, to be taken once and
   * incremented per request, so that answering costs no label lookup.
   */
  public CounterDataPoint httpRequests(String route, int code) {
    return httpRequests.labelValues(route, Integer.toString(code));
  }

  /** Every metric now, in the Prometheus text format ({@link #CONTENT_TYPE}). */
  public byte[] scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
    try {
      writer.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory cannot fail", e);
    }
    return out.toByteArray();
  }
}

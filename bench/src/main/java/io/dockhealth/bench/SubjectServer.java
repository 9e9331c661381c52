package io.dockhealth.bench;

import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.grpc.GrpcFrontEnd;
import io.dockhealth.server.grpc.GrpcLimits;
import io.dockhealth.server.http.HttpFrontEnd;
import io.dockhealth.server.http.HttpLimits;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceRules;
import io.dockhealth.server.net.ListenerSpec;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Ours, for the figures that measure the front ends: the real {@link Registry}, {@link GrpcFrontEnd}
 * and {@link HttpFrontEnd}, wired together and with metrics as {@code Sidecar} wires them, but fed by
 * {@link Synthetic} container records through the registry's writer API instead of a Docker engine.
 *
 * <p>Arguments: {@code --names N} containers {@code svc0000...}; optionally {@code --app NAME
 * --backends P1,P2,...}: one more container per port, in service group NAME (label
 * {@code dockhealth.service}) and reached at 127.0.0.1:P (label {@code dockhealth.port}), for the
 * Lua balancer. Prints {@code READY grpc=.. http=.. control=..}.
 */
public final class SubjectServer {
  private SubjectServer() {}

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv);
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "dockhealth-timer");
      thread.setDaemon(true);
      return thread;
    });
    Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30), Duration.ofSeconds(60),
        Clock.systemUTC(), (delay, task) -> timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS));
    Metrics metrics = new Metrics();
    GrpcFrontEnd grpc = new GrpcFrontEnd(ListenerSpec.tcp(new InetSocketAddress("127.0.0.1", 0)), registry, 100_000,
        100, false, Exposure.DEFAULT, GrpcLimits.defaults(), metrics);
    metrics.observe(registry);
    metrics.watchStreams(grpc::openWatches);
    HttpFrontEnd http = new HttpFrontEnd(ListenerSpec.tcp(new InetSocketAddress("127.0.0.1", 0)),
        "/container-healthcheck", HttpLimits.of(10_000), registry, Exposure.DEFAULT, metrics, Clock.systemUTC());

    Map<String, ContainerRecord> containers = new LinkedHashMap<>();
    for (String name : Synthetic.names(args.getInt("names", 1000))) {
      containers.put(name, Synthetic.container(name, Map.of()));
    }
    if (args.has("backends")) {
      String app = args.get("app", "app");
      int i = 0;
      for (String port : args.get("backends", "").split(",")) {
        String name = app + "-backend-" + i++;
        containers.put(name, Synthetic.container(name, Map.of(
            ServiceRules.DEFAULT_SERVICE_LABEL, app, ContainerRecord.PORT_LABEL, port.trim())));
      }
    }
    // What the Docker source does after its first list and inspect: one replaceAll, and the model
    // is in sync ("" SERVING).
    registry.replaceAll(containers.values());
    grpc.startAsync().awaitRunning();
    http.startAsync().awaitRunning();

    Map<String, Function<Map<String, String>, String>> handlers = new LinkedHashMap<>();
    handlers.put("/flip", q -> {
      boolean serving = q.get("to").equals("SERVING");
      if (q.getOrDefault("scope", "one").equals("all")) {
        List<ContainerRecord> flipped = new ArrayList<>();
        for (ContainerRecord container : containers.values()) {
          flipped.add(Synthetic.serving(container, serving));
        }
        long t0 = System.nanoTime();
        registry.replaceAll(flipped); // one resync in which every container changed
        return Long.toString(t0);
      }
      ContainerRecord container = Synthetic.serving(containers.get(q.get("name")), serving);
      long t0 = System.nanoTime();
      registry.put(container); // what an event about this container does
      return Long.toString(t0);
    });
    handlers.put("/watches", q -> Integer.toString(grpc.openWatches()));
    Control control = Control.start(handlers);
    System.out.println("READY grpc=" + grpc.address().getPort() + " http=" + http.address().getPort()
        + " control=" + control.port());
    System.out.flush();
    Thread.currentThread().join();
  }
}

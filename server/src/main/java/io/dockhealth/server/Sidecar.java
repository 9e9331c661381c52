package io.dockhealth.server;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.base.Ticker;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.google.common.util.concurrent.Uninterruptibles;
import io.dockhealth.server.docker.DockerSource;
import io.dockhealth.server.grpc.GrpcFrontEnd;
import io.dockhealth.server.http.HttpFrontEnd;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar, assembled: Docker source -> registry -> gRPC front end and HTTP gateway, with
 * metrics of all three.
 *
 * <pre>{@code
 * Sidecar sidecar = Sidecar.start(config);
 * Runtime.getRuntime().addShutdownHook(new Thread(sidecar::stop));
 * sidecar.awaitStopped();
 * }</pre>
 */
public final class Sidecar {
  private static final Logger logger = LoggerFactory.getLogger(Sidecar.class);

  private final SidecarConfig config;
  private final Registry registry;
  private final DockerSource docker;
  private final GrpcFrontEnd grpc;
  private final HttpFrontEnd http;
  private final Metrics metrics = new Metrics();
  private final ScheduledExecutorService timer;
  private final AtomicBoolean stopping = new AtomicBoolean();

  private Sidecar(SidecarConfig config) {
    this.config = checkNotNull(config, "config");
    // First, so that a limit too low to run stops the start before anything is made.
    FileDescriptorBudget caps = FileDescriptorBudget.of(config.httpLimits(), config.grpcLimits());
    caps.warning().ifPresent(logger::warn);
    this.timer = Executors.newSingleThreadScheduledExecutor(
        new ThreadFactoryBuilder().setNameFormat("dockhealth-timer").setDaemon(true).build());
    this.registry = new Registry(config.rules(), config.staleGrace(), config.forgetAfter(), Clock.systemUTC(),
        (delay, task) -> timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS));
    this.docker = new DockerSource(
        DockerSource.Settings.defaults(config.dockerHost(), config.resyncInterval()), registry, Ticker.systemTicker(),
        metrics.docker());
    this.grpc = new GrpcFrontEnd(config.grpcAddress(), registry, config.maxWatchStreams(),
        config.serviceFromAuthority(), caps.grpc(), metrics);
    metrics.observe(registry);
    metrics.watchStreams(grpc::openWatches);
    this.http = new HttpFrontEnd(config.httpAddress(), config.compatPrefix(), caps.http(), registry, metrics,
        Clock.systemUTC());
  }

  /**
   * Starts serving at once ("" is NOT_SERVING until Docker is reached and read), then connects to
   * Docker in the background. Fails only when the server cannot listen.
   */
  public static Sidecar start(SidecarConfig config) {
    Sidecar sidecar = new Sidecar(config);
    sidecar.grpc.startAsync().awaitRunning();
    try {
      sidecar.http.startAsync().awaitRunning();
    } catch (IllegalStateException e) {
      sidecar.grpc.stopAsync().awaitTerminated();
      throw e;
    }
    sidecar.docker.startAsync().awaitRunning();
    return sidecar;
  }

  /**
   * Stops in the order balancers need: every name NOT_SERVING and every watcher told, then the
   * drain period so balancers move traffic away, then the servers stop. Safe to call twice.
   */
  public void stop() {
    if (!stopping.compareAndSet(false, true)) {
      grpc.awaitTerminated();
      return;
    }
    logger.info("stopping: every name is NOT_SERVING; draining for {} ms", config.drainPeriod().toMillis());
    registry.enterTerminalState();
    Uninterruptibles.sleepUninterruptibly(config.drainPeriod());
    grpc.stopAsync().awaitTerminated();
    http.stopAsync().awaitTerminated();
    docker.stopAsync().awaitTerminated();
    timer.shutdownNow();
    logger.info("stopped");
  }

  /** Blocks until {@link #stop()} has finished. */
  public void awaitStopped() {
    grpc.awaitTerminated();
    http.awaitTerminated();
    docker.awaitTerminated();
  }

  public Registry registry() {
    return registry;
  }

  /** Where gRPC listens; the real port when port 0 was asked for. */
  public InetSocketAddress grpcAddress() {
    return grpc.address();
  }

  /** Where the HTTP gateway listens; the real port when port 0 was asked for. */
  public InetSocketAddress httpAddress() {
    return http.address();
  }
}

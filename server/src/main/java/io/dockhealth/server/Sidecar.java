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
import io.dockhealth.server.net.ListenAddress;
import io.dockhealth.server.net.ListenerSpec;
import io.dockhealth.server.net.ServerTls;
import io.dockhealth.server.net.TlsFileException;
import io.dockhealth.server.net.TlsFiles;
import java.net.InetSocketAddress;
import java.util.Optional;
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
    FileDescriptorBudget caps = FileDescriptorBudget.of(config.http().limits(), config.grpc().limits());
    caps.warning().ifPresent(logger::warn);
    // One TLS for both listeners: the files are read, and reloaded, once for both.
    Optional<ServerTls> tls = config.listenerSecurity().tls().map(Sidecar::loadTls);
    this.timer = Executors.newSingleThreadScheduledExecutor(
        new ThreadFactoryBuilder().setNameFormat("dockhealth-timer").setDaemon(true).build());
    SidecarConfig.Model model = config.model();
    this.registry = new Registry(model.rules(), model.staleGrace(), model.forgetAfter(), Clock.systemUTC(),
        (delay, task) -> timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS));
    SidecarConfig.Docker dockerConfig = config.docker();
    this.docker = new DockerSource(
        DockerSource.Settings.defaults(dockerConfig.host(), dockerConfig.resyncInterval(), dockerConfig.timeout()),
        registry, Ticker.systemTicker(), metrics.docker());
    SidecarConfig.Grpc grpcConfig = config.grpc();
    this.grpc = new GrpcFrontEnd(ListenerSpec.of(grpcConfig.address(), tls, config.listenerSecurity().socketMode()),
        registry, grpcConfig.maxWatchStreams(), grpcConfig.maxWatchContainersStreams(),
        grpcConfig.serviceFromAuthority(), config.exposure(), caps.grpc(), metrics);
    metrics.observe(registry);
    metrics.watchStreams(grpc::openWatches);
    metrics.watchContainersStreams(grpc::openContainerWatches);
    this.http = new HttpFrontEnd(ListenerSpec.of(config.http().address(), tls, config.listenerSecurity().socketMode()),
        config.http().compatPrefix(), caps.http(), registry, config.exposure(), metrics, Clock.systemUTC());
  }

  /** The TLS files, read; they were checked with the flags, but may have changed since. */
  private static ServerTls loadTls(TlsFiles files) {
    try {
      return ServerTls.load(files);
    } catch (TlsFileException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  /**
   * Starts serving at once ("" is NOT_SERVING until Docker is reached and read), then connects to
   * Docker in the background. Fails only when the server cannot listen.
   */
  public static Sidecar start(SidecarConfig config) {
    Sidecar sidecar = new Sidecar(config); // reads the TLS files: IllegalStateException if they cannot be used
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
   * Stops in the order balancers need. First {@code ""} turns NOT_SERVING and its watchers are
   * told, while every other name keeps following Docker: the sidecar is an oracle about other
   * servers, and a balancer that asks it must not eject healthy containers because the oracle
   * restarts. (With --drain-names every name turns NOT_SERVING instead, for hosts going down.) Then
   * the drain period, for clients to move to another instance; then the servers stop, ending open
   * streams with UNAVAILABLE, which clients retry. Safe to call twice.
   */
  public void stop() {
    if (!stopping.compareAndSet(false, true)) {
      grpc.awaitTerminated();
      return;
    }
    if (config.drain().allNames()) {
      logger.info("stopping: every name is NOT_SERVING (--drain-names); draining for {} ms",
          config.drain().period().toMillis());
      registry.enterTerminalState();
    } else {
      logger.info("stopping: \"\" is NOT_SERVING, every other name keeps following Docker; draining for {} ms",
          config.drain().period().toMillis());
      registry.enterShutdown();
    }
    Uninterruptibles.sleepUninterruptibly(config.drain().period());
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

  /**
   * The TCP address gRPC listens on; the real port when port 0 was asked for.
   *
   * @throws IllegalStateException if it listens on a unix socket
   */
  public InetSocketAddress grpcAddress() {
    return grpc.address();
  }

  /**
   * The TCP address the HTTP gateway listens on; the real port when port 0 was asked for.
   *
   * @throws IllegalStateException if it listens on a unix socket
   */
  public InetSocketAddress httpAddress() {
    return http.address();
  }

  /** Where gRPC listens: a TCP address with its real port, or a unix socket. */
  public ListenAddress grpcListenAddress() {
    return grpc.listenAddress();
  }

  /** Where the HTTP gateway listens: a TCP address with its real port, or a unix socket. */
  public ListenAddress httpListenAddress() {
    return http.listenAddress();
  }
}

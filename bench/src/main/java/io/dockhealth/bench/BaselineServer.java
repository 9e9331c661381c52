package io.dockhealth.bench;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.FullHttpRequest;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * The baselines, in a JVM of their own started exactly like {@link SubjectServer}'s:
 *
 * <ul>
 *   <li>gRPC: a bare grpc-java server with grpc-services' {@link HealthStatusManager} holding the
 *       same names SERVING. It gets the same transport settings as ours (Netty, direct executor,
 *       since its health service never blocks either), so the ratio measures what our service and
 *       interceptors cost over the stock one, not a thread hop ours avoids.
 *   <li>HTTP: a minimal Netty HTTP/1.1 handler answering every request 200 with a fixed small JSON
 *       body, keep-alive, on the same thread counts as our gateway (1 acceptor, 2 workers).
 * </ul>
 *
 * <p>Arguments: {@code --names N}; {@code --bare} for the gRPC server alone, without the HTTP
 * handler or the control door (the start-up and memory floor of figure 6); {@code --docker HOST}
 * for the gRPC server alone, its statuses set by Docker's health events (the bare libraries' floor
 * of figure 3, {@link #followHealthEvents}); {@code --read-docker HOST [--parallel N]} for the
 * gRPC server that serves once docker-java has read every container (the bare libraries' start-up
 * floor of figure 6, {@link #readDocker}). Prints
 * {@code READY grpc=.. [http=.. control=..]}.
 */
public final class BaselineServer {
  private static final byte[] FIXED_BODY = "{\"status\":\"SERVING\"}".getBytes(StandardCharsets.UTF_8);

  private BaselineServer() {}

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv);
    List<String> names = Synthetic.names(args.getInt("names", 1000));
    if (args.has("name-prefix")) {
      String prefix = args.get("name-prefix", "");
      names = java.util.stream.IntStream.range(0, names.size())
          .mapToObj(i -> String.format("%s%03d", prefix, i)).toList();
    }
    HealthStatusManager health = new HealthStatusManager();
    if (args.has("read-docker")) {
      health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.NOT_SERVING); // until read
    }
    for (String name : names) {
      health.setStatus(name, ServingStatus.SERVING);
    }
    Server grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .directExecutor()
        .addService(health.getHealthService())
        .build()
        .start();
    if (args.has("docker")) {
      followHealthEvents(args.get("docker", ""), health);
      System.out.println("READY grpc=" + grpc.getPort());
      System.out.flush();
      grpc.awaitTermination();
      return;
    }
    if (args.has("read-docker")) {
      System.out.println("READY grpc=" + grpc.getPort());
      System.out.flush();
      readDocker(args.get("read-docker", ""), args.getInt("parallel", 4), health);
      grpc.awaitTermination();
      return;
    }
    if (args.has("bare")) {
      System.out.println("READY grpc=" + grpc.getPort());
      System.out.flush();
      grpc.awaitTermination();
      return;
    }
    Channel http = new ServerBootstrap()
        .group(new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory()),
            new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory()))
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel channel) {
            channel.pipeline()
                .addLast(new HttpServerCodec())
                .addLast(new HttpObjectAggregator(8192))
                .addLast(new FixedOk());
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0))
        .sync()
        .channel();

    List<String> all = names;
    Map<String, Function<Map<String, String>, String>> handlers = new LinkedHashMap<>();
    handlers.put("/flip", q -> {
      ServingStatus to = ServingStatus.valueOf(q.get("to"));
      long t0 = System.nanoTime();
      if (q.getOrDefault("scope", "one").equals("all")) {
        for (String name : all) {
          health.setStatus(name, to);
        }
      } else {
        health.setStatus(q.get("name"), to);
      }
      return Long.toString(t0);
    });
    Control control = Control.start(handlers);
    System.out.println("READY grpc=" + grpc.getPort() + " http=" + ((InetSocketAddress) http.localAddress()).getPort()
        + " control=" + control.port());
    System.out.flush();
    grpc.awaitTermination();
  }

  /**
   * The bare libraries' event path (figure 3's baseline): docker-java's {@code events()} callback,
   * on the same transport as the sidecar's (zerodep), hands each event to one thread of its own (the
   * hop the sidecar makes too, to the thread that owns its state), which sets the container's name in
   * {@link HealthStatusManager}: SERVING on {@code health_status: healthy} and {@code unpause},
   * NOT_SERVING on any other health status and {@code pause} (the warm-up pauses and unpauses). No
   * model, no inspect, no product logic. Returns once Docker has subscribed the stream.
   */
  private static void followHealthEvents(String dockerHost, HealthStatusManager health) throws InterruptedException {
    DockerClient docker = docker(dockerHost, 2);
    ExecutorService owner = Executors.newSingleThreadExecutor();
    ResultCallback.Adapter<Event> stream = docker.eventsCmd()
        .withEventTypeFilter("container")
        .withEventFilter("health_status", "pause", "unpause")
        .exec(new ResultCallback.Adapter<>() {
          @Override
          public void onNext(Event event) {
            String name = event.getActor().getAttributes().get("name");
            String action = event.getAction();
            ServingStatus status = action.equals("health_status: healthy") || action.equals("unpause")
                ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
            owner.execute(() -> health.setStatus(name, status));
          }
        });
    stream.awaitStarted();
  }

  /**
   * The bare libraries' first read of Docker (figure 6's baseline): docker-java lists every
   * container, then inspects each, {@code parallel} at a time, on as many connections (the
   * sidecar's resync does that too), and each container's name is set SERVING in {@link
   * HealthStatusManager}; then "" is SERVING. No model, no mapping of our own. Logs "read N
   * containers in T ms".
   */
  private static void readDocker(String dockerHost, int parallel, HealthStatusManager health) throws Exception {
    DockerClient docker = docker(dockerHost, parallel);
    ExecutorService inspects = Executors.newFixedThreadPool(parallel);
    long t0 = System.nanoTime();
    List<Future<InspectContainerResponse>> described = new ArrayList<>();
    for (Container container : docker.listContainersCmd().withShowAll(true).exec()) {
      described.add(inspects.submit(() -> docker.inspectContainerCmd(container.getId()).exec()));
    }
    for (Future<InspectContainerResponse> container : described) {
      health.setStatus(container.get().getName().substring(1), ServingStatus.SERVING); // "/name"
    }
    // Logged before "" serves, so the log holds it once a client sees SERVING.
    System.err.printf("read %d containers in %d ms%n", described.size(), (System.nanoTime() - t0) / 1_000_000);
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
    inspects.shutdown();
  }

  /** docker-java's client on the transport the sidecar uses (zerodep), with up to {@code connections}. */
  private static DockerClient docker(String dockerHost, int connections) {
    DockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(dockerHost).build();
    return DockerClientImpl.getInstance(config, new ZerodepDockerHttpClient.Builder()
        .dockerHost(config.getDockerHost()).maxConnections(connections).build());
  }

  /** 200 with a fixed body for any request; keeps the connection open unless asked not to. */
  private static final class FixedOk extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      ByteBuf body = Unpooled.wrappedBuffer(FIXED_BODY);
      FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
      response.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
          .setInt(HttpHeaderNames.CONTENT_LENGTH, FIXED_BODY.length);
      boolean keepAlive = HttpUtil.isKeepAlive(request);
      if (keepAlive) {
        ctx.writeAndFlush(response);
      } else {
        ctx.writeAndFlush(response).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
      }
    }
  }
}

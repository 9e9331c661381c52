package io.dockhealth.bench;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * handler or the control door (the start-up and memory floor of figure 6). Prints
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
    for (String name : names) {
      health.setStatus(name, ServingStatus.SERVING);
    }
    Server grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .directExecutor()
        .addService(health.getHealthService())
        .build()
        .start();
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

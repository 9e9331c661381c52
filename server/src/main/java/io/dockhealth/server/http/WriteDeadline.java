package io.dockhealth.server.http;

import static com.google.common.base.Preconditions.checkArgument;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.timeout.WriteTimeoutException;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.annotation.Nullable;

/**
 * A client that does not read its answer is closed: a write still not taken by the socket when the
 * limit has passed fires a {@link WriteTimeoutException} down the pipeline (HttpHandler reports it)
 * and closes the connection, as Netty's {@code WriteTimeoutHandler} does. That handler schedules a
 * timer for every write and cancels it when the write is done, about a tenth of the gateway's CPU
 * time at full load; here a connection has one timer at a time, started by a write when none runs.
 * When it fires it looks at the writes then unfinished: none, and it stops until the next write;
 * some, younger than the limit, and it is set again for the rest of their time.
 *
 * <p>Writes finish in the order they were made, so the last write being done means all are, and
 * the writes unfinished at once are the ones made since the last time none was. A connection
 * answers one request at a time (see HttpHandler): those were made together, for one answer, and
 * the time of the first is the time of each.
 */
final class WriteDeadline extends ChannelDuplexHandler {
  private final long limitNanos;
  private final Runnable check = this::check;
  private ChannelHandlerContext context;
  /** The last write made, for whether all are done. */
  @Nullable private ChannelPromise last;
  /** When the first of the writes unfinished since the last time none was was made. */
  private long sinceNanos;
  @Nullable private ScheduledFuture<?> timer;
  /** Closed, or closing: no timer any more. */
  private boolean ended;

  WriteDeadline(Duration limit) {
    checkArgument(limit.compareTo(Duration.ZERO) > 0, "limit: %s (expected: > 0)", limit);
    this.limitNanos = limit.toNanos();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    context = ctx;
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    promise = promise.unvoid(); // a void promise never tells that it is done
    if (last == null || last.isDone()) {
      sinceNanos = ctx.executor().ticker().nanoTime();
      if (timer == null && !ended) {
        timer = ctx.executor().schedule(check, limitNanos, TimeUnit.NANOSECONDS);
      }
    }
    last = promise;
    ctx.write(msg, promise);
  }

  private void check() {
    timer = null;
    if (ended) {
      return;
    }
    if (last == null || last.isDone()) {
      last = null; // nothing waits: no timer until the next write
      return;
    }
    long waited = context.executor().ticker().nanoTime() - sinceNanos;
    if (waited < limitNanos) {
      timer = context.executor().schedule(check, limitNanos - waited, TimeUnit.NANOSECONDS);
      return;
    }
    ended = true;
    context.fireExceptionCaught(WriteTimeoutException.INSTANCE);
    context.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    ended = true;
    last = null;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    super.channelInactive(ctx);
  }
}

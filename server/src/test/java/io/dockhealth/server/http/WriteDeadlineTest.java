package io.dockhealth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.timeout.WriteTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The write deadline on an EmbeddedChannel, where a write not flushed stays unfinished as one the
 * socket does not take, and time moves only when the test moves it.
 */
class WriteDeadlineTest {
  private final List<Throwable> caught = new ArrayList<>();
  private final EmbeddedChannel channel = new EmbeddedChannel(new WriteDeadline(Duration.ofSeconds(10)),
      new ChannelInboundHandlerAdapter() {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
          caught.add(cause);
        }
      });

  WriteDeadlineTest() {
    channel.freezeTime();
  }

  @AfterEach
  void close() {
    channel.finishAndReleaseAll();
  }

  private void advanceSeconds(int seconds) {
    channel.advanceTimeBy(seconds, TimeUnit.SECONDS);
    channel.runScheduledPendingTasks();
  }

  private ChannelFuture unfinishedWrite() {
    return channel.write(Unpooled.wrappedBuffer(new byte[] {1}));
  }

  private void finishedWrite() {
    assertThat(channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1})).isSuccess()).isTrue();
  }

  @Test
  void aWriteUnfinishedForTheLimit_closesTheConnectionOnce_withAWriteTimeout() {
    ChannelFuture write = unfinishedWrite();
    advanceSeconds(9);
    assertThat(channel.isOpen()).isTrue();

    advanceSeconds(1);
    assertThat(channel.isOpen()).isFalse();
    assertThat(caught).containsExactly(WriteTimeoutException.INSTANCE);
    assertThat(write.isSuccess()).isFalse();
  }

  @Test
  void finishedWrites_neverClose_andLeaveNoTimerOnceChecked() {
    finishedWrite();
    advanceSeconds(5);
    finishedWrite();
    advanceSeconds(60);
    assertThat(channel.isOpen()).isTrue();
    assertThat(caught).isEmpty();
    assertThat(channel.runScheduledPendingTasks()).as("no timer while nothing is written").isEqualTo(-1);
  }

  @Test
  void aWriteMadeWhileTheTimerRuns_hasTheWholeLimitFromItsOwnStart() {
    finishedWrite(); // the timer runs until 10 s
    advanceSeconds(9);
    unfinishedWrite(); // at 9 s: its limit ends at 19 s
    advanceSeconds(9);
    assertThat(channel.isOpen()).isTrue();

    advanceSeconds(1);
    assertThat(channel.isOpen()).isFalse();
    assertThat(caught).containsExactly(WriteTimeoutException.INSTANCE);
  }

  @Test
  void aWriteVoidOfPromise_isWatchedAllTheSame() {
    channel.write(Unpooled.wrappedBuffer(new byte[] {1}), channel.voidPromise());
    advanceSeconds(10);
    assertThat(channel.isOpen()).isFalse();
    // Then the write failing as it is closed: Netty tells that of any write with a void promise.
    assertThat(caught).first().isEqualTo(WriteTimeoutException.INSTANCE);
  }
}

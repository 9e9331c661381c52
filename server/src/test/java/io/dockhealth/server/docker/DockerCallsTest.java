package io.dockhealth.server.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.core.JsonParseException;
import com.github.dockerjava.api.exception.BadRequestException;
import com.github.dockerjava.api.exception.InternalServerErrorException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.google.common.base.Ticker;
import com.google.common.util.concurrent.ListenableFuture;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deadlines on a unix socket, which ignores read timeouts; and what a failed Docker call says
 * about Docker: gone, an answer about one container, or no answer.
 */
class DockerCallsTest {
  private final ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stopDeadlines() {
    deadlines.shutdownNow();
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void ping_overAUnixSocketThatNeverAnswers_failsAtTheDeadline_andClosesTheConnection(@TempDir Path dir)
      throws Exception {
    Path socket = dir.resolve("docker.sock");
    try (ServerSocketChannel daemon = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      daemon.bind(UnixDomainSocketAddress.of(socket));
      try (DockerCalls calls = new DockerCalls(URI.create("unix://" + socket), Duration.ofSeconds(3), deadlines,
          Ticker.systemTicker())) {
        // A ping whose deadline came before it connected (a busy machine, docker-java's classes
        // loading on the first call) leaves nothing to accept: the next one connects.
        ListenableFuture<Void> ping;
        SocketChannel accepted;
        do {
          ping = calls.ping();
          accepted = acceptWhilePending(daemon, ping);
        } while (accepted == null);
        try (SocketChannel connection = accepted) { // reads the request, never answers

          ListenableFuture<Void> connected = ping;
          Throwable failure = catchThrowable(() -> connected.get(10, TimeUnit.SECONDS));

          assertThat(failure)
              .isInstanceOf(ExecutionException.class)
              .hasCauseInstanceOf(TimeoutException.class)
              .hasMessageContaining("no answer within 3000 ms");
          assertThat(DockerCalls.classify(failure)).isEqualTo(DockerCalls.Failure.TRANSPORT);
          // The call was interrupted and its connection closed: the "daemon" reads to the end.
          ByteBuffer buffer = ByteBuffer.allocate(4096);
          int read;
          do {
            buffer.clear();
            read = connection.read(buffer);
          } while (read > 0);
          assertThat(read).isEqualTo(-1);
        }
      }
    }
  }

  /** The call's connection, or null if the call ended without one. */
  private static SocketChannel acceptWhilePending(ServerSocketChannel daemon, Future<?> call) throws IOException {
    daemon.configureBlocking(false);
    try (Selector selector = Selector.open()) {
      daemon.register(selector, SelectionKey.OP_ACCEPT);
      while (!call.isDone()) {
        selector.select(100);
        SocketChannel connection = daemon.accept(); // in blocking mode, as every accepted channel
        if (connection != null) {
          return connection;
        }
      }
    }
    return daemon.accept();
  }

  @Test
  void classify_404_isGone() {
    assertThat(DockerCalls.classify(new ExecutionException(new NotFoundException("no such container"))))
        .isEqualTo(DockerCalls.Failure.GONE);
  }

  @Test
  void classify_errorAnswersAndUnusableAnswers_areAboutWhatWasAsked() {
    assertThat(DockerCalls.classify(new ExecutionException(new InternalServerErrorException("{\"message\":\"x\"}"))))
        .isEqualTo(DockerCalls.Failure.ANSWER);
    assertThat(DockerCalls.classify(new BadRequestException("bad"))).isEqualTo(DockerCalls.Failure.ANSWER);
    assertThat(DockerCalls.classify(new DockerAnswerException("container x: State is missing")))
        .isEqualTo(DockerCalls.Failure.ANSWER);
    // docker-java wraps Jackson's failure to read the body in a RuntimeException.
    assertThat(DockerCalls.classify(new RuntimeException(new JsonParseException(null, "Unexpected character"))))
        .isEqualTo(DockerCalls.Failure.ANSWER);
  }

  @Test
  void classify_noAnswer_isTransport() {
    assertThat(DockerCalls.classify(new TimeoutException("Timed out"))).isEqualTo(DockerCalls.Failure.TRANSPORT);
    assertThat(DockerCalls.classify(new RuntimeException(new IOException("Connection reset by peer"))))
        .isEqualTo(DockerCalls.Failure.TRANSPORT);
    assertThat(DockerCalls.classify(new ExecutionException(new RuntimeException(new ClosedByInterruptException()))))
        .isEqualTo(DockerCalls.Failure.TRANSPORT);
  }

  @Test
  void describe_saysWhatFailedInAFewWords() {
    assertThat(DockerCalls.describe(new ExecutionException(new TimeoutException("no answer within 5000 ms"))))
        .isEqualTo("no answer within 5000 ms");
    assertThat(DockerCalls.describe(new InternalServerErrorException("{\"message\":\"oops\"}\n")))
        .isEqualTo("Status 500: {\"message\":\"oops\"}");
    assertThat(DockerCalls.describe(new RuntimeException(new IOException("Connection refused"))))
        .isEqualTo("Connection refused");
    assertThat(DockerCalls.describe(new IOException("x".repeat(500)))).hasSize(203).endsWith("...");
  }
}

package io.dockhealth.server.docker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonParseException;
import com.github.dockerjava.api.exception.BadRequestException;
import com.github.dockerjava.api.exception.InternalServerErrorException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.google.common.base.Ticker;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.ClosedByInterruptException;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a failed Docker call says about Docker: gone, an answer about one container, or no answer. */
class DockerCallsTest {
  private final ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor();
  private final DockerCalls calls = new DockerCalls(URI.create("unix:///nonexistent/docker.sock"),
      Duration.ofSeconds(5), deadlines, Ticker.systemTicker());

  @AfterEach
  void close() throws IOException {
    calls.close();
    deadlines.shutdownNow();
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
    assertThat(calls.describe(new ExecutionException(new TimeoutException("Timed out (timeout delayed by 2 ms)"))))
        .isEqualTo("no answer within 5000 ms");
    assertThat(calls.describe(new InternalServerErrorException("{\"message\":\"oops\"}\n")))
        .isEqualTo("Status 500: {\"message\":\"oops\"}");
    assertThat(calls.describe(new RuntimeException(new IOException("Connection refused"))))
        .isEqualTo("Connection refused");
    assertThat(calls.describe(new IOException("x".repeat(500)))).hasSize(203).endsWith("...");
  }
}

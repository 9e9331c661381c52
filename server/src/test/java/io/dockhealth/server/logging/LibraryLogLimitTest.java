package io.dockhealth.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.spi.FilterReply;
import org.junit.jupiter.api.Test;

/** A library's warnings are held to a few a minute; its questions about levels are not lines. */
class LibraryLogLimitTest {
  private final LoggerContext context = new LoggerContext();
  private final Logger netty = context.getLogger("io.netty.util.ResourceLeakDetector");
  private final LibraryLogLimit limit = new LibraryLogLimit();

  @Test
  void decide_aFloodOfOneWarning_letsAFewThrough_thenDenies() {
    long let = countLetThrough(100, "LEAK: {}");

    assertThat(let).isEqualTo(ClientFaults.LINES_PER_MINUTE);
  }

  @Test
  void decide_isEnabledQuestions_areNeverCountedNorDenied() {
    for (int i = 0; i < 1_000; i++) {
      assertThat(limit.decide(null, netty, Level.ERROR, null, null, null)).isEqualTo(FilterReply.NEUTRAL);
    }

    assertThat(countLetThrough(1, "LEAK: {}")).as("the first real line still gets through").isEqualTo(1);
  }

  private long countLetThrough(int lines, String format) {
    long let = 0;
    for (int i = 0; i < lines; i++) {
      if (limit.decide(null, netty, Level.ERROR, format, new Object[] {i}, null) == FilterReply.NEUTRAL) {
        let++;
      }
    }
    return let;
  }
}

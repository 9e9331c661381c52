package io.dockhealth.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.core.spi.FilterReply;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** A library's warnings held to a few a minute; its questions about levels never count. */
class LibraryLogLimitTest {
  private final LibraryLogLimit limit = new LibraryLogLimit();
  private final Logger library = (Logger) LoggerFactory.getLogger("io.netty.util.ResourceLeakDetector");

  @Test
  void decide_sameWarningOverTheBudget_isDenied() {
    for (int i = 0; i < ClientFaults.LINES_PER_MINUTE; i++) {
      assertThat(limit.decide(null, library, Level.WARN, "leak {}", new Object[] {i}, null))
          .isEqualTo(FilterReply.NEUTRAL);
    }
    assertThat(limit.decide(null, library, Level.WARN, "leak {}", new Object[] {0}, null))
        .isEqualTo(FilterReply.DENY);
  }

  @Test
  void decide_levelQuestions_neverSpendTheBudgetNorTurnTheLevelOff() {
    for (int i = 0; i < 10 * ClientFaults.LINES_PER_MINUTE; i++) {
      // What logback asks the filter for library.isErrorEnabled(): no format, no arguments.
      assertThat(limit.decide(null, library, Level.ERROR, null, null, null)).isEqualTo(FilterReply.NEUTRAL);
    }
    assertThat(limit.decide(null, library, Level.ERROR, "LEAK: {}", new Object[] {"a buffer"}, null))
        .isEqualTo(FilterReply.NEUTRAL);
  }
}

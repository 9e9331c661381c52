package io.dockhealth.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import com.google.common.base.Ticker;
import java.time.Duration;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * A logback turbo filter that holds each warning or error a library logs (grpc-java, Netty,
 * docker-java) to {@value ClientFaults#LINES_PER_MINUTE} a minute per logger and message pattern:
 * what a client makes a library log, such as grpc-java's warning for an oversized message, cannot
 * flood the log. The next line let through is preceded by one that counts what was left out. The
 * sidecar's own loggers are never held back.
 */
public final class LibraryLogLimit extends TurboFilter {
  private static final org.slf4j.Logger summary = LoggerFactory.getLogger(LibraryLogLimit.class);

  private final LogBudget budget = new LogBudget(ClientFaults.LINES_PER_MINUTE, Duration.ofMinutes(1),
      Ticker.systemTicker());

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params,
      Throwable t) {
    // No format: an isWarnEnabled() or isErrorEnabled() question, not a line. Netty's leak detector
    // asks on every sampled buffer; counting its questions would both invent lines "not logged" and
    // answer "disabled" to a detector that has a real leak to report.
    if (format == null || level == null || !level.isGreaterOrEqual(Level.WARN)
        || logger.getName().startsWith("io.dockhealth") || !level.isGreaterOrEqual(logger.getEffectiveLevel())) {
      return FilterReply.NEUTRAL;
    }
    long skipped = budget.take(logger.getName() + '\n' + format);
    if (skipped == LogBudget.SKIP) {
      return FilterReply.DENY;
    }
    if (skipped > 0) {
      summary.warn("{} more lines like the next one from {} were not logged", skipped, logger.getName());
    }
    return FilterReply.NEUTRAL;
  }
}

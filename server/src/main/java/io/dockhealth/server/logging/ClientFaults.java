package io.dockhealth.server.logging;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.base.Ticker;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.time.Duration;
import javax.annotation.Nullable;
import org.slf4j.Logger;
import org.slf4j.helpers.MessageFormatter;

/**
 * What misbehaving clients do (a request cut off halfway, a request head that never ends, an answer
 * never read), logged one line per fault and never with a stack trace: worth telling an operator,
 * but no client may flood the log. Each kind of fault logs at most {@value #LINES_PER_MINUTE} lines
 * a minute; the next line of that kind says how many were left out in between. Whatever a client
 * chose (a path, a header, a name) is escaped by the log layout, so it cannot forge lines.
 *
 * <pre>{@code
 * ClientFaults faults = new ClientFaults(logger, Ticker.systemTicker());
 * faults.report("closed mid-request", "HTTP client {} closed the connection in the middle of a request", remote);
 * }</pre>
 */
public final class ClientFaults {
  /** Lines per kind of fault per minute: enough to see who misbehaves, too few to flood a log. */
  public static final int LINES_PER_MINUTE = 3;

  private final Logger logger;
  private final LogBudget budget;

  public ClientFaults(Logger logger, Ticker ticker) {
    this.logger = checkNotNull(logger, "logger");
    this.budget = new LogBudget(LINES_PER_MINUTE, Duration.ofMinutes(1), ticker);
  }

  /**
   * Logs one line at info, unless {@code kind} has used up its minute.
   *
   * @param kind the fault, from a fixed set such as "request head timeout"
   * @param format an SLF4J message pattern; {@code args} must not hold a Throwable
   */
  public void report(String kind, String format, Object... args) {
    long skipped = budget.take(kind);
    if (skipped == LogBudget.SKIP || !logger.isInfoEnabled()) {
      return;
    }
    String line = MessageFormatter.arrayFormat(format, args).getMessage();
    if (skipped > 0) {
      line += " (" + skipped + " more " + kind + " faults were not logged)";
    }
    logger.info(line);
  }

  /**
   * How a line names a client: by its address; on a unix socket, where every client's address is
   * the same unnamed one (an empty path), by saying so.
   */
  public static String client(@Nullable SocketAddress address) {
    if (address instanceof UnixDomainSocketAddress unix) {
      String path = unix.getPath().toString();
      return path.isEmpty() ? "on a unix socket" : "unix:" + path;
    }
    return String.valueOf(address);
  }
}

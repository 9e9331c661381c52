package io.dockhealth.server.logging;

import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.CoreConstants;
import org.slf4j.LoggerFactory;

/**
 * The exception of a log event, for logback: a library's (grpc-java, Netty, docker-java) on the
 * same line as its message, as {@code (Type: message <- Cause: message)}, because what clients make
 * a library log must stay one line; the full stack trace when the sidecar itself logs one (that is a
 * bug to report) or runs at debug level.
 */
public final class OneLineThrowableConverter extends ThrowableProxyConverter {
  private static final String OURS = "io.dockhealth";

  @Override
  public String convert(ILoggingEvent event) {
    IThrowableProxy thrown = event.getThrowableProxy();
    if (thrown == null) {
      return "";
    }
    if (event.getLoggerName().startsWith(OURS) || LoggerFactory.getLogger(OURS).isDebugEnabled()) {
      String trace = super.convert(event);
      return CoreConstants.LINE_SEPARATOR + trace.stripTrailing();
    }
    StringBuilder line = new StringBuilder(" (");
    for (IThrowableProxy cause = thrown; cause != null; cause = cause.getCause()) {
      if (cause != thrown) {
        line.append(" <- ");
      }
      line.append(cause.getClassName());
      if (cause.getMessage() != null) {
        line.append(": ").append(LogText.escape(cause.getMessage()));
      }
    }
    return line.append(')').toString();
  }
}

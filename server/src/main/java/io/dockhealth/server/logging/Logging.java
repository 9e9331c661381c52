package io.dockhealth.server.logging;

import org.slf4j.bridge.SLF4JBridgeHandler;

/** Set-up of the process's logging, once, at start. */
public final class Logging {
  private Logging() {}

  /**
   * Hands java.util.logging (how grpc-java logs) to SLF4J, so that logback.xml's levels, one-line
   * layout and limits apply to it too, instead of JUL's own multi-line console output.
   */
  public static void bridgeJavaUtilLogging() {
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
  }
}

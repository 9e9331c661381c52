package io.dockhealth.server.http;

/** A request the gateway cannot answer as asked; the message says what was wrong and what is expected. */
final class BadRequest extends RuntimeException {
  private static final long serialVersionUID = 1L;

  BadRequest(String message) {
    super(message, null, false, false);
  }
}

package io.dockhealth.server.docker;

/** Docker answered something the model cannot use; the message says what and what was expected. */
final class DockerAnswerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  DockerAnswerException(String message) {
    super(message);
  }
}

package io.dockhealth.client.probe;

/** Ends a command with an exit code, after its message has been printed. */
final class ProbeExit extends Exception {
  private static final long serialVersionUID = 1L;

  final int code;

  ProbeExit(int code) {
    super(null, null, false, false); // control flow, not an error: no stack trace
    this.code = code;
  }
}

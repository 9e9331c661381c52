package io.dockhealth.client.probe;

/** grpc_health_probe's exit codes, which HEALTHCHECK lines and scripts may rely on. */
final class ExitCode {
  /** Success: the service is SERVING (check), or the command did what it was asked. */
  static final int OK = 0;
  /** Invalid command-line arguments, or TLS files that fail to load. */
  static final int INVALID_ARGUMENTS = 1;
  /** The connection failed or timed out. */
  static final int CONNECTION_FAILURE = 2;
  /** The RPC failed or timed out, NOT_FOUND and UNIMPLEMENTED included. */
  static final int RPC_FAILURE = 3;
  /** The RPC succeeded, but the status is not SERVING. */
  static final int UNHEALTHY = 4;

  private ExitCode() {}
}

package io.dockhealth.client;

/**
 * The files of {@link TlsOptions} could not be read or hold no usable certificate or key. The
 * message says which file and why, in the words grpc_health_probe uses, e.g.
 * {@code failed to load root CA certificates from file (ca.pem) error=open ca.pem: no such file or directory}.
 */
public final class TlsConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  TlsConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}

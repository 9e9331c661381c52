package io.dockhealth.server.net;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.net.InetSocketAddress;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;

/**
 * How one front end listens: where, and who may connect. A TCP listener speaks TLS when it has
 * one (and then only TLS); a unix socket is guarded by its file's mode instead, and speaks plaintext.
 *
 * @param address where it listens
 * @param tls the TLS of a TCP listener; empty for plaintext and for unix sockets
 * @param socketMode the mode of a unix socket's file, such as {@code rw-rw----}
 */
public record ListenerSpec(ListenAddress address, Optional<ServerTls> tls, Set<PosixFilePermission> socketMode) {
  /** The mode of a unix socket's file unless told otherwise: owner and group may connect. */
  public static final Set<PosixFilePermission> DEFAULT_SOCKET_MODE = PosixFilePermissions.fromString("rw-rw----");

  public ListenerSpec {
    checkNotNull(address, "address");
    checkNotNull(tls, "tls");
    socketMode = Set.copyOf(checkNotNull(socketMode, "socketMode"));
    checkArgument(!(address instanceof ListenAddress.Unix && tls.isPresent()),
        "tls: %s (expected: none for unix socket %s, whose file mode says who may connect)", tls, address);
  }

  /**
   * A listener at {@code address} with the sidecar's security settings: {@code tls} applies to a
   * TCP address, {@code socketMode} to a unix socket. TLS protects what crosses a network; a unix
   * socket never leaves the host, and its file mode already decides who may connect.
   */
  public static ListenerSpec of(ListenAddress address, Optional<ServerTls> tls, Set<PosixFilePermission> socketMode) {
    return new ListenerSpec(address, address instanceof ListenAddress.Tcp ? tls : Optional.empty(), socketMode);
  }

  /** Plaintext TCP, as tests and benchmarks listen. */
  public static ListenerSpec tcp(InetSocketAddress address) {
    return new ListenerSpec(new ListenAddress.Tcp(address), Optional.empty(), DEFAULT_SOCKET_MODE);
  }

  /** The socket file a unix listener manages; empty for TCP. */
  public Optional<UnixSocketFile> socketFile() {
    return address instanceof ListenAddress.Unix unix
        ? Optional.of(new UnixSocketFile(unix.path(), socketMode))
        : Optional.empty();
  }

  /**
   * How it listens, for the log line that says where: {@code 127.0.0.1:4245 (TLS, client
   * certificates required)}, {@code unix:///run/dockhealth/grpc.sock (mode rw-rw----)}. {@code
   * actual} is the address taken, which has the real port when port 0 was asked for.
   */
  public String describe(ListenAddress actual) {
    if (address instanceof ListenAddress.Unix) {
      return actual + " (mode " + PosixFilePermissions.toString(socketMode) + ")";
    }
    return actual + tls.map(t -> t.clientCertificatesRequired() ? " (TLS, client certificates required)" : " (TLS)")
        .orElse(" (plaintext)");
  }
}

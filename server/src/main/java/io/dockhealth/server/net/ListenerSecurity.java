package io.dockhealth.server.net;

import static com.google.common.base.Preconditions.checkNotNull;

import java.nio.file.attribute.PosixFilePermission;
import java.util.Optional;
import java.util.Set;

/**
 * Who may connect to the listeners, as configured: TLS files for TCP listeners, the file mode of
 * unix sockets. {@link ListenerSpec#of} applies them to each listener.
 *
 * @param tls the TLS files; empty for plaintext
 * @param socketMode the mode of unix sockets' files
 */
public record ListenerSecurity(Optional<TlsFiles> tls, Set<PosixFilePermission> socketMode) {
  /** Plaintext TCP, unix sockets with {@link ListenerSpec#DEFAULT_SOCKET_MODE}. */
  public static final ListenerSecurity DEFAULT = new ListenerSecurity(Optional.empty(), ListenerSpec.DEFAULT_SOCKET_MODE);

  public ListenerSecurity {
    checkNotNull(tls, "tls");
    socketMode = Set.copyOf(checkNotNull(socketMode, "socketMode"));
  }
}

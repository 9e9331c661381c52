package io.dockhealth.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The life of a unix socket's file: made with its mode, stale ones replaced, nothing else touched, removed. */
class UnixSocketFileTest {
  @TempDir Path dir;

  /** Binds a JDK server socket where the file says, as the front ends bind theirs. */
  private static ServerSocketChannel bind(UnixSocketFile file) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(file.bindAddress());
    return server;
  }

  /** A socket file no one listens on, as a crashed run leaves it. */
  private static void staleSocket(Path path) throws IOException {
    try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      crashed.bind(UnixDomainSocketAddress.of(path));
    } // the JDK leaves the file behind
  }

  @Test
  void publish_givesTheSocketItsModeAtItsPath_andRemoveDeletesIt() throws Exception {
    Path path = dir.resolve("grpc.sock");
    UnixSocketFile file = new UnixSocketFile(path, PosixFilePermissions.fromString("rw-------"));
    file.prepare();
    try (ServerSocketChannel server = bind(file)) {
      file.publish();

      assertThat(Files.getPosixFilePermissions(path)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
      assertThat(Files.exists(path.resolveSibling("grpc.sock.new"))).isFalse();
      SocketChannel.open(UnixDomainSocketAddress.of(path)).close(); // it listens there

      file.remove();
      assertThat(Files.exists(path, LinkOption.NOFOLLOW_LINKS)).isFalse();
    }
  }

  @Test
  void staleSocketOfACrashedRun_isReplaced() throws Exception {
    Path path = dir.resolve("http.sock");
    staleSocket(path);
    staleSocket(path.resolveSibling("http.sock.new"));
    UnixSocketFile file = new UnixSocketFile(path, ListenerSpec.DEFAULT_SOCKET_MODE);

    file.prepare();
    try (ServerSocketChannel server = bind(file)) {
      file.publish();
      SocketChannel.open(UnixDomainSocketAddress.of(path)).close();

      file.remove();
      assertThat(Files.exists(path, LinkOption.NOFOLLOW_LINKS)).isFalse();
    }
  }

  @Test
  void aFileThatIsNotASocket_isLeftAlone() throws Exception {
    Path path = Files.writeString(dir.resolve("important.txt"), "keep me");
    Path link = Files.createSymbolicLink(dir.resolve("link.sock"), path);

    for (Path taken : new Path[] {path, link, dir}) {
      assertThatThrownBy(() -> new UnixSocketFile(taken, ListenerSpec.DEFAULT_SOCKET_MODE).prepare())
          .isInstanceOf(IOException.class)
          .hasMessageContaining(taken + " exists and is not a socket, so it is left alone");
    }
    assertThat(Files.readString(path)).isEqualTo("keep me");
  }

  @Test
  void aSocketSomeoneListensOn_isNotTaken() throws Exception {
    Path path = dir.resolve("busy.sock");
    try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(path));

      assertThatThrownBy(() -> new UnixSocketFile(path, ListenerSpec.DEFAULT_SOCKET_MODE).prepare())
          .isInstanceOf(IOException.class)
          .hasMessageContaining("another process listens on socket " + path);
      SocketChannel.open(UnixDomainSocketAddress.of(path)).close(); // still its socket
    }
  }

  @Test
  void remove_leavesASocketThatIsNoLongerOurs() throws Exception {
    Path path = dir.resolve("grpc.sock");
    UnixSocketFile file = new UnixSocketFile(path, ListenerSpec.DEFAULT_SOCKET_MODE);
    file.prepare();
    try (ServerSocketChannel server = bind(file)) {
      file.publish();
      Files.delete(path);
      try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
        other.bind(UnixDomainSocketAddress.of(path)); // another run took the path meanwhile

        file.remove();

        assertThat(Files.exists(path, LinkOption.NOFOLLOW_LINKS)).isTrue();
        SocketChannel.open(UnixDomainSocketAddress.of(path)).close();
      }
    }
  }

  @Test
  void missingDirectory_saysSo() {
    Path path = dir.resolve("no/such/dir/grpc.sock");

    assertThatThrownBy(() -> new UnixSocketFile(path, ListenerSpec.DEFAULT_SOCKET_MODE).prepare())
        .isInstanceOf(IOException.class)
        .hasMessageContaining("directory " + path.getParent() + " of socket " + path + " does not exist");
  }
}

package io.dockhealth.server.net;

import static com.google.common.base.Preconditions.checkNotNull;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file of a unix-socket listener. The socket is bound beside its path ({@code PATH.new}), given
 * its mode, then renamed into place, so the path never shows a socket with another mode (the
 * process's umask would decide it otherwise) and a socket left by a crashed run is replaced at once.
 * Only a socket is ever replaced: a path holding anything else, or a socket another process still
 * listens on, stops the start. {@link #remove()} deletes the socket before the listener closes, if
 * the path still holds it.
 *
 * <pre>{@code
 * UnixSocketFile file = new UnixSocketFile(Path.of("/run/dockhealth/grpc.sock"), mode);
 * file.prepare();
 * bind(file.bindAddress());
 * file.publish();
 * ...
 * file.remove(); close();
 * }</pre>
 */
public final class UnixSocketFile {
  private static final Logger logger = LoggerFactory.getLogger(UnixSocketFile.class);

  /** The file type bits of {@code st_mode}, and those of a socket. */
  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;

  private final Path path;
  private final Path bindPath;
  private final Set<PosixFilePermission> mode;
  private volatile Object fileKey; // the published socket's device and inode

  public UnixSocketFile(Path path, Set<PosixFilePermission> mode) {
    this.path = checkNotNull(path, "path");
    this.bindPath = path.resolveSibling(path.getFileName() + ".new");
    this.mode = Set.copyOf(checkNotNull(mode, "mode"));
  }

  /** Where the listener binds, before {@link #publish()} moves the socket to its path. */
  public SocketAddress bindAddress() {
    return UnixDomainSocketAddress.of(bindPath);
  }

  /**
   * Checks the path before binding: its directory exists, and the path is free or holds a stale
   * socket. A stale socket at the bind path (a start that crashed midway) is deleted.
   *
   * @throws IOException saying what is in the way
   */
  public void prepare() throws IOException {
    Path directory = path.getParent();
    if (!Files.isDirectory(directory)) {
      throw new IOException("directory " + directory + " of socket " + path
          + " does not exist (expected: an existing directory, such as systemd's RuntimeDirectory=)");
    }
    checkReplaceable(path);
    if (checkReplaceable(bindPath)) {
      Files.deleteIfExists(bindPath);
    }
  }

  /** Gives the bound socket its mode and moves it to its path, replacing a stale one. */
  public void publish() throws IOException {
    Files.setPosixFilePermissions(bindPath, mode);
    boolean replacing = Files.exists(path, LinkOption.NOFOLLOW_LINKS);
    Files.move(bindPath, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    fileKey = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    if (replacing) {
      logger.info("replaced the stale socket {} of an earlier run", path);
    }
  }

  /**
   * Deletes the socket if the path still holds the one {@link #publish()} made (the same inode).
   * Call it while the listener is still open: clients can no longer find it, those connected stay,
   * and the inode cannot be another socket's, since ours is still alive. (After the close, a new
   * socket at the path might get our inode number again; and NIO releases a closed listener's
   * descriptor only at the event loop's next select, so for a moment our own closed socket would
   * still accept.) Never throws.
   */
  public void remove() {
    try {
      Files.deleteIfExists(bindPath); // publish failed midway
      Object published = fileKey;
      if (published != null
          && published.equals(Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey())) {
        Files.delete(path);
      }
    } catch (NoSuchFileException e) {
      // Already gone.
    } catch (IOException e) {
      // Another process's socket, or something else, took the path meanwhile: it stays.
      logger.warn("socket {} is left in place: {}", path, e.getMessage());
    }
  }

  /** The socket's mode, such as {@code rw-rw----}. */
  public String mode() {
    return PosixFilePermissions.toString(mode);
  }

  /**
   * Whether a file is at {@code file} that may be replaced: nothing there (false), or a socket no one
   * listens on (true).
   *
   * @throws IOException if something else is there, or a socket that answers
   */
  private static boolean checkReplaceable(Path file) throws IOException {
    int fileMode;
    try {
      fileMode = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return false;
    }
    if ((fileMode & S_IFMT) != S_IFSOCK) {
      throw new IOException(file + " exists and is not a socket, so it is left alone (expected: a free path,"
          + " or the socket of an earlier run)");
    }
    boolean listening;
    try {
      SocketChannel.open(UnixDomainSocketAddress.of(file)).close();
      listening = true;
    } catch (ConnectException e) {
      listening = false; // "Connection refused": no one listens, the socket is stale
    } catch (IOException e) {
      throw new IOException("cannot tell whether another process listens on socket " + file + ": " + e.getMessage(), e);
    }
    if (listening) {
      throw new IOException("another process listens on socket " + file
          + " (expected: a free path, or the socket of a run that has ended)");
    }
    return true;
  }
}

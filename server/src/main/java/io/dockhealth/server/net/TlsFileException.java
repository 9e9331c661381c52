package io.dockhealth.server.net;

import static com.google.common.base.Preconditions.checkNotNull;

import java.nio.file.Path;

/**
 * A TLS file that cannot be used: missing, unreadable, not PEM, or a key that does not belong to
 * the certificate. The message says which file and what is wrong with it.
 */
public final class TlsFileException extends Exception {
  private static final long serialVersionUID = 1L;

  private final TlsFiles.Role role;
  private final transient Path file;
  private final String problem;

  TlsFileException(TlsFiles.Role role, Path file, String problem) {
    super(role.noun() + " file " + file + ": " + problem);
    this.role = checkNotNull(role, "role");
    this.file = checkNotNull(file, "file");
    this.problem = checkNotNull(problem, "problem");
  }

  /** Which of the files is wrong. */
  public TlsFiles.Role role() {
    return role;
  }

  public Path file() {
    return file;
  }

  /** What is wrong with it, such as "does not exist", without the file's name. */
  public String problem() {
    return problem;
  }
}

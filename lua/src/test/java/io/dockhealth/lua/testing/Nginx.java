package io.dockhealth.lua.testing;

import static org.awaitility.Awaitility.await;

import io.dockhealth.testing.Command;
import io.dockhealth.testing.Ports;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real nginx (Debian's nginx-light with libnginx-mod-http-lua and lua-resty-core), run in the
 * foreground from a directory of its own under {@code /tmp/dockhealth-lua-it}, with lua/lib on its
 * Lua path. Stopped, and its directory deleted, by {@link #close()}.
 */
public final class Nginx implements AutoCloseable {
  public static final Path BINARY = Path.of("/usr/sbin/nginx");
  public static final Path MODULES = Path.of("/usr/lib/nginx/modules");
  /** Debian's lua-resty-core and lua-cjson's Lua side live here. */
  public static final String DEBIAN_LUA_PATH = "/usr/share/lua/5.1/?.lua";
  /** The module under test: lua/lib (the tests run from lua/). */
  public static final Path LUA_LIB = Path.of("lib").toAbsolutePath().normalize();

  private static final Path BASE = Path.of("/tmp/dockhealth-lua-it");

  private final Path dir;
  private final int port;
  private final Process process;

  private Nginx(Path dir, int port, Process process) {
    this.dir = dir;
    this.port = port;
    this.process = process;
  }

  /** A new directory for an nginx prefix, readable by nginx's workers (user nobody). */
  public static Path newPrefix(String name) {
    try {
      Files.createDirectories(BASE);
      Path dir = Files.createTempDirectory(BASE, name + "-");
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.createDirectories(dir.resolve("logs"));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create an nginx directory under " + BASE, e);
    }
  }

  /**
   * Checks and starts nginx with {@code workers} worker processes and {@code http} as the body of
   * its http block, in which {@code ${port}} stands for the port it must listen on. Returns once
   * that port accepts connections and every worker runs.
   */
  public static Nginx start(String name, int workers, String http) {
    int port = Ports.free();
    Path dir = newPrefix(name);
    String conf = """
        load_module %1$s/ndk_http_module.so;
        load_module %1$s/ngx_http_lua_module.so;
        worker_processes %2$d;
        pid logs/nginx.pid;
        error_log logs/error.log info;
        events { worker_connections 1024; }
        http {
            access_log off;
            lua_package_path "%3$s/?.lua;%4$s;;";
        %5$s
        }
        """.formatted(MODULES, workers, LUA_LIB, DEBIAN_LUA_PATH, http.replace("${port}", Integer.toString(port)));
    Path confFile = dir.resolve("nginx.conf");
    try {
      Files.writeString(confFile, conf, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Command check = Command.run(dir, Duration.ofSeconds(30), BINARY.toString(), "-t", "-p", dir + "/", "-c",
        confFile.toString());
    if (check.exitCode() != 0) {
      delete(dir);
      throw new IllegalStateException("nginx -t refused the test conf:\n" + conf + "\n" + check.describe());
    }
    return run(dir, confFile, port, workers);
  }

  /**
   * Starts nginx in the foreground on a conf in {@code dir}, a prefix made by {@link #newPrefix};
   * returns once {@code port} accepts connections and {@code workers} workers run (any number when
   * 0). The directory is deleted by {@link #close()}, or at once if nginx fails to start.
   */
  public static Nginx run(Path dir, Path confFile, int port, int workers) {
    Process process;
    try {
      process = new ProcessBuilder(BINARY.toString(), "-p", dir + "/", "-c", confFile.toString(), "-g", "daemon off;")
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("logs/stderr.log").toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
    } catch (IOException e) {
      delete(dir);
      throw new UncheckedIOException("cannot start nginx", e);
    }
    Nginx nginx = new Nginx(dir, port, process);
    try {
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
        if (!process.isAlive()) {
          throw new IllegalStateException("nginx exited with " + process.exitValue() + ":\n" + nginx.errorLog());
        }
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
          int running = nginx.workerPids().size();
          return workers == 0 ? running > 0 : running == workers;
        } catch (IOException e) {
          return false;
        }
      });
    } catch (RuntimeException | Error e) {
      nginx.close();
      throw e;
    }
    return nginx;
  }

  public int port() {
    return port;
  }

  /** The master's pid. */
  public long pid() {
    return process.pid();
  }

  /** The worker processes' pids: the same set as long as nginx has not been reloaded. */
  public Set<Long> workerPids() {
    return process.children().map(ProcessHandle::pid).collect(Collectors.toSet());
  }

  /** logs/error.log (and what nginx wrote to stderr), for assertions and failure messages. */
  public String errorLog() {
    StringBuilder text = new StringBuilder();
    for (String file : List.of("logs/stderr.log", "logs/error.log")) {
      try {
        text.append(Files.readString(dir.resolve(file), StandardCharsets.UTF_8));
      } catch (IOException e) {
        text.append("(no ").append(file).append(": ").append(e).append(")\n");
      }
    }
    return text.toString();
  }

  /**
   * Lines of the error log where Lua failed: a {@code [lua]} line at level error or worse, or a Lua
   * runtime error. Failed connections, refused peers and warnings are not among them.
   */
  public List<String> luaErrors() {
    return errorLog().lines()
        .filter(l -> ((l.contains("[error]") || l.contains("[crit]") || l.contains("[alert]")) && l.contains("[lua]"))
            || l.contains("runtime error") || l.contains("stack traceback") || l.contains("lua entry thread aborted"))
        .toList();
  }

  /** The last lines of the error log, for failure messages. */
  public String errorLogTail(int lines) {
    List<String> all = errorLog().lines().toList();
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  /** Fast shutdown (SIGTERM to the master, which stops its workers); SIGKILL after 10 s. */
  @Override
  public void close() {
    List<ProcessHandle> workers = process.children().toList();
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
      for (ProcessHandle worker : workers) {
        worker.onExit().get(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      workers.forEach(ProcessHandle::destroyForcibly);
    } finally {
      delete(dir);
    }
  }

  /** Deletes a directory tree, reporting (not raising) what cannot be deleted. */
  public static void delete(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      System.err.println("cannot delete " + dir + ": " + e);
    }
  }
}

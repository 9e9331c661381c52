package io.dockhealth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages follow the data flow, read from the source tree: docker writes the model; grpc and
 * http are siblings that read snapshots and share the api package (proto mapping, name rules,
 * durations, exposure), net (listen addresses, TLS, unix sockets and the connection cap, which know
 * nothing of the model) and logging (client faults, one-line logs); none of them reaches up into
 * the CLI and the assembly of this package (Main, Flags, Sidecar, SidecarConfig), and Docker never
 * depends on a front end. net and logging depend on nothing of ours.
 */
class PackageDependenciesTest {
  private static final Path SOURCES = Path.of("src/main/java/io/dockhealth/server");

  /** This package: the CLI (Main, Flags) and the assembly (Sidecar, SidecarConfig). */
  private static final String ROOT = "(root)";

  /** What each package must not refer to. */
  private static final Map<String, Set<String>> FORBIDDEN = Map.of(
      "model", Set.of("docker", "api", "net", "grpc", "http", "metrics", ROOT),
      "docker", Set.of("api", "net", "grpc", "http", "metrics", ROOT),
      "api", Set.of("docker", "net", "grpc", "http", "metrics", ROOT),
      "grpc", Set.of("docker", "http", ROOT),
      "http", Set.of("docker", "grpc", ROOT),
      "metrics", Set.of("grpc", "http", "net", "logging", ROOT),
      "net", Set.of("model", "docker", "api", "grpc", "http", "metrics", "logging", ROOT),
      "logging", Set.of("model", "docker", "api", "grpc", "http", "metrics", "net", ROOT));

  /** A reference to a class of ours, by import or by its full name: a package, or a root class. */
  private static final Pattern REFERENCE = Pattern.compile("\\bio\\.dockhealth\\.server\\.([a-z]\\w*|[A-Z]\\w*|\\*)");

  @Test
  void eachPackage_refersOnlyToWhatTheDataFlowAllows() {
    List<String> violations = new ArrayList<>();
    FORBIDDEN.forEach((pkg, forbidden) -> {
      List<Path> files = sources(pkg);
      assertThat(files).as("the sources of package %s, in %s", pkg, SOURCES.toAbsolutePath()).isNotEmpty();
      for (Path file : files) {
        violations.addAll(violations(file.getFileName().toString(), read(file), forbidden));
      }
    });
    assertThat(violations).as("references against the data flow").isEmpty();
  }

  @Test
  void violations_findImportsFullNamesAndRootClasses() {
    String source = """
        package io.dockhealth.server.grpc;

        import io.dockhealth.server.model.Registry;
        import io.dockhealth.server.http.Router;
        import io.dockhealth.server.Flags;
        import io.dockhealth.server.*;

        class X {
          Object y = io.dockhealth.server.docker.DockerSource.class;
        }
        """;
    assertThat(violations("X.java", source, FORBIDDEN.get("grpc"))).containsExactly(
        "X.java:4 refers to http: import io.dockhealth.server.http.Router;",
        "X.java:5 refers to (root): import io.dockhealth.server.Flags;",
        "X.java:6 refers to (root): import io.dockhealth.server.*;",
        "X.java:9 refers to docker: Object y = io.dockhealth.server.docker.DockerSource.class;");
  }

  /** Each line of {@code source} that refers to a package in {@code forbidden}, as "file:line refers to ...". */
  private static List<String> violations(String file, String source, Set<String> forbidden) {
    List<String> found = new ArrayList<>();
    List<String> lines = source.lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.startsWith("package ")) {
        continue;
      }
      Matcher m = REFERENCE.matcher(line);
      while (m.find()) {
        String target = Character.isLowerCase(m.group(1).charAt(0)) ? m.group(1) : ROOT;
        if (forbidden.contains(target)) {
          found.add(file + ":" + (i + 1) + " refers to " + target + ": " + line.trim());
        }
      }
    }
    return found;
  }

  private static List<Path> sources(String pkg) {
    Path dir = SOURCES.resolve(pkg);
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

package io.dockhealth.dist.it;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A Debian system in a directory, for {@code dpkg --root}: the parts of a Debian 12 root that the
 * package touches (merged /usr, the account files, systemd's unit directories with this machine's
 * units, an empty dpkg database that knows the package's dependencies as this machine has them). The
 * maintainer scripts run outside a chroot ({@code --force-script-chrootless}) with DPKG_ROOT set,
 * the way Debian installs into a root that has no shell of its own; nothing is written to the
 * machine's own root.
 */
final class ScratchRoot {
  private static final Duration DPKG_TIMEOUT = Duration.ofMinutes(3);

  private final Path root;

  private ScratchRoot(Path root) {
    this.root = root;
  }

  /** Lays out a fresh root in {@code dir}, which must not exist yet. */
  static ScratchRoot create(Path dir, Path deb) throws IOException {
    Path root = Files.createDirectories(dir);
    for (String merged : List.of("bin", "lib", "lib64", "sbin")) {
      Files.createDirectories(root.resolve("usr").resolve(merged));
      Files.createSymbolicLink(root.resolve(merged), Path.of("usr", merged));
    }
    for (String empty : List.of("etc/default", "etc/systemd/system/multi-user.target.wants", "var/lib/systemd",
        "usr/share/man/man8", "usr/share/doc", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
        "tmp", "run", "var/log", "root")) {
      Files.createDirectories(root.resolve(empty));
    }
    // The accounts: root, and the docker group as this machine has it (docker.io made it).
    String dockerGroup = Commands.run(Duration.ofSeconds(10), "getent", "group", "docker").ok().strip();
    Map<String, String> accounts = Map.of(
        "passwd", "root:x:0:0:root:/root:/bin/bash\n",
        "group", "root:x:0:\n" + dockerGroup + "\n",
        "shadow", "root:*:19000:0:99999:7:::\n",
        "gshadow", "root:*::\ndocker:!::\n");
    for (Map.Entry<String, String> file : accounts.entrySet()) {
      Files.writeString(root.resolve("etc").resolve(file.getKey()), file.getValue(), UTF_8);
      // A real system has the backups that useradd and userdel keep.
      Files.writeString(root.resolve("etc").resolve(file.getKey() + "-"), file.getValue(), UTF_8);
    }
    Files.copy(Path.of("/etc/login.defs"), root.resolve("etc/login.defs"));
    // Docker enabled, as on the hosts the package is for (and so systemd's wants directory is not
    // the package's to remove).
    Files.createSymbolicLink(root.resolve("etc/systemd/system/multi-user.target.wants/docker.service"),
        Path.of("/lib/systemd/system/docker.service"));
    Files.createSymbolicLink(root.resolve("etc/os-release"), Path.of("../usr/lib/os-release"));
    Files.copy(Path.of("/usr/lib/os-release"), root.resolve("usr/lib/os-release"));
    // systemd's own units (sysinit.target, docker.service, ...), for systemd-analyze verify --root.
    Files.createDirectories(root.resolve("usr/lib/systemd"));
    Commands.run(Duration.ofSeconds(60), "cp", "-a", "/usr/lib/systemd/system", root.resolve("usr/lib/systemd").toString())
        .ok();
    // The dependencies as this machine's dpkg knows them, so that dpkg checks them for real.
    String depends = Commands.run(Duration.ofSeconds(30), "dpkg-deb", "--field", deb.toString(), "Depends").ok();
    List<String> query = new ArrayList<>(List.of("dpkg-query", "--status"));
    for (String dependency : depends.split(",")) {
      query.add(dependency.strip().split("[ (:]")[0]);
    }
    String status = Commands.run(Map.of(), Duration.ofSeconds(30), query).ok();
    Files.writeString(root.resolve("var/lib/dpkg/status"), status.endsWith("\n\n") ? status : status + "\n", UTF_8);
    Files.writeString(root.resolve("var/lib/dpkg/available"), "", UTF_8);
    // On a system, its directories (/etc/default, /usr/bin, ...) belong to its own packages, so
    // dpkg keeps them when it purges ours: a package of the root's own says so here.
    List<String> directories;
    try (Stream<Path> paths = Files.walk(root)) {
      directories = paths.filter(path -> Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)).map(path -> "/" + root.relativize(path))
          .filter(path -> !path.startsWith("/var/lib/dpkg/")).collect(Collectors.toList());
    }
    directories.set(0, "/.");
    Files.writeString(root.resolve("var/lib/dpkg/info/scratch-root.list"), String.join("\n", directories) + "\n", UTF_8);
    Files.writeString(root.resolve("var/lib/dpkg/status"), "Package: scratch-root\nStatus: install ok installed\n"
        + "Priority: required\nVersion: 1\nArchitecture: all\nMaintainer: PackageIT\n"
        + "Description: the directories of the scratch root\n\n", UTF_8, StandardOpenOption.APPEND);
    return new ScratchRoot(root);
  }

  Path path() {
    return root;
  }

  /** A path inside the root, e.g. {@code resolve("/usr/bin/dockhealth")}. */
  Path resolve(String absolute) {
    return root.resolve(absolute.substring(1));
  }

  /** {@code dpkg --root ... ARGS}, with the maintainer scripts run outside a chroot; fails if dpkg does. */
  String dpkg(String... args) {
    List<String> command = new ArrayList<>(List.of("dpkg", "--root=" + root, "--force-script-chrootless"));
    command.addAll(List.of(args));
    return Commands.run(Map.of(), DPKG_TIMEOUT, command).ok();
  }

  /**
   * Every path under the root (symlinks not followed) with what it holds: a file's content, a
   * link's target, "dir" for a directory. dpkg's own database is left out (it records history), and
   * so are the contents of the account files' backups (useradd and userdel rewrite them).
   */
  Map<String, String> snapshot() throws IOException {
    Map<String, String> entries = new TreeMap<>();
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.collect(Collectors.toList())) {
        String name = "/" + root.relativize(path);
        if (name.startsWith("/var/lib/dpkg")) {
          continue;
        }
        if (name.matches("/etc/(passwd|group|shadow|gshadow)-")) {
          entries.put(name, "the previous version"); // whatever changed the accounts last
          continue;
        }
        if (Files.isSymbolicLink(path)) {
          entries.put(name, "-> " + Files.readSymbolicLink(path));
        } else if (Files.isDirectory(path)) {
          entries.put(name, "dir");
        } else {
          entries.put(name, Files.readString(path, ISO_8859_1));
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return entries;
  }

  /** A line of /etc/passwd or /etc/group of the root, or empty. */
  String account(String file, String name) throws IOException {
    return Files.readAllLines(resolve("/etc/" + file)).stream()
        .filter(line -> line.startsWith(name + ":"))
        .findFirst()
        .orElse("");
  }
}

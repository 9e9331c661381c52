package io.dockhealth.bench;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where a run keeps its things and how long it measures. {@code quick} shortens every duration and
 * repeat for trying the harness out; RESULTS.md says when a run was quick.
 *
 * @param repo the project's root (for the sidecar jar, the probe, lua/)
 * @param resultsDir where RESULTS.md and profiles/ go (bench/)
 * @param workDir scratch space: logs, nginx prefixes, JFR recordings (bench/target/run)
 */
record Bench(Path repo, Path resultsDir, Path workDir, boolean quick, Profiler profiler) {
  static Bench of(Path repo, Path resultsDir, Path workDir, boolean quick) {
    return new Bench(repo, resultsDir, workDir, quick,
        new Profiler(resultsDir.resolve("profiles"), workDir.resolve("jfr")));
  }

  Path logs() {
    return workDir.resolve("logs");
  }

  /**
   * Where a run keeps its own copies of what it measures (the sidecar jar, the probe, lua/lib),
   * made at the start: builds of the tree by others during the run must not change or delete them.
   */
  Path artifacts() {
    return workDir.resolve("artifacts");
  }

  /** The run's copy of {@code relative} (a path in the repository) if it made one, else the original. */
  Path artifact(String relative) {
    Path copy = artifacts().resolve(relative);
    return java.nio.file.Files.exists(copy) ? copy : repo.resolve(relative);
  }

  /** The run's copy of the packaged sidecar, {@code java -jar}'d as operators run it. */
  Path sidecarJar() {
    return artifact("server/target/dockhealth.jar");
  }

  /** {@code full} normally, {@code short} in a quick run. */
  Duration time(Duration full, Duration short1) {
    return quick ? short1 : full;
  }

  int count(int full, int short1) {
    return quick ? short1 : full;
  }

  /** A path relative to RESULTS.md, for links. */
  String link(Path file) {
    return resultsDir.relativize(file).toString();
  }
}

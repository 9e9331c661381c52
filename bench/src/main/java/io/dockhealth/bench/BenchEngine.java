package io.dockhealth.bench;

import io.dockhealth.testing.DockerEngine;

/**
 * The one real Docker engine of a run, shared by figures 3 and 6: a private dockerd started the way
 * the integration tests start theirs ({@link DockerEngine}: its own socket, data root and exec root
 * under /tmp/dockhealth-it, vfs, no bridge, with the test image), closed at the end of the run.
 */
final class BenchEngine {
  private static DockerEngine engine;

  private BenchEngine() {}

  static synchronized DockerEngine get() {
    if (engine == null) {
      engine = DockerEngine.start("bench");
    }
    return engine;
  }

  static synchronized void close() {
    if (engine != null) {
      engine.close();
      engine = null;
    }
  }
}

package io.dockhealth.server.model;

/**
 * Told about each newly published snapshot, in version order, on the thread that published it.
 * Must not block: that thread is the Docker side's.
 */
@FunctionalInterface
public interface SnapshotListener {
  void onSnapshot(Snapshot previous, Snapshot current);
}

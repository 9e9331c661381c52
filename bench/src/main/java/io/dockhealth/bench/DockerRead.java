package io.dockhealth.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dockhealth.testing.DockerApi;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Docker's own read of every container, the floor of any resync: {@code GET /containers/json?all=1},
 * then {@code GET /containers/{id}/json} for each container listed, {@code parallel} at a time, each
 * reader on a keep-alive connection of its own, plain HTTP over the engine's unix socket (no client
 * library, answers read whole and not decoded beyond the list's IDs). What the sidecar's resync
 * does, less docker-java, Jackson's binding, our mapping and the model.
 */
final class DockerRead {
  private static final ObjectMapper JSON = new ObjectMapper();

  private DockerRead() {}

  /** Reads everything {@code parallel} inspects at a time; returns the milliseconds it took, connecting included. */
  static double millis(Path socket, int parallel) {
    ExecutorService readers = Executors.newFixedThreadPool(parallel);
    try {
      long t0 = System.nanoTime();
      List<String> ids = new ArrayList<>();
      try (DockerApi api = new DockerApi(socket)) {
        for (JsonNode container : JSON.readTree(ok(api.get("/containers/json?all=1"), "list"))) {
          ids.add(container.path("Id").asText());
        }
      }
      AtomicInteger next = new AtomicInteger();
      List<Future<?>> done = new ArrayList<>();
      for (int i = 0; i < parallel; i++) {
        done.add(readers.submit(() -> {
          try (DockerApi api = new DockerApi(socket)) {
            for (int at = next.getAndIncrement(); at < ids.size(); at = next.getAndIncrement()) {
              ok(api.get("/containers/" + ids.get(at) + "/json"), "inspect " + ids.get(at));
            }
          }
        }));
      }
      for (Future<?> reader : done) {
        reader.get(60, TimeUnit.SECONDS);
      }
      return (System.nanoTime() - t0) / 1e6;
    } catch (IOException e) {
      throw new UncheckedIOException("Docker's list is not JSON", e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot read every container: " + e, e);
    } finally {
      readers.shutdownNow();
    }
  }

  private static String ok(DockerApi.Answer answer, String what) {
    if (answer.status() != 200) {
      throw new IllegalStateException(what + ": Docker answered " + answer.status() + " " + answer.body().trim());
    }
    return answer.body();
  }
}

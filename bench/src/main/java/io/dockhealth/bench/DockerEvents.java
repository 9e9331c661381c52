package io.dockhealth.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.function.BiConsumer;

/**
 * A raw reader of Docker's {@code /events} stream over the engine's unix socket: plain HTTP/1.1 and
 * chunked decoding, no client library, each event stamped with the wall-clock instant its last byte
 * was read. It is the floor for any subscriber: how late Docker's own events reach a reader at all.
 */
final class DockerEvents implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SocketChannel channel;
  private final Thread reader;

  /** Subscribes to container events; {@code onEvent} gets (arrival, event) on a reader thread. */
  DockerEvents(Path socket, BiConsumer<Instant, JsonNode> onEvent) {
    try {
      channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      channel.connect(UnixDomainSocketAddress.of(socket));
      String filters = URLEncoder.encode("{\"type\":[\"container\"]}", StandardCharsets.UTF_8);
      channel.write(ByteBuffer.wrap(("GET /events?filters=" + filters + " HTTP/1.1\r\nHost: docker\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot subscribe to " + socket, e);
    }
    reader = new Thread(() -> read(onEvent), "bench-docker-events");
    reader.setDaemon(true);
    reader.start();
  }

  private void read(BiConsumer<Instant, JsonNode> onEvent) {
    try (InputStream in = new BufferedInputStream(Channels.newInputStream(channel))) {
      String status = line(in);
      if (status == null || !status.contains(" 200 ")) {
        throw new IOException("unexpected answer to GET /events: " + status);
      }
      boolean chunked = false;
      for (String header = line(in); header != null && !header.isEmpty(); header = line(in)) {
        chunked |= header.toLowerCase().startsWith("transfer-encoding:") && header.toLowerCase().contains("chunked");
      }
      ByteArrayOutputStream pending = new ByteArrayOutputStream();
      while (true) {
        if (chunked) {
          String size = line(in);
          if (size == null) {
            return;
          }
          int length = Integer.parseInt(size.split(";")[0].trim(), 16);
          if (length == 0) {
            return;
          }
          pending.write(in.readNBytes(length));
          line(in); // the CRLF after the chunk
        } else {
          int b = in.read();
          if (b < 0) {
            return;
          }
          pending.write(b);
        }
        Instant arrival = Instant.now();
        byte[] bytes = pending.toByteArray();
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
          if (bytes[i] == '\n') {
            if (i > start) {
              onEvent.accept(arrival, JSON.readTree(new String(bytes, start, i - start, StandardCharsets.UTF_8)));
            }
            start = i + 1;
          }
        }
        pending.reset();
        pending.write(bytes, start, bytes.length - start);
      }
    } catch (IOException e) {
      if (channel.isOpen()) {
        System.err.println("bench: docker events reader stopped: " + e);
      }
    }
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        String text = out.toString(StandardCharsets.US_ASCII);
        return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
      }
      out.write(b);
    }
    return out.size() == 0 ? null : out.toString(StandardCharsets.US_ASCII);
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing
    }
  }
}

package io.dockhealth.server.http;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableMap;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * One answer, before it becomes a Netty response: what the handlers compute and the tests check.
 *
 * @param contentType empty when there is no body (304)
 * @param headers more headers, such as {@code Allow}
 */
record Reply(HttpResponseStatus status, String contentType, byte[] body, ImmutableMap<String, String> headers) {
  static final String JSON = "application/json";
  /** What container-healthcheck (gin's c.JSON) sends. */
  static final String COMPAT_JSON = "application/json; charset=utf-8";

  Reply {
    checkNotNull(status, "status");
    checkNotNull(contentType, "contentType");
    checkNotNull(body, "body");
    checkNotNull(headers, "headers");
  }

  static Reply json(HttpResponseStatus status, byte[] body) {
    return new Reply(status, JSON, body, ImmutableMap.of());
  }

  static Reply compat(HttpResponseStatus status, byte[] body) {
    return new Reply(status, COMPAT_JSON, body, ImmutableMap.of());
  }

  static Reply notModified() {
    return new Reply(HttpResponseStatus.NOT_MODIFIED, "", new byte[0], ImmutableMap.of());
  }

  Reply withHeader(String name, String value) {
    return new Reply(status, contentType, body, ImmutableMap.<String, String>builder()
        .putAll(headers).put(name, value).buildOrThrow());
  }
}

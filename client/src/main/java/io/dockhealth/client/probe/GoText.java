package io.dockhealth.client.probe;

import com.google.common.base.Strings;
import io.grpc.Status;
import java.util.EnumMap;
import java.util.Map;

/**
 * Text as grpc_health_probe prints it: Go's {@code %q} quoting and grpc-go's form of a status
 * ({@code rpc error: code = NotFound desc = ...}), so scripts that match its output keep working.
 */
final class GoText {
  private static final Map<Status.Code, String> CODE_NAMES = new EnumMap<>(Status.Code.class);

  static {
    // grpc-go's codes.Code.String(): CamelCase, and "Canceled" with one l.
    CODE_NAMES.put(Status.Code.OK, "OK");
    CODE_NAMES.put(Status.Code.CANCELLED, "Canceled");
    CODE_NAMES.put(Status.Code.UNKNOWN, "Unknown");
    CODE_NAMES.put(Status.Code.INVALID_ARGUMENT, "InvalidArgument");
    CODE_NAMES.put(Status.Code.DEADLINE_EXCEEDED, "DeadlineExceeded");
    CODE_NAMES.put(Status.Code.NOT_FOUND, "NotFound");
    CODE_NAMES.put(Status.Code.ALREADY_EXISTS, "AlreadyExists");
    CODE_NAMES.put(Status.Code.PERMISSION_DENIED, "PermissionDenied");
    CODE_NAMES.put(Status.Code.RESOURCE_EXHAUSTED, "ResourceExhausted");
    CODE_NAMES.put(Status.Code.FAILED_PRECONDITION, "FailedPrecondition");
    CODE_NAMES.put(Status.Code.ABORTED, "Aborted");
    CODE_NAMES.put(Status.Code.OUT_OF_RANGE, "OutOfRange");
    CODE_NAMES.put(Status.Code.UNIMPLEMENTED, "Unimplemented");
    CODE_NAMES.put(Status.Code.INTERNAL, "Internal");
    CODE_NAMES.put(Status.Code.UNAVAILABLE, "Unavailable");
    CODE_NAMES.put(Status.Code.DATA_LOSS, "DataLoss");
    CODE_NAMES.put(Status.Code.UNAUTHENTICATED, "Unauthenticated");
  }

  private GoText() {}

  /** grpc-go's name of a status code, e.g. {@code NotFound}. */
  static String codeName(Status.Code code) {
    return CODE_NAMES.get(code);
  }

  /** A status the way grpc-go's error prints it: {@code rpc error: code = NotFound desc = ...}. */
  static String rpcError(Status status) {
    String description = status.getDescription();
    if (description == null && status.getCause() != null) {
      description = status.getCause().getMessage();
    }
    return "rpc error: code = " + codeName(status.getCode()) + " desc = " + Strings.nullToEmpty(description);
  }

  /** Go's {@code %q}: double quotes, with backslash escapes for quotes, backslashes and controls. */
  static String quote(String text) {
    StringBuilder out = new StringBuilder(text.length() + 2).append('"');
    text.codePoints().forEach(c -> {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case 0x07 -> out.append("\\a");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        case 0x0b -> out.append("\\v");
        default -> {
          if (c < 0x20 || c == 0x7f) {
            out.append(String.format("\\x%02x", c));
          } else if (Character.isISOControl(c) || !Character.isDefined(c)) {
            out.append(c > 0xffff ? String.format("\\U%08x", c) : String.format("\\u%04x", c));
          } else {
            out.appendCodePoint(c);
          }
        }
      }
    });
    return out.append('"').toString();
  }
}

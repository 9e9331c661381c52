#!/usr/bin/python3
"""An independent grpc.health.v1 client (Python grpcio, C core; no code generated from our
protos), so integration tests see the sidecar the way third-party probes do.

  health_client.py ADDR check NAME...   prints "NAME STATUS" per name (STATUS may be a gRPC code)
  health_client.py ADDR watch NAME N    prints each status as it arrives, N of them, then exits
"""
import sys

import grpc

STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def request(name):
    """HealthCheckRequest{service = 1}, encoded by hand."""
    data = name.encode("utf-8")
    return b"\x0a" + varint(len(data)) + data if data else b""


def status(response):
    """HealthCheckResponse{status = 1}: absent means 0."""
    return STATUSES.get(response[1] if len(response) >= 2 and response[0] == 0x08 else 0, "?")


def main():
    addr, verb = sys.argv[1], sys.argv[2]
    channel = grpc.insecure_channel(addr)
    identity = lambda b: b
    if verb == "check":
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=identity, response_deserializer=identity)
        for name in sys.argv[3:]:
            try:
                print(name, status(check(request(name), timeout=5)), flush=True)
            except grpc.RpcError as e:
                print(name, e.code().name, flush=True)
    elif verb == "watch":
        watch = channel.unary_stream("/grpc.health.v1.Health/Watch",
                                     request_serializer=identity, response_deserializer=identity)
        wanted = int(sys.argv[4])
        for i, response in enumerate(watch(request(sys.argv[3]), timeout=60)):
            print(status(response), flush=True)
            if i + 1 == wanted:
                return
    else:
        sys.exit("unknown verb " + verb)


if __name__ == "__main__":
    main()

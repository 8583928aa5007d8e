#!/usr/bin/env python3
"""A fault-injecting reverse proxy in front of the AWS emulator, for retry tests.

    python3 scripts/fault_proxy.py --upstream http://127.0.0.1:PORT --port 0 \\
        --fault-rate 0.25 --seed 7 [--plain-503-share 0.25] [--max-seconds 1800]

moto never throttles. This proxy listens on 127.0.0.1 (``--port 0`` picks a free port; the URL
is the first line printed on stdout), forwards every request unchanged to the upstream emulator
and relays the answer, except that a deterministic pseudo-random share (``--fault-rate``) of the
AWS API requests is answered by the proxy itself, without reaching the emulator, with what AWS
says when it throttles, in the service's own wire format:

- EC2 (ec2 query protocol): HTTP 503,
  ``<Response><Errors><Error><Code>RequestLimitExceeded</Code>...</Errors><RequestID>..</RequestID></Response>``
- RDS (awsQuery): HTTP 400,
  ``<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>...</ErrorResponse>``
- ECS (awsJson1_1): HTTP 400, header ``x-amzn-ErrorType: ThrottlingException``,
  ``{"__type":"ThrottlingException","message":"Rate exceeded"}``
- other services: the same shapes by protocol (query ``Throttling``, JSON ``ThrottlingException``)
- and, for ``--plain-503-share`` of the faults, a bare ``503 Service Unavailable`` with AWS's
  generic HTML page as body (``<html><body><b>Http/1.1 Service Unavailable</b></body></html>``).

The service is told by the ``X-Amz-Target`` header, the SigV4 credential scope in
``Authorization`` (``.../ec2/aws4_request``) and the ``Action``/``Version`` of a query request.
Requests to ``/moto-api/`` (and anything not an AWS API call) are never faulted.

The sequence of fault decisions depends only on ``--seed`` and the order requests arrive in.

Control endpoints (served by the proxy, not forwarded):
    GET  /__proxy/stats         counters as JSON (requests, faults by kind and by service,
                                requests by operation)
    POST /__proxy/reset-stats   zero the counters
    POST /__proxy/config        JSON {"fault_rate": 0.5, "seed": 7, "plain_503_share": 0.25,
                                "services": ["ec2"]} changes the settings (a seed restarts the
                                sequence; "services": null faults all)

Realistic mode (``--realism [--time-scale S] [--lifecycles PATH]``): a layer between the client
and moto (scripts/aws_realism.py) simulates AWS's lifecycles and refusals from
src/provider/lifecycles.toml, durations multiplied by S (default 1: AWS's own; 0: instant, the
semantic fixes still apply): RDS creating/backing-up/modifying/deleting and the refusals that go
with them, EC2 pending/shutting-down, ClientToken idempotency and the not-found window, ECS
rollouts that complete (or fail, on demand) and DRAINING services, the Tagging API's lag, expired
credentials. Faults are decided first, so both combine. Its own control endpoints:
    GET  /__proxy/realism         what it tracks; POST /__proxy/realism changes time scale, toggles,
                                  credential expiry; POST /__proxy/realism/force puts a resource
                                  into a state; POST /__proxy/realism/reset forgets everything
(see aws_realism.py's docstring for the JSON shapes). A POST /moto-api/reset through the proxy
also resets the layer. Without ``--realism`` the proxy behaves exactly as before.

Stops on SIGTERM/SIGINT, or by itself after ``--max-seconds``. Binds to and connects to
127.0.0.1 only. Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import random
import re
import signal
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aws_realism  # noqa: E402 (the realistic layer lives beside this script)

LOOPBACK = "127.0.0.1"

# Headers that belong to one connection and are not forwarded.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "expect",
}

ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
QUERY_VERSIONS = {"2016-11-15": "ec2", "2014-10-31": "rds"}

FAULT_KINDS = ("ec2_throttle", "rds_throttle", "ecs_throttle", "other_throttle", "http_503")


def log(msg: str) -> None:
    print(f"fault_proxy: {msg}", file=sys.stderr, flush=True)


class Classified:
    """What a request is: which AWS service, in which protocol, calling which operation."""

    __slots__ = ("service", "protocol", "operation")

    def __init__(self, service: str | None, protocol: str | None, operation: str | None):
        self.service = service  # "ec2", "rds", "ecs", another scope name, or None (not AWS)
        self.protocol = protocol  # "ec2", "query", "json", "rest" or None
        self.operation = operation


def classify(path: str, headers, body: bytes) -> Classified:
    if path.startswith("/moto-api") or path.startswith("/__proxy"):
        return Classified(None, None, None)

    target = headers.get("X-Amz-Target")
    auth = headers.get("Authorization") or ""
    m = SCOPE_RE.search(auth)
    scope = m.group(1) if m else None
    query = urllib.parse.urlsplit(path).query
    if not scope:
        # Presigned requests carry the scope in the query string.
        cred = urllib.parse.parse_qs(query).get("X-Amz-Credential")
        if cred:
            parts = cred[0].split("/")
            if len(parts) >= 5:
                scope = parts[3]

    if target:
        operation = target.rsplit(".", 1)[-1]
        service = "ecs" if target.startswith(ECS_TARGET_PREFIX) else (scope or "json")
        return Classified(service, "json", operation)

    # Query protocols: Action (and Version) in the form body, or in the query string.
    params: dict[str, list[str]] = {}
    ctype = (headers.get("Content-Type") or "").lower()
    if body and (ctype.startswith("application/x-www-form-urlencoded") or not ctype):
        try:
            params = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            params = {}
    if "Action" not in params and query:
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
    action = params.get("Action", [None])[0]
    if action:
        service = scope or QUERY_VERSIONS.get(params.get("Version", [""])[0]) or "query"
        protocol = "ec2" if service == "ec2" else "query"
        return Classified(service, protocol, action)

    if scope:
        return Classified(scope, "rest", None)
    return Classified(None, None, None)


class State:
    def __init__(self, upstream_port: int, fault_rate: float, seed: int, plain_503_share: float,
                 services: set[str] | None):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.fault_rate = fault_rate
        self.seed = seed
        self.plain_503_share = plain_503_share
        self.services = services
        self.rng = random.Random(seed)
        self.started = time.monotonic()
        self.reset_stats()

    def reset_stats(self) -> None:
        self.requests = 0  # every request forwarded or faulted (not /__proxy/)
        self.aws_requests = 0  # of those, AWS API calls (candidates for faults)
        self.forwarded = 0
        self.upstream_errors = 0
        self.faults = {k: 0 for k in FAULT_KINDS}
        self.by_service: dict[str, dict[str, int]] = {}
        # "ec2:DescribeInstances": n, for request counts per operation (benches/requests.rs).
        self.by_operation: dict[str, int] = {}

    def decide(self, c: Classified) -> str | None:
        """Count the request and return the fault kind to answer with, or None to forward."""
        with self.lock:
            self.requests += 1
            if c.service is None:
                return None
            self.aws_requests += 1
            svc = self.by_service.setdefault(c.service, {"requests": 0, "faults": 0})
            svc["requests"] += 1
            op = f"{c.service}:{c.operation or '?'}"
            self.by_operation[op] = self.by_operation.get(op, 0) + 1
            if self.services is not None and c.service not in self.services:
                return None
            # Always draw twice, so the sequence depends on the seed and request order only.
            x, y = self.rng.random(), self.rng.random()
            if x >= self.fault_rate:
                return None
            if y < self.plain_503_share or c.protocol == "rest":
                kind = "http_503"
            elif c.service in ("ec2", "rds", "ecs"):
                kind = f"{c.service}_throttle"
            else:
                kind = "other_throttle"
            self.faults[kind] += 1
            svc["faults"] += 1
            return kind

    def snapshot(self) -> dict:
        with self.lock:
            faults = dict(self.faults)
            faults["total"] = sum(self.faults.values())
            return {
                "requests": self.requests,
                "aws_requests": self.aws_requests,
                "forwarded": self.forwarded,
                "upstream_errors": self.upstream_errors,
                "faults": faults,
                "by_service": {k: dict(v) for k, v in self.by_service.items()},
                "by_operation": dict(sorted(self.by_operation.items())),
                "fault_rate": self.fault_rate,
                "plain_503_share": self.plain_503_share,
                "seed": self.seed,
                "services": sorted(self.services) if self.services is not None else None,
                "upstream_port": self.upstream_port,
                "realism": Handler.realism is not None,
                "uptime_seconds": round(time.monotonic() - self.started, 3),
            }


def fault_response(kind: str, c: Classified) -> tuple[int, list[tuple[str, str]], bytes]:
    rid = str(uuid.uuid4())
    if kind == "http_503":
        # The generic page AWS's front ends answer with; SDKs know it (botocore treats a 5xx whose
        # body is empty or starts with <html> as a generic, retryable error, not as XML to parse).
        return 503, [("Content-Type", "text/html")], (
            b"<html><body><b>Http/1.1 Service Unavailable</b></body></html>"
        )
    if c.protocol == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
            "<Message>Request limit exceeded.</Message></Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>"
        )
        return 503, [("Content-Type", "text/xml;charset=UTF-8")], body.encode()
    if c.protocol == "json":
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}, separators=(",", ":"))
        return 400, [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-ErrorType", "ThrottlingException"),
            ("x-amzn-RequestId", rid),
        ], body.encode()
    # awsQuery (RDS and the other query services)
    xmlns = ' xmlns="http://rds.amazonaws.com/doc/2014-10-31/"' if c.service == "rds" else ""
    body = (
        f"<ErrorResponse{xmlns}>"
        "<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
        f"<RequestId>{rid}</RequestId></ErrorResponse>"
    )
    return 400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rehearsal-fault-proxy"
    state: State  # set on the class by main()
    verbose = False
    delay = 0.0  # seconds each forwarded request is held (--delay-ms)
    realism: aws_realism.Realism | None = None  # --realism

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (BaseHTTPRequestHandler API)
        if self.verbose:
            log(f"{self.address_string()} {format % args}")

    # --- request body -------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers, up to the blank line
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)  # CRLF after the chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes,
              content_length: str | None = None) -> None:
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        # A HEAD answer keeps the length the upstream announced for the body it did not send.
        self.send_header("Content-Length", content_length or str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_request(status, len(body))

    # --- control endpoints --------------------------------------------------------------------

    def _control(self, body: bytes) -> None:
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        st = self.state
        if path == "/__proxy/realism" or path.startswith("/__proxy/realism/"):
            if self.realism is None:
                status, out = 404, {"error": "the realistic mode is off (start the proxy with --realism)"}
            else:
                status, out = self.realism.control(self.command, path, body)
            self._send(status, [("Content-Type", "application/json")], json.dumps(out, indent=2).encode())
            return
        if path == "/__proxy/stats" and self.command in ("GET", "HEAD"):
            out = st.snapshot()
        elif path == "/__proxy/reset-stats" and self.command == "POST":
            with st.lock:
                st.reset_stats()
            out = st.snapshot()
        elif path == "/__proxy/config" and self.command == "POST":
            try:
                cfg = json.loads(body or b"{}")
                with st.lock:
                    if "fault_rate" in cfg:
                        st.fault_rate = check_share(cfg["fault_rate"], "fault_rate")
                    if "plain_503_share" in cfg:
                        st.plain_503_share = check_share(cfg["plain_503_share"], "plain_503_share")
                    if "services" in cfg:
                        st.services = None if cfg["services"] is None else {str(s) for s in cfg["services"]}
                    if "seed" in cfg:
                        st.seed = int(cfg["seed"])
                        st.rng = random.Random(st.seed)
            except (ValueError, TypeError) as exc:
                self._send(400, [("Content-Type", "application/json")],
                           json.dumps({"error": str(exc)}).encode())
                return
            out = st.snapshot()
        else:
            self._send(404, [("Content-Type", "application/json")],
                       json.dumps({"error": f"no such proxy endpoint: {self.command} {path}"}).encode())
            return
        self._send(200, [("Content-Type", "application/json")], json.dumps(out, indent=2).encode())

    # --- proxying -----------------------------------------------------------------------------

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError) as exc:
            self._send(400, [("Content-Type", "text/plain")], f"bad request body: {exc}".encode())
            self.close_connection = True
            return

        if self.path.startswith("/__proxy/") or self.path == "/__proxy":
            self._control(body)
            return

        c = classify(self.path, self.headers, body)
        kind = self.state.decide(c)
        if kind is not None:
            if self.verbose:
                log(f"fault {kind}: {c.service} {c.operation}")
            status, headers, out = fault_response(kind, c)
            self._send(status, headers, out)
            return

        if self.delay:
            time.sleep(self.delay)

        # Forward, keeping the client's Host header (SigV4 signs it; moto routes on it).
        connection_tokens = {
            t.strip().lower() for t in (self.headers.get("Connection") or "").split(",") if t.strip()
        }
        fwd_headers = []
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in HOP_BY_HOP or lk in connection_tokens or lk == "content-length":
                continue
            fwd_headers.append((k, v))

        if self.realism is not None and c.service is not None:
            try:
                answer = self.realism.handle(c.service, c.protocol, c.operation, self.command,
                                             self.path, list(fwd_headers), body)
            except aws_realism.UpstreamError as exc:
                self._send(502, [("Content-Type", "text/plain")], f"fault_proxy: {exc}".encode())
                return
            except Exception as exc:  # noqa: BLE001 (a bug in the layer: say so, keep serving)
                log(f"realism layer failed on {c.service} {c.operation}:\n{traceback.format_exc()}")
                self._send(500, [("Content-Type", "text/plain")],
                           f"fault_proxy: the realism layer failed: {exc!r}".encode())
                return
            if answer is not None:
                status, headers, out = answer
                if self.verbose:
                    log(f"realism: {c.service} {c.operation} -> {status}")
                self._send(status, [(k, v) for k, v in headers
                                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"], out)
                return

        if body or self.command in ("POST", "PUT", "PATCH"):
            fwd_headers.append(("Content-Length", str(len(body))))

        conn = http.client.HTTPConnection(LOOPBACK, self.state.upstream_port, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in fwd_headers:
                conn.putheader(k, v)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            out = resp.read()
            status = resp.status
            head_length = resp.getheader("Content-Length") if self.command == "HEAD" else None
            resp_headers = [
                (k, v)
                for k, v in resp.getheaders()
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
            ]
        except (OSError, http.client.HTTPException) as exc:
            with self.state.lock:
                self.state.upstream_errors += 1
            self._send(502, [("Content-Type", "text/plain")],
                       f"fault_proxy: upstream 127.0.0.1:{self.state.upstream_port} failed: {exc}".encode())
            return
        finally:
            conn.close()
        with self.state.lock:
            self.state.forwarded += 1
        if (self.realism is not None and self.command == "POST" and status == 200
                and urllib.parse.urlsplit(self.path).path.rstrip("/") == "/moto-api/reset"):
            self.realism.reset()  # moto forgot everything: so does the layer
        self._send(status, resp_headers, out, head_length)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def upstream_call(state: State, method: str, path: str, headers: list[tuple[str, str]],
                  body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request to the emulator for the realistic layer (which may make several per client
    request); counted as forwarded."""
    conn = http.client.HTTPConnection(LOOPBACK, state.upstream_port, timeout=120)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                conn.putheader(k, v)
        if body or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        out = resp.read()
        result = resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP], out
    except (OSError, http.client.HTTPException) as exc:
        with state.lock:
            state.upstream_errors += 1
        raise aws_realism.UpstreamError(f"upstream 127.0.0.1:{state.upstream_port} failed: {exc}") from exc
    finally:
        conn.close()
    with state.lock:
        state.forwarded += 1
    return result


def check_share(value, name: str) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {v}")
    return v


def parse_upstream(url: str) -> int:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "http":
        raise ValueError(f"--upstream must be an http:// URL, got {url!r}")
    if parsed.hostname not in ("127.0.0.1", "localhost"):
        raise ValueError(f"--upstream must be on 127.0.0.1 (loopback only), got {parsed.hostname!r}")
    if parsed.path not in ("", "/"):
        raise ValueError(f"--upstream must not have a path, got {parsed.path!r}")
    if not parsed.port:
        raise ValueError(f"--upstream needs a port, e.g. http://127.0.0.1:5000, got {url!r}")
    return parsed.port


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Fault-injecting reverse proxy in front of the AWS emulator.")
    p.add_argument("--upstream", required=True, help="the emulator's URL, e.g. http://127.0.0.1:5000")
    p.add_argument("--port", type=int, default=0, help="port to listen on, on 127.0.0.1 (0: pick a free one)")
    p.add_argument("--fault-rate", type=float, default=0.25, help="share of AWS API requests to fault (0..1)")
    p.add_argument("--seed", type=int, default=7, help="seed of the fault sequence")
    p.add_argument("--plain-503-share", type=float, default=0.25,
                   help="share of the faults answered by a bare 503 instead of a throttling error")
    p.add_argument("--services", default="",
                   help="comma-separated services to fault (ec2,rds,ecs,...); default: all")
    p.add_argument("--max-seconds", type=float, default=1800, help="exit by itself after this long")
    p.add_argument("--delay-ms", type=int, default=0,
                   help="hold every forwarded AWS request this long, like a real API's latency; "
                        "gives a test time to kill a client mid-way")
    p.add_argument("--verbose", action="store_true", help="log every request and fault to stderr")
    p.add_argument("--realism", action="store_true",
                   help="simulate AWS's lifecycles and refusals (scripts/aws_realism.py)")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="with --realism: multiply the table's durations by this (0: instant)")
    p.add_argument("--lifecycles", default=None,
                   help="with --realism: the lifecycle table (default: src/provider/lifecycles.toml)")
    args = p.parse_args(argv)

    try:
        upstream_port = parse_upstream(args.upstream)
        fault_rate = check_share(args.fault_rate, "--fault-rate")
        plain = check_share(args.plain_503_share, "--plain-503-share")
    except ValueError as exc:
        p.error(str(exc))
    if args.max_seconds <= 0:
        p.error("--max-seconds must be positive")
    if args.time_scale < 0:
        p.error("--time-scale must be >= 0")
    if (args.lifecycles is not None or args.time_scale != 1.0) and not args.realism:
        p.error("--time-scale and --lifecycles need --realism")
    services = {s.strip() for s in args.services.split(",") if s.strip()} or None

    Handler.state = State(upstream_port, fault_rate, args.seed, plain, services)
    Handler.verbose = args.verbose
    Handler.realism = None
    if args.realism:
        try:
            table = aws_realism.load_table(args.lifecycles)
        except (OSError, ValueError) as exc:
            p.error(f"cannot read the lifecycle table: {exc}")
        state = Handler.state
        Handler.realism = aws_realism.Realism(
            table, args.time_scale,
            lambda method, path, headers, body: upstream_call(state, method, path, headers, body),
            log=log)
    Handler.delay = max(args.delay_ms, 0) / 1000.0
    try:
        server = Server((LOOPBACK, args.port), Handler)
    except OSError as exc:
        log(f"cannot listen on {LOOPBACK}:{args.port}: {exc}")
        return 1
    port = server.server_address[1]
    print(f"http://{LOOPBACK}:{port}", flush=True)

    stop = threading.Event()
    reason = {"why": f"--max-seconds {args.max_seconds:g} reached"}

    def on_signal(signum, _frame):
        reason["why"] = f"signal {signal.Signals(signum).name}"
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    log(f"listening on http://{LOOPBACK}:{port} -> upstream http://{LOOPBACK}:{upstream_port}, "
        f"fault rate {fault_rate:g}, seed {args.seed}"
        + (f", realism at time scale {args.time_scale:g}" if args.realism else ""))
    stop.wait(args.max_seconds)
    server.shutdown()
    server.server_close()
    snap = Handler.state.snapshot()
    log(f"stopping ({reason['why']}): {snap['requests']} requests, {snap['faults']['total']} faults")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The hostile and the honest peers of scripts/bench-abuse.sh, in one process.

Honest: a console polling GET /healthz and GET /api/lines (operator bearer token) and a
plate camera posting events (HTTP Digest, as the demo's camera is configured; it answers
the challenge and reuses the nonce as a camera does), each on its own kept-alive
connection opened before the attack, timed request by request. Any answer but 2xx counts
as an error: a refusal is not service.

Hostile: IDLE connections, spread over source addresses 127.0.0.2... (100 each) and over
both listeners, half of them sending nothing and half sending half a request head. A
connection the controller closes (refused at the cap, or timed out) is opened again a
second later, as a scanner that keeps trying would.

Prints one JSON object: per honest client the count, p50/p99/max in ms and errors, and
the attack's counts (opened, closed within 1 s, closed later, failed connects).
"""

import argparse
import hashlib
import http.client
import os
import re
import json
import resource
import selectors
import socket
import threading
import time

HALF_HEAD = b"POST /cameras/CAM-K1/events HTTP/1.1\r\nHost: gate\r\nContent-Type: app"

HEARTBEAT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
    "<ipAddress>127.0.0.1</ipAddress><dateTime>2026-12-06T10:00:00+08:00</dateTime>"
    "<activePostCount>1</activePostCount><eventType>videoloss</eventType>"
    "<eventState>active</eventState><eventDescription>heartbeat</eventDescription>"
    "</EventNotificationAlert>"
).encode()


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[k]


class Digest:
    """An HTTP Digest client (RFC 7616, qop=auth): learns the challenge from a 401, then
    answers with the same nonce and a rising nonce count until the server calls it stale."""

    PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')

    def __init__(self, user, password):
        self.user, self.password = user, password
        self.challenge, self.nc = None, 0

    def learn(self, res):
        offers = res.msg.get_all("WWW-Authenticate") or []
        digests = []
        for offer in offers:
            if not offer.lower().startswith("digest "):
                continue
            params = {k.lower(): q if q else v for k, q, v in self.PARAM.findall(offer[7:])}
            digests.append(params)
        # The strongest offered: SHA-256 before MD5.
        digests.sort(key=lambda d: d.get("algorithm", "MD5").upper() != "SHA-256")
        if not digests:
            return False
        self.challenge, self.nc = digests[0], 0
        return True

    def header(self, method, uri):
        if self.challenge is None:
            return None
        c = self.challenge
        algorithm = c.get("algorithm", "MD5")
        h = hashlib.sha256 if algorithm.upper() == "SHA-256" else hashlib.md5

        def hx(text):
            return h(text.encode()).hexdigest()

        self.nc += 1
        nc = f"{self.nc:08x}"
        cnonce = os.urandom(8).hex()
        ha1 = hx(f"{self.user}:{c['realm']}:{self.password}")
        ha2 = hx(f"{method}:{uri}")
        response = hx(f"{ha1}:{c['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        parts = [
            f'username="{self.user}"', f'realm="{c["realm"]}"', f'nonce="{c["nonce"]}"',
            f'uri="{uri}"', f"algorithm={algorithm}", "qop=auth", f"nc={nc}",
            f'cnonce="{cnonce}"', f'response="{response}"',
        ]
        if "opaque" in c:
            parts.append(f'opaque="{c["opaque"]}"')
        return "Digest " + ", ".join(parts)


class Honest(threading.Thread):
    """One client on one kept-alive connection, a request every `every` seconds."""

    def __init__(self, name, addr, request, every, stop, digest=None):
        super().__init__(daemon=True)
        self.name_, self.addr, self.request, self.every, self.stop = name, addr, request, every, stop
        self.digest = digest
        self.latencies, self.errors, self.statuses, self.reconnects = [], 0, {}, 0
        self.measuring = False
        self.conn = None

    def connect(self):
        host, port = self.addr.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def once(self):
        method, path, headers, body = self.request
        started = time.perf_counter()
        try:
            if self.conn is None:
                self.reconnects += 1
                self.connect()
            res = self.send(method, path, headers, body)
            if res.status == 401 and self.digest is not None and self.digest.learn(res):
                # A first or stale nonce: answer the challenge, as a camera does.
                res = self.send(method, path, headers, body)
            elapsed = (time.perf_counter() - started) * 1000
            if self.measuring:
                self.latencies.append(elapsed)
                self.statuses[res.status] = self.statuses.get(res.status, 0) + 1
                if not 200 <= res.status < 300:
                    self.errors += 1
            if res.getheader("connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
        except (OSError, http.client.HTTPException):
            if self.measuring:
                self.errors += 1
            if self.conn is not None:
                self.conn.close()
            self.conn = None

    def send(self, method, path, headers, body):
        headers = dict(headers)
        answer = self.digest.header(method, path) if self.digest is not None else None
        if answer is not None:
            headers["Authorization"] = answer
        self.conn.request(method, path, body=body, headers=headers)
        res = self.conn.getresponse()
        res.read()
        if res.getheader("connection", "").lower() == "close" and res.status == 401:
            self.conn.close()
            self.connect()
        return res

    def run(self):
        next_at = time.monotonic()
        while not self.stop.is_set():
            self.once()
            next_at += self.every
            time.sleep(max(0.0, next_at - time.monotonic()))

    def summary(self):
        return {
            "requests": len(self.latencies),
            "errors": self.errors,
            "reconnects": self.reconnects,
            "statuses": self.statuses,
            "p50_ms": percentile(self.latencies, 50),
            "p99_ms": percentile(self.latencies, 99),
            "max_ms": max(self.latencies) if self.latencies else None,
        }


class Attack(threading.Thread):
    """Keeps `count` quiet connections open (as far as the controller lets it)."""

    def __init__(self, count, targets, stop):
        super().__init__(daemon=True)
        self.count, self.targets, self.stop = count, targets, stop
        self.sel = selectors.DefaultSelector()
        self.opened = self.refused = self.timed_out = self.failed = 0
        self.open_now = 0
        self.peak_open = 0

    def slot(self, i):
        source = "127.0.%d.%d" % (2 + (i // 100) // 250, 2 + (i // 100) % 250)
        target = self.targets[i % len(self.targets)]
        return source, target, (i // len(self.targets)) % 2 == 1

    def open(self, i):
        source, (host, port), half = self.slot(i)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((source, 0))
            s.setblocking(False)
            s.connect_ex((host, port))
            self.sel.register(s, selectors.EVENT_WRITE, (i, time.monotonic(), half, False))
        except OSError:
            self.failed += 1
            s.close()
            return False
        return True

    def run(self):
        retry = []  # (when, slot)
        for i in range(self.count):
            self.open(i)
        while not self.stop.is_set():
            now = time.monotonic()
            due = [i for (t, i) in retry if t <= now]
            retry = [(t, i) for (t, i) in retry if t > now]
            for i in due:
                if not self.open(i):
                    retry.append((now + 1.0, i))
            for key, _ in self.sel.select(timeout=0.1):
                s = key.fileobj
                i, opened_at, half, connected = key.data
                if not connected:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        self.failed += 1
                        self.sel.unregister(s)
                        s.close()
                        retry.append((time.monotonic() + 1.0, i))
                        continue
                    self.opened += 1
                    self.open_now += 1
                    self.peak_open = max(self.peak_open, self.open_now)
                    if half:
                        try:
                            s.send(HALF_HEAD)
                        except OSError:
                            pass
                    self.sel.modify(s, selectors.EVENT_READ, (i, opened_at, half, True))
                    continue
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data:
                    continue
                self.open_now -= 1
                if time.monotonic() - opened_at < 1.0:
                    self.refused += 1
                else:
                    self.timed_out += 1
                self.sel.unregister(s)
                s.close()
                retry.append((time.monotonic() + 1.0, i))
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()

    def summary(self):
        return {
            "opened": self.opened,
            "closed_within_1s": self.refused,
            "closed_later": self.timed_out,
            "failed_connects": self.failed,
            "open_at_end": self.open_now,
            "peak_open": self.peak_open,
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--web", required=True)
    ap.add_argument("--plate", required=True)
    ap.add_argument("--camera", default="CAM-K1")
    ap.add_argument("--user", default="anpr")
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--idle", type=int, default=1100)
    ap.add_argument("--hold", type=float, default=20.0)
    ap.add_argument("--every", type=float, default=0.05)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    password = open(args.password_file).read().strip()
    stop = threading.Event()
    clients = [
        Honest("health", args.web, ("GET", "/healthz", {}, None), args.every, stop),
        Honest(
            "console",
            args.web,
            ("GET", "/api/lines", {"Authorization": f"Bearer {args.token}"}, None),
            args.every,
            stop,
        ),
        Honest(
            "plate",
            args.plate,
            (
                "POST",
                f"/cameras/{args.camera}/events",
                {"Content-Type": "application/xml"},
                HEARTBEAT,
            ),
            args.every,
            stop,
            Digest(args.user, password),
        ),
    ]
    for c in clients:
        c.connect()
        c.start()
    time.sleep(0.5)

    def addr(a):
        host, port = a.rsplit(":", 1)
        return (host, int(port))

    attack = Attack(args.idle, [addr(args.web), addr(args.plate)], stop)
    attack.start()
    # Let every connection be tried once before timing.
    time.sleep(1.5)
    for c in clients:
        c.measuring = True
    time.sleep(args.hold)
    for c in clients:
        c.measuring = False
    stop.set()
    attack.join(timeout=5)
    for c in clients:
        c.join(timeout=5)
    out = {c.name_: c.summary() for c in clients}
    out["attack"] = attack.summary()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

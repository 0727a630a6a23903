#!/usr/bin/env python3
"""Helpers of scripts/package-test.sh, run on the host against the test's Debian root.

  adjust-config SITE_TOML SIM_ADDRESSES_JSON WEB_ADDR
      The site's local edit of the installed /etc/customs-edge/site.toml: its line pointed
      at edge-sim's PLC, scanners and X-ray directory, the console on WEB_ADDR, and the
      parts that need hardware or secrets this root does not have (gates, cameras, the
      platform link) taken out.
  records DB
      The records an upgrade must keep, one per line: parcels with their lane and outcome,
      declaration lists.
  sim-field ADDRESSES_JSON FIELD   edge-sim's HTTP address ("http") or similar
  lane-count REPORT_JSON LANE      how many parcels edge-sim saw drop into LANE
  free-port                        a free TCP port on 127.0.0.1
  notify-listen SOCKET OUT         systemd's side of sd_notify: bind SOCKET (a datagram
                                   socket anyone may write to) and append what arrives to
                                   OUT, one state a line, until killed
  deb-metadata CARGO_TOML          its [package.metadata.deb*] tables, to lay over an older
                                   tree that predates them
  mark-previous TREE               give TREE's workspace crates the version <v>-previous (in
                                   their manifests and Cargo.lock), so that built in this
                                   tree's target directory they are units of their own
"""

import glob
import json
import os
import re
import socket
import sqlite3
import sys

# Tables of the example config a test root cannot serve: no gate I/O, no cameras, no
# broker, no secrets.
DROPPED = re.compile(r"^\[\[?(gates|plate_events|operators|cameras|platform)\b")


def adjust_config(path, addresses, web):
    line = json.load(open(addresses))["lines"][0]
    kept, keep = [], True
    for text in open(path).read().splitlines(keepends=True):
        if text.startswith("["):
            keep = not DROPPED.match(text)
        if keep:
            kept.append(text)
    text = "".join(kept)
    for old, new in [
        ("192.168.10.20:502", line["plc"]),
        ("192.168.10.21:2001", line["top"]),
        ("192.168.10.22:2001", line["side"]),
        ('"/srv/xray/L1"', json.dumps(line["xray_dir"])),
        ('"127.0.0.1:8080"', json.dumps(web)),
        # edge-sim frames both scanners alike
        ('framing = "cr_lf"', 'framing = "stx_etx"'),
    ]:
        if old not in text:
            sys.exit(f"adjust-config: {old!r} is not in {path}: did the example config change?")
        text = text.replace(old, new)
    open(path, "w").write(text)


def records(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    for row in conn.execute(
        "SELECT id, logistics_no, lane, outcome FROM parcels ORDER BY id"
    ):
        print("parcel", *row)
    for row in conn.execute(
        "SELECT logistics_no, return_status FROM declaration_lists ORDER BY logistics_no"
    ):
        print("list", *row)


def deb_metadata(path):
    out, keep = ["\n"], False
    for text in open(path).read().splitlines(keepends=True):
        if text.startswith("["):
            keep = text.startswith("[package.metadata.deb")
        if keep:
            out.append(text)
    print("".join(out), end="")


def notify_listen(path, out):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)  # the controller runs as its own user
    with open(out, "a", buffering=1) as log:
        while True:
            log.write(sock.recv(4096).decode(errors="replace").rstrip("\n") + "\n")


def mark_previous(tree):
    # Cargo names a path crate's artifacts after its name, version and path *relative to
    # the workspace*: the previous tree's crates would be the very same units as this
    # tree's, each build overwriting the other's artifacts (and cargo taking the other's as
    # fresh). A version of their own keeps them apart; the registry dependencies are shared.
    names = set()
    for manifest in sorted(glob.glob(os.path.join(tree, "**", "Cargo.toml"), recursive=True)):
        if "/target/" in manifest:
            continue
        text, table, out = open(manifest).read(), None, []
        for line in text.splitlines(keepends=True):
            if line.startswith("["):
                table = line.strip()
            m = re.match(r'(version\s*=\s*")([^"]+)(")', line)
            if table == "[package]" and m:
                line = f"{m.group(1)}{m.group(2)}-previous{m.group(3)}\n"
            # A path dependency's version requirement ("0.1", the workspace-hack's) would
            # not match the prerelease version given above: the path alone names it.
            if table != "[package]" and re.search(r'\bpath\s*=', line):
                line = re.sub(r'\bversion\s*=\s*"[^"]*"\s*,\s*', "", line)
            n = re.match(r'name\s*=\s*"([^"]+)"', line)
            if table == "[package]" and n:
                names.add(n.group(1))
            out.append(line)
        open(manifest, "w").write("".join(out))
    lock = os.path.join(tree, "Cargo.lock")
    blocks = open(lock).read().split("\n[[package]]\n")
    for i, block in enumerate(blocks):
        n = re.search(r'^name = "([^"]+)"$', block, re.M)
        if n and n.group(1) in names and "\nsource = " not in block:
            blocks[i] = re.sub(r'^version = "([^"]+)"$', r'version = "\1-previous"', block,
                               count=1, flags=re.M)
    open(lock, "w").write("\n[[package]]\n".join(blocks))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "adjust-config":
        adjust_config(*args)
    elif command == "records":
        records(*args)
    elif command == "sim-field":
        print(json.load(open(args[0]))[args[1]])
    elif command == "lane-count":
        try:
            report = json.load(open(args[0]))
        except (OSError, ValueError):
            print(0)
            return
        print(report["summary"]["lane_counts"].get(args[1], 0))
    elif command == "deb-metadata":
        deb_metadata(*args)
    elif command == "notify-listen":
        notify_listen(*args)
    elif command == "mark-previous":
        mark_previous(*args)
    elif command == "free-port":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            print(s.getsockname()[1])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()

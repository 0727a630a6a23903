#!/usr/bin/env python3
"""The console API against its own OpenAPI document, with Schemathesis (a contract tester
this project does not otherwise use): requests generated from /api/openapi.json, every
answer checked against what the document says (status documented, content type, body
schema, errors as {"error", "code"}, invalid data refused, valid data accepted, no 5xx).

Run without a session, with an operator's bearer token, and with a session of each role.
Routes that change the caller's own credentials or end its session are excluded
(POST /api/logout, POST /api/me/password). DELETE /api/sessions/{id} is tested: a
generated id never names a live session (handles are 96 random bits), so it checks the
refusals (400 over the length limit, 401, 403 without CSRF, 404) and ends nothing.

Two ways to run:

  check_api.py --binary target/debug/customs-edge
      starts `customs-edge demo --listen 127.0.0.1:0 --print-addresses-json` (its own
      broker and simulators, one account per role) and tests it as every role.

  check_api.py --url https://edge.example:8443 --user api-test --role operator
      against a running site, as one test account (password in CUSTOMS_EDGE_TEST_PASSWORD);
      never a person's account: fuzzing it writes records (flags, overrides, accounts)
      when the role allows them. Add --token-env NAME for an operator bearer token instead.

Exit status 0 only when every run had zero failures.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROLES = ["admin", "operator", "officer", "viewer"]
# Routes a run must not call: they change or end the caller's own credentials.
EXCLUDED_PATHS = ["/api/logout", "/api/me/password"]


def say(msg):
    print(f"check_api: {msg}", file=sys.stderr, flush=True)


def post_json(url, body, headers=None):
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as res:
        return res.status, dict(res.headers), json.loads(res.read() or b"null")


def login(base, user, password):
    """A session of `user`: (cookie header value, CSRF token)."""
    status, headers, body = post_json(f"{base}/api/login", {"username": user, "password": password})
    if status != 200:
        raise SystemExit(f"login as {user} answered {status}")
    cookie = next(
        (v.split(";", 1)[0] for k, v in headers.items() if k.lower() == "set-cookie" and v.startswith("ce_session=")),
        None,
    )
    if cookie is None:
        raise SystemExit(f"login as {user} set no ce_session cookie")
    return cookie, body["csrf"]


def wait_for(url, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as res:
                if res.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer within {timeout} s")
        time.sleep(0.2)


def schemathesis(st, base, label, headers, args, seed):
    cmd = [
        st, "--config-file", args.config, "--no-color", "run", f"{base}/api/openapi.json",
        "--url", base,
        "--max-examples", str(args.max_examples),
        "--phases", args.phases,
        "--seed", str(seed),
        "--workers", str(args.workers),
        "--request-timeout", "30",
        "--suppress-health-check", "all",
    ]
    for path in EXCLUDED_PATHS:
        cmd += ["--exclude-path", path]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if "Authorization" in headers:
        # Schemathesis's ignored_auth check spoils the session cookie while the bearer token
        # stays valid; the document admits either (`session` OR `bearer`), so the request
        # rightly succeeds. Sessions are checked by the cookie runs, tokens by this one.
        cmd += ["--exclude-checks", "ignored_auth"]
    say(f"schemathesis as {label}")
    started = time.monotonic()
    code = subprocess.call(cmd)
    say(f"as {label}: exit {code} in {time.monotonic() - started:.0f} s")
    return code


def demo_runs(args):
    """Start the demo; yield (label, headers) for every identity."""
    proc = subprocess.Popen(
        [args.binary, "demo", "--listen", "127.0.0.1:0", "--print-addresses-json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if not args.verbose else None,
        text=True,
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
    )
    try:
        addresses = None
        deadline = time.monotonic() + 120
        while addresses is None:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit(f"the demo ended before printing its addresses (exit {proc.wait()})")
            if line.startswith("{"):
                addresses = json.loads(line)
            if time.monotonic() > deadline:
                raise SystemExit("the demo printed no addresses within 120 s")
        base = addresses["console"].rstrip("/")
        wait_for(f"{base}/api/openapi.json", 60)
        logins = addresses["logins"]
        sessions = {}
        for user in ROLES:
            cookie, csrf = login(base, user, logins["password"])
            sessions[user] = {"Cookie": cookie, "X-CSRF-Token": csrf}
        identities = [("no session", {}), ("operator token", {"Authorization": f"Bearer {addresses['operator_token']}"})]
        identities += [(f"{user} session", sessions[user]) for user in ROLES]
        yield from ((base, label, headers) for label, headers in identities)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def site_runs(args):
    base = args.url.rstrip("/")
    if args.token_env:
        yield base, "bearer token", {"Authorization": f"Bearer {os.environ[args.token_env]}"}
        return
    yield base, "no session", {}
    if args.user:
        password = os.environ.get("CUSTOMS_EDGE_TEST_PASSWORD")
        if not password:
            raise SystemExit("set CUSTOMS_EDGE_TEST_PASSWORD to the test account's password")
        cookie, csrf = login(base, args.user, password)
        yield base, f"{args.user} session", {"Cookie": cookie, "X-CSRF-Token": csrf}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", help="customs-edge to run as a demo")
    p.add_argument("--url", help="a running site's console URL instead")
    p.add_argument("--user", help="with --url: the test account to log in as")
    p.add_argument("--token-env", help="with --url: the environment variable holding an operator token")
    p.add_argument("--st", default=os.path.join(os.path.dirname(sys.executable), "st"))
    p.add_argument("--config", default=os.path.join(here, "schemathesis.toml"))
    p.add_argument("--max-examples", type=int, default=int(os.environ.get("API_MAX_EXAMPLES", "8")))
    p.add_argument("--phases", default=os.environ.get("API_PHASES", "examples,coverage,fuzzing"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=int(os.environ.get("API_SEED", "17")))
    p.add_argument("--verbose", action="store_true", help="show the demo's log")
    args = p.parse_args()
    if bool(args.binary) == bool(args.url):
        p.error("give --binary or --url")
    runs = demo_runs(args) if args.binary else site_runs(args)
    failed = []
    started = time.monotonic()
    for base, label, headers in runs:
        if schemathesis(args.st, base, label, headers, args, args.seed) != 0:
            failed.append(label)
    say(f"{'FAILED as ' + ', '.join(failed) if failed else 'every run passed'} "
        f"({time.monotonic() - started:.0f} s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

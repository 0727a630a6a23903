"""onvif-camera-sim, checked by ONVIF clients no one here wrote.

Usage: check_camera.py [--sim PATH]   (or $ONVIF_CAMERA_SIM; default target/debug/onvif-camera-sim)

Starts the simulator on loopback with its clock an hour ahead (so the client must correct
its WS-Security timestamps) and multicast discovery on, waits for its JSON line (bounded),
then:

- WSDiscovery finds it: by a multicast probe (threaded client) and by a probe sent to its
  unicast responder (message layer); at least one must find the camera's endpoint with
  its device service XAddr; both outcomes are reported;
- onvif-zeep-async connects with the password (ONVIFCamera, update_xaddrs with clock
  correction), reads the device information, lists 2 media profiles (1280x720, 640x360),
  gets each snapshot URI and fetches it with httpx Digest auth (a JPEG of the profile's
  size), fetches one with its own get_snapshot (aiohttp Digest), gets the stream URI;
- a wrong password, and the right one without clock correction, are refused;
- ffprobe reads the MJPEG stream: codec mjpeg, 1280x720;
- SIGTERM stops the simulator with exit status 0.

Prints PASS/FAIL per check, then "check_camera: N passed, M failed"; exits 1 on any
failure (with the tail of the simulator's log).
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import queue  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import checks  # noqa: E402
from checks import Failed, expect  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
USER = "operator"
PASSWORD = "conf0rmance-pw"
SKEW_S = 3600
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
FFPROBE_TIMEOUT = 30.0


class Sim:
    """onvif-camera-sim as a child; its ready line parsed, its log kept in a temp file."""

    def __init__(self, binary: Path) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")
        args = [
            str(binary),
            *("--listen", "127.0.0.1:0", "--name", "conformance-cam"),
            *("--user", USER, "--password", PASSWORD, "--clock-skew-s", str(SKEW_S)),
            *("--discovery-listen", "127.0.0.1:0"),
        ]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.kill()
            raise Failed(f"onvif-camera-sim printed nothing within {START_TIMEOUT} s") from None
        if not line:
            self.kill()
            raise Failed(f"onvif-camera-sim exited with {self.proc.wait()} before it was ready")
        self.ready = json.loads(line)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failed(f"onvif-camera-sim did not stop within {STOP_TIMEOUT} s of SIGTERM") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, fn):
        try:
            result = fn()
        except Failed as err:
            self.failed += 1
            print(f"FAIL {name}: {err}", flush=True)
            return None
        except Exception as err:  # noqa: BLE001 - a client error is a failed check
            self.failed += 1
            print(f"FAIL {name}: {type(err).__name__}: {err}", flush=True)
            return None
        self.passed += 1
        print(f"PASS {name}" + (f": {result}" if isinstance(result, str) else ""), flush=True)
        return result


def discovery(sim: Sim) -> str:
    ready = sim.ready
    found = []
    xaddrs = checks.discovery_multicast(ready["endpoint"])
    mode = "joined" if ready["multicast"] else "not joined by the camera"
    found.append(f"multicast ({mode}): {'found ' + ' '.join(xaddrs) if xaddrs else 'not found'}")
    unicast = checks.discovery_unicast(ready["discovery"], ready["endpoint"])
    found.append(f"unicast to {ready['discovery']}: found {' '.join(unicast)}")
    expect(ready["device_service"] in unicast, f"XAddrs {unicast} lack {ready['device_service']}")
    return "; ".join(found)


def onvif_session(sim: Sim) -> str:
    host, port = sim.ready["http"].rsplit(":", 1)
    learnt, took = checks.run_async(checks.onvif_client(host, int(port), USER, PASSWORD))
    expect(abs(learnt["skew_s"] - SKEW_S) <= 5, f"the client measured a skew of {learnt['skew_s']} s")
    expect(learnt["profiles"] == {"main": (1280, 720), "sub": (640, 360)}, f"profiles {learnt['profiles']}")
    expect(learnt["stream_uri"] == sim.ready["profiles"][0]["stream"], f"stream URI {learnt['stream_uri']}")
    snaps = ", ".join(f"{t} {n} B {w}x{h}" for t, (_, n, (w, h)) in learnt["snapshots"].items())
    return (
        f"{learnt['manufacturer']} {learnt['model']}, clock corrected by {learnt['skew_s']:.0f} s, "
        f"profiles {learnt['profiles']}, httpx Digest snapshots {snaps}, in {took:.1f} s"
    )


def refusals(sim: Sim) -> str:
    host, port = sim.ready["http"].rsplit(":", 1)
    wrong, _ = checks.run_async(checks.refused(host, int(port), USER, "not-the-password", True))
    unsynced, _ = checks.run_async(checks.refused(host, int(port), USER, PASSWORD, False))
    return f"wrong password -> {wrong[:80]}; uncorrected clock -> {unsynced[:80]}"


def ffprobe(sim: Sim) -> str:
    binary = shutil.which("ffprobe")
    expect(binary is not None, "ffprobe not found: run scripts/setup.sh (Debian package ffmpeg)")
    url = sim.ready["profiles"][0]["stream"].replace("http://", f"http://{USER}:{PASSWORD}@", 1)
    args = [
        binary, "-v", "error", "-rw_timeout", "10000000",
        "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
        "-of", "json", url,
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=FFPROBE_TIMEOUT, check=False)
    expect(done.returncode == 0, f"ffprobe exited {done.returncode}: {done.stderr.strip()[-300:]}")
    streams = json.loads(done.stdout).get("streams", [])
    expect(len(streams) == 1, f"ffprobe saw {len(streams)} video streams: {done.stdout}")
    s = streams[0]
    got = (s.get("codec_name"), s.get("width"), s.get("height"))
    expect(got == ("mjpeg", 1280, 720), f"ffprobe says {got}")
    return f"ffprobe: codec_name={got[0]} width={got[1]} height={got[2]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("ONVIF_CAMERA_SIM", str(ROOT / "target" / "debug" / "onvif-camera-sim"))
    parser.add_argument("--sim", type=Path, default=Path(default))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    report = Report()
    try:
        sim = Sim(args.sim)
    except Failed as err:
        print(f"FAIL start onvif-camera-sim: {err}")
        return 1
    try:
        report.check("WSDiscovery finds the camera", lambda: discovery(sim))
        report.check("onvif-zeep-async session", lambda: onvif_session(sim))
        report.check("wrong credentials refused", lambda: refusals(sim))
        report.check("ffprobe reads the MJPEG stream", lambda: ffprobe(sim))
        report.check("SIGTERM stops the camera", lambda: expect(sim.stop() == 0, "non-zero exit"))
    finally:
        sim.kill()
    print(f"check_camera: {report.passed} passed, {report.failed} failed")
    if report.failed:
        print("--- onvif-camera-sim log (tail) ---\n" + sim.log_tail())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

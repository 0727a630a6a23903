"""onvif-camera-sim, checked by ONVIF clients no one here wrote.

Usage: check_camera.py [--sim PATH]   (or $ONVIF_CAMERA_SIM; default target/debug/onvif-camera-sim)

Starts the simulator on loopback with its clock an hour ahead (so the client must correct
its WS-Security timestamps), multicast discovery asked for and RTSP on, waits for its
JSON line (bounded), then:

- WSDiscovery finds it by a probe sent to its unicast responder (message layer), and a
  multicast search does not (a loopback camera sends nothing to the group); a second
  camera listening on this machine's outside address (when it has one) is found by
  WSDiscovery's multicast search (threaded client);
- onvif-zeep-async connects with the password (ONVIFCamera, update_xaddrs with clock
  correction), reads the device information, lists 2 media profiles (1280x720, 640x360),
  gets each snapshot URI and fetches it with httpx Digest auth (a JPEG of the profile's
  size), fetches one with its own get_snapshot (aiohttp Digest), gets the stream URI;
- every Profile S read the camera answers, through onvif-zeep-async (its WSDL validates
  the answers), with values that agree with each other and with the camera's addresses;
  GetStreamUri gives RTSP for RTSP and UDP, MJPEG over HTTP for HTTP;
- SOAP without WS-Security: httpx gets 401 with a Digest challenge, then the answer with
  its DigestAuth;
- a wrong password, and the right one without clock correction, are refused;
- ffprobe reads the MJPEG stream (mjpeg, 1280x720) and the RTSP stream (h264, 1280x720),
  and is refused the RTSP stream with a wrong password;
- OpenCV (Debian's python3-opencv, FFmpeg backend, run by /usr/bin/python3) reads frames
  of 1280x720 from the RTSP stream;
- SIGTERM stops the simulator with exit status 0, and its RTSP server with it.

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
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
FFPROBE_TIMEOUT = 30.0
OPENCV_TIMEOUT = 60.0
# Frames OpenCV must read from the RTSP stream.
OPENCV_FRAMES = 20
# Debian's python, the one with python3-opencv (cv2).
DEBIAN_PYTHON = "/usr/bin/python3"


class Sim:
    """onvif-camera-sim as a child; its ready line parsed, its log kept in a temp file."""

    def __init__(self, binary: Path, ip: str = "127.0.0.1", extra: tuple[str, ...] = ()) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")
        args = [
            str(binary),
            *("--listen", f"{ip}:0", "--name", f"conformance-cam-{ip}"),
            *("--user", USER, "--password", PASSWORD, "--clock-skew-s", str(SKEW_S)),
            *("--discovery-listen", f"{ip}:0"),
            *extra,
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

    def children(self) -> list[int]:
        """The simulator's child processes (its RTSP server)."""
        found = []
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            found += [int(p) for p in task.read_text().split()]
        return found

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


class Skipped(Exception):
    """A check that cannot run on this machine."""


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, name: str, fn):
        try:
            result = fn()
        except Skipped as err:
            self.skipped += 1
            print(f"SKIP {name}: {err}", flush=True)
            return None
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


def discovery_loopback(sim: Sim) -> str:
    ready = sim.ready
    expect(not ready["multicast"], "a loopback camera joined the multicast group")
    unicast = checks.discovery_unicast(ready["discovery"], ready["endpoint"])
    expect(ready["device_service"] in unicast, f"XAddrs {unicast} lack {ready['device_service']}")
    heard = checks.discovery_multicast(ready["endpoint"])
    expect(not heard, f"a multicast search found the loopback camera at {heard}")
    return f"unicast to {ready['discovery']}: found {' '.join(unicast)}; multicast: silent, as it should be"


def outside_ipv4() -> str | None:
    """This machine's address toward the outside (nothing is sent), unless only loopback."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        ip = s.getsockname()[0]
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


def discovery_outside(binary: Path) -> str:
    ip = outside_ipv4()
    if ip is None:
        raise Skipped("this machine has no IPv4 address besides loopback")
    outside = Sim(binary, ip, ("--no-rtsp",))
    try:
        ready = outside.ready
        expect(ready["multicast"], f"the camera on {ip} did not join the multicast group")
        xaddrs = checks.discovery_multicast(ready["endpoint"])
        expect(ready["device_service"] in xaddrs, f"multicast search found {xaddrs}, not {ready['device_service']}")
        expect(outside.stop() == 0, "the camera on the outside address did not stop cleanly")
        return f"camera on {ip}: multicast search found {' '.join(xaddrs)}"
    finally:
        outside.kill()


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


def profile_s(sim: Sim) -> str:
    host, port = sim.ready["http"].rsplit(":", 1)
    got, took = checks.run_async(checks.profile_s_reads(host, int(port), USER, PASSWORD))
    rtsp_port = sim.ready["rtsp"]
    expect(rtsp_port is not None, "the camera has no RTSP server (is GStreamer's installed?)")
    expect(got["hostname"] == "conformance-cam-127-0-0-1", f"hostname {got['hostname']}")
    expect(got["interfaces"] == [("eth0", host)], f"interfaces {got['interfaces']}")
    expect(
        got["dns"] == got["gateway"] and len(got["gateway"]) == 1 and got["gateway"][0].startswith("127."),
        f"DNS {got['dns']}, gateway {got['gateway']}",
    )
    expect(got["ntp_from_dhcp"] is False, "NTP from DHCP")
    want = {"HTTP": (True, int(port)), "HTTPS": (False, 443), "RTSP": (True, rtsp_port)}
    expect(got["protocols"] == want, f"protocols {got['protocols']}, want {want}")
    expect(got["discovery_mode"] == "NonDiscoverable", f"discovery mode {got['discovery_mode']} on loopback")
    expect(got["users"] == [(USER, "Administrator")], f"users {got['users']}")
    expect(got["wsdl_url"].startswith("http://www.onvif.org/"), f"WSDL URL {got['wsdl_url']}")
    expect(got["device_digest"] is True and got["media_rtp_rtsp_tcp"] is True, "service capabilities")
    want_enc = {"VideoEncoder_main": ("H264", 1280, 720), "VideoEncoder_sub": ("H264", 640, 360)}
    expect(got["encoders"] == want_enc, f"encoders {got['encoders']}")
    expect(got["encoder_one"] == "VideoEncoder_main", f"GetVideoEncoderConfiguration gave {got['encoder_one']}")
    expect(got["sources"] == ["VideoSource_1"], f"sources {got['sources']}")
    expect(got["h264_options"] and got["jpeg_sizes"] == [(1280, 720), (640, 360)], f"options {got}")
    expect(sorted(got["compatible"]) == sorted(want_enc), f"compatible {got['compatible']}")
    expect(got["audio_sources"] == [], f"audio sources {got['audio_sources']}")
    rtsp = sim.ready["profiles"][0]["rtsp"]
    uris = got["stream_uris"]
    expect(uris["RTSP"] == rtsp and uris["UDP"] == rtsp, f"RTSP stream URIs {uris}, want {rtsp}")
    expect(uris["HTTP"] == sim.ready["profiles"][0]["stream"], f"HTTP stream URI {uris['HTTP']}")
    return f"17 operations, hostname {got['hostname']}, gateway {got['gateway'][0]}, RTSP {rtsp}, in {took:.1f} s"


def http_digest(sim: Sim) -> str:
    bare, challenge, answered, model = checks.run_async(
        checks.soap_with_http_digest(sim.ready["device_service"], USER, PASSWORD)
    )[0]
    expect(bare == 401, f"without credentials: HTTP {bare}")
    expect(challenge.lower().startswith("digest") or "digest" in challenge.lower(), f"challenge {challenge!r}")
    expect(answered == 200 and model, f"with httpx DigestAuth: HTTP {answered}, model {model!r}")
    return f"401 ({challenge.split(',')[0]}), then 200: Model {model}"


def refusals(sim: Sim) -> str:
    host, port = sim.ready["http"].rsplit(":", 1)
    wrong, _ = checks.run_async(checks.refused(host, int(port), USER, "not-the-password", True))
    unsynced, _ = checks.run_async(checks.refused(host, int(port), USER, PASSWORD, False))
    return f"wrong password -> {wrong[:80]}; uncorrected clock -> {unsynced[:80]}"


def run_ffprobe(url: str) -> subprocess.CompletedProcess:
    binary = shutil.which("ffprobe")
    expect(binary is not None, "ffprobe not found: run scripts/setup.sh (Debian package ffmpeg)")
    args = [
        binary, "-v", "error", "-rw_timeout", "10000000",
        "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
        "-of", "json", url,
    ]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=FFPROBE_TIMEOUT, check=False)


def probed(url: str, want: tuple) -> str:
    done = run_ffprobe(url)
    expect(done.returncode == 0, f"ffprobe exited {done.returncode}: {done.stderr.strip()[-300:]}")
    streams = json.loads(done.stdout).get("streams", [])
    expect(len(streams) == 1, f"ffprobe saw {len(streams)} video streams: {done.stdout}")
    s = streams[0]
    got = (s.get("codec_name"), s.get("width"), s.get("height"))
    expect(got == want, f"ffprobe says {got}")
    return f"ffprobe: codec_name={got[0]} width={got[1]} height={got[2]}"


def with_login(url: str, password: str = PASSWORD) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{USER}:{password}@{rest}"


def ffprobe_mjpeg(sim: Sim) -> str:
    return probed(with_login(sim.ready["profiles"][0]["stream"]), ("mjpeg", 1280, 720))


def ffprobe_rtsp(sim: Sim) -> str:
    url = sim.ready["profiles"][0]["rtsp"]
    expect(url is not None, "no RTSP URL: the RTSP server did not start (see the log)")
    seen = probed(with_login(url), ("h264", 1280, 720))
    wrong = run_ffprobe(with_login(url, "not-the-password"))
    expect(wrong.returncode != 0, "ffprobe read the RTSP stream with a wrong password")
    expect("401" in wrong.stderr, f"wrong password: {wrong.stderr.strip()[-200:]}")
    return f"{seen}; wrong password -> 401"


OPENCV_READ = """
import json, sys, time
import cv2
cap = cv2.VideoCapture(sys.argv[1], cv2.CAP_FFMPEG)
frames, shape, started = 0, None, time.monotonic()
while cap.isOpened() and frames < int(sys.argv[2]) and time.monotonic() - started < 30:
    ok, frame = cap.read()
    if ok:
        frames, shape = frames + 1, frame.shape
print(json.dumps({"opened": cap.isOpened(), "frames": frames, "shape": shape,
                  "seconds": round(time.monotonic() - started, 2)}))
"""


def opencv_rtsp(sim: Sim) -> str:
    url = sim.ready["profiles"][0]["rtsp"]
    expect(url is not None, "no RTSP URL: the RTSP server did not start (see the log)")
    expect(Path(DEBIAN_PYTHON).exists(), f"{DEBIAN_PYTHON} not found")
    args = [DEBIAN_PYTHON, "-c", OPENCV_READ, with_login(url), str(OPENCV_FRAMES)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=OPENCV_TIMEOUT, check=False)
    if "No module named 'cv2'" in done.stderr:
        raise Failed("Debian's python3-opencv is missing: run scripts/setup.sh")
    expect(done.returncode == 0, f"OpenCV exited {done.returncode}: {done.stderr.strip()[-300:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    expect(got["frames"] == OPENCV_FRAMES, f"OpenCV read {got}")
    expect(got["shape"] == [720, 1280, 3], f"OpenCV frames are {got['shape']}")
    return f"cv2.VideoCapture(CAP_FFMPEG): {got['frames']} frames of 1280x720 in {got['seconds']} s"


def stops(sim: Sim) -> str:
    children = sim.children()
    expect(sim.stop() == 0, "non-zero exit")
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    expect(not alive, f"child processes {alive} outlived the camera")
    return f"exit 0; {len(children)} child process(es) (the RTSP server) gone too"


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
        report.check("WSDiscovery: loopback camera, directed probe only", lambda: discovery_loopback(sim))
        report.check("WSDiscovery: multicast on the outside interface", lambda: discovery_outside(args.sim))
        report.check("onvif-zeep-async session", lambda: onvif_session(sim))
        report.check("onvif-zeep-async: Profile S reads", lambda: profile_s(sim))
        report.check("SOAP with HTTP Digest (httpx)", lambda: http_digest(sim))
        report.check("wrong credentials refused", lambda: refusals(sim))
        report.check("ffprobe reads the MJPEG stream", lambda: ffprobe_mjpeg(sim))
        report.check("ffprobe reads the RTSP stream", lambda: ffprobe_rtsp(sim))
        report.check("OpenCV reads the RTSP stream", lambda: opencv_rtsp(sim))
        report.check("SIGTERM stops the camera and its RTSP server", lambda: stops(sim))
    finally:
        sim.kill()
    print(f"check_camera: {report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    if report.failed:
        print("--- onvif-camera-sim log (tail) ---\n" + sim.log_tail())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

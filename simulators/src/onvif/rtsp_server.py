"""The simulated ONVIF camera's RTSP server: GStreamer's RTSP server (GstRtspServer) fed
with the camera's own frames. onvif-camera-sim runs it as a child process with Debian's
/usr/bin/python3 (python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-base,
-good, -ugly) and the source as `-c`; it is not meant to be run by hand.

stdin carries records `kind (u8) profile (u8) length (u32, big-endian) payload`:
kind 0 is the JSON setup (first, once): {"address", "port", "user", "password",
"profiles": [{"token", "width", "height", "fps"}]}; kind 1 is one JPEG frame of profile
number `profile`; kind 2 is JSON control, {"password": "..."}. End of stdin (the camera
stopped, or died) stops the server.

stdout carries lines: `READY <port>` once listening; `ON <token>` when a client starts
watching a profile (the camera then sends its frames), `OFF <token>` when the last one
left. A missing package prints `MISSING <package>: <why>` and exits with status 3.

Each profile is the mount `/<token>`: appsrc (JPEG) ! jpegdec ! videoconvert ! x264enc
(baseline, zero latency, a key frame every second) ! rtph264pay, one pipeline per client
session (not shared: a client coming back while the last one's pipeline shuts down would
get 503 from a shared one), behind RTSP Digest authentication with the camera's
credentials. Every frame goes to every pipeline of its profile.
"""

import json
import os
import struct
import sys
import threading

ELEMENTS = {
    "appsrc": "gstreamer1.0-plugins-base",
    "videoconvert": "gstreamer1.0-plugins-base",
    "jpegdec": "gstreamer1.0-plugins-good",
    "rtph264pay": "gstreamer1.0-plugins-good",
    "x264enc": "gstreamer1.0-plugins-ugly",
}
ROLE = "camera-user"


def missing(package, why):
    sys.stdout.write(f"MISSING {package}: {why}\n")
    sys.stdout.flush()
    sys.exit(3)


try:
    import gi
except ImportError as e:
    missing("python3-gi", f"cannot import gi: {e}")
try:
    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtsp, GstRtspServer
except (ImportError, ValueError) as e:
    missing("gir1.2-gst-rtsp-server-1.0", f"cannot load GstRtspServer: {e}")


def read_exact(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_record(stream):
    head = read_exact(stream, 6)
    if head is None:
        return None
    kind, profile, length = struct.unpack(">BBI", head)
    payload = read_exact(stream, length)
    if payload is None:
        return None
    return kind, profile, payload


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Camera:
    """The RTSP server, its mounts and the appsrc of each profile's live pipeline."""

    def __init__(self, setup):
        self.setup = setup
        self.lock = threading.Lock()
        self.sources = {}  # profile number -> the appsrc of each of its live pipelines
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(setup["address"])
        self.server.set_service(str(setup["port"]))
        self.auth = GstRtspServer.RTSPAuth()
        # One method only: PyGObject cannot pass DIGEST | BASIC (an enum, not flags).
        self.auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        self.token = GstRtspServer.RTSPToken()
        self.token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
        self.user = setup["user"]
        self.password = None
        self.set_password(setup["password"])
        self.server.set_auth(self.auth)
        mounts = self.server.get_mount_points()
        for number, profile in enumerate(setup["profiles"]):
            mounts.add_factory("/" + profile["token"], self.factory(number, profile))

    def set_password(self, password):
        if self.password is not None:
            self.auth.remove_digest(self.user)
        self.password = password
        self.auth.add_digest(self.user, password, self.token)

    def factory(self, number, profile):
        fps = int(profile["fps"])
        caps = f"image/jpeg,width={profile['width']},height={profile['height']},framerate={fps}/1"
        launch = (
            f"( appsrc name=src is-live=true format=time do-timestamp=true caps={caps}"
            " ! queue max-size-buffers=4 leaky=downstream ! jpegdec ! videoconvert"
            f" ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps}"
            " ! video/x-h264,profile=constrained-baseline"
            " ! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(False)
        factory.add_role_from_structure(
            Gst.Structure.new_from_string(
                f"{ROLE}, {GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS}=(boolean)true,"
                f" {GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT}=(boolean)true"
            )
        )
        factory.connect("media-configure", self.configured, number)
        return factory

    def configured(self, _factory, media, number):
        src = media.get_element().get_by_name("src")
        token = self.setup["profiles"][number]["token"]
        with self.lock:
            live = self.sources.setdefault(number, [])
            live.append(src)
            first = len(live) == 1
        if first:
            say(f"ON {token}")
        media.connect("unprepared", self.unprepared, number, src)

    def unprepared(self, _media, number, src):
        token = self.setup["profiles"][number]["token"]
        with self.lock:
            live = self.sources.get(number, [])
            if src in live:
                live.remove(src)
            last = not live
        if last:
            say(f"OFF {token}")

    def push(self, number, jpeg):
        with self.lock:
            live = list(self.sources.get(number, []))
        for src in live:
            src.emit("push-buffer", Gst.Buffer.new_wrapped(jpeg))


def feed(camera, stdin, loop):
    """Reads frames and control records until stdin ends, then stops the loop."""
    while True:
        record = read_record(stdin)
        if record is None:
            break
        kind, profile, payload = record
        if kind == 1:
            camera.push(profile, payload)
        elif kind == 2:
            control = json.loads(payload)
            if "password" in control:
                GLib.idle_add(lambda p=control["password"]: camera.set_password(p) and False)
    GLib.idle_add(loop.quit)


def main():
    stdin = os.fdopen(0, "rb", buffering=0)
    first = read_record(stdin)
    if first is None or first[0] != 0:
        sys.stderr.write("rtsp_server: no setup record on stdin\n")
        return 2
    setup = json.loads(first[2])
    Gst.init(None)
    for element, package in ELEMENTS.items():
        if Gst.ElementFactory.find(element) is None:
            missing(package, f"no GStreamer element {element}")
    camera = Camera(setup)
    loop = GLib.MainLoop()
    if camera.server.attach(None) == 0:
        sys.stderr.write(f"rtsp_server: cannot listen on {setup['address']}:{setup['port']}\n")
        return 1
    say(f"READY {camera.server.get_bound_port()}")
    threading.Thread(target=feed, args=(camera, stdin, loop), daemon=True).start()
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

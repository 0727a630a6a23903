"""A real RTSP camera for the capture tests: GStreamer's RTSP server (GstRtspServer).

Run by Debian's ``/usr/bin/python3`` with ``python3-gi``, ``gir1.2-gst-rtsp-server-1.0``,
``gstreamer1.0-plugins-base`` (videotestsrc), ``-good`` (rtph264pay) and ``-ugly``
(x264enc), all installed by ``scripts/setup.sh``. ``tests/it/video_rtsp.rs`` starts it.

It serves a live H.264 test pattern, 640x360 at 10 fps with a key frame every second, at
``rtsp://127.0.0.1:<port>/test``; every client shares the one live pipeline.

    /usr/bin/python3 serve.py PORT [USER PASSWORD [basic|digest]]

PORT 0 takes a free port. With USER and PASSWORD, a client must log in with them (Digest
by default, or Basic) to describe and play the stream; anyone else is answered 401.

Once listening it prints one line on stdout, ``READY rtsp://127.0.0.1:<port>/test``, then
logs only to stderr. It stops (exit 0) on SIGTERM or SIGINT, and when its stdin is a pipe,
when that pipe closes (so it dies with the test that started it). A missing package is
reported on stderr, naming the Debian package, with exit status 3.
"""

import os
import signal
import sys

PIPELINE = (
    "( videotestsrc is-live=true pattern=ball"
    " ! video/x-raw,width=640,height=360,framerate=10/1"
    " ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10"
    " ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
MOUNT = "/test"
ROLE = "camera-user"

# Element -> the Debian package that has it.
ELEMENTS = {
    "videotestsrc": "gstreamer1.0-plugins-base",
    "x264enc": "gstreamer1.0-plugins-ugly",
    "rtph264pay": "gstreamer1.0-plugins-good",
}


def missing(package, why):
    sys.stderr.write(
        f"serve.py: MISSING {package}: {why} (apt-get install {package}, or run scripts/setup.sh)\n"
    )
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


def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def main(argv):
    if len(argv) not in (2, 4, 5):
        usage()
    try:
        port = int(argv[1])
    except ValueError:
        usage()
    user, password = (argv[2], argv[3]) if len(argv) >= 4 else (None, None)
    method = argv[4] if len(argv) == 5 else "digest"
    if method not in ("basic", "digest"):
        usage()

    Gst.init(None)
    for element, package in ELEMENTS.items():
        if Gst.ElementFactory.find(element) is None:
            missing(package, f"no GStreamer element {element}")

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE)
    factory.set_shared(True)

    if user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
        if method == "basic":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        else:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(user, password, token)
        server.set_auth(auth)
        factory.add_role_from_structure(
            Gst.Structure.new_from_string(
                f"{ROLE}, {GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS}=(boolean)true,"
                f" {GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT}=(boolean)true"
            )
        )

    server.get_mount_points().add_factory(MOUNT, factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        sys.stderr.write(f"serve.py: cannot listen on 127.0.0.1:{port}\n")
        return 1

    def stop(*_):
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, stop)
    if not os.isatty(0) and os.fstat(0).st_mode & 0o170000 == 0o010000:  # a pipe
        GLib.io_add_watch(0, GLib.PRIORITY_DEFAULT, GLib.IO_HUP | GLib.IO_ERR, stop)

    sys.stdout.write(f"READY rtsp://127.0.0.1:{server.get_bound_port()}{MOUNT}\n")
    sys.stdout.flush()
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

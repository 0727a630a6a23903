"""The checks of check_camera.py, each with a client no one here wrote.

- WS-Discovery with the `WSDiscovery` package: its threaded client probing the multicast
  group, and its message layer (constructProbe / createSOAPMessage / parseSOAPMessage)
  for a probe sent directly to the camera's unicast responder (the threaded client does
  not read answers to directed probes: it sends them from a socket it never reads).
- ONVIF with `onvif-zeep-async`: ONVIFCamera -> update_xaddrs -> GetDeviceInformation,
  media GetProfiles, GetSnapshotUri, GetStreamUri, get_snapshot (aiohttp Digest); the
  snapshot again with httpx's DigestAuth; a wrong password and an uncorrected clock refused.
- The Profile S reads a VMS makes, each through onvif-zeep-async (its WSDL validates the
  answers): device GetHostname, GetNetworkInterfaces, GetDNS, GetNTP,
  GetNetworkProtocols, GetNetworkDefaultGateway, GetDiscoveryMode, GetUsers, GetWsdlUrl,
  GetServiceCapabilities; media GetServiceCapabilities, GetVideoEncoderConfigurations,
  GetVideoEncoderConfiguration, GetVideoSourceConfigurations,
  GetVideoEncoderConfigurationOptions, GetCompatibleVideoEncoderConfigurations,
  GetAudioSources; GetStreamUri for RTSP and for HTTP.
- SOAP with HTTP Digest and no WS-Security, with httpx: challenged (401, Digest), then
  answered.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import httpx
from onvif import ONVIFCamera
from wsdiscovery import QName
from wsdiscovery.actions.probe import constructProbe
from wsdiscovery.discovery import ThreadedWSDiscovery
from wsdiscovery.message import createSOAPMessage, parseSOAPMessage

NVT = QName("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter")
# How long a multicast search listens for answers.
MULTICAST_WAIT = 3.0
# How long a directed probe waits for its answer.
UNICAST_WAIT = 5.0


class Failed(Exception):
    """A check that did not hold."""


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise Failed(what)


def discovery_multicast(endpoint: str) -> list[str]:
    """Searches the group with WSDiscovery's threaded client; the camera's XAddrs, or []."""
    wsd = ThreadedWSDiscovery()
    wsd.start()
    try:
        services = wsd.searchServices(types=[NVT], timeout=MULTICAST_WAIT)
    finally:
        wsd.stop()
    for service in services:
        if service.getEPR() == endpoint:
            return list(service.getXAddrs())
    return []


def discovery_unicast(addr: str, endpoint: str) -> list[str]:
    """A directed probe to `addr` ("ip:port") built and read by WSDiscovery's message layer;
    the camera's XAddrs."""
    host, port = addr.rsplit(":", 1)
    env = constructProbe([NVT], [])
    data = createSOAPMessage(env).encode("utf-8")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(UNICAST_WAIT)
        sock.sendto(data, (host, int(port)))
        answer, peer = sock.recvfrom(65535)
    reply = parseSOAPMessage(answer, peer[0])
    expect(reply is not None, "the directed probe's answer does not parse as WS-Discovery")
    expect(
        reply.getRelatesTo() == env.getMessageId(),
        f"RelatesTo {reply.getRelatesTo()} is not the probe's {env.getMessageId()}",
    )
    for match in reply.getProbeResolveMatches():
        if match.getEPR() == endpoint:
            types = {(t.getNamespace(), t.getLocalname()) for t in match.getTypes()}
            expect((NVT.getNamespace(), NVT.getLocalname()) in types, f"types {types}")
            return list(match.getXAddrs())
    raise Failed(f"no ProbeMatch for {endpoint}")


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a baseline JPEG's SOF0; raises Failed for anything else."""
    expect(data[:2] == b"\xff\xd8", f"not a JPEG: starts {data[:8]!r}")
    expect(data[-2:] == b"\xff\xd9", "the JPEG does not end with EOI")
    at = 2
    while at + 4 <= len(data):
        expect(data[at] == 0xFF, f"bad JPEG marker at {at}")
        marker = data[at + 1]
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise Failed("no SOF segment in the JPEG")


async def onvif_client(host: str, port: int, user: str, password: str) -> dict:
    """The onvif-zeep-async session a VMS would run; returns what it learnt."""
    cam = ONVIFCamera(host, port, user, password, no_cache=True, adjust_time=True)
    try:
        await cam.update_xaddrs()
        media_ns = "http://www.onvif.org/ver10/media/wsdl"
        expect(media_ns in cam.xaddrs, f"no media service in {cam.xaddrs}")
        skew = cam.dt_diff.total_seconds() if cam.dt_diff is not None else 0.0
        device = await cam.create_devicemgmt_service()
        info = await device.GetDeviceInformation()
        media = await cam.create_media_service()
        profiles = await media.GetProfiles()
        sizes = {
            p.token: (
                p.VideoEncoderConfiguration.Resolution.Width,
                p.VideoEncoderConfiguration.Resolution.Height,
            )
            for p in profiles
        }
        expect(len(profiles) == 2, f"{len(profiles)} profiles: {sizes}")
        snapshots = {}
        async with httpx.AsyncClient(auth=httpx.DigestAuth(user, password), timeout=10) as http:
            for p in profiles:
                uri = (await media.GetSnapshotUri({"ProfileToken": p.token})).Uri
                response = await http.get(uri)
                expect(response.status_code == 200, f"httpx Digest GET {uri}: {response.status_code}")
                expect(
                    response.headers.get("content-type") == "image/jpeg",
                    f"content-type {response.headers.get('content-type')}",
                )
                got = jpeg_size(response.content)
                expect(got == sizes[p.token], f"snapshot of {p.token} is {got}, profile says {sizes[p.token]}")
                snapshots[p.token] = (uri, len(response.content), got)
        aiohttp_snapshot = await cam.get_snapshot(profiles[0].token)
        expect(aiohttp_snapshot is not None, "get_snapshot returned nothing")
        jpeg_size(aiohttp_snapshot)
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "HTTP"}}
        stream = await media.GetStreamUri({"StreamSetup": setup, "ProfileToken": profiles[0].token})
        return {
            "skew_s": skew,
            "manufacturer": info.Manufacturer,
            "model": info.Model,
            "profiles": sizes,
            "snapshots": snapshots,
            "stream_uri": stream.Uri,
        }
    finally:
        await cam.close()


async def profile_s_reads(host: str, port: int, user: str, password: str) -> dict:
    """Every Profile S read through onvif-zeep-async; what the camera said."""
    cam = ONVIFCamera(host, port, user, password, no_cache=True, adjust_time=True)
    try:
        await cam.update_xaddrs()
        device = await cam.create_devicemgmt_service()
        media = await cam.create_media_service()
        got = {
            "hostname": (await device.GetHostname()).Name,
            "interfaces": [
                (i.Info.Name, i.IPv4.Config.Manual[0].Address) for i in await device.GetNetworkInterfaces()
            ],
            "dns": [d.IPv4Address for d in (await device.GetDNS()).DNSManual],
            "ntp_from_dhcp": (await device.GetNTP()).FromDHCP,
            "protocols": {p.Name: (p.Enabled, p.Port[0]) for p in await device.GetNetworkProtocols()},
            "gateway": list((await device.GetNetworkDefaultGateway()).IPv4Address),
            "discovery_mode": await device.GetDiscoveryMode(),
            "users": [(u.Username, u.UserLevel) for u in await device.GetUsers()],
            "wsdl_url": await device.GetWsdlUrl(),
            "device_digest": (await device.GetServiceCapabilities()).Security.HttpDigest,
        }
        caps = await media.GetServiceCapabilities()
        got["media_rtp_rtsp_tcp"] = caps.StreamingCapabilities.RTP_RTSP_TCP
        encoders = await media.GetVideoEncoderConfigurations()
        got["encoders"] = {e.token: (e.Encoding, e.Resolution.Width, e.Resolution.Height) for e in encoders}
        one = await media.GetVideoEncoderConfiguration({"ConfigurationToken": encoders[0].token})
        got["encoder_one"] = one.token
        got["sources"] = [s.SourceToken for s in await media.GetVideoSourceConfigurations()]
        options = await media.GetVideoEncoderConfigurationOptions({"ProfileToken": "main"})
        got["h264_options"] = options.H264 is not None
        got["jpeg_sizes"] = [(r.Width, r.Height) for r in options.JPEG.ResolutionsAvailable]
        compatible = await media.GetCompatibleVideoEncoderConfigurations({"ProfileToken": "main"})
        got["compatible"] = [c.token for c in compatible]
        got["audio_sources"] = list(await media.GetAudioSources() or [])
        streams = {}
        for protocol in ("RTSP", "UDP", "HTTP"):
            setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": protocol}}
            streams[protocol] = (await media.GetStreamUri({"StreamSetup": setup, "ProfileToken": "main"})).Uri
        got["stream_uris"] = streams
        return got
    finally:
        await cam.close()


async def soap_with_http_digest(device_url: str, user: str, password: str) -> tuple[int, str, int, str]:
    """GetDeviceInformation without WS-Security: (status and WWW-Authenticate without
    credentials, status and Model with httpx's DigestAuth)."""
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        '<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
    )
    headers = {"content-type": "application/soap+xml; charset=utf-8"}
    async with httpx.AsyncClient(timeout=10) as http:
        bare = await http.post(device_url, content=envelope, headers=headers)
    async with httpx.AsyncClient(auth=httpx.DigestAuth(user, password), timeout=10) as http:
        answered = await http.post(device_url, content=envelope, headers=headers)
    model = ""
    if "<tds:Model>" in answered.text:
        model = answered.text.split("<tds:Model>", 1)[1].split("<", 1)[0]
    return bare.status_code, bare.headers.get("www-authenticate", ""), answered.status_code, model


async def refused(host: str, port: int, user: str, password: str, adjust_time: bool) -> str:
    """The error onvif-zeep-async reports when the camera refuses it; Failed if it does not."""
    cam = ONVIFCamera(host, port, user, password, no_cache=True, adjust_time=adjust_time)
    try:
        await cam.update_xaddrs()
        media = await cam.create_media_service()
        await media.GetProfiles()
    except Exception as err:  # noqa: BLE001 - any refusal will do, it is reported
        return f"{type(err).__name__}: {err}"
    finally:
        await cam.close()
    raise Failed("the camera answered GetProfiles without the right credentials")


def run_async(coro):
    started = time.monotonic()
    result = asyncio.run(coro)
    return result, time.monotonic() - started

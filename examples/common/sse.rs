//! Server-Sent Events as the consoles read `/api/events`: frames cut from the bytes received.

/// Take the next whole frame off `buf`: its event name (`message` when it names none) and
/// its data; `None` until a frame's blank line has arrived.
pub(crate) fn next_frame(buf: &mut Vec<u8>) -> Option<(String, String)> {
    let end = buf.windows(2).position(|w| w == b"\n\n")?;
    let frame: Vec<u8> = buf.drain(..end + 2).collect();
    let frame = String::from_utf8_lossy(&frame);
    let (mut event, mut data) = ("message", "");
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data = v.trim();
        }
    }
    Some((event.to_owned(), data.to_owned()))
}

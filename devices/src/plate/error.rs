//! What can be wrong with a plate event, and the size limits every parser applies.
//!
//! A camera that sends junk gets a [`PlateError`] that names the input (which part,
//! which element or JSON path, which byte) so the listener can answer 400 with it, count
//! it by [`PlateError::code`] and keep the body for inspection. Parsing never panics.

/// Size limits applied before and while parsing one event.
///
/// The listener should also cap the HTTP body at [`PlateLimits::max_body_bytes`] so an
/// oversized upload is refused before it is buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlateLimits {
    /// Largest whole event body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest single image accepted (decoded size for base64 pictures), in bytes.
    pub max_image_bytes: usize,
    /// Most multipart parts (XML plus images) accepted in one event.
    pub max_parts: usize,
    /// Longest plate text accepted, in characters. Chinese plates are 7 or 8 characters
    /// (9 with a separator); room is left for a camera's spaces or a dot, not for more.
    pub max_plate_chars: usize,
    /// Longest value of any other text field the controller reads or keeps (time,
    /// colour, confidence, lane, event type, the camera's own id and address fields,
    /// picture names), in characters.
    pub max_text_chars: usize,
}

impl PlateLimits {
    /// Default body cap: 8 MiB, room for a few full-HD JPEG snapshots.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
    /// Default image cap: 4 MiB; plate cameras send 100–800 KiB scenes.
    pub const DEFAULT_MAX_IMAGE_BYTES: usize = 4 * 1024 * 1024;
    /// Default part count: an XML part and a handful of pictures.
    pub const DEFAULT_MAX_PARTS: usize = 16;
    /// Default plate text limit.
    pub const DEFAULT_MAX_PLATE_CHARS: usize = 16;
    /// Default limit of other text fields: a 20-digit camera code, an ISO time with
    /// fraction and offset, a MAC or IPv6 address, a file name all fit.
    pub const DEFAULT_MAX_TEXT_CHARS: usize = 64;
}

impl Default for PlateLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_image_bytes: Self::DEFAULT_MAX_IMAGE_BYTES,
            max_parts: Self::DEFAULT_MAX_PARTS,
            max_plate_chars: Self::DEFAULT_MAX_PLATE_CHARS,
            max_text_chars: Self::DEFAULT_MAX_TEXT_CHARS,
        }
    }
}

/// Why a plate event was rejected. Every message names the part, element, path or byte
/// it is about; camera-supplied text is cut to a short snippet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlateError {
    /// The body, or one part or image in it, is over its limit.
    #[error("{what} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// What was too large: `body`, or `part "name"` / `Picture.NormalPic.Content`.
        what: String,
        /// Its size in bytes (at least; the reader may have stopped at the limit).
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// A text field is longer than its limit; nothing of the event is kept.
    #[error("field `{field}` is {chars} characters, over the {limit}-character limit")]
    TooLong {
        /// The field's path, e.g. `ANPR/licensePlate` or `Picture.Plate.PlateNumber`.
        field: String,
        /// Its length in characters.
        chars: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// More multipart parts than [`PlateLimits::max_parts`].
    #[error("multipart body has more than {limit} parts")]
    TooManyParts {
        /// The limit it broke.
        limit: usize,
    },
    /// The Content-Type is neither multipart/form-data nor XML.
    #[error("content type `{0}` is neither multipart/form-data nor XML")]
    UnsupportedContentType(String),
    /// The multipart framing is broken (no boundary, truncated, bad part headers).
    #[error("bad multipart body: {0}")]
    Multipart(String),
    /// A part the event needs is not there.
    #[error("no {wanted} in the multipart body (parts: {seen})")]
    MissingPart {
        /// The part that was looked for.
        wanted: &'static str,
        /// The parts that were there, by name and content type.
        seen: String,
    },
    /// Text that must be UTF-8 is not.
    #[error("{what} is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 {
        /// What was being read.
        what: String,
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// Malformed XML.
    #[error("bad XML at <{element}> (byte {offset}): {reason}")]
    Xml {
        /// Path of the element being read, e.g. `EventNotificationAlert/ANPR`.
        element: String,
        /// Byte offset in the XML text.
        offset: u64,
        /// What the XML reader objected to.
        reason: String,
    },
    /// Well-formed XML whose root is not `EventNotificationAlert`.
    #[error("XML root is <{0}>, expected <EventNotificationAlert>")]
    NotEventAlert(String),
    /// A well-formed event that is not a plate read (a heartbeat, motion, video loss).
    /// The listener may acknowledge and drop it rather than answer 400.
    #[error("not a plate event: eventType `{0}`")]
    NotPlateEvent(String),
    /// Malformed JSON.
    #[error("bad JSON at line {line} column {column}: {reason}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser objected to.
        reason: String,
    },
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field is present but its value is unusable.
    #[error("field `{field}` = `{value}`: {reason}")]
    BadField {
        /// The field's path, e.g. `ANPR/confidenceLevel` or `Picture.Plate.Confidence`.
        field: &'static str,
        /// A snippet of the value.
        value: String,
        /// Why it is unusable.
        reason: &'static str,
    },
    /// A base64 picture does not decode.
    #[error("field `{field}`: bad base64: {reason}")]
    BadBase64 {
        /// The field's path, e.g. `Picture.NormalPic.Content`.
        field: &'static str,
        /// What the decoder objected to.
        reason: String,
    },
    /// An image that claims to be a JPEG does not start with the JPEG marker.
    #[error("{0} is not a JPEG image (no FF D8 start marker)")]
    NotJpeg(String),
}

impl PlateError {
    /// A stable snake_case code for counting rejections by kind.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "plate_event_too_large",
            Self::TooLong { .. } => "plate_event_field_too_long",
            Self::TooManyParts { .. } => "plate_event_too_many_parts",
            Self::UnsupportedContentType(_) => "plate_event_content_type",
            Self::Multipart(_) => "plate_event_multipart",
            Self::MissingPart { .. } => "plate_event_missing_part",
            Self::NotUtf8 { .. } => "plate_event_not_utf8",
            Self::Xml { .. } => "plate_event_bad_xml",
            Self::NotEventAlert(_) => "plate_event_not_alert",
            Self::NotPlateEvent(_) => "plate_event_not_plate",
            Self::Json { .. } => "plate_event_bad_json",
            Self::MissingField(_) => "plate_event_missing_field",
            Self::BadField { .. } => "plate_event_bad_field",
            Self::BadBase64 { .. } => "plate_event_bad_base64",
            Self::NotJpeg(_) => "plate_event_not_jpeg",
        }
    }

    pub(crate) fn bad_field(field: &'static str, value: &str, reason: &'static str) -> Self {
        Self::BadField {
            field,
            value: snippet(value),
            reason,
        }
    }
}

/// At most 64 characters of camera-supplied text, for error messages.
pub(crate) fn snippet(text: &str) -> String {
    const MAX: usize = 64;
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(MAX).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// `text` when it is at most `limit` characters; otherwise the field is refused by name.
pub(crate) fn bounded<'t>(field: &str, text: &'t str, limit: usize) -> Result<&'t str, PlateError> {
    // Bytes bound characters from above: most texts pass without counting.
    if text.len() > limit && text.chars().nth(limit).is_some() {
        return Err(PlateError::TooLong {
            field: field.to_owned(),
            chars: text.chars().count(),
            limit,
        });
    }
    Ok(text)
}

/// Checks a body against the body limit.
pub(crate) fn check_body(body: &[u8], limits: &PlateLimits) -> Result<(), PlateError> {
    if body.len() > limits.max_body_bytes {
        return Err(PlateError::TooLarge {
            what: "body".to_owned(),
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    Ok(())
}

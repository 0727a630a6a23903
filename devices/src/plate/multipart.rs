//! Splits a fully buffered `multipart/form-data` body into parts with `multer`.
//!
//! `multer` is asynchronous over a byte stream. Here the stream is one chunk that is
//! already in memory, so every future it returns completes without waiting: it is
//! polled with a no-op waker, and a future that is still pending after a few polls
//! (which a complete body never causes) is reported as a broken body, never a hang.

use std::convert::Infallible;
use std::future::{Future, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::error::{PlateError, PlateLimits, snippet};

/// Polls allowed per parser step before the body is declared broken.
const MAX_POLLS: usize = 64;

/// One part of a multipart body.
#[derive(Debug)]
pub(crate) struct Part {
    /// The form field name from `Content-Disposition`.
    pub(crate) name: Option<String>,
    /// The file name from `Content-Disposition`.
    pub(crate) file_name: Option<String>,
    /// The part's media type, lowercase, without parameters.
    pub(crate) content_type: Option<String>,
    /// The part's body.
    pub(crate) bytes: Bytes,
}

impl Part {
    /// How the part is named in errors: `part "anpr.xml"` or `part #2`.
    pub(crate) fn label(&self, index: usize) -> String {
        match self.name.as_deref().or(self.file_name.as_deref()) {
            Some(name) => format!("part {:?}", snippet(name)),
            None => format!("part #{}", index + 1),
        }
    }

    /// Whether the field or file name ends with one of `extensions` (lowercase, with dot).
    pub(crate) fn named_like(&self, extensions: &[&str]) -> bool {
        [&self.name, &self.file_name]
            .into_iter()
            .flatten()
            .any(|n| {
                let n = n.to_ascii_lowercase();
                extensions.iter().any(|ext| n.ends_with(ext))
            })
    }
}

/// The `boundary` parameter of a multipart content type, unquoted.
///
/// Not `multer::parse_boundary`: that one accepts only `multipart/form-data`, and only
/// boundaries that are valid MIME tokens, while cameras also send `multipart/mixed` and
/// unquoted boundaries such as `--=_Part_1` or `boundary = x`, which this accepts (an
/// empty boundary it refuses, where `parse_boundary` returns `""`).
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// Splits `body` into its parts, enforcing the part count and per-part size limits.
pub(crate) fn split(
    content_type: &str,
    body: &[u8],
    limits: &PlateLimits,
) -> Result<Vec<Part>, PlateError> {
    let boundary = boundary(content_type).ok_or_else(|| {
        PlateError::Multipart(format!(
            "content type `{}` has no boundary",
            snippet(content_type)
        ))
    })?;
    let chunk = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(ready(Ok::<_, Infallible>(chunk)));
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limits.max_body_bytes as u64)
            .per_field(limits.max_image_bytes as u64),
    );
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut parts = Vec::new();
    while let Some(field) = poll_now(multipart.next_field())?.map_err(multer_error)? {
        if parts.len() == limits.max_parts {
            return Err(PlateError::TooManyParts {
                limit: limits.max_parts,
            });
        }
        let name = field.name().map(str::to_owned);
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field
            .content_type()
            .map(|m| m.essence_str().to_ascii_lowercase());
        let bytes = poll_now(field.bytes())?.map_err(multer_error)?;
        parts.push(Part {
            name,
            file_name,
            content_type,
            bytes,
        });
    }
    Ok(parts)
}

fn multer_error(error: multer::Error) -> PlateError {
    match error {
        multer::Error::FieldSizeExceeded { limit, field_name } => PlateError::TooLarge {
            what: match field_name {
                Some(name) => format!("part {:?}", snippet(&name)),
                None => "a part".to_owned(),
            },
            size: usize::try_from(limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        },
        multer::Error::StreamSizeExceeded { limit } => PlateError::TooLarge {
            what: "body".to_owned(),
            size: usize::try_from(limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        },
        other => PlateError::Multipart(other.to_string()),
    }
}

/// Drives a future whose input is all in memory to completion.
fn poll_now<F: Future>(future: F) -> Result<F::Output, PlateError> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..MAX_POLLS {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Ok(output);
        }
    }
    Err(PlateError::Multipart(
        "body ends inside a part (parser made no progress)".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plate_multipart_boundary_is_found_quoted_or_not() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("multipart/form-data;Boundary=\"a b\";charset=utf-8").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
        assert_eq!(boundary("multipart/form-data; boundary=\"\""), None);
        // What multer::parse_boundary refuses and cameras send.
        for (content_type, expected) in [
            ("multipart/mixed; boundary=abc", "abc"),
            ("multipart/form-data; boundary=--=_Part_1", "--=_Part_1"),
            ("multipart/form-data; boundary = abc", "abc"),
            ("multipart/form-data ; boundary=abc", "abc"),
            ("multipart/form-data;; boundary=abc", "abc"),
        ] {
            assert_eq!(boundary(content_type).as_deref(), Some(expected));
        }
    }

    #[test]
    fn plate_multipart_splits_parts_with_names_and_types() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"anpr.xml\"; filename=\"anpr.xml\"\r\nContent-Type: application/xml\r\n\r\n<a/>\r\n--XX\r\nContent-Disposition: form-data; name=\"pic\"\r\nContent-Type: image/jpeg\r\n\r\n\xFF\xD8\xFF\r\n--XX--\r\n";
        let parts = split(
            "multipart/form-data; boundary=XX",
            body,
            &PlateLimits::default(),
        )
        .unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name.as_deref(), Some("anpr.xml"));
        assert_eq!(parts[0].content_type.as_deref(), Some("application/xml"));
        assert_eq!(&parts[0].bytes[..], b"<a/>");
        assert_eq!(&parts[1].bytes[..], b"\xFF\xD8\xFF");
        assert!(parts[0].named_like(&[".xml"]));
        assert_eq!(parts[1].label(1), "part \"pic\"");
    }

    #[test]
    fn plate_multipart_truncated_or_unframed_bodies_are_errors() {
        let limits = PlateLimits::default();
        let ct = "multipart/form-data; boundary=XX";
        let body: &[u8] =
            b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XX--\r\n";
        for cut in 0..body.len() - 4 {
            let result = split(ct, &body[..cut], &limits);
            assert!(result.is_err(), "cut at {cut}: {result:?}");
        }
        assert!(split(ct, b"no boundary here", &limits).is_err());
        assert!(split("multipart/form-data", body, &limits).is_err());
    }

    #[test]
    fn plate_multipart_limits_parts_and_part_size() {
        let ct = "multipart/form-data; boundary=XX";
        let mut body = Vec::new();
        for i in 0..5 {
            body.extend_from_slice(
                format!(
                    "--XX\r\nContent-Disposition: form-data; name=\"p{i}\"\r\n\r\n0123456789\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(b"--XX--\r\n");
        let few = PlateLimits {
            max_parts: 3,
            ..PlateLimits::default()
        };
        assert_eq!(
            split(ct, &body, &few).unwrap_err(),
            PlateError::TooManyParts { limit: 3 }
        );
        let small = PlateLimits {
            max_image_bytes: 4,
            ..PlateLimits::default()
        };
        let err = split(ct, &body, &small).unwrap_err();
        assert!(
            matches!(err, PlateError::TooLarge { limit: 4, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("p0"), "{err}");
    }
}

//! Reading ONVIF answers with the shared element tree ([`crate::xml`]): by local names
//! (cameras spell the same document with different prefixes, or none), bounded for an
//! NVR's largest answers, errors as [`ErrorKind::Xml`].

pub(crate) use crate::xml::{Element, escape};
use crate::xml::{ReadOptions, XmlError};

use super::error::{ErrorKind, snippet};

/// ONVIF profiles nest about 8 levels inside the envelope; an NVR's GetProfiles has a
/// few thousand elements.
const READ: ReadOptions<'static> = ReadOptions {
    max_depth: 48,
    max_elements: 100_000,
    ..ReadOptions::DEFAULT
};

/// Reads a whole answer into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, ErrorKind> {
    crate::xml::parse(text, &READ).map_err(|e| match e {
        XmlError::Malformed {
            element,
            offset,
            reason,
        } => ErrorKind::Xml {
            element,
            offset,
            reason: snippet(&reason),
        },
        // No root is required here.
        XmlError::UnexpectedRoot(name) => ErrorKind::NotSoap(format!("root element is <{name}>")),
    })
}

/// Reads `<name>` text at `path` below `el` as a `T`; `where_` names `el` in errors.
pub(crate) fn parse_at<T: std::str::FromStr>(
    el: &Element,
    path: &[&str],
    where_: &str,
    expected: &'static str,
) -> Result<Option<T>, ErrorKind> {
    let Some(text) = el.text_at(path) else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|_| ErrorKind::BadValue {
        element: format!("{where_}/{}", path.join("/")),
        value: snippet(text),
        expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onvif_xml_errors_name_where_they_stopped() {
        let err = parse("<Envelope><Body><X>y</Body>").unwrap_err();
        let ErrorKind::Xml { element, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(element, "Envelope/Body/X", "{err}");
        assert!(parse("").unwrap_err().to_string().contains("no root"));
        let deep = "<a>".repeat(READ.max_depth + 2);
        assert!(parse(&deep).unwrap_err().to_string().contains("deeper"));
    }
}

//! A flat view of a small XML document: the text of each leaf element by its path of
//! local names, so namespaces and prefixes (`xmlns="http://www.hikvision.com/ver20/XMLSchema"`,
//! `xmlns="http://www.isapi.org/ver20/XMLSchema"`) do not matter. Read with the shared
//! element tree ([`crate::xml`]).

use crate::xml::{Element, ReadOptions, XmlError};

use super::error::PlateError;

/// Deepest nesting accepted; ISAPI events nest 4–5 levels.
const MAX_DEPTH: usize = 32;

/// Leaf texts of one XML document by element path (`EventNotificationAlert/ANPR/licensePlate`).
#[derive(Debug)]
pub(crate) struct XmlFields {
    /// Every element's path and trimmed text, children before their parent.
    fields: Vec<(String, String)>,
}

impl XmlFields {
    /// The trimmed text of the first element whose path ends with `suffix`
    /// (whole names: `ANPR/licensePlate` matches `EventNotificationAlert/ANPR/licensePlate`).
    pub(crate) fn get(&self, suffix: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(path, _)| {
                path == suffix
                    || path
                        .strip_suffix(suffix)
                        .is_some_and(|head| head.ends_with('/'))
            })
            .map(|(_, text)| text.as_str())
    }

    /// Like [`XmlFields::get`], but empty text counts as absent.
    pub(crate) fn non_empty(&self, suffix: &str) -> Option<&str> {
        self.get(suffix).filter(|t| !t.is_empty())
    }
}

/// Reads a whole XML document. Stops at the first problem with the element path and
/// byte offset where it happened, or at the root if `expected_root` does not match.
/// Cameras' attributes are not read and text around the root is ignored, so neither can
/// lose an event.
pub(crate) fn flatten(text: &str, expected_root: &str) -> Result<XmlFields, PlateError> {
    let options = ReadOptions {
        max_depth: MAX_DEPTH,
        max_elements: usize::MAX,
        attributes: false,
        ignore_text_outside_root: true,
        root: Some(expected_root),
        ..ReadOptions::DEFAULT
    };
    let root = crate::xml::parse(text, &options).map_err(|e| match e {
        XmlError::Malformed {
            element,
            offset,
            reason,
        } => PlateError::Xml {
            element,
            offset,
            reason,
        },
        XmlError::UnexpectedRoot(name) => PlateError::NotEventAlert(name),
    })?;
    let mut fields = Vec::new();
    collect(&root, root.name(), &mut fields);
    Ok(XmlFields { fields })
}

/// `el` and everything inside it, each element after its children (the order the
/// elements close in, which decides which of two same-named elements `get` finds).
fn collect(el: &Element, path: &str, out: &mut Vec<(String, String)>) {
    for child in el.children() {
        collect(child, &format!("{path}/{}", child.name()), out);
    }
    out.push((path.to_owned(), el.text().to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plate_xml_fields_ignore_namespaces_and_prefixes() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<h:EventNotificationAlert xmlns:h="urn:x"><h:ANPR><h:licensePlate>闽G&#49;2345 &amp; <![CDATA[x]]></h:licensePlate><empty/></h:ANPR></h:EventNotificationAlert>"#;
        let f = flatten(xml, "EventNotificationAlert").unwrap();
        assert_eq!(f.get("ANPR/licensePlate"), Some("闽G12345 & x"));
        assert_eq!(f.get("licensePlate"), Some("闽G12345 & x"));
        assert_eq!(f.get("Plate"), None, "whole names only");
        assert_eq!(f.get("ANPR/empty"), Some(""));
        assert_eq!(f.non_empty("ANPR/empty"), None);
    }

    #[test]
    fn plate_xml_errors_name_the_element() {
        let err = flatten(
            "<EventNotificationAlert><ANPR><licensePlate>x</ANPR>",
            "EventNotificationAlert",
        )
        .unwrap_err();
        let PlateError::Xml { element, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(element, "EventNotificationAlert/ANPR/licensePlate", "{err}");

        let err = flatten("<EventNotificationAlert><ANPR>", "EventNotificationAlert").unwrap_err();
        assert!(
            err.to_string().contains("EventNotificationAlert/ANPR"),
            "{err}"
        );

        let err = flatten(
            "<EventNotificationAlert>&bogus;</EventNotificationAlert>",
            "EventNotificationAlert",
        )
        .unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");

        assert_eq!(
            flatten("<Other/>", "EventNotificationAlert").unwrap_err(),
            PlateError::NotEventAlert("Other".into())
        );
        assert!(flatten("", "EventNotificationAlert").is_err());
        assert!(
            flatten(
                "<EventNotificationAlert/><EventNotificationAlert/>",
                "EventNotificationAlert"
            )
            .is_err()
        );
    }

    #[test]
    fn plate_xml_depth_is_bounded() {
        let deep = format!("<EventNotificationAlert>{}", "<a>".repeat(MAX_DEPTH + 5));
        let err = flatten(&deep, "EventNotificationAlert").unwrap_err();
        assert!(err.to_string().contains("deeper"), "{err}");
    }
}

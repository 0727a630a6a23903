//! A flat view of a small XML document: the text of each leaf element by its path of
//! local names, so namespaces and prefixes (`xmlns="http://www.hikvision.com/ver20/XMLSchema"`,
//! `xmlns="http://www.isapi.org/ver20/XMLSchema"`) do not matter.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::error::PlateError;

/// Deepest nesting accepted; ISAPI events nest 4–5 levels.
const MAX_DEPTH: usize = 32;

/// Leaf texts of one XML document by element path (`EventNotificationAlert/ANPR/licensePlate`).
#[derive(Debug)]
pub(crate) struct XmlFields {
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
pub(crate) fn flatten(text: &str, expected_root: &str) -> Result<XmlFields, PlateError> {
    let mut reader = Reader::from_str(text.trim_start_matches('\u{FEFF}'));
    let mut stack: Vec<String> = Vec::new();
    let mut fields = Vec::new();
    let mut leaf_text = String::new();
    let mut seen_root = false;
    loop {
        let event = reader.read_event().map_err(|e| PlateError::Xml {
            element: path(&stack),
            offset: reader.error_position(),
            reason: e.to_string(),
        })?;
        let at = |reason: String, stack: &[String]| PlateError::Xml {
            element: path(stack),
            offset: reader.buffer_position(),
            reason,
        };
        let is_empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) => {
                let name = start.local_name().as_ref().to_owned();
                if !seen_root {
                    if name != expected_root {
                        return Err(PlateError::NotEventAlert(name));
                    }
                    seen_root = true;
                } else if stack.is_empty() {
                    return Err(at(format!("second root element <{name}>"), &stack));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(at(format!("nested deeper than {MAX_DEPTH}"), &stack));
                }
                stack.push(name);
                leaf_text.clear();
                if is_empty {
                    fields.push((path(&stack), String::new()));
                    stack.pop();
                }
            }
            Event::End(_) => {
                fields.push((path(&stack), leaf_text.trim().to_owned()));
                leaf_text.clear();
                stack.pop();
            }
            Event::Text(t) => leaf_text.push_str(&t.xml10_content()),
            Event::CData(c) => leaf_text.push_str(&c.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => resolve_predefined_entity(&r)
                        .ok_or_else(|| at(format!("unknown entity &{};", &*r), &stack))?
                        .to_owned(),
                    Err(e) => return Err(at(e.to_string(), &stack)),
                };
                leaf_text.push_str(&resolved);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(PlateError::Xml {
            element: path(&stack),
            offset: reader.buffer_position(),
            reason: "document ends before the element is closed".to_owned(),
        });
    }
    if !seen_root {
        return Err(PlateError::Xml {
            element: String::new(),
            offset: 0,
            reason: "no root element".to_owned(),
        });
    }
    Ok(XmlFields { fields })
}

fn path(stack: &[String]) -> String {
    stack.join("/")
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

//! A small element tree over quick-xml, by local names.
//!
//! Cameras spell the same document with different prefixes (`tds:`/`tt:`/`trt:`,
//! `env:`/`s:`/`SOAP-ENV:`, or default namespaces), so elements and attributes are kept
//! under their local names and the prefixes are dropped. Depth and element count are
//! bounded so a hostile or broken answer cannot exhaust memory or the stack.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::error::{ErrorKind, snippet};

/// Deepest nesting accepted; ONVIF profiles nest about 8 levels inside the envelope.
const MAX_DEPTH: usize = 48;
/// Most elements accepted in one document (an NVR's GetProfiles has a few thousand).
const MAX_ELEMENTS: usize = 100_000;

/// One element: local name, attributes by local name, text, children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    /// Local name (`Profiles` for `<trt:Profiles>`).
    pub(crate) name: String,
    attrs: Vec<(String, String)>,
    text: String,
    pub(crate) children: Vec<Element>,
}

impl Element {
    /// The first child with this local name.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this local name.
    pub(crate) fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at a path of child names (`["Resolution", "Width"]`).
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |el, name| el.child(name))
    }

    /// The trimmed text of this element.
    pub(crate) fn text(&self) -> &str {
        self.text.trim()
    }

    /// The trimmed text at a path, `None` when absent or empty.
    pub(crate) fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).map(Element::text).filter(|t| !t.is_empty())
    }

    /// An attribute's value by local name.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
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

/// Reads a whole document into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, ErrorKind> {
    let mut reader = Reader::from_str(text.trim_start_matches('\u{FEFF}'));
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| ErrorKind::Xml {
            element: path(&stack),
            offset: reader.error_position(),
            reason: snippet(&e.to_string()),
        })?;
        let fail = |reason: String, stack: &[Element]| ErrorKind::Xml {
            element: path(stack),
            offset: reader.buffer_position(),
            reason,
        };
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let name = start.local_name().into_inner().to_owned();
                return Err(fail(format!("second root element <{name}>"), &stack));
            }
            Event::Start(start) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(fail(
                        format!(
                            "nested deeper than {MAX_DEPTH} or more than {MAX_ELEMENTS} elements"
                        ),
                        &stack,
                    ));
                }
                let el = element(&start).map_err(|r| fail(r, &stack))?;
                stack.push(el);
            }
            Event::Empty(start) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(fail(format!("more than {MAX_ELEMENTS} elements"), &stack));
                }
                let el = element(&start).map_err(|r| fail(r, &stack))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(fail("end tag without a start".into(), &stack));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(fail("text outside the root element".into(), &stack)),
                }
            }
            Event::CData(c) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| fail(format!("unknown entity &{};", snippet(&r)), &stack))?
                        .to_owned(),
                    Err(e) => return Err(fail(snippet(&e.to_string()), &stack)),
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(ErrorKind::Xml {
            element: path(&stack),
            offset: reader.buffer_position(),
            reason: "the document ends before the element is closed".into(),
        });
    }
    root.ok_or_else(|| ErrorKind::Xml {
        element: String::new(),
        offset: 0,
        reason: "no root element (empty answer?)".into(),
    })
}

/// A new element from a start tag: local name and attributes (namespace declarations
/// dropped).
fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let mut el = Element {
        name: start.local_name().into_inner().to_owned(),
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| snippet(&e.to_string()))?;
        let key = attr.key.into_inner();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| snippet(&e.to_string()))?;
        el.attrs.push((
            attr.key.local_name().into_inner().to_owned(),
            value.into_owned(),
        ));
    }
    Ok(el)
}

fn path(stack: &[Element]) -> String {
    stack
        .iter()
        .map(|e| e.name.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// Escapes text for an XML element or attribute value.
pub(crate) fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onvif_xml_keeps_local_names_and_drops_prefixes() {
        let doc = r#"<?xml version="1.0"?>
<env:Envelope xmlns:env="urn:e" xmlns:tt="urn:t"><env:Body>
  <tt:Profiles tt:token="P&amp;1" fixed="true"><tt:Name> main &#x41; <![CDATA[<x>]]></tt:Name></tt:Profiles>
  <tt:Profiles token="P2"/>
</env:Body></env:Envelope>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Envelope");
        let body = root.child("Body").unwrap();
        let profiles: Vec<_> = body.children("Profiles").collect();
        assert_eq!(profiles.len(), 2);
        assert_eq!(profiles[0].attr("token"), Some("P&1"));
        assert_eq!(profiles[0].attr("fixed"), Some("true"));
        assert_eq!(profiles[0].text_at(&["Name"]), Some("main A <x>"));
        assert_eq!(profiles[1].attr("token"), Some("P2"));
    }

    #[test]
    fn onvif_xml_errors_name_where_they_stopped() {
        let err = parse("<Envelope><Body><X>y</Body>").unwrap_err();
        let ErrorKind::Xml { element, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(element, "Envelope/Body/X", "{err}");
        assert!(
            parse("<Envelope><Body>")
                .unwrap_err()
                .to_string()
                .contains("ends before")
        );
        assert!(parse("").unwrap_err().to_string().contains("no root"));
        assert!(parse("garbage").is_err());
        assert!(
            parse("<a/><b/>")
                .unwrap_err()
                .to_string()
                .contains("second root")
        );
        assert!(
            parse("<a>&bogus;</a>")
                .unwrap_err()
                .to_string()
                .contains("bogus")
        );
        assert!(parse("<a x='1' x='2'/>").is_err(), "duplicate attribute");
        let deep = "<a>".repeat(MAX_DEPTH + 2);
        assert!(parse(&deep).unwrap_err().to_string().contains("deeper"));
    }
}

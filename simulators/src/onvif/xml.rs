//! A small namespace-aware view of one XML message (a SOAP request, a WS-Discovery probe):
//! every element with its namespace, local name, parent, attributes and text, and the
//! namespaces of the prefixes its text uses (WS-Discovery `Types` are QNames in text).
//! Bounded in depth and element count, so a hostile datagram cannot make it grow.

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 32;
/// Most elements accepted in one message.
const MAX_ELEMENTS: usize = 2000;

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML at byte {offset}: {reason}")]
pub(crate) struct XmlError {
    /// Byte offset in the message.
    pub(crate) offset: u64,
    /// What was wrong.
    pub(crate) reason: String,
}

/// One element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// Namespace name; empty when unbound.
    pub(crate) ns: String,
    /// Local name.
    pub(crate) name: String,
    /// Index of the parent element; `None` for the root.
    pub(crate) parent: Option<usize>,
    /// Attributes by local name (prefixes dropped), values unescaped.
    pub(crate) attrs: Vec<(String, String)>,
    /// The element's own text (not its children's), unescaped and trimmed.
    pub(crate) text: String,
    /// For each `prefix:local` token of the text, the prefix and the namespace it was
    /// bound to where the text appeared.
    pub(crate) text_prefixes: Vec<(String, String)>,
}

impl Element {
    /// Whether this element is `{ns}name`.
    pub(crate) fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The value of the attribute with this local name.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The whitespace-separated tokens of the text resolved as QNames: `(namespace, local
    /// name)`, the namespace empty when the prefix was not bound.
    pub(crate) fn text_qnames(&self) -> Vec<(String, String)> {
        self.text
            .split_whitespace()
            .map(|token| match token.split_once(':') {
                Some((prefix, local)) => {
                    let ns = self
                        .text_prefixes
                        .iter()
                        .find(|(p, _)| p == prefix)
                        .map_or(String::new(), |(_, ns)| ns.clone());
                    (ns, local.to_owned())
                }
                None => (String::new(), token.to_owned()),
            })
            .collect()
    }
}

/// A parsed message: its elements in document order, the root first.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    /// Every element, in document order.
    pub(crate) elements: Vec<Element>,
}

impl Doc {
    /// Parses a whole document.
    pub(crate) fn parse(text: &str) -> Result<Self, XmlError> {
        let mut reader = NsReader::from_str(text.trim_start_matches('\u{FEFF}'));
        let mut elements: Vec<Element> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut closed_root = false;
        loop {
            let at = |reader: &NsReader<&[u8]>, reason: String| XmlError {
                offset: reader.buffer_position(),
                reason,
            };
            let (resolved, event) = reader
                .read_resolved_event()
                .map(|(r, e)| (namespace_of(&r), e))
                .map_err(|e| XmlError {
                    offset: reader.error_position(),
                    reason: e.to_string(),
                })?;
            match event {
                Event::Start(ref start) | Event::Empty(ref start) => {
                    if closed_root || (stack.is_empty() && !elements.is_empty()) {
                        return Err(at(&reader, "a second root element".to_owned()));
                    }
                    if stack.len() >= MAX_DEPTH || elements.len() >= MAX_ELEMENTS {
                        return Err(at(&reader, "message too deep or too large".to_owned()));
                    }
                    let element = Element {
                        ns: resolved,
                        name: start.local_name().as_ref().to_owned(),
                        parent: stack.last().copied(),
                        attrs: attributes(start).map_err(|reason| at(&reader, reason))?,
                        text: String::new(),
                        text_prefixes: Vec::new(),
                    };
                    elements.push(element);
                    if matches!(event, Event::Start(_)) {
                        stack.push(elements.len() - 1);
                    } else if stack.is_empty() {
                        closed_root = true;
                    }
                }
                Event::End(_) => {
                    if let Some(i) = stack.pop() {
                        let trimmed = elements[i].text.trim().to_owned();
                        elements[i].text = trimmed;
                    }
                    closed_root |= stack.is_empty();
                }
                Event::Text(t) => {
                    let text = t.xml10_content();
                    if let Some(&i) = stack.last() {
                        let prefixes = text_prefixes(&reader, &text);
                        let element = &mut elements[i];
                        element.text.push_str(&text);
                        element.text_prefixes.extend(prefixes);
                    } else if !text.trim().is_empty() {
                        return Err(at(&reader, "text outside the root element".to_owned()));
                    }
                }
                Event::CData(c) => {
                    if let Some(&i) = stack.last() {
                        elements[i].text.push_str(&c.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => resolve_predefined_entity(&r)
                            .ok_or_else(|| at(&reader, format!("unknown entity &{};", &*r)))?
                            .to_owned(),
                        Err(e) => return Err(at(&reader, e.to_string())),
                    };
                    if let Some(&i) = stack.last() {
                        elements[i].text.push_str(&resolved);
                    }
                }
                Event::Eof => break,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if !stack.is_empty() {
            return Err(XmlError {
                offset: reader.buffer_position(),
                reason: "the document ends inside an element".to_owned(),
            });
        }
        if elements.is_empty() {
            return Err(XmlError {
                offset: 0,
                reason: "no root element".to_owned(),
            });
        }
        Ok(Self { elements })
    }

    /// The root element.
    pub(crate) fn root(&self) -> &Element {
        &self.elements[0]
    }

    /// Indices of the children of element `i`.
    pub(crate) fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.elements
            .iter()
            .enumerate()
            .skip(i + 1)
            .filter(move |(_, e)| e.parent == Some(i))
            .map(|(j, _)| j)
    }

    /// The first child of element `i` that is `{ns}name`.
    pub(crate) fn child(&self, i: usize, ns: &str, name: &str) -> Option<usize> {
        self.children(i).find(|&j| self.elements[j].is(ns, name))
    }

    /// Follows a path of `{ns}name` children from element `i`.
    pub(crate) fn path(&self, i: usize, steps: &[(&str, &str)]) -> Option<usize> {
        steps
            .iter()
            .try_fold(i, |at, (ns, name)| self.child(at, ns, name))
    }

    /// Whether element `j` is `i` or lies inside it.
    pub(crate) fn within(&self, j: usize, i: usize) -> bool {
        let mut at = Some(j);
        while let Some(k) = at {
            if k == i {
                return true;
            }
            at = self.elements[k].parent;
        }
        false
    }

    /// The first element inside element `i` (at any depth) with this local name, any
    /// namespace.
    pub(crate) fn descendant(&self, i: usize, name: &str) -> Option<&Element> {
        self.elements
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(j, e)| e.name == name && self.within(*j, i))
            .map(|(_, e)| e)
    }
}

/// The namespace name of a resolved element name, empty when unbound or unknown.
fn namespace_of(resolved: &ResolveResult<'_>) -> String {
    match resolved {
        ResolveResult::Bound(ns) => ns.as_ref().to_owned(),
        ResolveResult::Unbound | ResolveResult::Unknown(_) => String::new(),
    }
}

/// The non-`xmlns` attributes of an element by local name.
fn attributes(start: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = attr.key;
        if key.as_namespace_binding().is_some() {
            continue;
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        let name = key.local_name().as_ref().to_owned();
        attrs.push((name, value.into_owned()));
    }
    Ok(attrs)
}

/// The namespaces bound, where `text` appears, to the prefixes of its `prefix:local` tokens.
fn text_prefixes(reader: &NsReader<&[u8]>, text: &str) -> Vec<(String, String)> {
    text.split_whitespace()
        .filter_map(|token| {
            let (prefix, _) = token.split_once(':')?;
            let valid = !prefix.is_empty()
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !valid {
                return None;
            }
            let qname = QName(token);
            match reader.resolver().resolve_prefix(qname.prefix(), false) {
                ResolveResult::Bound(ns) => Some((prefix.to_owned(), ns.as_ref().to_owned())),
                ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_carry_namespaces_attributes_and_text() {
        let doc = Doc::parse(
            r#"<?xml version="1.0"?><s:E xmlns:s="urn:s" xmlns:a="urn:a">
                 <s:B><a:P a:Type="t&amp;x">  v &lt; 1 </a:P><Q/></s:B></s:E>"#,
        )
        .unwrap();
        assert!(doc.root().is("urn:s", "E"));
        let p = doc.path(0, &[("urn:s", "B"), ("urn:a", "P")]).unwrap();
        assert_eq!(doc.elements[p].text, "v < 1");
        assert_eq!(doc.elements[p].attr("Type"), Some("t&x"));
        assert_eq!(doc.descendant(0, "Q").map(|q| q.ns.as_str()), Some(""));
    }

    #[test]
    fn qnames_in_text_resolve_against_the_prefixes_in_scope() {
        let doc = Doc::parse(
            r#"<E xmlns:x1="urn:dn" xmlns:x2="urn:tds"><T>x1:NVT x2:Device nope:Z bare</T></E>"#,
        )
        .unwrap();
        let t = &doc.elements[1];
        assert_eq!(
            t.text_qnames(),
            [
                ("urn:dn".to_owned(), "NVT".to_owned()),
                ("urn:tds".to_owned(), "Device".to_owned()),
                (String::new(), "Z".to_owned()),
                (String::new(), "bare".to_owned()),
            ]
        );
    }

    #[test]
    fn broken_or_hostile_documents_are_refused() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "<a>&bogus;</a>",
            "junk",
            &"<a>".repeat(40),
        ] {
            assert!(Doc::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

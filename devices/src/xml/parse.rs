//! Reading a whole document into its root [`Element`], one quick-xml event at a time,
//! with the bounds and tolerances of [`ReadOptions`].

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::{NsReader, Reader, XmlVersion};

use super::{Element, ReadOptions, XmlError};

/// Reads a whole document (a leading byte-order mark is skipped) into its root element.
pub fn parse(text: &str, options: &ReadOptions<'_>) -> Result<Element, XmlError> {
    let mut source = Source::new(text.trim_start_matches('\u{FEFF}'), options.namespaces);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut seen_root = false;
    let mut count = 0usize;
    loop {
        let (namespace, event) = source.next().map_err(|e| XmlError::Malformed {
            element: path(&stack),
            offset: source.reader().error_position(),
            reason: e.to_string(),
        })?;
        let fail = |reason: String, stack: &[Element]| XmlError::Malformed {
            element: path(stack),
            offset: source.reader().buffer_position(),
            reason,
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let name = start.local_name().as_ref().to_owned();
                if seen_root && stack.is_empty() {
                    return Err(fail(format!("second root element <{name}>"), &stack));
                }
                if !seen_root && options.root.is_some_and(|expected| expected != name) {
                    return Err(XmlError::UnexpectedRoot(name));
                }
                seen_root = true;
                count += 1;
                if stack.len() >= options.max_depth {
                    let reason = format!("nested deeper than {}", options.max_depth);
                    return Err(fail(reason, &stack));
                }
                if count > options.max_elements {
                    let reason = format!("more than {} elements", options.max_elements);
                    return Err(fail(reason, &stack));
                }
                let attrs = if options.attributes {
                    attributes(start).map_err(|reason| fail(reason, &stack))?
                } else {
                    Vec::new()
                };
                let element = Element {
                    name,
                    namespace,
                    attrs,
                    ..Element::default()
                };
                if matches!(event, Event::Start(_)) {
                    stack.push(element);
                } else {
                    close(element, &mut stack, &mut root);
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(fail("end tag without a start".into(), &stack));
                };
                close(done, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => {
                        el.text_prefixes.extend(source.bound_prefixes(&content));
                        el.text.push_str(&content);
                    }
                    None if options.ignore_text_outside_root || content.trim().is_empty() => {}
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
                    Ok(None) => resolve_predefined_entity(&r)
                        .ok_or_else(|| fail(format!("unknown entity &{};", &*r), &stack))?
                        .to_owned(),
                    Err(e) => return Err(fail(e.to_string(), &stack)),
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
        return Err(XmlError::Malformed {
            element: path(&stack),
            offset: source.reader().buffer_position(),
            reason: "the document ends before the element is closed".into(),
        });
    }
    root.ok_or_else(|| XmlError::Malformed {
        element: String::new(),
        offset: 0,
        reason: "no root element".into(),
    })
}

/// Hands a finished element to its parent, or makes it the root.
fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// The path of local names of the open elements.
fn path(stack: &[Element]) -> String {
    stack
        .iter()
        .map(|e| e.name.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// The attributes of a start tag by local name, values normalised; namespace
/// declarations left out.
fn attributes(start: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        let name = attr.key.local_name().as_ref().to_owned();
        attrs.push((name, value.into_owned()));
    }
    Ok(attrs)
}

/// The reader: plain (prefixes dropped, nothing resolved, nothing to refuse about
/// namespaces) or resolving namespaces.
enum Source<'a> {
    Plain(Reader<&'a [u8]>),
    Namespaces(NsReader<&'a [u8]>),
}

impl<'a> Source<'a> {
    fn new(text: &'a str, namespaces: bool) -> Self {
        if namespaces {
            Self::Namespaces(NsReader::from_str(text))
        } else {
            Self::Plain(Reader::from_str(text))
        }
    }

    /// The next event with, for a start tag, its namespace name (empty when unbound or
    /// not resolving).
    fn next(&mut self) -> quick_xml::Result<(String, Event<'a>)> {
        match self {
            Self::Plain(reader) => reader.read_event().map(|e| (String::new(), e)),
            Self::Namespaces(reader) => reader
                .read_resolved_event()
                .map(|(ns, e)| (namespace_of(&ns), e)),
        }
    }

    fn reader(&self) -> &Reader<&'a [u8]> {
        match self {
            Self::Plain(reader) => reader,
            Self::Namespaces(reader) => reader,
        }
    }

    /// The namespaces bound, where `text` appears, to the prefixes of its `prefix:local`
    /// tokens; nothing when not resolving.
    fn bound_prefixes(&self, text: &str) -> Vec<(String, String)> {
        let Self::Namespaces(reader) = self else {
            return Vec::new();
        };
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
                match reader
                    .resolver()
                    .resolve_prefix(QName(token).prefix(), false)
                {
                    ResolveResult::Bound(ns) => Some((prefix.to_owned(), ns.as_ref().to_owned())),
                    ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
                }
            })
            .collect()
    }
}

/// The namespace name of a resolved element name, empty when unbound or unknown.
fn namespace_of(resolved: &ResolveResult<'_>) -> String {
    match resolved {
        ResolveResult::Bound(ns) => ns.as_ref().to_owned(),
        ResolveResult::Unbound | ResolveResult::Unknown(_) => String::new(),
    }
}

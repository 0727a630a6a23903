//! A small XML element tree over quick-xml, shared by everything that reads device XML:
//! ONVIF answers in the client ([`crate::onvif`]), ISAPI plate events
//! ([`crate::plate`]), and the simulated ONVIF camera's SOAP requests and WS-Discovery
//! probes.
//!
//! Elements are kept under their local names, so cameras that spell a document with
//! different prefixes (`tds:`/`tt:`, `env:`/`s:`/`SOAP-ENV:`, default namespaces) read
//! the same; with [`ReadOptions::namespaces`] each element also carries its resolved
//! namespace. Every read is bounded in depth and element count (see [`ReadOptions`]), so
//! a hostile or broken document cannot exhaust memory; errors name the element path
//! where reading stopped.
//!
//! Not `roxmltree`: it refuses undeclared prefixes, which real cameras send and the client
//! reads by local name, and its errors give a line and column, not the element path.

mod parse;

pub use parse::parse;
pub use quick_xml::escape::escape;

/// How a document is read: its bounds and what the reader tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions<'a> {
    /// Most ancestors an element may have; one nested deeper is refused.
    pub max_depth: usize,
    /// Most elements in the document.
    pub max_elements: usize,
    /// Resolve namespaces ([`Element::namespace`], [`Element::text_qnames`]). Off, every
    /// namespace is empty and prefixes are only dropped, so a document with undeclared
    /// or invalid prefix bindings still reads.
    pub namespaces: bool,
    /// Read attributes. Off, they are not looked at, so a malformed one is no error.
    pub attributes: bool,
    /// Ignore non-blank text before and after the root element instead of refusing it.
    pub ignore_text_outside_root: bool,
    /// The local name the root element must have ([`XmlError::UnexpectedRoot`] if not),
    /// checked before anything after the root's start tag is read.
    pub root: Option<&'a str>,
}

impl ReadOptions<'_> {
    /// Strict, bounded reading by local names: 32 levels, 10,000 elements, attributes
    /// read, no namespaces, no text outside the root, any root.
    pub const DEFAULT: Self = Self {
        max_depth: 32,
        max_elements: 10_000,
        namespaces: false,
        attributes: true,
        ignore_text_outside_root: false,
        root: None,
    };
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed, or beyond a bound of the [`ReadOptions`].
    #[error("bad XML at <{element}> (byte {offset}): {reason}")]
    Malformed {
        /// Path of local element names where reading stopped (`Envelope/Body`).
        element: String,
        /// Byte offset in the text.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// The root element is not [`ReadOptions::root`]; its local name.
    #[error("the root element is <{0}>")]
    UnexpectedRoot(String),
}

/// One element: local name, namespace, attributes by local name, its own text, children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) attrs: Vec<(String, String)>,
    /// The element's own text (not its children's), unescaped, untrimmed.
    pub(crate) text: String,
    /// For each `prefix:local` token of the text, the prefix and the namespace bound to it
    /// where the text appeared (only when namespaces are resolved).
    pub(crate) text_prefixes: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
}

impl Element {
    /// Local name (`Profiles` for `<trt:Profiles>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Namespace name; empty when unbound or when namespaces are not resolved.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Whether this element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.namespace == ns && self.name == name
    }

    /// Every child element, in document order.
    pub fn children(&self) -> &[Element] {
        &self.children
    }

    /// Every child with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child that is `{ns}name`.
    pub fn child_ns(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Takes out the first child with this local name (the order of the others is not
    /// kept).
    pub fn take_child(&mut self, name: &str) -> Option<Element> {
        let i = self.children.iter().position(|c| c.name == name)?;
        Some(self.children.swap_remove(i))
    }

    /// The element at a path of child local names (`["Resolution", "Width"]`).
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |el, name| el.child(name))
    }

    /// The first element inside this one, at any depth, with this local name (document
    /// order).
    pub fn descendant(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| {
            if c.name == name {
                Some(c)
            } else {
                c.descendant(name)
            }
        })
    }

    /// The trimmed text of this element.
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    /// The trimmed text at a path, `None` when absent or empty.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).map(Element::text).filter(|t| !t.is_empty())
    }

    /// An attribute's value by local name (namespace declarations are not attributes).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The whitespace-separated tokens of the text read as QNames (WS-Discovery `Types`):
    /// `(namespace, local name)`, the namespace empty when the prefix was not bound.
    pub fn text_qnames(&self) -> Vec<(String, String)> {
        self.text()
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

#[cfg(test)]
mod tests;

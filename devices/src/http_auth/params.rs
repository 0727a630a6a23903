//! The grammar shared by `WWW-Authenticate` and `Authorization` (RFC 9110 section 11):
//! a list of `scheme [ token68 | auth-param *( "," auth-param ) ]`, where an auth-param
//! is `name = ( token | quoted-string )` and names are case-insensitive.
//!
//! A header may hold several challenges separated by commas, the same character that
//! separates parameters: a word not followed by `=` starts the next challenge.

use super::{AuthError, cut};

/// One scheme with what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Item {
    /// The scheme as written (`Digest`, `basic`, …).
    pub(super) scheme: String,
    /// The token68 form (`Basic dXNlcjpwYXNz`), when that is what followed the scheme.
    pub(super) token68: Option<String>,
    /// The parameters, names lower-cased, values unquoted.
    pub(super) params: Vec<(String, String)>,
}

impl Item {
    /// The value of parameter `name` (lower-case).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the scheme is `scheme`, in any case.
    pub(super) fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }
}

/// Parses a header value into its schemes.
pub(super) fn parse_list(input: &str) -> Result<Vec<Item>, AuthError> {
    let mut c = Cursor { s: input, pos: 0 };
    let mut items = Vec::new();
    loop {
        c.skip_separators();
        if c.at_end() {
            return Ok(items);
        }
        let scheme = c.token();
        if scheme.is_empty() {
            return Err(c.malformed("expected an auth scheme"));
        }
        let mut item = Item {
            scheme: scheme.to_owned(),
            token68: None,
            params: Vec::new(),
        };
        c.skip_spaces();
        if let Some(token68) = c.token68() {
            item.token68 = Some(token68.to_owned());
            items.push(item);
            continue;
        }
        loop {
            let before = c.pos;
            c.skip_separators();
            let name = c.token();
            c.skip_spaces();
            if name.is_empty() || !c.eat(b'=') {
                // The next scheme (or the end): leave it to the outer loop.
                c.pos = before;
                break;
            }
            c.skip_spaces();
            let value = if c.peek() == Some(b'"') {
                c.quoted()?
            } else {
                let token = c.token();
                if token.is_empty() {
                    return Err(c.malformed(&format!("no value for `{}`", cut(name))));
                }
                token.to_owned()
            };
            let name = name.to_ascii_lowercase();
            if item.get(&name).is_some() {
                return Err(c.malformed(&format!("`{}` given twice", cut(&name))));
            }
            item.params.push((name, value));
        }
        items.push(item);
    }
}

/// A position in a header value.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// A token68 that stands alone (followed by the end or a comma), else nothing consumed.
    fn token68(&mut self) -> Option<&'a str> {
        let bytes = self.s.as_bytes();
        let start = self.pos;
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_alphanumeric() || b"-._~+/".contains(&bytes[end]))
        {
            end += 1;
        }
        if end == start {
            return None;
        }
        while end < bytes.len() && bytes[end] == b'=' {
            end += 1;
        }
        let mut after = end;
        while after < bytes.len() && matches!(bytes[after], b' ' | b'\t') {
            after += 1;
        }
        if after < bytes.len() && bytes[after] != b',' {
            return None;
        }
        self.pos = end;
        Some(&self.s[start..end])
    }

    /// A quoted-string, the cursor on its opening quote; backslash escapes the next char.
    fn quoted(&mut self) -> Result<String, AuthError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.s[self.pos..].char_indices();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => break,
                },
                _ => out.push(ch),
            }
        }
        self.pos = start;
        Err(self.malformed("unterminated quoted string"))
    }

    fn malformed(&self, what: &str) -> AuthError {
        AuthError::Malformed(format!("{what} at byte {}", self.pos))
    }
}

/// A token character (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `value` as a quoted-string: quotes and backslashes escaped.
pub(super) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for ch in value.chars() {
        if matches!(ch, '"' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

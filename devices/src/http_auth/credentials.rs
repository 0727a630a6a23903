//! The server's reading of an `Authorization` header: Basic or Digest credentials.

use base64::Engine as _;

use super::params::{Item, parse_list};
use super::{Algorithm, AuthError, BASE64, cut};

/// The credentials in an `Authorization` header, as a server reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Basic: the user and password in clear.
    Basic {
        /// The user name.
        username: String,
        /// The password, as sent in clear.
        password: String,
    },
    /// Digest: the client's response to a challenge.
    Digest(DigestResponse),
}

/// The parameters of a Digest `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestResponse {
    /// The user name.
    pub username: String,
    /// The realm answered.
    pub realm: String,
    /// The server nonce answered.
    pub nonce: String,
    /// The request URI the response was computed over.
    pub uri: String,
    /// The response hash, lower-case hex as sent.
    pub response: String,
    /// The hash algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// The qop chosen (`auth`), if any.
    pub qop: Option<String>,
    /// The nonce count.
    pub nc: Option<u32>,
    /// The client nonce.
    pub cnonce: Option<String>,
    /// The opaque value returned.
    pub opaque: Option<String>,
}

impl Credentials {
    /// Reads an `Authorization` header value.
    pub fn parse(header: &str) -> Result<Self, AuthError> {
        let mut items = parse_list(header)?;
        if items.len() != 1 {
            return Err(AuthError::Malformed(format!(
                "expected one set of credentials, found {}",
                items.len()
            )));
        }
        let item = items.remove(0);
        if item.is("Basic") {
            basic(&item)
        } else if item.is("Digest") {
            digest(&item).map(Self::Digest)
        } else {
            Err(AuthError::UnsupportedScheme(cut(&item.scheme)))
        }
    }

    /// The user name the credentials are for.
    pub fn username(&self) -> &str {
        match self {
            Self::Basic { username, .. } => username,
            Self::Digest(d) => &d.username,
        }
    }
}

fn basic(item: &Item) -> Result<Credentials, AuthError> {
    let token = item
        .token68
        .as_deref()
        .ok_or_else(|| AuthError::Malformed("Basic without a token".to_owned()))?;
    let bad = || AuthError::BadParam {
        name: "basic credentials",
        value: cut(token),
    };
    let decoded = BASE64.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (username, password) = text.split_once(':').ok_or_else(bad)?;
    Ok(Credentials::Basic {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

fn digest(item: &Item) -> Result<DigestResponse, AuthError> {
    if let Some(token) = &item.token68 {
        return Err(AuthError::Malformed(format!(
            "Digest takes parameters, not the token `{}`",
            cut(token)
        )));
    }
    if item.get("username*").is_some() {
        return Err(AuthError::UnsupportedParam("username*"));
    }
    if item
        .get("userhash")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(AuthError::UnsupportedParam("userhash"));
    }
    let required = |name: &'static str| {
        item.get(name)
            .map(str::to_owned)
            .ok_or(AuthError::MissingParam(name))
    };
    let algorithm = match item.get("algorithm") {
        None => Algorithm::Md5,
        Some(name) => {
            Algorithm::parse(name).ok_or_else(|| AuthError::UnsupportedAlgorithm(cut(name)))?
        }
    };
    let nc = item
        .get("nc")
        .map(|v| {
            if v.len() == 8 {
                u32::from_str_radix(v, 16).ok()
            } else {
                None
            }
            .ok_or_else(|| AuthError::BadParam {
                name: "nc",
                value: cut(v),
            })
        })
        .transpose()?;
    Ok(DigestResponse {
        username: required("username")?,
        realm: required("realm")?,
        nonce: required("nonce")?,
        uri: required("uri")?,
        response: required("response")?,
        algorithm,
        qop: item.get("qop").map(str::to_owned),
        nc,
        cnonce: item.get("cnonce").map(str::to_owned),
        opaque: item.get("opaque").map(str::to_owned),
    })
}

//! The XML namespaces and WS-* URIs of ONVIF messages, defined once for the client here
//! and for the simulated camera (`customs-edge-simulators`). Each constant is named after
//! the prefix ONVIF documents use for it.

/// SOAP 1.2 envelope (`env:`, `s:`).
pub const SOAP_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 envelope: not ONVIF, refused by the camera with `env:VersionMismatch`.
pub const SOAP11_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Device management service (`tds:`).
pub const TDS: &str = "http://www.onvif.org/ver10/device/wsdl";
/// Media service, version 1 (`trt:`).
pub const TRT: &str = "http://www.onvif.org/ver10/media/wsdl";
/// Schema types (`tt:`).
pub const TT: &str = "http://www.onvif.org/ver10/schema";
/// Error subcodes of faults (`ter:`).
pub const TER: &str = "http://www.onvif.org/ver10/error";
/// Network discovery types (`dn:NetworkVideoTransmitter`).
pub const DN: &str = "http://www.onvif.org/ver10/network/wsdl";
/// WS-Addressing 2004/08, the version WS-Discovery 2005/04 uses (`wsa:`).
pub const WSA: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// WS-Discovery 2005/04 (`wsd:`, `d:`).
pub const WSD: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
/// WS-Security extensions (`wsse:`).
pub const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// WS-Security utility (`wsu:Created`).
pub const WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";

/// `wsse:Password/@Type` of a digest password.
pub const PASSWORD_DIGEST: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
/// `wsse:Password/@Type` of a clear-text password (the default when absent).
pub const PASSWORD_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
/// `wsse:Nonce/@EncodingType` of a base64 nonce.
pub const BASE64_BINARY: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

/// `wsa:To` of a multicast probe and of Hello and Bye announcements.
pub const DISCOVERY_URN: &str = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";

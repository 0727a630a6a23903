//! Which site and stream an incoming topic belongs to: the inverse of
//! [`Topics`](customs_edge_protocol::topics::Topics) for the topics the platform subscribes.

/// Where an incoming message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `<prefix>/<site>/up/<stream>`.
    Up {
        /// Site code.
        site: &'a str,
        /// Stream name as the topic says it.
        stream: &'a str,
    },
    /// `<prefix>/<site>/status`.
    Status {
        /// Site code.
        site: &'a str,
    },
    /// Anything else (not subscribed, so not expected).
    Other,
}

/// Route `topic` under `prefix` (without a trailing `/`).
pub(crate) fn route<'a>(prefix: &str, topic: &'a str) -> Route<'a> {
    let Some(rest) = topic.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) else {
        return Route::Other;
    };
    let mut levels = rest.split('/');
    match (levels.next(), levels.next(), levels.next(), levels.next()) {
        (Some(site), Some("up"), Some(stream), None) if !site.is_empty() => {
            Route::Up { site, stream }
        }
        (Some(site), Some("status"), None, None) if !site.is_empty() => Route::Status { site },
        _ => Route::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use customs_edge_protocol::topics::Topics;

    #[test]
    fn topics_route_back_to_their_site_and_stream() {
        let t = Topics::new("customs-edge", "3511W001");
        assert_eq!(
            route("customs-edge", &t.up("decisions")),
            Route::Up {
                site: "3511W001",
                stream: "decisions"
            }
        );
        assert_eq!(
            route("customs-edge", &t.status()),
            Route::Status { site: "3511W001" }
        );
        for other in [
            t.down("ack"),
            "customs-edge/3511W001/up/a/b".to_owned(),
            "elsewhere/3511W001/status".to_owned(),
            "customs-edgeX/3511W001/status".to_owned(),
        ] {
            assert_eq!(route("customs-edge", &other), Route::Other, "{other}");
        }
    }
}

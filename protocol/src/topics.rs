//! MQTT topics: uplink and downlink kept apart under a prefix and the site code.

/// The topics of one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
    site: String,
}

impl Topics {
    /// Topics under `prefix` for site `site` (its loctNo).
    pub fn new(prefix: &str, site: &str) -> Self {
        Self {
            prefix: prefix.trim_end_matches('/').to_owned(),
            site: site.to_owned(),
        }
    }

    /// Where the site publishes a stream: `<prefix>/<site>/up/<stream>`.
    pub fn up(&self, stream: &str) -> String {
        format!("{}/{}/up/{stream}", self.prefix, self.site)
    }

    /// Every uplink stream of this site (for the platform's subscription).
    pub fn up_filter(&self) -> String {
        format!("{}/{}/up/#", self.prefix, self.site)
    }

    /// Uplink of every site under the prefix: `<prefix>/+/up/#`.
    pub fn all_sites_up_filter(prefix: &str) -> String {
        format!("{}/+/up/#", prefix.trim_end_matches('/'))
    }

    /// Where the platform sends a downlink kind: `<prefix>/<site>/down/<kind>`.
    pub fn down(&self, kind: &str) -> String {
        format!("{}/{}/down/{kind}", self.prefix, self.site)
    }

    /// Every downlink topic of this site (for the site's subscription).
    pub fn down_filter(&self) -> String {
        format!("{}/{}/down/#", self.prefix, self.site)
    }

    /// The site's retained presence: `online` while connected, `offline` by its last will.
    pub fn status(&self) -> String {
        format!("{}/{}/status", self.prefix, self.site)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uplink_and_downlink_are_apart() {
        let t = Topics::new("customs-edge/", "3511W001");
        assert_eq!(t.up("decisions"), "customs-edge/3511W001/up/decisions");
        assert_eq!(t.down("lists"), "customs-edge/3511W001/down/lists");
        assert_eq!(t.down_filter(), "customs-edge/3511W001/down/#");
        assert_eq!(t.status(), "customs-edge/3511W001/status");
        assert_eq!(
            Topics::all_sites_up_filter("customs-edge"),
            "customs-edge/+/up/#"
        );
    }
}

//! Bulk declaration-list loads (the million-list ingest benchmark): lists pulled from an
//! iterator in batches, paced to a rate, with progress; never all in memory. Also the
//! JSON-lines reader and a generator of synthetic lists to feed it.

use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use customs_edge_protocol::declaration::{DeclarationList, GoodsLine, STATUS_RELEASED};
use serde::Serialize;
use tokio::time::Instant;

use super::downlink::PublishError;
use super::running::Platform;

/// Lists per message unless told otherwise.
pub const DEFAULT_BATCH: usize = 1000;

/// How far a bulk load has got.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BulkProgress {
    /// Lists published.
    pub lists: u64,
    /// Messages published.
    pub messages: u64,
    /// Downlink sequence number of the first message.
    pub first_seq: Option<u64>,
    /// Downlink sequence number of the last message.
    pub last_seq: Option<u64>,
    /// Time since the load started.
    pub elapsed: Duration,
}

impl BulkProgress {
    /// Lists per second so far.
    pub fn rate_per_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.lists as f64 / secs
        } else {
            0.0
        }
    }
}

impl Platform {
    /// Publish every list of `lists` to `site`, `batch` per message, at most `rate` lists
    /// a second when given; `progress` is called after each message. The iterator is
    /// pulled on this task one batch at a time, so keep it cheap (a buffered file is).
    pub async fn publish_lists_from<I>(
        &self,
        site: &str,
        lists: I,
        batch: usize,
        rate: Option<f64>,
        mut progress: impl FnMut(&BulkProgress),
    ) -> Result<BulkProgress, PublishError>
    where
        I: IntoIterator<Item = DeclarationList>,
    {
        let batch = batch.max(1);
        let rate = rate.filter(|r| r.is_finite() && *r > 0.0);
        let started = Instant::now();
        let mut done = BulkProgress::default();
        let mut lists = lists.into_iter().peekable();
        while lists.peek().is_some() {
            let chunk: Vec<DeclarationList> = lists.by_ref().take(batch).collect();
            let count = chunk.len() as u64;
            let seq = self.publish_lists(site, chunk).await?;
            done.lists += count;
            done.messages += 1;
            done.first_seq.get_or_insert(seq);
            done.last_seq = Some(seq);
            done.elapsed = started.elapsed();
            progress(&done);
            if let Some(rate) = rate {
                let due = started + Duration::from_secs_f64(done.lists as f64 / rate);
                tokio::time::sleep_until(due).await;
            }
        }
        done.elapsed = started.elapsed();
        Ok(done)
    }
}

/// A JSON-lines file of declaration lists, read line by line; blank lines and lines
/// starting with `#` are skipped. Each item is a list or the error of its line.
#[derive(Debug)]
pub struct JsonlLists {
    lines: Lines<BufReader<File>>,
    line_no: usize,
}

/// Open `path` for [`JsonlLists`].
pub fn read_jsonl(path: &Path) -> anyhow::Result<JsonlLists> {
    let file = File::open(path)
        .with_context(|| format!("cannot open the lists file {}", path.display()))?;
    Ok(JsonlLists {
        lines: BufReader::with_capacity(1 << 20, file).lines(),
        line_no: 0,
    })
}

impl Iterator for JsonlLists {
    type Item = Result<DeclarationList, String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line_no += 1;
            let line = match self.lines.next()? {
                Ok(line) => line,
                Err(e) => return Some(Err(format!("line {}: {e}", self.line_no))),
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            return Some(
                DeclarationList::from_json_line(line)
                    .map_err(|e| format!("line {}: {e}", self.line_no)),
            );
        }
    }
}

/// `count` valid, released, distinct lists for `site` (waybills `SIM` + a 12-digit
/// number counting from `first`), for load runs without a file.
pub fn synthetic_lists(
    site: &str,
    first: u64,
    count: u64,
) -> impl Iterator<Item = DeclarationList> + use<> {
    let site = site.to_owned();
    (first..first.saturating_add(count)).map(move |n| DeclarationList {
        logistics_no: format!("SIM{n:012}"),
        invt_no: Some(format!("35112026E{:09}", n % 1_000_000_000)),
        order_no: Some(format!("SIMO{n:012}")),
        trade_mode: Some("9610".to_owned()),
        ebc_code: None,
        ebc_name: None,
        country: Some("MYS".to_owned()),
        gross_weight: Some(0.5 + (n % 40) as f64 * 0.1),
        net_weight: None,
        pack_no: Some(1),
        total_package_no: Some(format!("BAG{:06}", n / 100)),
        loct_no: Some(site.clone()),
        return_status: STATUS_RELEASED,
        return_info: None,
        goods: vec![GoodsLine {
            gnum: 1,
            item_name: "棉制T恤".to_owned(),
            gcode: Some("6109100021".to_owned()),
            qty: Some(1.0),
            unit: Some("011".to_owned()),
            price: Some(35.0),
            total_price: Some(35.0),
            currency: Some("142".to_owned()),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_lists_pass_the_sites_checks() {
        let lists: Vec<_> = synthetic_lists("3511W001", 999_999_999, 3).collect();
        assert_eq!(lists.len(), 3);
        for l in &lists {
            l.check().unwrap();
        }
        assert_ne!(lists[0].logistics_no, lists[1].logistics_no);
    }

    #[test]
    fn the_example_file_reads_and_comments_are_skipped() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/manifests.example.jsonl");
        let items: Vec<_> = read_jsonl(&path).unwrap().collect();
        assert!(!items.is_empty());
        assert!(items.iter().all(Result::is_ok), "{items:?}");
    }
}

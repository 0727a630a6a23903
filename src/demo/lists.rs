//! The demo's declaration lists: generated, most released, some held by customs.

use crate::manifest::{DeclarationList, GoodsLine};

/// Generated declaration lists: 75% released (800), the rest held at other statuses.
pub fn sample_lists(n: usize) -> Vec<DeclarationList> {
    const CARRIERS: [&str; 4] = ["SF", "YT", "JD", "ZT"];
    const COUNTRIES: [&str; 5] = ["MYS", "THA", "VNM", "SGP", "IDN"];
    const GOODS: [(&str, &str); 5] = [
        ("棉制T恤", "6109100021"),
        ("陶瓷茶具", "6912001000"),
        ("竹制餐具", "4419121000"),
        ("蓝牙耳机", "8518300000"),
        ("茶叶", "0902109000"),
    ];
    let mut seed: u64 = 0x5EED_2026;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    (0..n)
        .map(|i| {
            let status = match next() % 100 {
                0..75 => 800,
                75..83 => 120,
                83..90 => 300,
                90..95 => 100,
                _ => 399,
            };
            let (item, gcode) = GOODS[next() % GOODS.len()];
            let qty = (next() % 5 + 1) as f64;
            let price = (next() % 200 + 10) as f64;
            DeclarationList {
                logistics_no: format!(
                    "{}{:012}",
                    CARRIERS[i % CARRIERS.len()],
                    350_000_000_000 + i * 7919
                ),
                invt_no: Some(format!("35112026E{:09}", i + 1)),
                order_no: Some(format!("SMO{:010}", i + 1)),
                trade_mode: Some(["9610", "9710", "9810"][next() % 3].to_owned()),
                ebc_code: Some(format!("35119{:05}", next() % 20)),
                ebc_name: None,
                country: Some(COUNTRIES[next() % COUNTRIES.len()].to_owned()),
                gross_weight: Some(qty * 0.35),
                net_weight: Some(qty * 0.3),
                pack_no: Some(1),
                total_package_no: Some(format!("BAG{:04}", i / 20)),
                loct_no: Some("3511W001".into()),
                return_status: status,
                return_info: None,
                goods: vec![GoodsLine {
                    gnum: 1,
                    item_name: item.to_owned(),
                    gcode: Some(gcode.to_owned()),
                    qty: Some(qty),
                    unit: Some("011".into()),
                    price: Some(price),
                    total_price: Some(price * qty),
                    currency: Some("142".into()),
                }],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_lists_pass_the_import_checks_and_cover_several_statuses() {
        let lists = sample_lists(200);
        for list in &lists {
            list.check().unwrap();
        }
        let released = lists.iter().filter(|l| l.return_status == 800).count();
        assert!(released > 100 && released < 200, "{released}");
    }
}

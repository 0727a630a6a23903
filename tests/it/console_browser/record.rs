//! The inspection record at the console: a result saved once, and the printed 查验记录单
//! holding the waybill and the X-ray views.

use fantoccini::Locator;
use fantoccini::wd::PrintConfiguration;
use serde_json::{Value, json};

use super::console::{Console, type_into};

/// The officer saves an inspection result with two quick clicks: one result is kept and
/// the page confirms it; the printed record (PDF) holds the waybill and the X-ray views.
pub(crate) async fn an_inspection_is_saved_once_and_its_record_prints(
    console: &Console<'_>,
    id: i64,
    shots: &std::path::Path,
) {
    console
        .browser
        .goto(&format!("{}#/parcels/{id}", console.demo.console))
        .await;
    let form = console
        .browser
        .visible("#inspection-form", "the inspection form")
        .await;
    form.find(Locator::Css("select[name=result]"))
        .await
        .expect("the result list")
        .select_by_value("discrepancy")
        .await
        .expect("pick a result");
    type_into(
        &form,
        "textarea[name=findings]",
        "实际为蓝牙耳机两副，与申报品名不符",
    )
    .await;
    console
        .browser
        .js(
            "const b = document.querySelector('#inspection-form button[type=submit]');\
             b.click(); b.click();",
            vec![],
        )
        .await;
    console
        .browser
        .until("the saved result confirmed on screen", || async {
            let text = console.text_of("#inspection-form .form-result.ok").await?;
            (!text.is_empty()).then_some(())
        })
        .await;
    let (_, detail) = console
        .api("GET", &format!("/api/parcels/{id}"), &Value::Null)
        .await;
    assert_eq!(
        detail["inspections"].as_array().map(Vec::len),
        Some(1),
        "two clicks keep one result: {detail:#}"
    );
    // The same result sent again is answered with the kept one, not a second.
    let body = json!({ "result": "discrepancy", "findings": "实际为蓝牙耳机两副，与申报品名不符" });
    let (status, again) = console
        .api("POST", &format!("/api/parcels/{id}/inspection"), &body)
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], detail["inspections"][0]["id"]);
    console.browser.screenshot("27-inspection-saved").await;

    console
        .browser
        .visible("a.print-record", "the print link")
        .await
        .click()
        .await
        .expect("open the record");
    console
        .browser
        .until("the record drawn with its images", || async {
            let ready = console
                .browser
                .js(
                    "const r = document.getElementById('page-record');\
                     const imgs = [...r.querySelectorAll('.record-image img')];\
                     return r.dataset.ready && imgs.length && imgs.every((i) => i.complete && i.naturalWidth > 0)\
                       ? imgs.length : null;",
                    vec![],
                )
                .await;
            ready.as_u64()
        })
        .await;
    console.browser.screenshot("28-inspection-record").await;
    let pdf = console
        .browser
        .client()
        .print(PrintConfiguration::default())
        .await
        .expect("print the record to PDF");
    let path = shots.join("inspection-record.pdf");
    std::fs::write(&path, &pdf).expect("save the PDF");
    let waybill = detail["parcel"]["logistics_no"]
        .as_str()
        .expect("a waybill");
    let views = detail["evidence"]
        .as_array()
        .map_or(0, |e| e.iter().filter(|e| e["kind"] == "xray_view").count());
    assert!(views > 0, "the parcel has X-ray views: {detail:#}");
    let text = pdf_text(&path);
    assert!(
        text.contains(waybill),
        "the printed record holds the waybill {waybill}: {text}"
    );
    assert!(
        text.contains("查验记录单") && text.contains("蓝牙耳机"),
        "the printed record is the 查验记录单 with the findings: {text}"
    );
    let images = pdf_images(&path);
    assert!(
        images >= views,
        "the printed record holds the {views} X-ray views ({images} images in the PDF)"
    );
}

/// The text of a PDF (poppler's `pdftotext`, from scripts/setup.sh).
fn pdf_text(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; scripts/setup.sh installs it)");
    assert!(out.status.success(), "pdftotext {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How many images a PDF holds (poppler's `pdfimages -list`).
fn pdf_images(path: &std::path::Path) -> usize {
    let out = std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(path)
        .output()
        .expect("pdfimages (poppler-utils; scripts/setup.sh installs it)");
    assert!(out.status.success(), "pdfimages {}", path.display());
    // Two header lines, then one line per image (a soft mask has its own line, `smask`).
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(2)
        .filter(|l| l.split_whitespace().nth(2) == Some("image"))
        .count()
}

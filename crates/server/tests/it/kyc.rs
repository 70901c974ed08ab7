//! KYC over HTTP: the profile form, documents, submission, the operator's decision, and
//! tenant isolation of uploaded documents.

use crate::common::dashboard::{merchant_with_member, Member};
use crate::common::TestApp;
use punchcard_domain::accounts::MerchantStatus;
use reqwest::multipart::{Form, Part};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
];

impl Member {
    async fn upload(&self, t: &TestApp, file_name: &str, bytes: Vec<u8>) -> reqwest::Response {
        let form = Form::new().part("file", Part::bytes(bytes).file_name(file_name.to_string()));
        self.client
            .post(t.url(&format!("/dashboard/profile/documents?_csrf={}", self.csrf)))
            // A refused upload is not read to its end, so the server drops the connection:
            // never hand it back to the pool.
            .header("connection", "close")
            .multipart(form)
            .send()
            .await
            .unwrap()
    }
}

fn assert_redirect(res: &reqwest::Response, to: &str) {
    assert_eq!(res.status(), 303, "expected a redirect to {to}");
    assert_eq!(res.headers()["location"], to);
}

const VALID: &[(&str, &str)] = &[
    ("legal_name", "Corner Bakery Ltd"),
    ("business_type", "company"),
    ("registration_number", "0123-456"),
    ("tax_id", ""),
    ("website", "https://bakery.example"),
    ("phone", "+44 20 7946 0958"),
    ("address_line", "12 Mill Lane"),
    ("city", "Leeds"),
    ("postal_code", "LS1 4AB"),
    ("country", "gb"),
    ("contact_person", "Robin Flour"),
];

fn document_ids(html: &str) -> Vec<String> {
    html.split("/dashboard/profile/documents/")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .filter(|id| id.starts_with("upl_") && !id.contains('/'))
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

async fn kyc_from_profile_to_active(t: TestApp) {
    let (merchant_id, m) = merchant_with_member(&t, "Corner Bakery", false).await;

    // Until active, other pages send the member to the profile.
    let res = m.get(&t, "/dashboard/api-keys").await;
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()["location"], "/dashboard/profile");
    let html = m.page(&t, "/dashboard/profile").await;
    assert!(html.contains("Activate your account"));
    assert!(html.contains("Submit KYC"));

    // Invalid details: 422, the form again with an error next to each bad field.
    let res = m
        .post(
            &t,
            "/dashboard/profile",
            &[
                ("legal_name", ""),
                ("business_type", "empire"),
                ("phone", "call me"),
                ("country", "XX"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Legal business name is required"), "{html}");
    assert!(html.contains("Business type must be one of"));
    assert!(html.contains("Phone must be a phone number"));
    assert!(html.contains("Country must be a two-letter ISO 3166-1 country code"));
    assert!(html.contains("City is required"));
    assert!(html.contains("value=\"call me\""), "typed values are kept");
    assert!(t
        .app
        .kyc_overview(&merchant_id)
        .await
        .unwrap()
        .profile
        .is_none());

    // Submitting without details or documents is refused with the reasons.
    let res = m.post(&t, "/dashboard/profile/submit", &[]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("fill in and save the business details first"));
    assert!(html.contains("upload at least one document"));

    // Valid details.
    let res = m.post(&t, "/dashboard/profile", VALID).await;
    assert_redirect(&res, "/dashboard/profile");
    let html = m.page(&t, "/dashboard/profile").await;
    assert!(html.contains("KYC details saved."));
    assert!(html.contains("Corner Bakery Ltd"));
    assert!(html.contains("LS1 4AB"));
    assert!(html.contains(">GB<"));
    let edit = m.page(&t, "/dashboard/profile/edit").await;
    assert!(edit.contains("value=\"Robin Flour\""));
    assert!(edit.contains("<option value=\"company\" selected>"));

    // Documents: a PDF is taken; a text file named .pdf is not.
    assert_redirect(
        &m.upload(&t, "registration.pdf", PDF.to_vec()).await,
        "/dashboard/profile",
    );
    let res = m.upload(&t, "fake.pdf", b"just some text".to_vec()).await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("File must be a PDF, PNG or JPEG file"));
    assert_redirect(
        &m.upload(&t, "../../id card.png", PNG.to_vec()).await,
        "/dashboard/profile",
    );
    assert_redirect(
        &m.upload(&t, "utility bill.jpg", JPEG.to_vec()).await,
        "/dashboard/profile",
    );
    let res = m.upload(&t, "fourth.pdf", PDF.to_vec()).await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("at most 3 KYC documents"));

    let html = m.page(&t, "/dashboard/profile").await;
    assert!(html.contains("registration.pdf"));
    assert!(html.contains("id card.png"), "the name loses its path");
    let ids = document_ids(&html);
    assert_eq!(ids.len(), 3);
    let overview = t.app.kyc_overview(&merchant_id).await.unwrap();
    assert_eq!(overview.documents.len(), 3);
    let pdf = overview
        .documents
        .iter()
        .find(|d| d.name == "registration.pdf")
        .unwrap();
    assert!(pdf.storage_key.starts_with(&format!("{merchant_id}/kyc/")));
    assert!(
        t.upload_dir.join(&pdf.storage_key).exists(),
        "bytes stored under the server-made key"
    );

    // The member can read the document back, as an attachment with the sniffed type.
    let res = m
        .get(&t, &format!("/dashboard/profile/documents/{}", pdf.id))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), PDF);

    // Deleting one frees a slot and removes the stored bytes.
    let jpeg = overview
        .documents
        .iter()
        .find(|d| d.content_type == "image/jpeg")
        .unwrap();
    assert_redirect(
        &m.post(
            &t,
            &format!("/dashboard/profile/documents/{}/delete", jpeg.id),
            &[],
        )
        .await,
        "/dashboard/profile",
    );
    assert!(!t.upload_dir.join(&jpeg.storage_key).exists());
    assert_eq!(
        t.app
            .kyc_overview(&merchant_id)
            .await
            .unwrap()
            .documents
            .len(),
        2
    );

    // Submit: the status moves to kyc_submitted and the KYC is locked.
    assert_redirect(
        &m.post(&t, "/dashboard/profile/submit", &[]).await,
        "/dashboard/profile",
    );
    assert_eq!(
        t.app.merchant(&merchant_id).await.unwrap().status,
        MerchantStatus::KycSubmitted
    );
    let html = m.page(&t, "/dashboard/profile").await;
    assert!(html.contains("Submitted, awaiting review"));
    assert!(!html.contains("Submit KYC"));
    let res = m.upload(&t, "late.pdf", PDF.to_vec()).await;
    assert_redirect(&res, "/dashboard/profile");
    assert!(m
        .page(&t, "/dashboard/profile")
        .await
        .contains("awaiting review; it cannot change now"));
    assert_eq!(
        t.app
            .kyc_overview(&merchant_id)
            .await
            .unwrap()
            .documents
            .len(),
        2
    );
    m.post(
        &t,
        &format!("/dashboard/profile/documents/{}/delete", pdf.id),
        &[],
    )
    .await;
    assert_eq!(
        t.app
            .kyc_overview(&merchant_id)
            .await
            .unwrap()
            .documents
            .len(),
        2
    );

    // The operator approves: active, notified, and the rest of the dashboard opens.
    t.app.activate_merchant(&merchant_id).await.unwrap();
    assert_eq!(
        t.app.merchant(&merchant_id).await.unwrap().status,
        MerchantStatus::Active
    );
    let html = m.page(&t, "/dashboard/profile").await;
    assert!(html.contains("Your account is active"));
    let notes = t.app.list_notifications(&merchant_id).await.unwrap();
    assert!(notes.iter().any(|n| n.kind == "kyc_approved"), "{notes:?}");
    assert_eq!(m.get(&t, "/dashboard/api-keys").await.status(), 200);
    t.stop().await;
}

async fn a_rejection_shows_its_reason_and_allows_resubmission(t: TestApp) {
    let (merchant_id, m) = merchant_with_member(&t, "Corner Bakery", false).await;
    assert_redirect(
        &m.post(&t, "/dashboard/profile", VALID).await,
        "/dashboard/profile",
    );
    assert_redirect(
        &m.upload(&t, "registration.pdf", PDF.to_vec()).await,
        "/dashboard/profile",
    );
    assert_redirect(
        &m.post(&t, "/dashboard/profile/submit", &[]).await,
        "/dashboard/profile",
    );

    t.app
        .reject_merchant(&merchant_id, "The registration certificate is unreadable")
        .await
        .unwrap();
    let html = m.page(&t, "/dashboard/profile").await;
    assert!(html.contains("Your KYC was rejected."));
    assert!(html.contains("The registration certificate is unreadable"));
    let notes = t.app.list_notifications(&merchant_id).await.unwrap();
    let note = notes
        .iter()
        .find(|n| n.kind == "kyc_rejected")
        .expect("a rejection notification");
    assert!(note
        .body
        .contains("The registration certificate is unreadable"));

    // Rejected: editable again, and it can be submitted again.
    assert_redirect(
        &m.upload(&t, "better scan.png", PNG.to_vec()).await,
        "/dashboard/profile",
    );
    assert_redirect(
        &m.post(&t, "/dashboard/profile/submit", &[]).await,
        "/dashboard/profile",
    );
    let merchant = t.app.merchant(&merchant_id).await.unwrap();
    assert_eq!(merchant.status, MerchantStatus::KycSubmitted);
    assert_eq!(merchant.rejection_reason, None);
    t.stop().await;
}

async fn uploads_are_checked_for_size_and_forgery(t: TestApp) {
    let (merchant_id, m) = merchant_with_member(&t, "Corner Bakery", false).await;
    // One byte over 5 MiB: refused with a clear message.
    let mut big = PDF.to_vec();
    big.resize(5 * 1024 * 1024 + 1, b' ');
    let res = m.upload(&t, "big.pdf", big).await;
    assert!(
        res.status() == 413 || res.status() == 422,
        "{}",
        res.status()
    );
    assert!(res.text().await.unwrap().contains("at most 5 MiB"));
    // Far over: refused without reading it all, never a 5xx.
    let res = m.upload(&t, "huge.pdf", vec![b'%'; 12 * 1024 * 1024]).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    // Without the anti-forgery token the upload never reaches the handler.
    let form = Form::new().part("file", Part::bytes(PDF.to_vec()).file_name("a.pdf"));
    let res = m
        .client
        .post(t.url("/dashboard/profile/documents"))
        .header("connection", "close")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // An empty form asks for a file.
    let res = m
        .client
        .post(t.url(&format!("/dashboard/profile/documents?_csrf={}", m.csrf)))
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(t
        .app
        .kyc_overview(&merchant_id)
        .await
        .unwrap()
        .documents
        .is_empty());
    t.stop().await;
}

/// Merchant B's member cannot read or delete merchant A's document: both answer 404.
async fn documents_are_private_to_their_merchant(t: TestApp) {
    let (a, ma) = merchant_with_member(&t, "Merchant A", false).await;
    let (_b, mb) = merchant_with_member(&t, "Merchant B", false).await;
    assert_redirect(
        &ma.upload(&t, "secret.pdf", PDF.to_vec()).await,
        "/dashboard/profile",
    );
    let doc = t.app.kyc_overview(&a).await.unwrap().documents.remove(0);
    let path = format!("/dashboard/profile/documents/{}", doc.id);
    assert_eq!(ma.get(&t, &path).await.status(), 200);

    let res = mb.get(&t, &path).await;
    assert_eq!(res.status(), 404);
    assert!(!res.text().await.unwrap().contains("%PDF"));
    assert_eq!(
        mb.post(&t, &format!("{path}/delete"), &[]).await.status(),
        404
    );
    assert_eq!(t.app.kyc_overview(&a).await.unwrap().documents.len(), 1);
    assert!(!mb
        .page(&t, "/dashboard/profile")
        .await
        .contains("secret.pdf"));
    // Malformed ids and strangers are not found either.
    assert_eq!(
        mb.get(&t, "/dashboard/profile/documents/upl_nope")
            .await
            .status(),
        404
    );
    assert!(t
        .client
        .get(t.url(&path))
        .send()
        .await
        .unwrap()
        .status()
        .is_redirection());
    t.stop().await;
}

on_both_backends!(
    kyc_from_profile_to_active,
    a_rejection_shows_its_reason_and_allows_resubmission,
    uploads_are_checked_for_size_and_forgery,
    documents_are_private_to_their_merchant,
);

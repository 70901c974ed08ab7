//! KYC: the business profile and documents a merchant submits before the operator activates it.

use punchcard_domain::accounts::{parse_label, MerchantStatus};
use punchcard_domain::limits::KYC_DOCUMENT_CAP;
use punchcard_domain::net::CallbackUrl;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{FieldError, MerchantId, UploadId, ValidationErrors};
use punchcard_store::accounts::{self, MerchantRow};
use punchcard_store::kyc::{self, KycProfileRow};
use punchcard_store::uploads::{self, UploadRow};
use punchcard_store::{commit, Conn};

use crate::uploads::{check_file, display_name, storage_key, BlobStore};
use crate::{App, AppError};

/// The parent type of KYC documents in `uploads`; their parent id is the merchant id.
pub const KYC_PARENT: &str = "kyc";

/// Kinds of business a merchant can declare, as `(value, label)`.
pub const BUSINESS_TYPES: &[(&str, &str)] = &[
    ("sole_proprietor", "Sole proprietor"),
    ("partnership", "Partnership"),
    ("company", "Company"),
    ("nonprofit", "Non-profit"),
    ("other", "Other"),
];

/// The KYC form as typed; every field is text, optional ones may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct KycInput {
    pub legal_name: String,
    pub business_type: String,
    pub registration_number: String,
    pub tax_id: String,
    pub website: String,
    pub phone: String,
    pub address_line: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub contact_person: String,
}

impl KycInput {
    /// The form pre-filled from a saved profile.
    pub fn from_profile(p: &KycProfileRow) -> Self {
        Self {
            legal_name: p.legal_name.clone(),
            business_type: p.business_type.clone(),
            registration_number: p.registration_number.clone().unwrap_or_default(),
            tax_id: p.tax_id.clone().unwrap_or_default(),
            website: p.website.clone().unwrap_or_default(),
            phone: p.phone.clone(),
            address_line: p.address_line.clone(),
            city: p.city.clone(),
            postal_code: p.postal_code.clone(),
            country: p.country.clone(),
            contact_person: p.contact_person.clone(),
        }
    }
}

/// Where a merchant stands in KYC, for the profile page.
#[derive(Debug, Clone)]
pub struct KycOverview {
    pub merchant: MerchantRow,
    pub profile: Option<KycProfileRow>,
    pub documents: Vec<UploadRow>,
}

impl KycOverview {
    /// Details and documents can change only before submission or after a rejection.
    pub fn editable(&self) -> bool {
        kyc_editable(self.merchant.status)
    }

    pub fn can_submit(&self) -> bool {
        self.editable() && self.profile.is_some() && !self.documents.is_empty()
    }
}

fn kyc_editable(status: MerchantStatus) -> bool {
    matches!(
        status,
        MerchantStatus::PendingKyc | MerchantStatus::Rejected
    )
}

fn required(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    parse_label(field, s, max)
}

fn optional(field: &str, s: &str, max: usize) -> Result<Option<String>, FieldError> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_label(field, s, max).map(Some)
    }
}

fn parse_business_type(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new("business_type", "is required"));
    }
    BUSINESS_TYPES
        .iter()
        .find(|(v, _)| *v == s)
        .map(|(v, _)| v.to_string())
        .ok_or_else(|| {
            FieldError::new(
                "business_type",
                "must be one of: sole proprietor, partnership, company, non-profit, other",
            )
        })
}

fn parse_phone(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    let err = |m: &str| FieldError::new("phone", m);
    if s.is_empty() {
        return Err(err("is required"));
    }
    let allowed = |c: char| c.is_ascii_digit() || " -().".contains(c);
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if !body.chars().all(allowed) || !(7..=15).contains(&digits) {
        return Err(err(
            "must be a phone number of 7 to 15 digits, like +44 20 7946 0958",
        ));
    }
    Ok(s.to_string())
}

/// A postal code: up to 16 letters, digits, spaces or dashes, upper-cased.
pub fn parse_postal_code(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    let err = |m: &str| FieldError::new("postal_code", m);
    if s.is_empty() {
        return Err(err("is required"));
    }
    if s.len() > 16
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        return Err(err("must be up to 16 letters, digits, spaces or dashes"));
    }
    Ok(s.to_ascii_uppercase())
}

/// An ISO 3166-1 alpha-2 country code, upper-cased.
pub fn parse_country(s: &str) -> Result<String, FieldError> {
    let s = s.trim().to_ascii_uppercase();
    if s.is_empty() {
        return Err(FieldError::new("country", "is required"));
    }
    if punchcard_domain::ledger::is_country_code(&s) {
        Ok(s)
    } else {
        Err(FieldError::new(
            "country",
            "must be a two-letter ISO 3166-1 country code, like GB or US",
        ))
    }
}

fn parse_website(s: &str) -> Result<Option<String>, FieldError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    CallbackUrl::parse(s, true)
        .map(|u| Some(u.as_str().to_string()))
        .map_err(|e| e.at("website"))
}

fn parse_reference(field: &str, s: &str) -> Result<Option<String>, FieldError> {
    let v = optional(field, s, 64)?;
    if let Some(v) = &v {
        if !v.chars().all(|c| c.is_alphanumeric() || " -./".contains(c)) {
            return Err(FieldError::new(
                field,
                "may contain only letters, digits, spaces and - . /",
            ));
        }
    }
    Ok(v)
}

/// Validates the whole form, reporting every bad field at once.
pub fn parse_kyc(
    merchant_id: &MerchantId,
    input: &KycInput,
    now: Timestamp,
) -> Result<KycProfileRow, ValidationErrors> {
    let mut e = ValidationErrors::new();
    let legal_name = e.check(required("legal_name", &input.legal_name, 200));
    let business_type = e.check(parse_business_type(&input.business_type));
    let registration_number = e.check(parse_reference(
        "registration_number",
        &input.registration_number,
    ));
    let tax_id = e.check(parse_reference("tax_id", &input.tax_id));
    let website = e.check(parse_website(&input.website));
    let phone = e.check(parse_phone(&input.phone));
    let address_line = e.check(required("address_line", &input.address_line, 200));
    let city = e.check(required("city", &input.city, 100));
    let postal_code = e.check(parse_postal_code(&input.postal_code));
    let country = e.check(parse_country(&input.country));
    let contact_person = e.check(required("contact_person", &input.contact_person, 100));
    e.into_result()?;
    Ok(KycProfileRow {
        merchant_id: merchant_id.clone(),
        legal_name: legal_name.expect("checked"),
        business_type: business_type.expect("checked"),
        registration_number: registration_number.expect("checked"),
        tax_id: tax_id.expect("checked"),
        website: website.expect("checked"),
        phone: phone.expect("checked"),
        address_line: address_line.expect("checked"),
        city: city.expect("checked"),
        postal_code: postal_code.expect("checked"),
        country: country.expect("checked"),
        contact_person: contact_person.expect("checked"),
        submitted_at: None,
        updated_at: now,
    })
}

/// Locks the merchant and answers it, refusing when its KYC can no longer change.
async fn lock_editable(conn: &mut Conn, merchant_id: &MerchantId) -> Result<MerchantRow, AppError> {
    if !accounts::lock_merchant(conn, merchant_id).await? {
        return Err(AppError::NotFound("merchant"));
    }
    let merchant = accounts::find_merchant(conn, merchant_id)
        .await?
        .ok_or(AppError::NotFound("merchant"))?;
    if !kyc_editable(merchant.status) {
        return Err(not_editable(merchant.status));
    }
    Ok(merchant)
}

fn not_editable(status: MerchantStatus) -> AppError {
    AppError::Conflict(match status {
        MerchantStatus::KycSubmitted => {
            "KYC is submitted and awaiting review; it cannot change now".to_string()
        }
        MerchantStatus::Active => "KYC is approved; the account is active".to_string(),
        _ => "the account is frozen".to_string(),
    })
}

impl App {
    pub async fn kyc_overview(&self, merchant_id: &MerchantId) -> Result<KycOverview, AppError> {
        let mut conn = self.db.conn().await?;
        let merchant = accounts::find_merchant(&mut conn, merchant_id)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        let profile = kyc::find(&mut conn, merchant_id).await?;
        let documents =
            uploads::list_for_parent(&mut conn, merchant_id, KYC_PARENT, merchant_id.as_str())
                .await?;
        Ok(KycOverview {
            merchant,
            profile,
            documents,
        })
    }

    /// Saves the business details (before submission or after a rejection).
    pub async fn save_kyc_profile(
        &self,
        merchant_id: &MerchantId,
        input: &KycInput,
    ) -> Result<KycProfileRow, AppError> {
        let profile = parse_kyc(merchant_id, input, Timestamp::now())?;
        let mut tx = self.db.begin_write().await?;
        lock_editable(&mut tx, merchant_id).await?;
        kyc::upsert(&mut tx, &profile).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, "KYC profile saved");
        Ok(profile)
    }

    /// Stores a KYC document (PDF, PNG or JPEG up to 5 MiB); at most three per merchant.
    pub async fn add_kyc_document<B: BlobStore>(
        &self,
        blobs: &B,
        merchant_id: &MerchantId,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<UploadRow, AppError> {
        let kind = check_file(&bytes)?;
        let id = UploadId::new();
        let row = UploadRow {
            merchant_id: merchant_id.clone(),
            id: id.clone(),
            parent_type: KYC_PARENT.to_string(),
            parent_id: merchant_id.to_string(),
            name: display_name(file_name),
            content_type: kind.content_type().to_string(),
            size_bytes: bytes.len() as i64,
            storage_key: storage_key(merchant_id, KYC_PARENT, &id, kind),
            created_at: Timestamp::now(),
        };
        // Quick refusals before the bytes travel; the transaction below decides for real.
        {
            let overview = self.kyc_overview(merchant_id).await?;
            if !overview.editable() {
                return Err(not_editable(overview.merchant.status));
            }
            if overview.documents.len() as i64 >= KYC_DOCUMENT_CAP {
                return Err(document_cap_error());
            }
        }
        // The bytes go first, outside the write lock; a refused insert removes them again.
        blobs.put(&row.storage_key, bytes).await?;
        match self.insert_kyc_document(merchant_id, &row).await {
            Ok(()) => {
                tracing::info!(merchant_id = %merchant_id, upload_id = %row.id, "KYC document added");
                Ok(row)
            }
            Err(e) => {
                if let Err(cleanup) = blobs.delete(&row.storage_key).await {
                    tracing::warn!(error = %cleanup, key = %row.storage_key, "cannot remove a refused upload");
                }
                Err(e)
            }
        }
    }

    async fn insert_kyc_document(
        &self,
        merchant_id: &MerchantId,
        row: &UploadRow,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        lock_editable(&mut tx, merchant_id).await?;
        let n = uploads::count_for_parent(&mut tx, merchant_id, KYC_PARENT, merchant_id.as_str())
            .await?;
        if n >= KYC_DOCUMENT_CAP {
            return Err(document_cap_error());
        }
        uploads::insert(&mut tx, row).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Removes a KYC document (before submission or after a rejection).
    pub async fn delete_kyc_document<B: BlobStore>(
        &self,
        blobs: &B,
        merchant_id: &MerchantId,
        id: &UploadId,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        lock_editable(&mut tx, merchant_id).await?;
        let upload = uploads::find(&mut tx, merchant_id, id)
            .await?
            .filter(|u| u.parent_type == KYC_PARENT)
            .ok_or(AppError::NotFound("document"))?;
        uploads::delete(&mut tx, merchant_id, id).await?;
        commit(tx).await?;
        // The record is gone; a leftover object is only wasted space, so log and go on.
        if let Err(e) = blobs.delete(&upload.storage_key).await {
            tracing::warn!(error = %e, key = %upload.storage_key, "cannot remove a deleted upload's bytes");
        }
        tracing::info!(merchant_id = %merchant_id, upload_id = %id, "KYC document deleted");
        Ok(())
    }

    /// Sends the KYC for review: complete details and at least one document are required.
    pub async fn submit_kyc(&self, merchant_id: &MerchantId) -> Result<MerchantRow, AppError> {
        let mut tx = self.db.begin_write().await?;
        lock_editable(&mut tx, merchant_id).await?;
        let mut errors = ValidationErrors::new();
        match kyc::find(&mut tx, merchant_id).await? {
            Some(p) => {
                if let Err(e) =
                    parse_kyc(merchant_id, &KycInput::from_profile(&p), Timestamp::now())
                {
                    errors.0.extend(e.0);
                }
            }
            None => errors.push(FieldError::new(
                "profile",
                "fill in and save the business details first",
            )),
        }
        if uploads::count_for_parent(&mut tx, merchant_id, KYC_PARENT, merchant_id.as_str()).await?
            < 1
        {
            errors.push(FieldError::new("documents", "upload at least one document"));
        }
        errors.into_result()?;
        let now = Timestamp::now();
        kyc::mark_submitted(&mut tx, merchant_id, now).await?;
        accounts::set_merchant_status(
            &mut tx,
            merchant_id,
            &[MerchantStatus::PendingKyc, MerchantStatus::Rejected],
            MerchantStatus::KycSubmitted,
            None,
            now,
        )
        .await?;
        crate::accounts::notify_in(
            &mut tx,
            merchant_id,
            "kyc_submitted",
            "KYC submitted",
            "Your business details and documents were sent for review. You will be notified \
             here when the operator approves or rejects them.",
        )
        .await?;
        let merchant = accounts::find_merchant(&mut tx, merchant_id)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, "KYC submitted");
        Ok(merchant)
    }
}

fn document_cap_error() -> AppError {
    AppError::LimitReached(format!(
        "at most {KYC_DOCUMENT_CAP} KYC documents; delete one before adding another"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> KycInput {
        KycInput {
            legal_name: "Acme Bakery Ltd".into(),
            business_type: "company".into(),
            registration_number: "".into(),
            tax_id: "GB123".into(),
            website: "https://acme.example".into(),
            phone: "+44 20 7946 0958".into(),
            address_line: "1 High Street".into(),
            city: "London".into(),
            postal_code: "ec1a 1bb".into(),
            country: "gb".into(),
            contact_person: "Ada Baker".into(),
        }
    }

    #[test]
    fn a_complete_form_parses_and_normalises() {
        let p = parse_kyc(&MerchantId::new(), &valid(), Timestamp::now()).unwrap();
        assert_eq!(p.country, "GB");
        assert_eq!(p.postal_code, "EC1A 1BB");
        assert_eq!(p.registration_number, None);
        assert_eq!(p.tax_id.as_deref(), Some("GB123"));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let input = KycInput {
            phone: "call me".into(),
            country: "XX".into(),
            website: "not a url".into(),
            business_type: "empire".into(),
            ..KycInput::default()
        };
        let e = parse_kyc(&MerchantId::new(), &input, Timestamp::now()).unwrap_err();
        for f in [
            "legal_name",
            "business_type",
            "website",
            "phone",
            "address_line",
            "city",
            "postal_code",
            "country",
            "contact_person",
        ] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
        assert!(e.for_field("tax_id").is_none());
    }

    #[test]
    fn countries_are_iso_alpha_2() {
        assert!(parse_country("us").is_ok());
        assert!(parse_country("UK").is_err());
        assert!(parse_country("USA").is_err());
    }
}

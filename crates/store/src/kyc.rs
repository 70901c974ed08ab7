//! KYC profiles: the business details a merchant submits for review.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::MerchantId;

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycProfileRow {
    pub merchant_id: MerchantId,
    pub legal_name: String,
    pub business_type: String,
    pub registration_number: Option<String>,
    pub tax_id: Option<String>,
    pub website: Option<String>,
    pub phone: String,
    pub address_line: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub contact_person: String,
    pub submitted_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "merchant_id, legal_name, business_type, registration_number, tax_id, website, \
                       phone, address_line, city, postal_code, country, contact_person, submitted_at, updated_at";

fn from_row(row: &crate::DbRow) -> Result<KycProfileRow, StoreError> {
    Ok(KycProfileRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        legal_name: row.try_get("legal_name")?,
        business_type: row.try_get("business_type")?,
        registration_number: row.try_get("registration_number")?,
        tax_id: row.try_get("tax_id")?,
        website: row.try_get("website")?,
        phone: row.try_get("phone")?,
        address_line: row.try_get("address_line")?,
        city: row.try_get("city")?,
        postal_code: row.try_get("postal_code")?,
        country: row.try_get("country")?,
        contact_person: row.try_get("contact_person")?,
        submitted_at: row.try_get::<Option<Timestamp>>("submitted_at")?,
        updated_at: row.try_get::<Timestamp>("updated_at")?,
    })
}

pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
) -> Result<Option<KycProfileRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM kyc_profiles WHERE merchant_id = $1");
    let row = crate::query(&sql)
        .bind(merchant_id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes the profile's details, keeping `submitted_at` as it was.
pub async fn upsert(conn: &mut Conn, p: &KycProfileRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO kyc_profiles (merchant_id, legal_name, business_type, registration_number, tax_id, \
         website, phone, address_line, city, postal_code, country, contact_person, submitted_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13) \
         ON CONFLICT (merchant_id) DO UPDATE SET legal_name = $2, business_type = $3, \
         registration_number = $4, tax_id = $5, website = $6, phone = $7, address_line = $8, \
         city = $9, postal_code = $10, country = $11, contact_person = $12, updated_at = $13",
    )
    .bind(p.merchant_id.as_str())
    .bind(&p.legal_name)
    .bind(&p.business_type)
    .bind(p.registration_number.as_deref())
    .bind(p.tax_id.as_deref())
    .bind(p.website.as_deref())
    .bind(&p.phone)
    .bind(&p.address_line)
    .bind(&p.city)
    .bind(&p.postal_code)
    .bind(&p.country)
    .bind(&p.contact_person)
    .bind(p.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_submitted(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query("UPDATE kyc_profiles SET submitted_at = $2 WHERE merchant_id = $1")
        .bind(merchant_id.as_str())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

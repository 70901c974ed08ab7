//! Currencies: created by the operator, listed by merchants.

use punchcard_domain::currency::{CoinsPerUnit, CurrencyCode};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{accounts::parse_label, CurrencyId, MerchantId, ValidationErrors};
use punchcard_store::currencies::{self, CurrencyRow};
use punchcard_store::{accounts, commit};

use crate::{App, AppError};

impl App {
    pub async fn create_currency(
        &self,
        merchant_id: &MerchantId,
        code: &str,
        name: &str,
        coins_per_unit: &str,
    ) -> Result<CurrencyRow, AppError> {
        let mut errors = ValidationErrors::new();
        let code = errors.check(CurrencyCode::parse(code));
        let name = errors.check(parse_label("name", name, 64));
        let cpu = errors.check(CoinsPerUnit::parse(coins_per_unit));
        errors.into_result()?;
        let (code, name, cpu) = (
            code.expect("checked"),
            name.expect("checked"),
            cpu.expect("checked"),
        );
        let mut tx = self.db.begin_write().await?;
        accounts::find_merchant(&mut tx, merchant_id)
            .await?
            .ok_or(AppError::NotFound("merchant"))?;
        let row = CurrencyRow {
            merchant_id: merchant_id.clone(),
            id: CurrencyId::new(),
            code: code.as_str().to_string(),
            name,
            coins_per_unit: cpu,
            created_at: Timestamp::now(),
        };
        currencies::insert(&mut tx, &row).await?;
        commit(tx).await?;
        Ok(row)
    }

    /// One page of a merchant's currencies (shared by both environments).
    pub async fn list_currencies(
        &self,
        merchant_id: &MerchantId,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CurrencyRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(currencies::list(&mut conn, merchant_id, after, limit).await?)
    }
}

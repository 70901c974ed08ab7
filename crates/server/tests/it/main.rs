//! The server's integration tests, in one binary (one link of the whole server instead of one
//! per file): a module per area, sharing the harness in `common` and the headless browser in
//! `browser_support`.

#[macro_use]
mod common;
mod browser_support;

mod access_control;
mod allowed_ips;
mod api_foundation;
mod api_keys_dashboard;
mod browser;
mod callbacks;
mod campaigns;
mod campaigns_dashboard;
mod catalog;
mod catalog_browser;
mod catalog_dashboard;
mod contract;
mod coupons;
mod coupons_dashboard;
mod dashboard_auth;
mod exports;
mod hardening;
mod input_hardening;
mod isolation;
mod kyc;
mod ledger;
mod ledger_dashboard;
mod ledger_writer;
mod member_page;
mod members;
mod messages;
mod openapi;
mod operations;
mod operator;
mod partner;
mod partner_browser;
mod passwords;
mod schema;
mod stats;
mod storage_s3;
mod store_conflicts;
mod surprises;
mod swaps;
mod swaps_browser;
mod tasks;
mod upgrade;
mod vouchers;
mod webhooks;

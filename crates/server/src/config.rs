//! Server configuration: flags, then environment variables, then defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

/// Configuration of `punchcard serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        env = "PUNCHCARD_DATABASE_URL",
        default_value = "sqlite://punchcard.db"
    )]
    pub database_url: String,

    /// Address and port to listen on.
    #[arg(long, env = "PUNCHCARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Public URL of this server, used in emails and links [default: http://<listen>].
    #[arg(long, env = "PUNCHCARD_BASE_URL")]
    pub base_url: Option<String>,

    /// SMTP server for outgoing mail, e.g. smtp://user:pass@mail.example.com:587 (STARTTLS),
    /// smtps://… (implicit TLS) or smtp://127.0.0.1:2525?tls=none. Unset: mail is logged and
    /// written as files under the mail directory.
    #[arg(long, env = "PUNCHCARD_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// Sender address of outgoing mail.
    #[arg(
        long,
        env = "PUNCHCARD_MAIL_FROM",
        default_value = "Punchcard <no-reply@punchcard.localhost>"
    )]
    pub mail_from: String,

    /// Where mail is written when no SMTP server is set.
    #[arg(long, env = "PUNCHCARD_MAIL_DIR", default_value = "./mail")]
    pub mail_dir: PathBuf,

    /// The operator's address: told when a merchant submits KYC. Unset: no such mail.
    #[arg(long, env = "PUNCHCARD_OPERATOR_EMAIL", value_parser = parse_email)]
    pub operator_email: Option<String>,

    /// Redis URL for rate limits and throttles shared by several servers. Unset: in process.
    #[arg(long, env = "PUNCHCARD_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Where uploads are stored: file://DIR or s3://BUCKET (AWS_* variables configure S3).
    #[arg(
        long,
        env = "PUNCHCARD_STORAGE_URL",
        default_value = "file://./uploads"
    )]
    pub storage_url: String,

    /// Comma-separated proxy addresses or CIDRs whose X-Forwarded-For is trusted. Unset: ignored.
    #[arg(long, env = "PUNCHCARD_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<IpNet>,

    /// Accept callback URLs that point at private or loopback addresses.
    #[arg(long, env = "PUNCHCARD_ALLOW_PRIVATE_CALLBACKS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allow_private_callbacks: bool,

    /// Seconds a callback URL may take to approve an action (decimals allowed, e.g. 0.5);
    /// slower answers reject the action.
    #[arg(long, env = "PUNCHCARD_CALLBACK_TIMEOUT", default_value = "5", value_parser = parse_timeout)]
    pub callback_timeout: Duration,

    /// Seconds between looks for due background jobs (webhook deliveries …), decimals allowed.
    #[arg(long, env = "PUNCHCARD_JOB_POLL_INTERVAL", default_value = "1", value_parser = parse_timeout)]
    pub job_poll_interval: Duration,

    /// Seconds a webhook delivery waits after its first failure (decimals allowed); the wait
    /// doubles with each failure, and deliveries are retried for 24 hours.
    #[arg(long, env = "PUNCHCARD_WEBHOOK_RETRY_BASE", default_value = "30", value_parser = parse_timeout)]
    pub webhook_retry_base: Duration,

    /// Days a webhook delivery that was delivered or given up stays in the delivery log (and a
    /// failed background job in the queue) before housekeeping deletes it; pending deliveries
    /// are kept until they end.
    #[arg(long, env = "PUNCHCARD_WEBHOOK_RETENTION_DAYS", default_value = "30", value_parser = parse_days)]
    pub webhook_retention: Duration,

    /// Log format: `text` or `json`.
    #[arg(long, env = "PUNCHCARD_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    s.parse::<IpNet>()
        .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))
}

/// An email address (empty: none, as if unset).
fn parse_email(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Ok(String::new());
    }
    punchcard_domain::accounts::Email::parse(s)
        .map(|e| e.as_str().to_string())
        .map_err(|e| format!("`{s}` is not an email address: {e}"))
}

/// Seconds, decimals allowed: more than 0 and at most 60 (a callback holds the API request open).
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 60.0) {
        return Err(format!("`{s}` must be more than 0 and at most 60 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Whole days, at least 1 and at most 3650.
fn parse_days(s: &str) -> Result<Duration, String> {
    let days: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number of days"))?;
    if !(1..=3650).contains(&days) {
        return Err(format!("`{s}` must be at least 1 and at most 3650 days"));
    }
    Ok(Duration::from_secs(days * 24 * 60 * 60))
}

impl Config {
    /// A configuration with every default, for tests and tools.
    pub fn with_database(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_string(),
            listen: "127.0.0.1:0".parse().expect("valid address"),
            base_url: None,
            smtp_url: None,
            mail_from: "Punchcard <no-reply@punchcard.localhost>".to_string(),
            mail_dir: PathBuf::from("./mail"),
            operator_email: None,
            redis_url: None,
            storage_url: "file://./uploads".to_string(),
            trusted_proxies: Vec::new(),
            allow_private_callbacks: false,
            callback_timeout: punchcard_app::callbacks::DEFAULT_TIMEOUT,
            job_poll_interval: Duration::from_secs(1),
            webhook_retry_base: Duration::from_secs(30),
            webhook_retention: punchcard_app::webhooks::DEFAULT_RETENTION,
            log_format: "text".to_string(),
        }
    }

    /// The public base URL, without a trailing slash.
    pub fn base_url(&self, bound: SocketAddr) -> String {
        match &self.base_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_emails_are_addresses() {
        assert_eq!(parse_email(" Ops@Example.com ").unwrap(), "ops@example.com");
        assert_eq!(parse_email("").unwrap(), "");
        assert!(parse_email("not an address").is_err());
    }

    #[test]
    fn retention_is_whole_days() {
        assert_eq!(parse_days("30"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_days(" 1 "), Ok(Duration::from_secs(86_400)));
        for bad in ["0", "-1", "3651", "1.5", "a month", ""] {
            assert!(parse_days(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn callback_timeouts_are_seconds() {
        assert_eq!(parse_timeout("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout(" 1.25 "), Ok(Duration::from_millis(1250)));
        for bad in ["0", "-1", "61", "NaN", "inf", "soon", ""] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }
}

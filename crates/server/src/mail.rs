//! Outgoing email: over SMTP when `PUNCHCARD_SMTP_URL` is set, otherwise written as `.eml`
//! files under `PUNCHCARD_MAIL_DIR` (and logged by recipient and subject, never by body).
//!
//! SMTP URLs: `smtp://host:port` upgrades with STARTTLS when the server offers it,
//! `smtp://…?tls=required` insists on it, `smtp://…?tls=none` stays in plain text (a local
//! relay or a test server), `smtps://host:port` speaks TLS from the first byte. Credentials
//! come from the URL (`smtp://user:password@host`). File names start with the time, so
//! `ls` lists the messages in the order they were sent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use punchcard_domain::time::Timestamp;

/// One plain-text message.
#[derive(Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for Mail {
    // The body may hold a one-time code: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail configuration: {0}")]
    Config(String),
    #[error("invalid address {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
    #[error("cannot write the message file: {0}")]
    File(#[from] std::io::Error),
}

/// Sends mail; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Arc<Transport>,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.transport {
            Transport::Smtp(_) => f.write_str("Mailer(smtp)"),
            Transport::Files(dir) => write!(f, "Mailer(files in {})", dir.display()),
        }
    }
}

/// Turns our SMTP URL into the form lettre reads (it has no `tls=none`; plain is its default).
fn lettre_url(url: &str) -> Result<String, MailError> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| MailError::Config(format!("SMTP URL: {e}")))?;
    let tls: Option<String> = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let others: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "tls")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let tls = match (parsed.scheme(), tls.as_deref()) {
        ("smtp", None | Some("opportunistic")) => Some("opportunistic"),
        ("smtp", Some("required")) => Some("required"),
        ("smtp", Some("none")) => None,
        ("smtps", None) => None,
        (scheme, tls) => {
            return Err(MailError::Config(format!(
                "unsupported SMTP URL (scheme `{scheme}`, tls {tls:?}): use smtp://host:port \
                 [?tls=none|required] or smtps://host:port"
            )))
        }
    };
    parsed.set_query(None);
    {
        let mut q = parsed.query_pairs_mut();
        for (k, v) in &others {
            q.append_pair(k, v);
        }
        if let Some(t) = tls {
            q.append_pair("tls", t);
        }
    }
    let mut s = parsed.to_string();
    if s.ends_with('?') {
        s.pop();
    }
    Ok(s)
}

impl Mailer {
    /// The mailer the configuration names.
    pub fn from_config(
        smtp_url: Option<&str>,
        from: &str,
        mail_dir: &Path,
    ) -> Result<Self, MailError> {
        match smtp_url.map(str::trim).filter(|s| !s.is_empty()) {
            Some(url) => Self::smtp(url, from),
            None => Self::files(mail_dir, from),
        }
    }

    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(url)?)
            .map_err(|e| MailError::Config(format!("SMTP URL: {e}")))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        Ok(Self {
            from: from
                .parse()
                .map_err(|_| MailError::Address(from.to_string()))?,
            transport: Arc::new(Transport::Smtp(transport)),
        })
    }

    pub fn files(dir: &Path, from: &str) -> Result<Self, MailError> {
        Ok(Self {
            from: from
                .parse()
                .map_err(|_| MailError::Address(from.to_string()))?,
            transport: Arc::new(Transport::Files(dir.to_path_buf())),
        })
    }

    fn message(&self, mail: &Mail) -> Result<Message, MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| MailError::Address(mail.to.clone()))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(readable_body(&mail.body))
            .map_err(|e| MailError::Build(e.to_string()))
    }

    /// Sends (or writes) one message.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = self.message(mail)?;
        match &*self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .map_err(|e| MailError::Smtp(e.to_string()))?;
                tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
            }
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let stamp: String = Timestamp::now()
                    .to_db()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                    .collect();
                let name = format!(
                    "{stamp}-{}.eml",
                    ulid::Ulid::new().to_string().to_ascii_lowercase()
                );
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted()).await?;
                tracing::info!(to = %mail.to, subject = %mail.subject, file = %path.display(), "mail written");
            }
        }
        Ok(())
    }
}

/// Plain 8-bit text, so links and codes stay whole and readable (quoted-printable would wrap
/// long links with soft breaks). Lines stay far below SMTP's 998-byte limit; anything longer
/// falls back to lettre's own choice of encoding.
fn readable_body(body: &str) -> lettre::message::Body {
    use lettre::message::header::ContentTransferEncoding;
    use lettre::message::Body;
    let normalized = body.replace("\r\n", "\n");
    if normalized.lines().any(|l| l.len() > 900) {
        return Body::new(body.to_string());
    }
    let crlf = normalized.replace('\n', "\r\n");
    Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit)
}

#[derive(Template)]
#[template(path = "mail/sign_up_code.txt")]
struct SignUpCode<'a> {
    code: &'a str,
    base_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/sign_in_code.txt")]
struct SignInCode<'a> {
    code: &'a str,
    base_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/sign_up_existing.txt")]
struct SignUpExisting<'a> {
    base_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/member_link.txt")]
struct MemberLink<'a> {
    merchant_name: &'a str,
    name: &'a str,
    url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
struct PasswordReset<'a> {
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password_changed.txt")]
struct PasswordChanged<'a> {
    when: &'a str,
    base_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/login_alert.txt")]
struct LoginAlert<'a> {
    merchant_name: &'a str,
    when: &'a str,
    ip: &'a str,
    user_agent: &'a str,
    base_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/kyc_submitted.txt")]
struct KycSubmitted<'a> {
    merchant_name: &'a str,
    merchant_id: &'a str,
    documents: usize,
    base_url: &'a str,
}

fn render(t: &impl Template) -> Result<String, MailError> {
    t.render().map_err(|e| MailError::Build(e.to_string()))
}

impl Mail {
    pub fn sign_up_code(to: &str, code: &str, base_url: &str) -> Result<Self, MailError> {
        Ok(Self {
            to: to.to_string(),
            subject: "Your Punchcard sign-up code".to_string(),
            body: render(&SignUpCode { code, base_url })?,
        })
    }

    pub fn sign_in_code(to: &str, code: &str, base_url: &str) -> Result<Self, MailError> {
        Ok(Self {
            to: to.to_string(),
            subject: "Your Punchcard sign-in code".to_string(),
            body: render(&SignInCode { code, base_url })?,
        })
    }

    /// Sent instead of a code when someone signs up with an address that has an account.
    pub fn sign_up_existing(to: &str, base_url: &str) -> Result<Self, MailError> {
        Ok(Self {
            to: to.to_string(),
            subject: "Someone tried to sign up with your email".to_string(),
            body: render(&SignUpExisting { base_url })?,
        })
    }

    /// A lead's member-page link, from the merchant.
    pub fn member_link(
        to: &str,
        merchant_name: &str,
        name: &str,
        url: &str,
    ) -> Result<Self, MailError> {
        Ok(Self {
            to: to.to_string(),
            subject: format!("Your {merchant_name} card"),
            body: render(&MemberLink {
                merchant_name,
                name,
                url,
            })?,
        })
    }

    /// A link to choose a new password (sent only to addresses that have an account).
    pub fn password_reset(to: &str, link: &str, expires: Timestamp) -> Result<Self, MailError> {
        let expires = expires.to_rfc3339();
        Ok(Self {
            to: to.to_string(),
            subject: "Reset your Punchcard password".to_string(),
            body: render(&PasswordReset {
                link,
                expires: &expires,
            })?,
        })
    }

    /// Tells the member that their password changed, in case it was not them.
    pub fn password_changed(to: &str, when: Timestamp, base_url: &str) -> Result<Self, MailError> {
        let when = when.to_rfc3339();
        Ok(Self {
            to: to.to_string(),
            subject: "Your Punchcard password was changed".to_string(),
            body: render(&PasswordChanged {
                when: &when,
                base_url,
            })?,
        })
    }

    /// Tells the operator that a merchant's KYC awaits review.
    pub fn kyc_submitted(
        to: &str,
        merchant_name: &str,
        merchant_id: &str,
        documents: usize,
        base_url: &str,
    ) -> Result<Self, MailError> {
        Ok(Self {
            to: to.to_string(),
            subject: format!("KYC to review: {merchant_name}"),
            body: render(&KycSubmitted {
                merchant_name,
                merchant_id,
                documents,
                base_url,
            })?,
        })
    }

    pub fn login_alert(
        to: &str,
        merchant_name: &str,
        when: Timestamp,
        ip: &str,
        user_agent: &str,
        base_url: &str,
    ) -> Result<Self, MailError> {
        let when = when.to_rfc3339();
        Ok(Self {
            to: to.to_string(),
            subject: "New sign-in to your Punchcard account".to_string(),
            body: render(&LoginAlert {
                merchant_name,
                when: &when,
                ip,
                user_agent: if user_agent.is_empty() {
                    "unknown"
                } else {
                    user_agent
                },
                base_url,
            })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    // The SMTP pool starts a task when built, so this needs a runtime.
    #[tokio::test]
    async fn smtp_urls() {
        assert_eq!(
            lettre_url("smtp://mail.example.com:587").unwrap(),
            "smtp://mail.example.com:587?tls=opportunistic"
        );
        assert_eq!(
            lettre_url("smtp://127.0.0.1:2525?tls=none").unwrap(),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(
            lettre_url("smtp://u:p@h:25?tls=required").unwrap(),
            "smtp://u:p@h:25?tls=required"
        );
        assert_eq!(lettre_url("smtps://u:p@h").unwrap(), "smtps://u:p@h");
        assert!(lettre_url("http://h").is_err());
        assert!(lettre_url("smtp://h?tls=maybe").is_err());
        assert!(Mailer::smtp("smtp://127.0.0.1:2525?tls=none", "Punchcard <a@b.example>").is_ok());
    }

    #[tokio::test]
    async fn files_hold_headers_and_body() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::files(dir.path(), "Punchcard <no-reply@punchcard.example>").unwrap();
        mailer
            .send(&Mail::sign_up_code("a@example.com", "123456", "http://x").unwrap())
            .await
            .unwrap();
        mailer
            .send(&Mail::sign_up_existing("b@example.com", "http://x").unwrap())
            .await
            .unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2);
        assert!(names.iter().all(|n| n.ends_with(".eml")));
        let first = std::fs::read_to_string(dir.path().join(&names[0])).unwrap();
        assert!(first.contains("To: a@example.com"), "{first}");
        assert!(first.contains("Subject: Your Punchcard sign-up code"));
        assert!(first.contains("123456"));
        let second = std::fs::read_to_string(dir.path().join(&names[1])).unwrap();
        assert!(second.contains("To: b@example.com"));
        assert!(format!(
            "{:?}",
            Mail::sign_up_code("a@example.com", "123456", "x").unwrap()
        )
        .find("123456")
        .is_none());
    }

    /// A minimal SMTP receiver: accepts one message and hands back (recipients, data).
    async fn smtp_receiver() -> (u16, tokio::task::JoinHandle<(Vec<String>, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 test ESMTP\r\n").await.unwrap();
            let mut rcpts = Vec::new();
            let mut data = String::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                let upper = line.to_ascii_uppercase();
                if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    write
                        .write_all(b"250-test\r\n250 8BITMIME\r\n")
                        .await
                        .unwrap();
                } else if upper.starts_with("MAIL FROM") {
                    write.write_all(b"250 ok\r\n").await.unwrap();
                } else if upper.starts_with("RCPT TO") {
                    rcpts.push(line[8..].trim().to_string());
                    write.write_all(b"250 ok\r\n").await.unwrap();
                } else if upper == "DATA" {
                    write.write_all(b"354 go ahead\r\n").await.unwrap();
                    while let Some(l) = lines.next_line().await.unwrap() {
                        if l == "." {
                            break;
                        }
                        data.push_str(&l);
                        data.push('\n');
                    }
                    write.write_all(b"250 queued\r\n").await.unwrap();
                } else if upper.starts_with("QUIT") {
                    write.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                } else {
                    write.write_all(b"250 ok\r\n").await.unwrap();
                }
            }
            (rcpts, data)
        });
        (port, handle)
    }

    #[tokio::test]
    async fn smtp_delivers_to_a_real_smtp_server() {
        let (port, received) = smtp_receiver().await;
        let mailer = Mailer::smtp(
            &format!("smtp://127.0.0.1:{port}?tls=none"),
            "Punchcard <no-reply@punchcard.example>",
        )
        .unwrap();
        mailer
            .send(&Mail::sign_in_code("owner@example.com", "654321", "http://x").unwrap())
            .await
            .unwrap();
        drop(mailer);
        let (rcpts, data) = tokio::time::timeout(Duration::from_secs(20), received)
            .await
            .expect("message received in time")
            .unwrap();
        assert_eq!(rcpts, vec!["<owner@example.com>".to_string()]);
        assert!(data.contains("Subject: Your Punchcard sign-in code"));
        assert!(data.contains("654321"));
    }
}

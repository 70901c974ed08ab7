//! Surprises: a deal's coupon a lead claims on an occasion (a custom date, or the lead's
//! birthday), at most `count` times per occasion, "today" being the merchant's calendar day.

use crate::webhooks::{Event, EventObject, EventType};
use futures_util::future::BoxFuture;
use punchcard_domain::campaigns::{
    on_occasion, CalendarDate, CampaignKind, CampaignStatus, Occasion, TaskReward, MAX_COUNT,
};
use punchcard_domain::catalog::{parse_moment, parse_name, Schedule};
use punchcard_domain::ledger::parse_hash;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CampaignId, DealId, FieldError, LeadId, ValidationErrors};
use punchcard_store::campaigns::{self, CampaignRow, InteractionRow, Outcome};
use punchcard_store::leads::{self, LeadRow};
use punchcard_store::{catalog, Tx};

use super::tasks::Activity;
use super::{give_coupon, guard, positive, same_request, status_of, CampaignView};
use crate::api_keys::ApiPrincipal;
use crate::callbacks::{ActionKind, PendingAction};
use crate::input::field_id;
use crate::ledger::writer::LedgerWork;
use crate::ledger::{fingerprint, Scope};
use crate::{App, AppError};

/// A surprise as the merchant writes it; every field is checked by [`App::create_surprise`].
#[derive(Debug, Clone, Default)]
pub struct SurpriseDraft {
    pub name: String,
    /// `custom` or `lead_birthday`.
    pub occasion: String,
    /// The custom occasion's day, `YYYY-MM-DD`.
    pub date: Option<String>,
    pub count: Option<i64>,
    pub deal_id: String,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub paused: bool,
}

/// Changes to a surprise: `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct SurprisePatch {
    pub name: Option<String>,
    pub occasion: Option<String>,
    pub date: Option<Option<String>>,
    pub count: Option<i64>,
    pub deal_id: Option<String>,
    pub starts_at: Option<Option<String>>,
    pub ends_at: Option<Option<String>>,
    pub paused: Option<bool>,
}

/// A claim of a surprise by a lead, as the API sends it.
#[derive(Debug, Clone, Default)]
pub struct NewClaim {
    pub surprise_id: String,
    pub lead_id: String,
    pub hash: String,
}

struct CheckedSurprise {
    name: String,
    occasion: Occasion,
    date: Option<CalendarDate>,
    count: i64,
    deal_id: DealId,
    schedule: Schedule,
}

impl App {
    async fn check_surprise(
        &self,
        scope: &Scope,
        d: &SurpriseDraft,
    ) -> Result<CheckedSurprise, AppError> {
        let mut errors = ValidationErrors::new();
        let name = errors.check(parse_name(&d.name, 100));
        let occasion = errors.check(d.occasion.parse::<Occasion>());
        let date_text = d.date.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let date = match (occasion, date_text) {
            (Some(Occasion::Custom), Some(t)) => errors.check(CalendarDate::parse("date", t)),
            (Some(Occasion::Custom), None) => {
                errors.push(FieldError::new(
                    "date",
                    "is required for a custom occasion (YYYY-MM-DD)",
                ));
                None
            }
            (Some(Occasion::LeadBirthday), Some(_)) => {
                errors.push(FieldError::new(
                    "date",
                    "applies to a custom occasion only: a birthday is the lead's",
                ));
                None
            }
            _ => None,
        };
        let count = match d.count {
            None => {
                errors.push(FieldError::new(
                    "count",
                    "is required: the claims a lead may make per occasion",
                ));
                None
            }
            Some(c) => errors
                .check(positive("count", Some(c), MAX_COUNT))
                .flatten(),
        };
        let deal_id = errors.check(field_id::<DealId>("deal_id", &d.deal_id));
        let starts_at = errors.check(parse_moment(
            "starts_at",
            d.starts_at.as_deref().unwrap_or(""),
        ));
        let ends_at = errors.check(parse_moment("ends_at", d.ends_at.as_deref().unwrap_or("")));
        let schedule = match (starts_at, ends_at) {
            (Some(s), Some(e)) => errors.check(Schedule::new(s, e)),
            _ => None,
        };
        if let Some(deal) = &deal_id {
            let mut conn = self.db.conn().await?;
            if punchcard_store::coupons::deal_terms(
                &mut conn,
                &scope.merchant_id,
                scope.env,
                deal.as_str(),
            )
            .await?
            .is_none()
            {
                errors.push(FieldError::new("deal_id", "no such deal"));
            }
        }
        errors.into_result()?;
        Ok(CheckedSurprise {
            name: name.expect("checked"),
            occasion: occasion.expect("checked"),
            date,
            count: count.expect("checked"),
            deal_id: deal_id.expect("checked"),
            schedule: schedule.expect("checked"),
        })
    }

    /// Creates a surprise, switched on unless `paused` (then counted against the
    /// active-campaign cap).
    pub async fn create_surprise(
        &self,
        scope: &Scope,
        draft: &SurpriseDraft,
    ) -> Result<CampaignView, AppError> {
        let s = self.check_surprise(scope, draft).await?;
        let now = Timestamp::now();
        let row = CampaignRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: CampaignId::new(),
            kind: CampaignKind::Surprise,
            name: s.name,
            starts_at: s.schedule.starts_at,
            ends_at: s.schedule.ends_at,
            active: !draft.paused,
            max_per_lead: None,
            budget: None,
            budget_used: 0,
            direction: None,
            currency_id: None,
            points: None,
            rate: None,
            cap_max: None,
            reward: Some(TaskReward::Deal),
            count: Some(s.count),
            min_reward: None,
            max_reward: None,
            deal_id: Some(s.deal_id),
            period: None,
            occasion: Some(s.occasion),
            occasion_date: s.date,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let view = self.save_campaign(scope, row, None).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, campaign_id = %view.campaign.id, "surprise created");
        Ok(view)
    }

    pub async fn surprise(&self, scope: &Scope, id: &str) -> Result<CampaignView, AppError> {
        self.campaign_of_kind(scope, id, CampaignKind::Surprise)
            .await
    }

    /// Changes a surprise's fields; they are checked as a new surprise's are.
    pub async fn update_surprise(
        &self,
        scope: &Scope,
        id: &str,
        patch: SurprisePatch,
    ) -> Result<CampaignView, AppError> {
        let current = self.surprise(scope, id).await?.campaign;
        let c = &current;
        let occasion = patch
            .occasion
            .unwrap_or_else(|| c.occasion.map(|o| o.to_string()).unwrap_or_default());
        // Switching to a birthday drops the custom date unless one is sent.
        let date = match patch.date {
            Some(d) => d,
            None if occasion.trim() == Occasion::LeadBirthday.as_str() => None,
            None => c.occasion_date.map(|d| d.to_string()),
        };
        let draft = SurpriseDraft {
            name: patch.name.unwrap_or_else(|| c.name.clone()),
            occasion,
            date,
            count: patch.count.or(c.count),
            deal_id: patch.deal_id.unwrap_or_else(|| {
                c.deal_id
                    .as_ref()
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            }),
            starts_at: patch
                .starts_at
                .unwrap_or_else(|| c.starts_at.map(|t| t.to_rfc3339())),
            ends_at: patch
                .ends_at
                .unwrap_or_else(|| c.ends_at.map(|t| t.to_rfc3339())),
            paused: patch.paused.unwrap_or(!c.active),
        };
        let s = self.check_surprise(scope, &draft).await?;
        let row = CampaignRow {
            name: s.name,
            starts_at: s.schedule.starts_at,
            ends_at: s.schedule.ends_at,
            active: !draft.paused,
            count: Some(s.count),
            deal_id: Some(s.deal_id),
            occasion: Some(s.occasion),
            occasion_date: s.date,
            updated_at: Timestamp::now(),
            ..current.clone()
        };
        self.save_campaign(scope, row, Some(&current)).await
    }

    pub async fn delete_surprise(&self, scope: &Scope, id: &str) -> Result<(), AppError> {
        self.delete_campaign(scope, id, CampaignKind::Surprise)
            .await
    }

    /// A lead claims a surprise: on its occasion, a coupon of its deal in reward mode. Every
    /// claim on a surprise the key can see is an interaction, accepted or refused.
    pub async fn claim_surprise(
        &self,
        principal: &ApiPrincipal,
        new: &NewClaim,
    ) -> Result<Activity, AppError> {
        self.claim_surprise_by(Claimant::Key(principal), new).await
    }

    /// The lead claims a surprise from its member page (no API key: no callback consulted).
    pub async fn claim_surprise_as_member(
        &self,
        lead: &punchcard_store::leads::LeadRow,
        surprise_id: &str,
        hash: &str,
    ) -> Result<Activity, AppError> {
        let scope = Scope::new(&lead.merchant_id, lead.env);
        self.claim_surprise_by(
            Claimant::Member(&scope),
            &NewClaim {
                surprise_id: surprise_id.to_string(),
                lead_id: lead.id.to_string(),
                hash: hash.to_string(),
            },
        )
        .await
    }

    async fn claim_surprise_by(
        &self,
        claimant: Claimant<'_>,
        new: &NewClaim,
    ) -> Result<Activity, AppError> {
        let scope = claimant.scope();
        let surprise_id = field_id::<CampaignId>("surprise_id", &new.surprise_id)?;
        let surprise = {
            let mut conn = self.db.conn().await?;
            catalog::find::<CampaignRow>(&mut conn, &scope.merchant_id, scope.env, &surprise_id)
                .await?
                .filter(|c| c.kind == CampaignKind::Surprise)
                .ok_or_else(|| AppError::field("surprise_id", "no such surprise"))?
        };
        let mut lead_seen = None;
        let done =
            super::unpanicked(self.claim(claimant, &scope, &surprise, new, &mut lead_seen)).await;
        if let Err(e) = &done {
            let refused = InteractionRow {
                source_id: Some(claimant.source()),
                lead_id: lead_seen,
                ..InteractionRow::new(
                    &scope.merchant_id,
                    scope.env,
                    &surprise.id,
                    Outcome::Error,
                    Timestamp::now(),
                )
            };
            self.record_refusal(refused, e).await;
        }
        done
    }

    /// The surprises a lead can claim today in the merchant's time zone (live, on their
    /// occasion for this lead), each with the claims left on this occasion.
    pub async fn surprises_today(
        &self,
        lead: &punchcard_store::leads::LeadRow,
    ) -> Result<Vec<(CampaignView, i64)>, AppError> {
        let scope = Scope::new(&lead.merchant_id, lead.env);
        let live = self
            .list_campaigns(&scope, Some("surprise"), Some("live"), None, 100)
            .await?;
        let mut conn = self.db.conn().await?;
        let today = self
            .merchant_time_zone(&mut conn, &scope.merchant_id)
            .await?
            .date_at(Timestamp::now());
        let dob = lead
            .dob
            .as_deref()
            .and_then(|d| CalendarDate::parse("dob", d).ok())
            .map(|d| d.0);
        let key = CalendarDate(today).to_string();
        let mut out = Vec::new();
        for s in live {
            let c = &s.campaign;
            let occasion = c.occasion.unwrap_or(Occasion::Custom);
            if !on_occasion(occasion, c.occasion_date, dob, today) {
                continue;
            }
            let claimed =
                campaigns::awards_in_window(&mut conn, &scope.merchant_id, &c.id, &lead.id, &key)
                    .await?;
            let left = c.count.unwrap_or(1) - claimed;
            out.push((s, left.max(0)));
        }
        Ok(out)
    }

    async fn claim(
        &self,
        claimant: Claimant<'_>,
        scope: &Scope,
        surprise: &CampaignRow,
        new: &NewClaim,
        lead_seen: &mut Option<LeadId>,
    ) -> Result<Activity, AppError> {
        let mut errors = ValidationErrors::new();
        let hash = errors.check(parse_hash(&new.hash));
        let lead_id = errors.check(field_id::<LeadId>("lead_id", &new.lead_id));
        errors.into_result()?;
        let (hash, lead_id) = (hash.expect("checked"), lead_id.expect("checked"));
        let fp = fingerprint(&[lead_id.as_str()]);
        let replay = |done: InteractionRow| {
            same_request(done, &fp).map(|interaction| Activity {
                interaction,
                replayed: true,
            })
        };
        let mut conn = self.db.conn().await?;
        if let Some(done) = campaigns::find_award_by_hash(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            &surprise.id,
            &hash,
        )
        .await?
        {
            return replay(done);
        }
        let now = Timestamp::now();
        let current = status_of(surprise, false, now);
        if current != CampaignStatus::Live {
            return Err(super::not_live_kind(CampaignKind::Surprise, current));
        }
        let lead = leads::find(&mut conn, &scope.merchant_id, scope.env, lead_id.as_str())
            .await?
            .ok_or_else(|| AppError::field("lead_id", "no such lead"))?;
        *lead_seen = Some(lead.id.clone());
        let today = self
            .merchant_time_zone(&mut conn, &scope.merchant_id)
            .await?
            .date_at(now);
        let dob = lead
            .dob
            .as_deref()
            .and_then(|d| CalendarDate::parse("dob", d).ok())
            .map(|d| d.0);
        let occasion = surprise.occasion.unwrap_or(Occasion::Custom);
        if !on_occasion(occasion, surprise.occasion_date, dob, today) {
            return Err(AppError::NotOnOccasion(match occasion {
                Occasion::Custom => format!(
                    "the surprise's day is {}; today is {today} in the merchant's time zone",
                    surprise
                        .occasion_date
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                ),
                Occasion::LeadBirthday => {
                    "today is not the lead's birthday (or the lead has no date of birth)"
                        .to_string()
                }
            }));
        }
        // One occasion per day it falls on: this year's birthday, or the custom date.
        let occasion_key = CalendarDate(today).to_string();
        let count = surprise.count.unwrap_or(1);
        drop(conn);
        // An API key's callback approves the coupon first; the member page has no key.
        if let Claimant::Key(principal) = claimant {
            let action = PendingAction {
                lead_id: Some(lead.id.clone()),
                deal_id: surprise.deal_id.clone(),
                hash: Some(hash.clone()),
                mode: Some("reward".to_string()),
                ..PendingAction::new(ActionKind::Coupon, principal)
            };
            self.confirm_action(principal, &action).await?;
        }

        let route = lead.id.to_string();
        let work = ClaimWork {
            app: self.clone(),
            scope: scope.clone(),
            surprise: surprise.clone(),
            lead,
            source: claimant.source(),
            occasion_key,
            count,
            hash,
            fingerprint: fp,
        };
        // Through the ledger writer, with the lead's other changes.
        let activity = self.write_through_ledger(&route, work).await?;
        if !activity.replayed {
            tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, campaign_id = %surprise.id, lead_id = ?activity.interaction.lead_id, "surprise claimed");
        }
        Ok(activity)
    }

    /// Claims of surprises in id order, of one surprise or lead when asked.
    pub async fn list_surprise_activities(
        &self,
        scope: &Scope,
        surprise_id: Option<&str>,
        lead_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<InteractionRow>, AppError> {
        self.list_activities(
            scope,
            CampaignKind::Surprise,
            surprise_id,
            lead_id,
            after,
            limit,
        )
        .await
    }
}

/// Who claims a surprise: a merchant's system with an API key, or the lead on its member page.
#[derive(Clone, Copy)]
enum Claimant<'a> {
    Key(&'a ApiPrincipal),
    Member(&'a Scope),
}

/// The source an interaction names when the lead claimed on its member page.
pub const MEMBER_PAGE_SOURCE: &str = "member_page";

impl Claimant<'_> {
    fn scope(&self) -> Scope {
        match self {
            Claimant::Key(p) => Scope::from(*p),
            Claimant::Member(s) => (*s).clone(),
        }
    }

    fn source(&self) -> String {
        match self {
            Claimant::Key(p) => p.key_id.to_string(),
            Claimant::Member(_) => MEMBER_PAGE_SOURCE.to_string(),
        }
    }
}

/// A claim of a surprise, checked (and confirmed by the key's callback, if any), for the
/// ledger writer to write.
struct ClaimWork {
    app: App,
    scope: Scope,
    surprise: CampaignRow,
    lead: LeadRow,
    source: String,
    occasion_key: String,
    count: i64,
    hash: String,
    fingerprint: String,
}

impl LedgerWork for ClaimWork {
    type Output = Activity;

    fn apply<'t>(&'t self, tx: &'t mut Tx) -> BoxFuture<'t, Result<Activity, AppError>> {
        Box::pin(self.write(tx))
    }
}

impl ClaimWork {
    /// The claim's writes in `tx`: the guard, the per-occasion count, the coupon, the
    /// interaction and the events; an earlier claim of the hash is answered as a replay.
    async fn write(&self, tx: &mut Tx) -> Result<Activity, AppError> {
        let (app, scope, surprise, lead) = (&self.app, &self.scope, &self.surprise, &self.lead);
        let (hash, fp, occasion_key, count) = (
            &self.hash,
            &self.fingerprint,
            &self.occasion_key,
            self.count,
        );
        let now = Timestamp::now();
        if let Some(done) =
            campaigns::find_award_by_hash(tx, &scope.merchant_id, scope.env, &surprise.id, hash)
                .await?
        {
            return same_request(done, fp).map(|interaction| Activity {
                interaction,
                replayed: true,
            });
        }
        // Dates, switch and budget (in awards), holding the campaign's row until commit so
        // the count below sees every claim committed before.
        guard(tx, scope, surprise, false, 1, now).await?;
        let claimed = campaigns::awards_in_window(
            tx,
            &scope.merchant_id,
            &surprise.id,
            &lead.id,
            occasion_key,
        )
        .await?;
        if claimed >= count {
            return Err(AppError::LimitReached(format!(
                "this lead already claimed the surprise {count} time(s) on this occasion"
            )));
        }
        let coupon = give_coupon(tx, scope, surprise, lead, hash, fp, now).await?;
        let interaction = InteractionRow {
            source_id: Some(self.source.clone()),
            lead_id: Some(lead.id.clone()),
            hash: Some(hash.clone()),
            fingerprint: Some(fp.clone()),
            coupon_id: Some(coupon.id.to_string()),
            window_key: Some(occasion_key.clone()),
            ..InteractionRow::new(
                &scope.merchant_id,
                scope.env,
                &surprise.id,
                Outcome::Awarded,
                now,
            )
        };
        app.emit(
            tx,
            scope,
            &[
                Event::new(
                    EventType::SurpriseClaimed,
                    EventObject::SurpriseActivity(&interaction),
                ),
                Event::new(EventType::CouponIssued, EventObject::Coupon(&coupon)),
            ],
        )
        .await?;
        // A concurrent claim with the same hash that committed first refuses this row; the
        // writer then runs the claim again alone, which answers that one.
        campaigns::insert_interaction(tx, &interaction).await?;
        Ok(Activity {
            interaction,
            replayed: false,
        })
    }
}

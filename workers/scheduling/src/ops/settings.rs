//! The owner's settings (replaced whole, if nobody changed them meanwhile) and what the
//! business tells customers about itself.

use cita_shared::contracts::scheduling::{
    AssistantMode, BusinessInfo, DepositPolicy, FaqEntry, LocationInfo, Outcome, Reply,
    SchedulingError, Settings, UpdateBusinessInfoRequest, UpdateSettingsRequest,
};
use tokio_postgres::{Row, types::ToSql};
use uuid::Uuid;

use super::{Scheduler, writing};
use crate::{
    authz,
    error::Error,
    store::{Cached, Tx},
};

const MAX_REMINDERS: usize = 4;
/// A week, in minutes: the longest reminder offset, handoff and cutoff.
pub(super) const WEEK_MINUTES: u32 = 7 * 24 * 60;
/// The shortest wait for approval: an owner needs a moment to see the notice.
const MIN_HOLD_MINUTES: u32 = 5;
const MAX_FAQ: usize = 30;
/// The largest fixed deposit, in minor units (a million pesos).
const MAX_DEPOSIT_MINOR: i64 = 100_000_000;
const MAX_PAYMENT_METHODS: usize = 10;

pub async fn update_settings(
    scheduler: &Scheduler,
    request: UpdateSettingsRequest,
) -> Result<Reply, Error> {
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            authz::owner(tx, &request.actor).await?;
            let settings = checked(request.settings.clone())?;
            check_deposit(tx, org_id, settings.deposit).await?;
            let offsets: Vec<i32> = settings
                .reminder_offsets_minutes
                .iter()
                .map(|&m| m as i32)
                .collect();
            let review_after = settings.review_request_after_minutes.map(|m| m as i32);
            let row = tx
                .maybe_row(
                    &format!(
                        "UPDATE organizations SET reminder_offsets_minutes = $3,
                                review_request_after_minutes = $4, review_link = $5,
                                assistant_mode = $6, handoff_minutes = $7,
                                change_cutoff_minutes = $8, approval_required = $9,
                                hold_minutes = $10, deposit_kind = $11, deposit_value = $12,
                                no_show_forfeits = $13,
                                settings_version = settings_version + 1,
                                updated_at = now()
                         WHERE id = $1 AND settings_version = $2
                         RETURNING {SETTINGS_COLUMNS}"
                    ),
                    &[
                        &org_id,
                        &request.expected_version,
                        &offsets,
                        &review_after,
                        &settings.review_link,
                        &settings.assistant_mode.as_str(),
                        &(settings.handoff_minutes as i32),
                        &(settings.change_cutoff_minutes as i32),
                        &settings.approval_required,
                        &(settings.hold_minutes as i32),
                        &settings.deposit.columns().0,
                        &settings.deposit.columns().1,
                        &settings.no_show_forfeits,
                    ],
                )
                .await?;
            match row {
                Some(row) => {
                    let (settings, version) = settings_of(&row)?;
                    Ok(Outcome::Settings { settings, version })
                }
                None => {
                    let current: i64 = tx
                        .row(
                            "SELECT settings_version FROM organizations WHERE id = $1",
                            &[&org_id],
                        )
                        .await?
                        .get(0);
                    Err(Error::Rejected(SchedulingError::StaleVersion { current }))
                }
            }
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "update_settings", command)
        .await
}

/// The columns [`settings_of`] reads, in order.
pub const SETTINGS_COLUMNS: &str = "reminder_offsets_minutes, review_request_after_minutes, \
     review_link, assistant_mode, handoff_minutes, change_cutoff_minutes, settings_version, \
     approval_required, hold_minutes, deposit_kind, deposit_value, no_show_forfeits";

pub fn settings_of(row: &Row) -> Result<(Settings, i64), Error> {
    let minutes = |m: i32| u32::try_from(m).unwrap_or(0);
    let mode: String = row.get(3);
    Ok((
        Settings {
            reminder_offsets_minutes: row.get::<_, Vec<i32>>(0).into_iter().map(minutes).collect(),
            review_request_after_minutes: row.get::<_, Option<i32>>(1).map(minutes),
            review_link: row.get(2),
            assistant_mode: AssistantMode::parse(&mode)
                .ok_or_else(|| Error::Corrupt(format!("assistant mode {mode:?}")))?,
            handoff_minutes: minutes(row.get(4)),
            change_cutoff_minutes: minutes(row.get(5)),
            approval_required: row.get(7),
            hold_minutes: minutes(row.get(8)),
            deposit: DepositPolicy::from_columns(row.get(9), row.get(10))
                .ok_or_else(|| Error::Corrupt("a bad deposit policy".into()))?,
            no_show_forfeits: row.get(11),
        },
        row.get(6),
    ))
}

fn checked(mut settings: Settings) -> Result<Settings, Error> {
    let offsets = &mut settings.reminder_offsets_minutes;
    offsets.sort_unstable_by(|a, b| b.cmp(a));
    offsets.dedup();
    if offsets.len() > MAX_REMINDERS || offsets.iter().any(|&m| m == 0 || m > WEEK_MINUTES) {
        return Err(Error::invalid(format!(
            "up to {MAX_REMINDERS} reminders, each 1 to {WEEK_MINUTES} minutes before"
        )));
    }
    if settings
        .review_request_after_minutes
        .is_some_and(|m| m > WEEK_MINUTES)
    {
        return Err(Error::invalid(format!(
            "a review request goes at most {WEEK_MINUTES} minutes after the visit"
        )));
    }
    settings.review_link = settings
        .review_link
        .map(|link| link.trim().to_owned())
        .filter(|link| !link.is_empty());
    if let Some(link) = &settings.review_link
        && (!link.starts_with("https://")
            || link.len() > 500
            || link.len() <= "https://".len()
            || link.chars().any(char::is_whitespace))
    {
        return Err(Error::invalid(
            "the review link is an https:// address of at most 500 characters",
        ));
    }
    if !(1..=WEEK_MINUTES).contains(&settings.handoff_minutes) {
        return Err(Error::invalid(format!(
            "the handoff lasts 1 to {WEEK_MINUTES} minutes"
        )));
    }
    if settings.change_cutoff_minutes > WEEK_MINUTES {
        return Err(Error::invalid(format!(
            "the change cutoff is 0 to {WEEK_MINUTES} minutes"
        )));
    }
    if !(MIN_HOLD_MINUTES..=WEEK_MINUTES).contains(&settings.hold_minutes) {
        return Err(Error::invalid(format!(
            "a booking waits for approval {MIN_HOLD_MINUTES} to {WEEK_MINUTES} minutes"
        )));
    }
    Ok(settings)
}

/// A deposit policy of the business or one of its services: amounts in range, and
/// anything but none only with the business's Mercado Pago account connected.
pub(super) async fn check_deposit(
    tx: &Tx<'_>,
    organization_id: Uuid,
    policy: DepositPolicy,
) -> Result<(), Error> {
    match policy {
        DepositPolicy::None => return Ok(()),
        DepositPolicy::Fixed { amount_minor }
            if !(100..=MAX_DEPOSIT_MINOR).contains(&amount_minor) =>
        {
            return Err(Error::invalid(format!(
                "a fixed deposit is 100 to {MAX_DEPOSIT_MINOR} minor units"
            )));
        }
        DepositPolicy::Percent { percent } if !(1..=100).contains(&percent) => {
            return Err(Error::invalid("a deposit is 1 to 100 percent of the price"));
        }
        _ => {}
    }
    let connected = tx
        .maybe_row(
            "SELECT 1 FROM payment_accounts WHERE organization_id = $1",
            &[&organization_id],
        )
        .await?
        .is_some();
    if connected {
        Ok(())
    } else {
        Err(Error::invalid(
            "deposits need the business's Mercado Pago account connected first",
        ))
    }
}

pub async fn update_business_info(
    scheduler: &Scheduler,
    request: UpdateBusinessInfoRequest,
) -> Result<Reply, Error> {
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            authz::owner(tx, &request.actor).await?;
            let info = tidy(request.info.clone())?;
            // Checked before anything is written: a refusal is committed (it is remembered
            // under the key), so it must not leave half an update behind.
            let mut named: Vec<Uuid> = info.locations.iter().map(|l| l.id).collect();
            named.sort();
            named.dedup();
            if named.len() != info.locations.len() {
                return Err(Error::invalid("a location is named twice"));
            }
            let known: i64 = tx
                .row(
                    "SELECT count(*) FROM locations WHERE organization_id = $1 AND id = ANY($2)",
                    &[&org_id, &named],
                )
                .await?
                .get(0);
            if known != named.len() as i64 {
                return Err(Error::not_found("location"));
            }
            tx.run(
                "UPDATE organizations SET description = $2, payment_methods = $3, updated_at = now()
                 WHERE id = $1",
                &[&org_id, &info.description, &info.payment_methods],
            )
            .await?;
            for location in &info.locations {
                tx.run(
                    "UPDATE locations SET name = $3, address = $4, directions = $5
                     WHERE organization_id = $1 AND id = $2",
                    &[
                        &org_id,
                        &location.id,
                        &location.name,
                        &location.address,
                        &location.directions,
                    ],
                )
                .await?;
            }
            // Entries are few (at most MAX_FAQ): replaced whole, in the order given.
            tx.run(
                "DELETE FROM faq_entries WHERE organization_id = $1",
                &[&org_id],
            )
            .await?;
            for (position, entry) in info.faq.iter().enumerate() {
                tx.run(
                    "INSERT INTO faq_entries (organization_id, position, question, answer)
                     VALUES ($1, $2, $3, $4)",
                    &[&org_id, &(position as i32), &entry.question, &entry.answer],
                )
                .await?;
            }
            Ok(Outcome::Business {
                info: business_info(tx, org_id).await?,
            })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "update_business_info", command)
        .await
}

/// Trims every text, turns empty ones into none, and checks the limits.
fn tidy(info: BusinessInfo) -> Result<BusinessInfo, Error> {
    let optional = |text: Option<String>, limit: usize, what: &str| {
        let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        match text {
            Some(t) if t.chars().count() > limit => Err(Error::invalid(format!(
                "{what} has at most {limit} characters"
            ))),
            other => Ok(other),
        }
    };
    let required = |text: String, limit: usize, what: &str| {
        let text = text.trim().to_owned();
        if text.is_empty() || text.chars().count() > limit {
            Err(Error::invalid(format!(
                "{what} has 1 to {limit} characters"
            )))
        } else {
            Ok(text)
        }
    };
    if info.payment_methods.len() > MAX_PAYMENT_METHODS {
        return Err(Error::invalid(format!(
            "at most {MAX_PAYMENT_METHODS} payment methods"
        )));
    }
    if info.faq.len() > MAX_FAQ {
        return Err(Error::invalid(format!("at most {MAX_FAQ} questions")));
    }
    let mut payment_methods = Vec::new();
    for method in info.payment_methods {
        let method = required(method, 40, "a payment method")?;
        if !payment_methods.contains(&method) {
            payment_methods.push(method);
        }
    }
    Ok(BusinessInfo {
        description: optional(info.description, 2000, "the description")?,
        payment_methods,
        locations: info
            .locations
            .into_iter()
            .map(|l| {
                Ok(LocationInfo {
                    id: l.id,
                    name: required(l.name, 80, "a location's name")?,
                    address: optional(l.address, 300, "an address")?,
                    directions: optional(l.directions, 1000, "the directions")?,
                })
            })
            .collect::<Result<_, Error>>()?,
        faq: info
            .faq
            .into_iter()
            .map(|e| {
                Ok(FaqEntry {
                    question: required(e.question, 300, "a question")?,
                    answer: required(e.answer, 2000, "an answer")?,
                })
            })
            .collect::<Result<_, Error>>()?,
    })
}

/// The business's information as stored.
pub async fn business_info(tx: &Tx<'_>, org_id: Uuid) -> Result<BusinessInfo, Error> {
    let by_org: [&(dyn ToSql + Sync); 1] = [&org_id];
    let (org, locations, faq) = tokio::try_join!(
        tx.row(
            "SELECT description, payment_methods FROM organizations WHERE id = $1",
            &by_org,
        ),
        tx.rows(
            "SELECT id, name, address, directions FROM locations
             WHERE organization_id = $1 ORDER BY created_at, id",
            &by_org,
        ),
        tx.rows(
            "SELECT question, answer FROM faq_entries WHERE organization_id = $1 ORDER BY position",
            &by_org,
        ),
    )?;
    Ok(BusinessInfo {
        description: org.get(0),
        payment_methods: org.get(1),
        locations: locations
            .iter()
            .map(|r| LocationInfo {
                id: r.get(0),
                name: r.get(1),
                address: r.get(2),
                directions: r.get(3),
            })
            .collect(),
        faq: faq
            .iter()
            .map(|r| FaqEntry {
                question: r.get(0),
                answer: r.get(1),
            })
            .collect(),
    })
}

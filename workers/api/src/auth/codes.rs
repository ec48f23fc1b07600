//! One-time login codes sent over WhatsApp, as Meta's authentication template (a copy-code
//! button). Six digits, stored as an HMAC, ten minutes to live, burnt after five wrong
//! tries; only the newest code of a member counts.

use cita_shared::{
    contracts::outbound::{
        Command, Message, Outgoing, Parameter, Purpose, Template, TemplateButton,
    },
    whatsapp::phone,
};
use deadpool_postgres::Transaction;
use jiff::{SignedDuration, Timestamp};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::{
    limits,
    problem::{ApiError, ApiResult},
    secrets,
    state::AppState,
    tenant,
};

pub const CODE_TTL: SignedDuration = SignedDuration::from_mins(10);
pub const MAX_FAILED_ATTEMPTS: i16 = 5;
/// Meta's authentication template Cita registers for every business (copy-code button).
pub const TEMPLATE: &str = "cita_codigo_acceso";

/// A staff membership a phone number may log in to.
#[derive(Debug, Clone)]
pub struct Member {
    pub staff_id: Uuid,
    pub organization_id: Uuid,
    pub phone: String,
    pub locale: String,
}

/// `+` and 8–15 digits, the first not 0 (E.164); the digits as stored.
pub fn e164(typed: &str) -> ApiResult<String> {
    let digits = typed.strip_prefix('+').unwrap_or_default();
    match phone::normalize(digits) {
        Some(normal) if digits.bytes().all(|b| b.is_ascii_digit()) => Ok(normal),
        _ => Err(ApiError::Invalid(
            "phone must be E.164: '+', the country code and the number, digits only".into(),
        )),
    }
}

/// The membership a login with `phone` (and, with several, `organization` by slug) is for.
pub async fn member(
    state: &AppState,
    phone: &str,
    organization: Option<&str>,
) -> ApiResult<Option<Member>> {
    let client = state.db().await?;
    let rows = client
        .query(
            "SELECT m.staff_id, m.organization_id, m.slug, m.locale, m.phone FROM api_members($1) m",
            &[&phone::variants(phone)],
        )
        .await?;
    Ok(rows
        .iter()
        .find(|row| organization.is_none_or(|slug| row.get::<_, &str>(2) == slug))
        .map(|row| Member {
            staff_id: row.get(0),
            organization_id: row.get(1),
            locale: row.get(3),
            phone: row.get(4),
        }))
}

fn code_digests(state: &AppState, member: &Member, code: &str) -> Vec<Vec<u8>> {
    let value = format!("{}:{code}", member.staff_id);
    (0..state.keys.len())
        .map(|i| secrets::digest(&state.keys[i..], "login-code", &value))
        .collect()
}

/// Sends a new code to `member`'s WhatsApp, replacing any earlier one.
pub async fn send(state: &AppState, member: &Member) -> ApiResult<()> {
    let code = secrets::six_digits();
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::write(&mut client, member.organization_id).await?;
    tx.execute(
        "UPDATE login_codes SET spent_at = $2 WHERE staff_id = $1 AND spent_at IS NULL",
        &[&member.staff_id, &now],
    )
    .await?;
    tx.execute(
        "INSERT INTO login_codes (organization_id, staff_id, code_hash, expires_at) VALUES ($1, $2, $3, $4)",
        &[
            &member.organization_id,
            &member.staff_id,
            &code_digests(state, member, &code)[0],
            &(now + CODE_TTL),
        ],
    )
    .await?;
    tx.commit().await?;
    let command = Command::SendV1(Outgoing {
        command_id: Uuid::new_v4(),
        organization_id: member.organization_id,
        to: member.phone.clone(),
        conversation_id: None,
        purpose: Purpose::Notification,
        reply_to: None,
        message: Message::Template(Template {
            name: TEMPLATE.into(),
            language: cita_shared::spanish::template_language(&member.locale).into(),
            header: Vec::new(),
            body: vec![Parameter {
                name: None,
                text: code.clone(),
            }],
            buttons: vec![TemplateButton::Url {
                index: 0,
                text: code,
            }],
        }),
        fallback: None,
        author: None,
    });
    state.send(&command).await
}

/// Spends `member`'s current code if `code` is it; counts a wrong try otherwise. The
/// transaction is left open for the session the caller creates on success.
pub async fn check(
    state: &AppState,
    tx: &Transaction<'_>,
    member: &Member,
    code: &str,
    now: Timestamp,
) -> ApiResult<bool> {
    let row = tx
        .query_opt(
            "SELECT id, code_hash, expires_at, failed_attempts FROM login_codes
             WHERE staff_id = $1 AND spent_at IS NULL ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
            &[&member.staff_id],
        )
        .await?;
    let Some(row) = row else { return Ok(false) };
    let (id, stored, expires_at, failed): (Uuid, Vec<u8>, Timestamp, i16) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if expires_at <= now {
        return Ok(false);
    }
    let matches = code.len() == 6
        && code_digests(state, member, code)
            .iter()
            .any(|digest| bool::from(digest.ct_eq(&stored)));
    if matches {
        tx.execute(
            "UPDATE login_codes SET spent_at = $2 WHERE id = $1",
            &[&id, &now],
        )
        .await?;
    } else {
        let failed = failed + 1;
        let burnt = (failed >= MAX_FAILED_ATTEMPTS).then_some(now);
        tx.execute(
            "UPDATE login_codes SET failed_attempts = $2, spent_at = $3 WHERE id = $1",
            &[&id, &failed, &burnt],
        )
        .await?;
    }
    Ok(matches)
}

/// Per number and per address, so that neither one phone nor one client floods WhatsApp.
pub async fn limit_requests(state: &AppState, phone: &str, ip: &str) -> ApiResult<()> {
    let prefix = state.topology.name("login");
    limits::hit(
        &state.redis,
        &format!("{prefix}:code:phone:{phone}"),
        5,
        15 * 60,
    )
    .await?;
    limits::hit(&state.redis, &format!("{prefix}:code:ip:{ip}"), 30, 15 * 60).await
}

/// Guesses per number and per address, beyond the five per code.
pub async fn limit_guesses(state: &AppState, phone: &str, ip: &str) -> ApiResult<()> {
    let prefix = state.topology.name("login");
    limits::hit(
        &state.redis,
        &format!("{prefix}:login:phone:{phone}"),
        20,
        15 * 60,
    )
    .await?;
    limits::hit(
        &state.redis,
        &format!("{prefix}:login:ip:{ip}"),
        60,
        15 * 60,
    )
    .await
}

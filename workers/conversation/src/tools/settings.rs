//! The owner changes how the business works (reminders, review requests, assistant mode,
//! cutoff, approvals) and what customers are told about it (description, payment methods, address,
//! FAQ). Both are replaced whole by scheduling, so the tools read the current values,
//! change only what the owner named, and send the result under the version they read.

use cita_shared::{
    contracts::scheduling::{
        AssistantMode, BusinessInfo, DepositPolicy, FaqEntry, LocationInfo, Outcome, Request,
        Settings, UpdateBusinessInfoRequest, UpdateSettingsRequest,
    },
    db::Cached,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Call, ToolError, Toolbox, args,
    customer::{database, unexpected},
};

/// When review requests are switched on without saying when: two hours after the visit.
const DEFAULT_REVIEW_AFTER_MINUTES: u32 = 120;

pub async fn update_settings(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let (mut settings, version) = current_settings(toolbox, call.business.id).await?;
    let mut changed = false;
    if let Some(offsets) = input
        .get("reminder_offsets_minutes")
        .filter(|v| !v.is_null())
    {
        settings.reminder_offsets_minutes = offsets
            .as_array()
            .ok_or_else(|| ToolError::Invalid("reminder_offsets_minutes es una lista".into()))?
            .iter()
            .map(|m| minutes(m, "reminder_offsets_minutes"))
            .collect::<Result<_, _>>()?;
        changed = true;
    }
    match input.get("review_requests") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(false)) => {
            settings.review_request_after_minutes = None;
            changed = true;
        }
        Some(Value::Bool(true)) => {
            settings.review_request_after_minutes = settings
                .review_request_after_minutes
                .or(Some(DEFAULT_REVIEW_AFTER_MINUTES));
            changed = true;
        }
        Some(_) => return Err(ToolError::Invalid("review_requests es true o false".into())),
    }
    if let Some(after) = input
        .get("review_request_after_minutes")
        .filter(|v| !v.is_null())
    {
        settings.review_request_after_minutes =
            Some(minutes(after, "review_request_after_minutes")?);
        changed = true;
    }
    if let Some(link) = args::optional_text(input, "review_link")? {
        settings.review_link = Some(link.to_owned()).filter(|l| !l.trim().is_empty());
        changed = true;
    }
    if let Some(mode) = args::optional_text(input, "assistant_mode")? {
        settings.assistant_mode = AssistantMode::parse(mode).ok_or_else(|| {
            ToolError::Invalid("assistant_mode es ai, guided o ai_with_guided_fallback".into())
        })?;
        changed = true;
    }
    match input.get("no_show_forfeits") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(forfeits)) => {
            settings.no_show_forfeits = *forfeits;
            changed = true;
        }
        Some(_) => {
            return Err(ToolError::Invalid(
                "no_show_forfeits es true o false".into(),
            ));
        }
    }
    match input.get("approval_required") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(required)) => {
            settings.approval_required = *required;
            changed = true;
        }
        Some(_) => {
            return Err(ToolError::Invalid(
                "approval_required es true o false".into(),
            ));
        }
    }
    if let Some(deposit) = input.get("deposit").filter(|v| !v.is_null()) {
        settings.deposit = deposit_policy(deposit)?;
        changed = true;
    }
    for (key, field) in [
        ("change_cutoff_minutes", &mut settings.change_cutoff_minutes),
        ("handoff_minutes", &mut settings.handoff_minutes),
        ("hold_minutes", &mut settings.hold_minutes),
    ] {
        if let Some(value) = input.get(key).filter(|v| !v.is_null()) {
            *field = minutes(value, key)?;
            changed = true;
        }
    }
    if !changed {
        return Err(ToolError::Invalid("no dijiste qué cambiar".into()));
    }
    let outcome = toolbox
        .ask(Request::UpdateSettings(UpdateSettingsRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            expected_version: version,
            settings,
        }))
        .await?;
    let Outcome::Settings { settings, .. } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({"settings": {
        "reminder_offsets_minutes": settings.reminder_offsets_minutes,
        "review_requests": settings.review_request_after_minutes.is_some(),
        "review_request_after_minutes": settings.review_request_after_minutes,
        "review_link": settings.review_link,
        "assistant_mode": settings.assistant_mode.as_str(),
        "change_cutoff_minutes": settings.change_cutoff_minutes,
        "handoff_minutes": settings.handoff_minutes,
        "approval_required": settings.approval_required,
        "hold_minutes": settings.hold_minutes,
        "deposit": settings.deposit,
        "no_show_forfeits": settings.no_show_forfeits,
    }}))
}

/// `{"kind": "fixed", "amount": 100}` (pesos) or `{"kind": "percent", "percent": 30}`.
fn deposit_policy(input: &Value) -> Result<DepositPolicy, ToolError> {
    let invalid = || {
        ToolError::Invalid(
            "deposit es {kind: none}, {kind: fixed, amount: pesos} o {kind: percent, percent: 1 a 100}"
                .into(),
        )
    };
    match input["kind"].as_str() {
        Some("none") => Ok(DepositPolicy::None),
        Some("fixed") => input["amount"]
            .as_f64()
            .filter(|a| a.is_finite() && *a > 0.0)
            .map(|a| DepositPolicy::Fixed {
                amount_minor: (a * 100.0).round() as i64,
            })
            .ok_or_else(invalid),
        Some("percent") => input["percent"]
            .as_u64()
            .and_then(|p| u8::try_from(p).ok())
            .map(|percent| DepositPolicy::Percent { percent })
            .ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

fn minutes(value: &Value, key: &str) -> Result<u32, ToolError> {
    value
        .as_u64()
        .and_then(|m| u32::try_from(m).ok())
        .ok_or_else(|| ToolError::Invalid(format!("{key} va en minutos enteros")))
}

/// The settings as stored, with the version an update must name.
pub(crate) async fn current_settings(
    toolbox: &Toolbox,
    organization_id: Uuid,
) -> Result<(Settings, i64), ToolError> {
    let client = toolbox.pool.get().await.map_err(database)?;
    let row = client
        .row(
            "SELECT reminder_offsets_minutes, review_request_after_minutes, review_link,
                    assistant_mode, handoff_minutes, change_cutoff_minutes, settings_version,
                    approval_required, hold_minutes, deposit_kind, deposit_value, no_show_forfeits
             FROM organizations WHERE id = $1",
            &[&organization_id],
        )
        .await
        .map_err(database)?;
    let minutes = |m: i32| u32::try_from(m).unwrap_or(0);
    let mode: String = row.get(3);
    let settings = Settings {
        reminder_offsets_minutes: row.get::<_, Vec<i32>>(0).into_iter().map(minutes).collect(),
        review_request_after_minutes: row.get::<_, Option<i32>>(1).map(minutes),
        review_link: row.get(2),
        assistant_mode: AssistantMode::parse(&mode).ok_or_else(unexpected)?,
        handoff_minutes: minutes(row.get(4)),
        change_cutoff_minutes: minutes(row.get(5)),
        approval_required: row.get(7),
        hold_minutes: minutes(row.get(8)),
        deposit: DepositPolicy::from_columns(row.get(9), row.get(10)).ok_or_else(unexpected)?,
        no_show_forfeits: row.get(11),
    };
    Ok((settings, row.get(6)))
}

pub async fn update_business_info(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let mut info = current_info(toolbox, call.business.id).await?;
    let mut changed = false;
    if let Some(description) = args::optional_text(input, "description")? {
        info.description = Some(description.trim().to_owned()).filter(|d| !d.is_empty());
        changed = true;
    }
    if let Some(methods) = input.get("payment_methods").filter(|v| !v.is_null()) {
        info.payment_methods = methods
            .as_array()
            .and_then(|m| m.iter().map(|x| x.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| ToolError::Invalid("payment_methods es una lista de textos".into()))?;
        changed = true;
    }
    let address = args::optional_text(input, "address")?;
    let directions = args::optional_text(input, "directions")?;
    // Only the location being changed is sent; the others stay as they are.
    if address.is_some() || directions.is_some() {
        let wanted = args::optional_text(input, "location_name")?;
        let location = match wanted {
            None => info.locations.first(),
            Some(name) => info
                .locations
                .iter()
                .find(|l| l.name.trim().eq_ignore_ascii_case(name.trim())),
        }
        .cloned()
        .ok_or_else(|| ToolError::Invalid("no hay una sucursal con ese nombre".into()))?;
        let blank = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
        info.locations = vec![LocationInfo {
            address: address.map_or(location.address.clone(), blank),
            directions: directions.map_or(location.directions.clone(), blank),
            ..location
        }];
        changed = true;
    } else {
        info.locations.clear();
    }
    if let Some(entry) = input.get("add_faq").filter(|v| !v.is_null()) {
        let question = args::text(entry, "question")?.trim().to_owned();
        let answer = args::text(entry, "answer")?.trim().to_owned();
        match info
            .faq
            .iter_mut()
            .find(|f| same_question(&f.question, &question))
        {
            Some(existing) => existing.answer = answer,
            None => info.faq.push(FaqEntry { question, answer }),
        }
        changed = true;
    }
    if let Some(question) = args::optional_text(input, "remove_faq")? {
        let before = info.faq.len();
        info.faq.retain(|f| !same_question(&f.question, question));
        if info.faq.len() == before {
            return Err(ToolError::Invalid(
                "no hay una pregunta frecuente con ese texto".into(),
            ));
        }
        changed = true;
    }
    if !changed {
        return Err(ToolError::Invalid("no dijiste qué cambiar".into()));
    }
    let outcome = toolbox
        .ask(Request::UpdateBusinessInfo(UpdateBusinessInfoRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            info,
        }))
        .await?;
    let Outcome::Business { info } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({"business": {
        "description": info.description,
        "payment_methods": info.payment_methods,
        "locations": info.locations.iter().map(|l| json!({"name": l.name, "address": l.address, "directions": l.directions})).collect::<Vec<_>>(),
        "faq": info.faq.iter().map(|f| json!({"question": f.question, "answer": f.answer})).collect::<Vec<_>>(),
    }}))
}

fn same_question(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// The business's information as stored, every location and FAQ entry included.
pub(crate) async fn current_info(
    toolbox: &Toolbox,
    organization_id: Uuid,
) -> Result<BusinessInfo, ToolError> {
    let client = toolbox.pool.get().await.map_err(database)?;
    let org = client
        .row(
            "SELECT description, payment_methods FROM organizations WHERE id = $1",
            &[&organization_id],
        )
        .await
        .map_err(database)?;
    let locations = client
        .rows(
            "SELECT id, name, address, directions FROM locations
             WHERE organization_id = $1 ORDER BY created_at, id",
            &[&organization_id],
        )
        .await
        .map_err(database)?;
    let faq = client
        .rows(
            "SELECT question, answer FROM faq_entries WHERE organization_id = $1 ORDER BY position",
            &[&organization_id],
        )
        .await
        .map_err(database)?;
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

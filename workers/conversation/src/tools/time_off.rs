//! Whole days nobody can book (a closure, a holiday, someone's days off) and the list of
//! blocks and closures with their ids, so one can be taken away. Scheduling decides who
//! may close what: the business's days are the owner's, a member's own are theirs.

use cita_shared::{
    contracts::scheduling::{
        AddClosureRequest, Outcome, RemoveTimeOffRequest, Request, TimeOffKind,
    },
    db::Cached,
};
use jiff::{Timestamp, ToSpan, tz::TimeZone};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Call, ToolError, Toolbox, args,
    customer::{database, unexpected},
    local_iso, staff_member,
};
use crate::context::{Business, Persona};

/// The longest stretch listed at once.
const LIST_DAYS: i64 = 62;

pub async fn add_closure(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let own = super::staff::own_id(call)?;
    let business = call.business;
    let kind = match args::optional_text(input, "kind")?.unwrap_or("closure") {
        "closure" => TimeOffKind::Closure,
        "holiday" => TimeOffKind::Holiday,
        "time_off" => TimeOffKind::TimeOff,
        _ => {
            return Err(ToolError::Invalid(
                "kind debe ser closure, holiday o time_off".into(),
            ));
        }
    };
    // Days off are someone's; a closure or holiday without a person is the business's.
    let staff_id = match staff_member(business, input, "staff_id")? {
        Some(id) => Some(id),
        None if kind == TimeOffKind::TimeOff => Some(own),
        None => None,
    };
    let from = args::date(input, "date_from")?;
    let to = args::optional_date(input, "date_to")?.unwrap_or(from);
    let outcome = toolbox
        .ask(Request::AddClosure(AddClosureRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            staff_id,
            kind,
            from,
            to,
            reason: args::optional_text(input, "reason")?.map(str::to_owned),
        }))
        .await?;
    let Outcome::TimeOff {
        time_off,
        live_appointments,
    } = outcome
    else {
        return Err(unexpected());
    };
    let mut result = json!({"closed": {
        "time_off_id": time_off.id,
        "kind": time_off.kind.as_str(),
        "who": who(business, time_off.staff_id),
        "date_from": from.to_string(),
        "date_to": to.to_string(),
    }});
    if live_appointments > 0 {
        result["note"] = json!(format!(
            "Hay {live_appointments} cita(s) en esos días; no se cancelaron. Ofrece moverlas o avisar a los clientes."
        ));
    }
    Ok(result)
}

pub async fn remove(toolbox: &Toolbox, call: &Call<'_>, input: &Value) -> Result<Value, ToolError> {
    super::staff::own_id(call)?;
    let outcome = toolbox
        .ask(Request::RemoveTimeOff(RemoveTimeOffRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            time_off_id: args::id(input, "time_off_id")?,
        }))
        .await?;
    let Outcome::Removed { id } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({"removed": {"time_off_id": id}}))
}

/// Blocks and closures overlapping the dates: the owner's list is everyone's, a staff
/// member's is their own and the business's.
pub async fn list(toolbox: &Toolbox, call: &Call<'_>, input: &Value) -> Result<Value, ToolError> {
    let own = super::staff::own_id(call)?;
    let business = call.business;
    let tz = &business.time_zone;
    let today = call.now.to_zoned(tz.clone()).date();
    let from = args::optional_date(input, "date_from")?.unwrap_or(today);
    let to = args::optional_date(input, "date_to")?.unwrap_or(from.saturating_add(30.days()));
    if to < from {
        return Err(ToolError::Invalid("date_to es anterior a date_from".into()));
    }
    let to = to.min(from.saturating_add(LIST_DAYS.days()));
    let start = midnight(from, tz)?;
    let end = midnight(to.tomorrow().map_err(|_| out_of_range())?, tz)?;
    let everyone = call.person.persona == Persona::Owner;
    let client = toolbox.pool.get().await.map_err(database)?;
    let rows = client
        .rows(
            "SELECT id, staff_id, kind, lower(during), upper(during), reason
             FROM availability_exceptions
             WHERE organization_id = $1 AND during && tstzrange($2, $3)
               AND ($4 OR staff_id IS NULL OR staff_id = $5)
             ORDER BY lower(during), id
             LIMIT 100",
            &[&business.id, &start, &end, &everyone, &own],
        )
        .await
        .map_err(database)?;
    let entries: Vec<Value> = rows
        .iter()
        .map(|row| {
            let staff_id: Option<Uuid> = row.get(1);
            json!({
                "time_off_id": row.get::<_, Uuid>(0),
                "kind": row.get::<_, String>(2),
                "who": who(business, staff_id),
                "start_time": local_iso(row.get(3), business),
                "end_time": local_iso(row.get(4), business),
                "reason": row.get::<_, Option<String>>(5),
            })
        })
        .collect();
    Ok(json!({"date_from": from.to_string(), "date_to": to.to_string(), "time_off": entries}))
}

fn who(business: &Business, staff_id: Option<Uuid>) -> Value {
    match staff_id {
        None => json!("todo el negocio"),
        Some(id) => json!(business.staff_name(id)),
    }
}

fn midnight(date: jiff::civil::Date, tz: &TimeZone) -> Result<Timestamp, ToolError> {
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|_| out_of_range())
}

fn out_of_range() -> ToolError {
    ToolError::Invalid("fecha fuera de rango".into())
}

//! The owner's tools: the team, opening hours, services and prices, figures. Scheduling
//! checks again that the caller is an owner.

use cita_shared::{
    contracts::scheduling::{
        AddStaffRequest, Approval, BusinessHoursRequest, DayHours, FiguresRequest, Interval,
        Outcome, RemoveStaffRequest, Request, StaffHoursRequest, StaffPermissionsRequest,
        UpsertServiceRequest,
    },
    db::Cached,
    spanish,
};
use jiff::civil::Time;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Call, ToolError, Toolbox, args,
    customer::{database, unexpected},
    staff_member,
};

pub async fn add_staff(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let business = call.business;
    let number = args::phone(input, "phone", &business.locale)?
        .ok_or_else(|| ToolError::Invalid("falta phone".into()))?;
    let service_type_ids = match input.get("service_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) => Some(
            ids.iter()
                .map(|id| {
                    id.as_str()
                        .and_then(|s| s.parse().ok())
                        .filter(|id| business.service(*id).is_some())
                        .ok_or_else(|| {
                            ToolError::Invalid(
                                "service_ids tiene un servicio que no es de este negocio".into(),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => {
            return Err(ToolError::Invalid(
                "service_ids debe ser una lista de ids".into(),
            ));
        }
    };
    let outcome = toolbox
        .ask(Request::AddStaff(AddStaffRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            name: args::text(input, "name")?.to_owned(),
            phone: number,
            service_type_ids,
        }))
        .await?;
    let Outcome::Staff { staff } = outcome else {
        return Err(unexpected());
    };
    Ok(
        json!({"added": {"staff_id": staff.id, "name": staff.name, "phone": staff.phone,
                        "services": staff.service_type_ids.iter().filter_map(|id| business.service(*id).map(|s| s.name.as_str())).collect::<Vec<_>>()}}),
    )
}

pub async fn remove_staff(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let staff_id = staff_member(call.business, input, "staff_id")?
        .ok_or_else(|| ToolError::Invalid("falta staff_id".into()))?;
    let outcome = toolbox
        .ask(Request::RemoveStaff(RemoveStaffRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            staff_id,
        }))
        .await?;
    let Outcome::Staff { staff } = outcome else {
        return Err(unexpected());
    };
    Ok(
        json!({"removed": {"name": staff.name, "upcoming_appointments": staff.upcoming_appointments}}),
    )
}

pub async fn set_hours(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let days = input
        .get("days")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            ToolError::Invalid("days debe ser una lista de días con sus intervalos".into())
        })?;
    let days = days.iter().map(day).collect::<Result<Vec<_>, _>>()?;
    let outcome = toolbox
        .ask(Request::SetBusinessHours(BusinessHoursRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            days,
        }))
        .await?;
    let Outcome::Hours { days } = outcome else {
        return Err(unexpected());
    };
    Ok(
        json!({"business_hours": week(&days), "note": "El horario de cada persona del equipo no cambió."}),
    )
}

/// A staff member's working hours: the days named change, the others stay (a day
/// without intervals is a day off).
pub async fn set_staff_hours(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let business = call.business;
    let staff_id = staff_member(business, input, "staff_id")?
        .ok_or_else(|| ToolError::Invalid("falta staff_id".into()))?;
    let changes = input
        .get("days")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            ToolError::Invalid("days debe ser una lista de días con sus intervalos".into())
        })?
        .iter()
        .map(day)
        .collect::<Result<Vec<_>, _>>()?;
    // Scheduling replaces the whole week: start from the week as it is.
    let client = toolbox.pool.get().await.map_err(database)?;
    let rows = client
        .rows(
            "SELECT weekday, starts_at, ends_at FROM staff_working_hours
             WHERE organization_id = $1 AND staff_id = $2 ORDER BY weekday, starts_at",
            &[&business.id, &staff_id],
        )
        .await
        .map_err(database)?;
    drop(client);
    let mut days: Vec<DayHours> = (1..=7u8)
        .map(|weekday| DayHours {
            weekday,
            intervals: rows
                .iter()
                .filter(|r| r.get::<_, i16>(0) == i16::from(weekday))
                .map(|r| Interval {
                    opens: r.get(1),
                    closes: r.get(2),
                })
                .collect(),
        })
        .collect();
    for change in changes {
        let index = usize::from(change.weekday) - 1;
        days[index] = change;
    }
    let outcome = toolbox
        .ask(Request::SetStaffHours(StaffHoursRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            staff_id,
            days,
        }))
        .await?;
    let Outcome::Hours { days } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({"staff": business.staff_name(staff_id), "working_hours": week(&days)}))
}

pub async fn set_staff_permissions(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let business = call.business;
    let staff_id = staff_member(business, input, "staff_id")?
        .ok_or_else(|| ToolError::Invalid("falta staff_id".into()))?;
    let permissions = input
        .get("permissions")
        .and_then(Value::as_array)
        .and_then(|p| p.iter().map(|x| x.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| ToolError::Invalid("permissions es una lista (vacía: ninguno)".into()))?;
    let outcome = toolbox
        .ask(Request::SetStaffPermissions(StaffPermissionsRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            staff_id,
            permissions,
        }))
        .await?;
    let Outcome::Staff { staff } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({"staff": staff.name, "permissions": staff.permissions}))
}

fn week(days: &[DayHours]) -> Vec<Value> {
    days.iter()
        .map(|d| {
            let intervals: Vec<String> = d
                .intervals
                .iter()
                .map(|i| format!("{}–{}", i.opens.strftime("%H:%M"), i.closes.strftime("%H:%M")))
                .collect();
            json!({"weekday": spanish::WEEKDAYS[usize::from(d.weekday) - 1], "hours": if intervals.is_empty() { "cerrado".to_owned() } else { intervals.join(" y ") }})
        })
        .collect()
}

fn day(value: &Value) -> Result<DayHours, ToolError> {
    let weekday = match &value["weekday"] {
        Value::Number(n) => n.as_u64().filter(|n| (1..=7).contains(n)).map(|n| n as u8),
        Value::String(name) => {
            let wanted = unaccented(name.trim());
            spanish::WEEKDAYS
                .iter()
                .position(|d| unaccented(d) == wanted)
                .map(|i| i as u8 + 1)
        }
        _ => None,
    }
    .ok_or_else(|| ToolError::Invalid("weekday debe ser lunes … domingo".into()))?;
    let intervals = value["intervals"]
        .as_array()
        .ok_or_else(|| ToolError::Invalid("cada día necesita intervals (vacío si cierra)".into()))?
        .iter()
        .map(|i| {
            Ok(Interval {
                opens: time(&i["opens"])?,
                closes: time(&i["closes"])?,
            })
        })
        .collect::<Result<Vec<_>, ToolError>>()?;
    Ok(DayHours { weekday, intervals })
}

/// "Sábado", "sabado" and "SÁBADO" name the same day.
fn unaccented(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' => 'u',
            other => other,
        })
        .collect()
}

fn time(value: &Value) -> Result<Time, ToolError> {
    value
        .as_str()
        .and_then(|t| t.trim().parse::<Time>().ok())
        .ok_or_else(|| ToolError::Invalid("las horas van como HH:MM".into()))
}

pub async fn upsert_service(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    // An id the prompt does not list (an inactive service) may still be changed;
    // scheduling refuses ids of other businesses.
    let service_type_id = args::optional_id(input, "service_id")?;
    let price_minor = match input.get("price") {
        None | Some(Value::Null) => None,
        Some(price) => Some(
            price
                .as_f64()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .map(|p| (p * 100.0).round() as i64)
                .ok_or_else(|| ToolError::Invalid("price debe ser un número (pesos)".into()))?,
        ),
    };
    let minutes = |key: &str| match input.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(d) => d
            .as_u64()
            .and_then(|d| u32::try_from(d).ok())
            .map(Some)
            .ok_or_else(|| ToolError::Invalid(format!("{key} debe ser un número entero"))),
    };
    let duration_minutes = minutes("duration_minutes")?;
    let buffer_minutes = minutes("buffer_minutes")?;
    let staff_ids = match input.get("staff_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) => Some(
            ids.iter()
                .map(|id| {
                    id.as_str()
                        .and_then(|s| s.parse().ok())
                        .filter(|id| call.business.staff_name(*id).is_some())
                        .ok_or_else(|| {
                            ToolError::Invalid(
                                "staff_ids tiene a alguien que no es del equipo".into(),
                            )
                        })
                })
                .collect::<Result<Vec<Uuid>, _>>()?,
        ),
        Some(_) => {
            return Err(ToolError::Invalid(
                "staff_ids debe ser una lista de ids".into(),
            ));
        }
    };
    let active = match input.get("active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ToolError::Invalid("active debe ser true o false".into())),
    };
    let approval = match args::optional_text(input, "approval")? {
        None => None,
        Some(value) => Some(Approval::parse(value).ok_or_else(|| {
            ToolError::Invalid("approval es business, required o immediate".into())
        })?),
    };
    let change_cutoff_minutes = match input.get("change_cutoff_minutes") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(minutes("change_cutoff_minutes")?),
    };
    let outcome = toolbox
        .ask(Request::UpsertService(UpsertServiceRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            service_type_id,
            name: args::optional_text(input, "name")?.map(str::to_owned),
            description: args::optional_text(input, "description")?.map(str::to_owned),
            duration_minutes,
            price_minor,
            buffer_minutes,
            active,
            staff_ids: staff_ids.clone(),
            approval,
            change_cutoff_minutes,
            deposit: None,
        }))
        .await?;
    let Outcome::Service { service } = outcome else {
        return Err(unexpected());
    };
    Ok(
        json!({"service": {"service_id": service.id, "name": service.name,
                          "duration_minutes": service.duration_minutes,
                          "buffer_minutes": service.buffer_minutes,
                          "price": call.business.words().price(service.price_minor, &service.currency),
                          "active": service.active,
                          "approval": service.approval.as_str(),
                          "change_cutoff_minutes": service.change_cutoff_minutes,
                          "staff": staff_ids.map(|ids| ids.iter().filter_map(|id| call.business.staff_name(*id)).collect::<Vec<_>>())}}),
    )
}

pub async fn figures(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let business = call.business;
    let from = args::date(input, "date_from")?;
    let to = args::date(input, "date_to")?;
    let outcome = toolbox
        .ask(Request::Figures(FiguresRequest {
            actor: call.person.actor,
            from,
            to,
        }))
        .await?;
    let Outcome::Figures { figures } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({
        "date_from": from.to_string(), "date_to": to.to_string(),
        "appointments": figures.appointments, "completed": figures.completed,
        "no_shows": figures.no_shows, "cancelled": figures.cancelled,
        "revenue": business.words().price(figures.revenue_minor, &figures.currency),
        "busiest_hours": figures.busiest_hours.iter().map(|h| json!({"hour": format!("{:02}:00", h.hour), "appointments": h.appointments})).collect::<Vec<_>>(),
        "by_service": figures.by_service.iter().map(|s| json!({"service": business.service(s.service_type_id).map(|x| x.name.as_str()), "appointments": s.appointments})).collect::<Vec<_>>(),
    }))
}

//! What a turn knows before it calls the model: the business (from PostgreSQL, never
//! from what anyone wrote) and the person writing, with their role.

pub use cita_shared::contracts::scheduling::AssistantMode;
use cita_shared::contracts::scheduling::{Actor, Channel, Who};
use cita_shared::{db::Cached, spanish::Words};
use jiff::tz::TimeZone;
use uuid::Uuid;

/// Who the assistant is talking to; decides the prompt and the tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    Customer,
    Staff,
    Owner,
}

impl Persona {
    pub fn as_str(self) -> &'static str {
        match self {
            Persona::Customer => "customer",
            Persona::Staff => "staff",
            Persona::Owner => "owner",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Service {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub duration_minutes: i32,
    pub price_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone)]
pub struct StaffMember {
    pub id: Uuid,
    pub name: String,
    pub owner: bool,
}

#[derive(Debug, Clone)]
pub struct Business {
    pub id: Uuid,
    pub name: String,
    pub time_zone: TimeZone,
    pub time_zone_name: String,
    pub locale: String,
    pub handoff_minutes: i32,
    /// The AI's daily spend limit for this organization, if it sets its own.
    pub daily_budget_micro_usd: Option<i64>,
    pub assistant_mode: AssistantMode,
    pub services: Vec<Service>,
    /// (ISO weekday 1–7, "10:00", "14:00"), in order.
    pub hours: Vec<(i16, String, String)>,
    pub staff: Vec<StaffMember>,
    /// What the owner wrote about the business (the API's `…/business`): data for the
    /// customer, never instructions to the assistant.
    pub info: BusinessInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BusinessInfo {
    pub description: Option<String>,
    pub payment_methods: Vec<String>,
    pub locations: Vec<Location>,
    /// (question, answer), in the owner's order; at most [`FAQ_LIMIT`].
    pub faq: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub name: String,
    pub address: Option<String>,
    pub directions: Option<String>,
}

/// The FAQ entries the assistant is given (each is bounded by the schema).
pub const FAQ_LIMIT: i64 = 30;

impl Location {
    /// A Google Maps search link for the address (Maps URLs, `api=1`), which opens the
    /// app on a phone.
    pub fn map_link(&self) -> Option<String> {
        let address = self.address.as_deref()?;
        let mut query = String::new();
        for byte in address.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    query.push(byte as char)
                }
                b' ' => query.push('+'),
                other => query.push_str(&format!("%{other:02X}")),
            }
        }
        Some(format!(
            "https://www.google.com/maps/search/?api=1&query={query}"
        ))
    }
}

impl Business {
    /// What the business says, in its locale's Spanish.
    pub fn words(&self) -> &'static dyn Words {
        cita_shared::spanish::words(&self.locale)
    }

    pub fn service(&self, id: Uuid) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// The opening intervals of ISO weekday `weekday` (1 = Monday), in order.
    pub fn shifts(&self, weekday: usize) -> impl Iterator<Item = (&str, &str)> {
        self.hours
            .iter()
            .filter(move |(day, ..)| usize::try_from(*day).ok() == Some(weekday))
            .map(|(_, opens, closes)| (opens.as_str(), closes.as_str()))
    }

    pub fn staff_name(&self, id: Uuid) -> Option<&str> {
        self.staff
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Person {
    pub persona: Persona,
    pub actor: Actor,
    pub name: Option<String>,
    pub wa_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Infra(#[from] cita_shared::error::Infra),
    #[error("the organization's time zone {0:?} is unknown")]
    TimeZone(String),
    #[error("organization {0} has data this worker cannot read")]
    Corrupt(Uuid),
}

cita_shared::infra_errors!(ContextError);

/// The business, or `None` when it is gone or suspended.
pub async fn business(
    client: &impl Cached,
    organization_id: Uuid,
) -> Result<Option<Business>, ContextError> {
    // One round trip: the organization with its services, hours and team as JSON.
    let Some(org) = client
        .maybe_row(
            "SELECT o.name, o.timezone, o.locale, o.handoff_minutes, o.ai_daily_budget_micro_usd,
                    (SELECT COALESCE(json_agg(json_build_array(s.id, s.name, s.description,
                                                               s.duration_minutes, s.price_minor,
                                                               trim(s.currency)) ORDER BY s.name), '[]')
                     FROM service_types s WHERE s.organization_id = o.id AND s.active),
                    (SELECT COALESCE(json_agg(json_build_array(h.weekday, to_char(h.opens_at, 'HH24:MI'),
                                                               to_char(h.closes_at, 'HH24:MI'))
                                              ORDER BY h.weekday, h.opens_at), '[]')
                     FROM business_hours h WHERE h.organization_id = o.id),
                    (SELECT COALESCE(json_agg(json_build_array(m.id, m.name, m.role = 'owner') ORDER BY m.name), '[]')
                     FROM staff m WHERE m.organization_id = o.id AND m.active),
                    o.assistant_mode, o.description, o.payment_methods,
                    (SELECT COALESCE(json_agg(json_build_object('name', l.name, 'address', l.address,
                                                                'directions', l.directions)
                                              ORDER BY l.created_at, l.id), '[]')
                     FROM locations l WHERE l.organization_id = o.id),
                    (SELECT COALESCE(json_agg(json_build_array(f.question, f.answer) ORDER BY f.position), '[]')
                     FROM (SELECT question, answer, position FROM faq_entries
                           WHERE organization_id = o.id ORDER BY position LIMIT $2) f)
             FROM organizations o WHERE o.id = $1 AND o.status <> 'suspended'",
            &[&organization_id, &FAQ_LIMIT],
        )
        .await?
    else {
        return Ok(None);
    };
    let time_zone_name: String = org.get(1);
    let time_zone = TimeZone::get(&time_zone_name)
        .map_err(|_| ContextError::TimeZone(time_zone_name.clone()))?;
    let corrupt = || ContextError::Corrupt(organization_id);
    let assistant_mode = AssistantMode::parse(org.get(8)).ok_or_else(corrupt)?;
    let services: Vec<(Uuid, String, Option<String>, i32, i64, String)> =
        serde_json::from_value(org.get(5)).map_err(|_| corrupt())?;
    let hours: Vec<(i16, String, String)> =
        serde_json::from_value(org.get(6)).map_err(|_| corrupt())?;
    let staff: Vec<(Uuid, String, bool)> =
        serde_json::from_value(org.get(7)).map_err(|_| corrupt())?;
    let info = BusinessInfo {
        description: org.get(9),
        payment_methods: org.get(10),
        locations: serde_json::from_value(org.get(11)).map_err(|_| corrupt())?,
        faq: serde_json::from_value(org.get(12)).map_err(|_| corrupt())?,
    };
    let services = services
        .into_iter()
        .map(
            |(id, name, description, duration_minutes, price_minor, currency)| Service {
                id,
                name,
                description,
                duration_minutes,
                price_minor,
                currency,
            },
        )
        .collect();
    let staff = staff
        .into_iter()
        .map(|(id, name, owner)| StaffMember { id, name, owner })
        .collect();
    Ok(Some(Business {
        id: organization_id,
        name: org.get(0),
        time_zone,
        time_zone_name,
        locale: org.get(2),
        handoff_minutes: org.get(3),
        daily_budget_micro_usd: org.get(4),
        assistant_mode,
        services,
        hours,
        staff,
        info,
    }))
}

/// The person on the other side of `conversation_id`, with their role as the database
/// says it now (a staff member deactivated since their last message writes as a
/// customer would: not at all, until intake re-points the conversation).
pub async fn person(
    client: &impl Cached,
    organization_id: Uuid,
    conversation_id: Uuid,
) -> Result<Option<Person>, ContextError> {
    let row = client
        .maybe_row(
            "SELECT v.wa_id, v.customer_id, c.name, s.id, s.name, s.role = 'owner'
             FROM conversations v
             LEFT JOIN customers c ON c.id = v.customer_id
             LEFT JOIN staff s ON s.id = v.staff_id AND s.active
             WHERE v.id = $1 AND v.organization_id = $2",
            &[&conversation_id, &organization_id],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let wa_id: String = row.get(0);
    let customer_id: Option<Uuid> = row.get(1);
    let staff_id: Option<Uuid> = row.get(3);
    let person = match (customer_id, staff_id) {
        (Some(customer_id), _) => Person {
            persona: Persona::Customer,
            actor: Actor {
                organization_id,
                who: Who::Customer { customer_id },
                channel: Channel::Whatsapp,
                api_key_id: None,
            },
            name: row.get(2),
            wa_id,
        },
        (None, Some(staff_id)) => Person {
            persona: if row.get(5) {
                Persona::Owner
            } else {
                Persona::Staff
            },
            actor: Actor {
                organization_id,
                who: Who::Staff { staff_id },
                channel: Channel::Whatsapp,
                api_key_id: None,
            },
            name: row.get(4),
            wa_id,
        },
        (None, None) => return Ok(None),
    };
    Ok(Some(person))
}

/// The names of these customers of the organization, as staff read them: the name they
/// gave, else their number.
pub async fn customer_names(
    client: &impl Cached,
    organization_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, tokio_postgres::Error> {
    let rows = client
        .rows(
            "SELECT id, COALESCE(name, phone, wa_id, '') FROM customers
             WHERE organization_id = $1 AND id = ANY($2)",
            &[&organization_id, &ids],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

//! The tools the model sees, per persona. Names and required inputs are a contract
//! (operators' tests drive the system through them); descriptions are Spanish, as the
//! conversation is. Times are ISO 8601 in the business's local time (an explicit offset
//! is accepted); ids are the ones the system showed the model.

use serde_json::{Value, json};

use crate::context::Persona;

const CUSTOMER: &[&str] = &[
    "check_availability",
    "book_appointment",
    "get_my_appointments",
    "cancel_appointment",
    "reschedule_appointment",
    "handoff_to_human",
];

const STAFF: &[&str] = &[
    "get_my_schedule",
    "get_business_schedule",
    "block_time",
    "mark_appointment_status",
    "book_walk_in",
    "get_customer_history",
    "send_message_to_customer",
    "release_conversation",
];

const OWNER: &[&str] = &[
    "add_staff",
    "remove_staff",
    "set_business_hours",
    "upsert_service",
    "get_business_figures",
];

/// Whether `persona` may call `tool`. Checked on every call: the model's choice of tool
/// is never trusted.
pub fn allowed(persona: Persona, tool: &str) -> bool {
    match persona {
        Persona::Customer => CUSTOMER.contains(&tool),
        Persona::Staff => CUSTOMER.contains(&tool) || STAFF.contains(&tool),
        Persona::Owner => {
            CUSTOMER.contains(&tool) || STAFF.contains(&tool) || OWNER.contains(&tool)
        }
    }
}

/// The tool definitions for `persona`, the last one carrying the cache breakpoint (the
/// tools are the start of the cached prefix, shared by every conversation of a persona).
pub fn for_persona(persona: Persona) -> Vec<Value> {
    let mut tools: Vec<Value> = CUSTOMER
        .iter()
        .map(|name| definition(name, persona))
        .collect();
    if persona != Persona::Customer {
        tools.extend(STAFF.iter().map(|name| definition(name, persona)));
    }
    if persona == Persona::Owner {
        tools.extend(OWNER.iter().map(|name| definition(name, persona)));
    }
    if let Some(last) = tools.last_mut() {
        last["cache_control"] = json!({"type": "ephemeral"});
    }
    tools
}

fn tool(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "name": name,
        "description": description,
        "input_schema": {"type": "object", "properties": properties, "required": required},
    })
}

fn definition(name: &str, persona: Persona) -> Value {
    let for_customer = persona == Persona::Customer;
    let date = json!({"type": "string", "description": "Fecha local AAAA-MM-DD"});
    let time =
        json!({"type": "string", "description": "Fecha y hora local ISO 8601: AAAA-MM-DDTHH:MM"});
    let id = |what: &str| json!({"type": "string", "description": format!("Id de {what} tal como lo mostró el sistema")});
    match name {
        "check_availability" => tool(
            name,
            "Consulta horarios libres reales para un servicio entre dos fechas (máximo 14 días). Úsala siempre antes de ofrecer horarios; nunca inventes disponibilidad.",
            json!({"service_id": id("el servicio"), "date_from": date, "date_to": date, "staff_id": id("la persona del equipo, si el cliente la prefiere")}),
            &["service_id", "date_from"],
        ),
        "book_appointment" => tool(
            name,
            if for_customer {
                "Reserva una cita para el cliente en un horario libre. Solo después de que el cliente confirmó servicio, día y hora. Incluye customer_name si el cliente te dio su nombre."
            } else {
                "Reserva una cita para un cliente (customer_phone; customer_name si es nuevo) en un horario libre. Para quien ya está en el local usa book_walk_in."
            },
            json!({"service_id": id("el servicio"), "start_time": time, "staff_id": id("la persona del equipo"), "customer_name": {"type": "string", "description": "Nombre que dio el cliente"}, "customer_phone": {"type": "string", "description": "Teléfono del cliente (solo equipo)"}}),
            &["service_id", "start_time"],
        ),
        "get_my_appointments" => tool(
            name,
            "Lista las próximas citas de la persona con la que hablas.",
            json!({}),
            &[],
        ),
        "cancel_appointment" => tool(
            name,
            if for_customer {
                "Cancela una cita del cliente (solo las suyas), después de confirmar con él cuál."
            } else {
                "Cancela una cita (tuya o, con permiso, de otra persona del equipo). Ofrece avisar al cliente."
            },
            json!({"appointment_id": id("la cita"), "reason": {"type": "string"}}),
            &["appointment_id"],
        ),
        "reschedule_appointment" => tool(
            name,
            "Mueve una cita a otro horario libre, después de confirmar el nuevo horario.",
            json!({"appointment_id": id("la cita"), "new_start_time": time}),
            &["appointment_id", "new_start_time"],
        ),
        "handoff_to_human" => tool(
            name,
            "Pasa la conversación a una persona del negocio: quejas, precios especiales, servicios que no existen, o lo que no puedas resolver. Después despídete brevemente; ya no responderás en esta conversación.",
            json!({"reason": {"type": "string", "description": "Motivo breve, para el dueño"}}),
            &["reason"],
        ),
        "get_my_schedule" => tool(
            name,
            "Tu agenda (citas y bloqueos) entre dos fechas; por omisión, hoy.",
            json!({"date_from": date, "date_to": date}),
            &[],
        ),
        "get_business_schedule" => tool(
            name,
            "La agenda de todo el negocio entre dos fechas; por omisión, hoy. Requiere permiso.",
            json!({"date_from": date, "date_to": date}),
            &[],
        ),
        "block_time" => tool(
            name,
            "Bloquea tiempo en tu agenda (comida, trámites) para que no se reserven citas.",
            json!({"start_time": time, "end_time": time, "reason": {"type": "string"}, "staff_id": id("otra persona del equipo, con permiso")}),
            &["start_time", "end_time"],
        ),
        "mark_appointment_status" => tool(
            name,
            "Marca una cita como completed, no_show, cancelled o confirmed.",
            json!({"appointment_id": id("la cita"), "status": {"type": "string", "enum": ["completed", "no_show", "cancelled", "confirmed"]}, "notes": {"type": "string"}}),
            &["appointment_id", "status"],
        ),
        "book_walk_in" => tool(
            name,
            "Registra a un cliente que acaba de llegar: lo atiende ahora quien esté libre, o en el siguiente hueco.",
            json!({"service_id": id("el servicio"), "customer_phone": {"type": "string"}, "customer_name": {"type": "string"}, "staff_id": id("la persona del equipo")}),
            &["service_id"],
        ),
        "get_customer_history" => tool(
            name,
            "Historial de citas de un cliente, por su número de teléfono.",
            json!({"customer_phone": {"type": "string"}}),
            &["customer_phone"],
        ),
        "send_message_to_customer" => tool(
            name,
            "Envía un mensaje a un cliente en nombre del negocio. Solo llega si el cliente escribió en las últimas 24 horas.",
            json!({"customer_phone": {"type": "string"}, "message": {"type": "string"}}),
            &["customer_phone", "message"],
        ),
        "release_conversation" => tool(
            name,
            "Devuelve al asistente una conversación con un cliente que estaba en manos de una persona.",
            json!({"customer_phone": {"type": "string"}}),
            &["customer_phone"],
        ),
        "add_staff" => tool(
            name,
            "Da de alta a una persona en el equipo: podrá escribir a este número como equipo y se le podrán reservar citas (trabaja el horario del negocio). Sin service_ids hace todos los servicios.",
            json!({"name": {"type": "string"}, "phone": {"type": "string", "description": "Su teléfono de WhatsApp"},
                   "service_ids": {"type": "array", "items": {"type": "string"}, "description": "Ids de los servicios que hace"}}),
            &["name", "phone"],
        ),
        "remove_staff" => tool(
            name,
            "Da de baja a una persona del equipo; sus citas siguen en la agenda (la respuesta dice cuántas tiene pendientes).",
            json!({"staff_id": id("la persona del equipo")}),
            &["staff_id"],
        ),
        "set_business_hours" => tool(
            name,
            "Cambia el horario del negocio de los días indicados; los demás días no cambian. Un día sin intervalos queda cerrado.",
            json!({"days": {"type": "array", "items": {"type": "object", "properties": {
                "weekday": {"type": "string", "description": "lunes … domingo"},
                "intervals": {"type": "array", "items": {"type": "object", "properties": {
                    "opens": {"type": "string", "description": "HH:MM"}, "closes": {"type": "string", "description": "HH:MM"}},
                    "required": ["opens", "closes"]}}},
                "required": ["weekday", "intervals"]}}}),
            &["days"],
        ),
        "upsert_service" => tool(
            name,
            "Crea un servicio (sin service_id: nombre, duración y precio obligatorios) o cambia los datos indicados de uno existente. El precio es en pesos de la moneda del negocio.",
            json!({"service_id": id("el servicio, para cambiar uno existente"), "name": {"type": "string"},
                   "duration_minutes": {"type": "integer"}, "price": {"type": "number"},
                   "description": {"type": "string"}, "active": {"type": "boolean"}}),
            &[],
        ),
        "get_business_figures" => tool(
            name,
            "Cifras del negocio entre dos fechas: citas, completadas, no-shows, cancelaciones, ingresos y horas más ocupadas.",
            json!({"date_from": date, "date_to": date}),
            &["date_from", "date_to"],
        ),
        other => unreachable!("no definition for tool {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_get_only_customer_tools_and_the_breakpoint_is_on_the_last_tool() {
        let tools = for_persona(Persona::Customer);
        let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, CUSTOMER);
        assert!(tools.last().unwrap().get("cache_control").is_some());
        assert_eq!(
            tools
                .iter()
                .filter(|t| t.get("cache_control").is_some())
                .count(),
            1
        );
        assert!(!allowed(Persona::Customer, "block_time"));
        assert!(allowed(Persona::Staff, "block_time"));
        assert!(!allowed(Persona::Owner, "drop_database"));
        let staff = for_persona(Persona::Staff);
        assert_eq!(staff.len(), CUSTOMER.len() + STAFF.len());
        assert!(!allowed(Persona::Staff, "add_staff"));
        assert!(allowed(Persona::Owner, "add_staff"));
        let owner = for_persona(Persona::Owner);
        assert_eq!(owner.len(), CUSTOMER.len() + STAFF.len() + OWNER.len());
    }
}

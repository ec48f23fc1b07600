//! The tools the model sees, per persona. Names and required inputs are a contract
//! (operators' tests drive the system through them); descriptions are Spanish, as the
//! conversation is. Times are ISO 8601 in the business's local time (an explicit offset
//! is accepted); ids are the ones the system showed the model.

use serde_json::{Value, json};

use crate::context::Persona;

/// Every tool the model may be offered. Its name is the contract; who may use it is
/// decided here and checked on every call: the model's choice of tool is never trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    CheckAvailability,
    BookAppointment,
    GetMyAppointments,
    CancelAppointment,
    RescheduleAppointment,
    HandoffToHuman,
    GetMySchedule,
    GetBusinessSchedule,
    BlockTime,
    MarkAppointmentStatus,
    DecideBookingRequest,
    BookWalkIn,
    GetCustomerHistory,
    SendMessageToCustomer,
    ReleaseConversation,
    AddStaff,
    RemoveStaff,
    SetBusinessHours,
    UpsertService,
    GetBusinessFigures,
    AddClosure,
    ListTimeOff,
    RemoveTimeOff,
    SetStaffHours,
    SetStaffPermissions,
    UpdateSettings,
    UpdateBusinessInfo,
}

impl Tool {
    /// In the order the model is shown them: the customer's, then staff's, then the
    /// owner's (the cached prompt prefix depends on it).
    pub const ALL: [Tool; 27] = [
        Tool::CheckAvailability,
        Tool::BookAppointment,
        Tool::GetMyAppointments,
        Tool::CancelAppointment,
        Tool::RescheduleAppointment,
        Tool::HandoffToHuman,
        Tool::GetMySchedule,
        Tool::GetBusinessSchedule,
        Tool::BlockTime,
        Tool::MarkAppointmentStatus,
        Tool::DecideBookingRequest,
        Tool::BookWalkIn,
        Tool::GetCustomerHistory,
        Tool::SendMessageToCustomer,
        Tool::ReleaseConversation,
        Tool::AddClosure,
        Tool::ListTimeOff,
        Tool::RemoveTimeOff,
        Tool::AddStaff,
        Tool::RemoveStaff,
        Tool::SetBusinessHours,
        Tool::UpsertService,
        Tool::GetBusinessFigures,
        Tool::SetStaffHours,
        Tool::SetStaffPermissions,
        Tool::UpdateSettings,
        Tool::UpdateBusinessInfo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::CheckAvailability => "check_availability",
            Tool::BookAppointment => "book_appointment",
            Tool::GetMyAppointments => "get_my_appointments",
            Tool::CancelAppointment => "cancel_appointment",
            Tool::RescheduleAppointment => "reschedule_appointment",
            Tool::HandoffToHuman => "handoff_to_human",
            Tool::GetMySchedule => "get_my_schedule",
            Tool::GetBusinessSchedule => "get_business_schedule",
            Tool::BlockTime => "block_time",
            Tool::MarkAppointmentStatus => "mark_appointment_status",
            Tool::DecideBookingRequest => "decide_booking_request",
            Tool::BookWalkIn => "book_walk_in",
            Tool::GetCustomerHistory => "get_customer_history",
            Tool::SendMessageToCustomer => "send_message_to_customer",
            Tool::ReleaseConversation => "release_conversation",
            Tool::AddStaff => "add_staff",
            Tool::RemoveStaff => "remove_staff",
            Tool::SetBusinessHours => "set_business_hours",
            Tool::UpsertService => "upsert_service",
            Tool::GetBusinessFigures => "get_business_figures",
            Tool::AddClosure => "add_closure",
            Tool::ListTimeOff => "list_time_off",
            Tool::RemoveTimeOff => "remove_time_off",
            Tool::SetStaffHours => "set_staff_hours",
            Tool::SetStaffPermissions => "set_staff_permissions",
            Tool::UpdateSettings => "update_settings",
            Tool::UpdateBusinessInfo => "update_business_info",
        }
    }

    pub fn parse(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }

    /// The first persona that has it; staff have the customer's tools too, and the
    /// owner everyone's.
    fn audience(self) -> Persona {
        match self {
            Tool::CheckAvailability
            | Tool::BookAppointment
            | Tool::GetMyAppointments
            | Tool::CancelAppointment
            | Tool::RescheduleAppointment
            | Tool::HandoffToHuman => Persona::Customer,
            Tool::GetMySchedule
            | Tool::GetBusinessSchedule
            | Tool::BlockTime
            | Tool::MarkAppointmentStatus
            | Tool::DecideBookingRequest
            | Tool::BookWalkIn
            | Tool::GetCustomerHistory
            | Tool::SendMessageToCustomer
            | Tool::ReleaseConversation
            | Tool::AddClosure
            | Tool::ListTimeOff
            | Tool::RemoveTimeOff => Persona::Staff,
            Tool::AddStaff
            | Tool::RemoveStaff
            | Tool::SetBusinessHours
            | Tool::UpsertService
            | Tool::GetBusinessFigures
            | Tool::SetStaffHours
            | Tool::SetStaffPermissions
            | Tool::UpdateSettings
            | Tool::UpdateBusinessInfo => Persona::Owner,
        }
    }

    /// Whether `persona` may call it.
    pub fn allowed(self, persona: Persona) -> bool {
        let rank = |p: Persona| match p {
            Persona::Customer => 0,
            Persona::Staff => 1,
            Persona::Owner => 2,
        };
        rank(persona) >= rank(self.audience())
    }
}

/// Whether `persona` may call the tool named `name` (an unknown name: never).
pub fn allowed(persona: Persona, name: &str) -> bool {
    Tool::parse(name).is_some_and(|tool| tool.allowed(persona))
}

/// The tool definitions for `persona`, the last one carrying the cache breakpoint (the
/// tools are the start of the cached prefix, shared by every conversation of a persona).
pub fn for_persona(persona: Persona) -> Vec<Value> {
    let mut tools: Vec<Value> = Tool::ALL
        .into_iter()
        .filter(|tool| tool.allowed(persona))
        .map(|tool| definition(tool, persona))
        .collect();
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

fn definition(which: Tool, persona: Persona) -> Value {
    let name = which.name();
    let for_customer = persona == Persona::Customer;
    let date = json!({"type": "string", "description": "Fecha local AAAA-MM-DD"});
    let time =
        json!({"type": "string", "description": "Fecha y hora local ISO 8601: AAAA-MM-DDTHH:MM"});
    let id = |what: &str| json!({"type": "string", "description": format!("Id de {what} tal como lo mostró el sistema")});
    let days = json!({"type": "array", "items": {"type": "object", "properties": {
                "weekday": {"type": "string", "description": "lunes … domingo"},
                "intervals": {"type": "array", "items": {"type": "object", "properties": {
                    "opens": {"type": "string", "description": "HH:MM"}, "closes": {"type": "string", "description": "HH:MM"}},
                    "required": ["opens", "closes"]}}},
                "required": ["weekday", "intervals"]}});
    match which {
        Tool::CheckAvailability => tool(
            name,
            "Consulta horarios libres reales para un servicio entre dos fechas (máximo 14 días). Úsala siempre antes de ofrecer horarios; nunca inventes disponibilidad.",
            json!({"service_id": id("el servicio"), "date_from": date, "date_to": date, "staff_id": id("la persona del equipo, si el cliente la prefiere"),
                   "appointment_id": id("la cita que se va a mover, para que su propia hora no cuente como ocupada")}),
            &["service_id", "date_from"],
        ),
        Tool::BookAppointment => tool(
            name,
            if for_customer {
                "Reserva una cita para el cliente en un horario libre. Solo después de que el cliente confirmó servicio, día y hora. Incluye customer_name si el cliente te dio su nombre."
            } else {
                "Reserva una cita para un cliente (customer_phone; customer_name si es nuevo) en un horario libre. Para quien ya está en el local usa book_walk_in."
            },
            json!({"service_id": id("el servicio"), "start_time": time, "staff_id": id("la persona del equipo"), "customer_name": {"type": "string", "description": "Nombre que dio el cliente"}, "customer_phone": {"type": "string", "description": "Teléfono del cliente (solo equipo)"}}),
            &["service_id", "start_time"],
        ),
        Tool::GetMyAppointments => tool(
            name,
            "Lista las próximas citas de la persona con la que hablas.",
            json!({}),
            &[],
        ),
        Tool::CancelAppointment => tool(
            name,
            if for_customer {
                "Cancela una cita del cliente (solo las suyas), después de confirmar con él cuál."
            } else {
                "Cancela una cita (tuya o, con permiso, de otra persona del equipo). Ofrece avisar al cliente."
            },
            json!({"appointment_id": id("la cita"), "reason": {"type": "string"}}),
            &["appointment_id"],
        ),
        Tool::RescheduleAppointment => tool(
            name,
            "Mueve una cita a otro horario libre, después de confirmar el nuevo horario.",
            json!({"appointment_id": id("la cita"), "new_start_time": time}),
            &["appointment_id", "new_start_time"],
        ),
        Tool::HandoffToHuman => tool(
            name,
            "Pasa la conversación a una persona del negocio: quejas, precios especiales, servicios que no existen, o lo que no puedas resolver. Después despídete brevemente; ya no responderás en esta conversación.",
            json!({"reason": {"type": "string", "description": "Motivo breve, para el dueño"}}),
            &["reason"],
        ),
        Tool::GetMySchedule => tool(
            name,
            "Tu agenda (citas y bloqueos) entre dos fechas; por omisión, hoy.",
            json!({"date_from": date, "date_to": date}),
            &[],
        ),
        Tool::GetBusinessSchedule => tool(
            name,
            "La agenda de todo el negocio entre dos fechas; por omisión, hoy. Requiere permiso.",
            json!({"date_from": date, "date_to": date}),
            &[],
        ),
        Tool::BlockTime => tool(
            name,
            "Bloquea tiempo en tu agenda (comida, trámites) para que no se reserven citas.",
            json!({"start_time": time, "end_time": time, "reason": {"type": "string"}, "staff_id": id("otra persona del equipo, con permiso")}),
            &["start_time", "end_time"],
        ),
        Tool::MarkAppointmentStatus => tool(
            name,
            "Marca una cita como completed, no_show, cancelled o confirmed.",
            json!({"appointment_id": id("la cita"), "status": {"type": "string", "enum": ["completed", "no_show", "cancelled", "confirmed"]}, "notes": {"type": "string"}}),
            &["appointment_id", "status"],
        ),
        Tool::DecideBookingRequest => tool(
            name,
            "Aprueba o rechaza una cita que un cliente pidió y espera aprobación (status pending). Si se rechaza, el motivo se le dice al cliente. Pregunta antes de rechazar sin motivo.",
            json!({"appointment_id": id("la cita pendiente"), "approve": {"type": "boolean"}, "reason": {"type": "string", "description": "Motivo del rechazo, en pocas palabras"}}),
            &["appointment_id", "approve"],
        ),
        Tool::BookWalkIn => tool(
            name,
            "Registra a un cliente que acaba de llegar: lo atiende ahora quien esté libre, o en el siguiente hueco.",
            json!({"service_id": id("el servicio"), "customer_phone": {"type": "string"}, "customer_name": {"type": "string"}, "staff_id": id("la persona del equipo")}),
            &["service_id"],
        ),
        Tool::GetCustomerHistory => tool(
            name,
            "Historial de citas de un cliente, por su número de teléfono.",
            json!({"customer_phone": {"type": "string"}}),
            &["customer_phone"],
        ),
        Tool::SendMessageToCustomer => tool(
            name,
            "Envía un mensaje a un cliente en nombre del negocio. Si el cliente escribió en las últimas 24 horas, va tu texto; si no, WhatsApp solo permite plantillas y se envía la que corresponde (tras un no-show, la de seguimiento). El resultado dice qué se envió: díselo a la persona.",
            json!({"customer_phone": {"type": "string"}, "message": {"type": "string"}}),
            &["customer_phone", "message"],
        ),
        Tool::ReleaseConversation => tool(
            name,
            "Devuelve al asistente una conversación con un cliente que estaba en manos de una persona.",
            json!({"customer_phone": {"type": "string"}}),
            &["customer_phone"],
        ),
        Tool::AddStaff => tool(
            name,
            "Da de alta a una persona en el equipo: podrá escribir a este número como equipo y se le podrán reservar citas (trabaja el horario del negocio). Sin service_ids hace todos los servicios.",
            json!({"name": {"type": "string"}, "phone": {"type": "string", "description": "Su teléfono de WhatsApp"},
                   "service_ids": {"type": "array", "items": {"type": "string"}, "description": "Ids de los servicios que hace"}}),
            &["name", "phone"],
        ),
        Tool::RemoveStaff => tool(
            name,
            "Da de baja a una persona del equipo; sus citas siguen en la agenda (la respuesta dice cuántas tiene pendientes).",
            json!({"staff_id": id("la persona del equipo")}),
            &["staff_id"],
        ),
        Tool::SetBusinessHours => tool(
            name,
            "Cambia el horario del negocio de los días indicados; los demás días no cambian. Un día sin intervalos queda cerrado.",
            json!({"days": days}),
            &["days"],
        ),
        Tool::UpsertService => tool(
            name,
            "Crea un servicio (sin service_id: nombre, duración y precio obligatorios) o cambia los datos indicados de uno existente. El precio es en pesos de la moneda del negocio. active=false lo retira. staff_ids dice quién lo hace (reemplaza la lista; sin él, un servicio nuevo lo hacen todos).",
            json!({"service_id": id("el servicio, para cambiar uno existente"), "name": {"type": "string"},
                   "duration_minutes": {"type": "integer"}, "price": {"type": "number"},
                   "buffer_minutes": {"type": "integer", "description": "Minutos libres después (limpieza), 0 a 240"},
                   "description": {"type": "string"}, "active": {"type": "boolean"},
                   "staff_ids": {"type": "array", "items": {"type": "string"}, "description": "Ids de quienes lo hacen"},
                   "approval": {"type": "string", "enum": ["business", "required", "immediate"], "description": "Si las reservas esperan aprobación: business (como el negocio), required o immediate"},
                   "change_cutoff_minutes": {"type": ["integer", "null"], "description": "Minutos antes de la cita en que el cliente ya no puede cambiarla ni cancelarla, 0 a 10080; null: como el negocio"}}),
            &[],
        ),
        Tool::GetBusinessFigures => tool(
            name,
            "Cifras del negocio entre dos fechas: citas, completadas, no-shows, cancelaciones, ingresos y horas más ocupadas.",
            json!({"date_from": date, "date_to": date}),
            &["date_from", "date_to"],
        ),
        Tool::AddClosure => tool(
            name,
            if persona == Persona::Owner {
                "Cierra días completos para que nadie reserve: kind closure (el negocio cierra) u holiday (día festivo), sin staff_id para todo el negocio; o time_off (días libres de una persona, con staff_id). date_to para un rango (\"del 14 al 20 de abril\"). Las citas que ya había no se cancelan: la respuesta dice cuántas hay."
            } else {
                "Registra tus días libres (kind time_off) de date_from a date_to. Las citas que ya tenías no se cancelan: la respuesta dice cuántas hay."
            },
            json!({"kind": {"type": "string", "enum": ["closure", "holiday", "time_off"]}, "date_from": date, "date_to": date,
                   "staff_id": id("la persona del equipo"), "reason": {"type": "string"}}),
            &["date_from"],
        ),
        Tool::ListTimeOff => tool(
            name,
            "Lista bloqueos, días libres, cierres y festivos entre dos fechas (por omisión, los próximos 30 días), con su time_off_id.",
            json!({"date_from": date, "date_to": date}),
            &[],
        ),
        Tool::RemoveTimeOff => tool(
            name,
            "Quita un bloqueo, días libres, cierre o festivo (el time_off_id que dio list_time_off, block_time o add_closure).",
            json!({"time_off_id": id("el bloqueo o cierre")}),
            &["time_off_id"],
        ),
        Tool::SetStaffHours => tool(
            name,
            "Cambia el horario de trabajo de una persona del equipo en los días indicados; los demás días no cambian. Un día sin intervalos es su día de descanso.",
            json!({"staff_id": id("la persona del equipo"), "days": days}),
            &["staff_id", "days"],
        ),
        Tool::SetStaffPermissions => tool(
            name,
            "Define qué puede hacer una persona del equipo además de su propia agenda (reemplaza sus permisos; lista vacía: ninguno). view_business_schedule: ver la agenda de todos; manage_appointments: reservar, mover, cancelar y bloquear por otros.",
            json!({"staff_id": id("la persona del equipo"), "permissions": {"type": "array", "items": {"type": "string", "enum": ["view_business_schedule", "manage_appointments"]}}}),
            &["staff_id", "permissions"],
        ),
        Tool::UpdateSettings => tool(
            name,
            "Cambia los ajustes indicados; los demás quedan igual. Recordatorios: minutos antes de la cita (1440 = un día antes; lista vacía: sin recordatorios). Reseñas: review_requests activa o desactiva la petición de reseña tras la visita, review_link es el enlace que se envía. assistant_mode: ai, guided (botones, sin IA) o ai_with_guided_fallback. change_cutoff_minutes: hasta cuántos minutos antes el cliente puede cambiar o cancelar (0: hasta que empieza). handoff_minutes: cuánto calla el asistente tras pasar con una persona. approval_required: las citas de los clientes esperan tu aprobación; hold_minutes: cuánto esperan (aprobación o anticipo) antes de liberarse. deposit: el anticipo que pagan los clientes para confirmar (kind none, fixed con amount en pesos, o percent con percent del precio); requiere Mercado Pago conectado. no_show_forfeits: si el cliente no llega, el anticipo no se devuelve (true, lo usual) o se devuelve (false).",
            json!({"reminder_offsets_minutes": {"type": "array", "items": {"type": "integer"}},
                   "review_requests": {"type": "boolean"}, "review_request_after_minutes": {"type": "integer"},
                   "review_link": {"type": "string", "description": "https://…; vacío lo quita"},
                   "assistant_mode": {"type": "string", "enum": ["ai", "guided", "ai_with_guided_fallback"]},
                   "change_cutoff_minutes": {"type": "integer"}, "handoff_minutes": {"type": "integer"},
                   "approval_required": {"type": "boolean"}, "hold_minutes": {"type": "integer"},
                   "no_show_forfeits": {"type": "boolean"},
                   "deposit": {"type": "object", "properties": {"kind": {"type": "string", "enum": ["none", "fixed", "percent"]},
                                                               "amount": {"type": "number", "description": "Pesos, con kind fixed"},
                                                               "percent": {"type": "integer", "description": "1 a 100, con kind percent"}},
                               "required": ["kind"]}}),
            &[],
        ),
        Tool::UpdateBusinessInfo => tool(
            name,
            "Cambia lo que se les dice a los clientes del negocio: descripción, formas de pago (reemplaza la lista), dirección y cómo llegar (de la sucursal location_name; sin ella, la principal), y preguntas frecuentes (add_faq agrega o corrige una; remove_faq quita la que tenga esa pregunta). Lo demás queda igual.",
            json!({"description": {"type": "string"}, "payment_methods": {"type": "array", "items": {"type": "string"}},
                   "address": {"type": "string"}, "directions": {"type": "string"}, "location_name": {"type": "string"},
                   "add_faq": {"type": "object", "properties": {"question": {"type": "string"}, "answer": {"type": "string"}}, "required": ["question", "answer"]},
                   "remove_faq": {"type": "string", "description": "La pregunta, tal como está"}}),
            &[],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_get_only_customer_tools_and_the_breakpoint_is_on_the_last_tool() {
        let tools = for_persona(Persona::Customer);
        let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "check_availability",
                "book_appointment",
                "get_my_appointments",
                "cancel_appointment",
                "reschedule_appointment",
                "handoff_to_human",
            ]
        );
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
        assert_eq!(staff.len(), 6 + 12);
        assert!(!allowed(Persona::Staff, "add_staff"));
        assert!(allowed(Persona::Owner, "add_staff"));
        let owner = for_persona(Persona::Owner);
        assert_eq!(owner.len(), Tool::ALL.len());
        for tool in Tool::ALL {
            assert_eq!(Tool::parse(tool.name()), Some(tool));
        }
    }
}

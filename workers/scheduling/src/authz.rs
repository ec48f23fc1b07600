//! Who the actor is, according to the database, and what they may do. Callers pass ids
//! only; roles and permissions are read here, so no prompt or caller can widen them.

use cita_shared::contracts::scheduling::{Actor, Who};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::error::{Error, FORBIDDEN};

/// May view every staff member's agenda.
pub const VIEW_BUSINESS_SCHEDULE: &str = "view_business_schedule";
/// May book, cancel, move and mark appointments of other staff members, and block their time.
pub const MANAGE_APPOINTMENTS: &str = "manage_appointments";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Customer {
        id: Uuid,
    },
    Staff {
        id: Uuid,
        owner: bool,
        permissions: Vec<String>,
    },
}

impl Principal {
    fn has(&self, permission: &str) -> bool {
        match self {
            Principal::Customer { .. } => false,
            Principal::Staff {
                owner, permissions, ..
            } => *owner || permissions.iter().any(|p| p == permission),
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Principal::Staff { .. })
    }

    /// A customer: their own appointments. Staff: their own, or anyone's with
    /// `manage_appointments` (owners have every permission).
    pub fn may_change(&self, customer_id: Uuid, staff_id: Uuid) -> bool {
        match self {
            Principal::Customer { id } => *id == customer_id,
            Principal::Staff { id, .. } => *id == staff_id || self.has(MANAGE_APPOINTMENTS),
        }
    }

    /// Staff with `manage_appointments` (or owners) act for other staff members too.
    pub fn manages_others(&self) -> bool {
        self.has(MANAGE_APPOINTMENTS)
    }

    /// Staff act for themselves, or for others with `manage_appointments`.
    pub fn may_act_for_staff(&self, staff_id: Uuid) -> bool {
        match self {
            Principal::Customer { .. } => false,
            Principal::Staff { id, .. } => *id == staff_id || self.has(MANAGE_APPOINTMENTS),
        }
    }

    /// A staff member's own agenda, or anyone's with `view_business_schedule`.
    pub fn may_view_schedule(&self, staff_id: Option<Uuid>) -> bool {
        match (self, staff_id) {
            (Principal::Staff { id, .. }, Some(staff_id)) if *id == staff_id => true,
            _ => self.has(VIEW_BUSINESS_SCHEDULE),
        }
    }

    /// A customer sees their own appointments; staff see any customer's.
    pub fn may_view_customer(&self, customer_id: Uuid) -> bool {
        match self {
            Principal::Customer { id } => *id == customer_id,
            Principal::Staff { .. } => true,
        }
    }
}

/// Resolves the actor within its organization. Unknown ids and inactive staff are
/// forbidden; a suspended organization can do nothing.
pub async fn resolve(tx: &Transaction<'_>, actor: &Actor) -> Result<Principal, Error> {
    let active: Option<bool> = tx
        .query_opt(
            "SELECT status = 'active' FROM organizations WHERE id = $1",
            &[&actor.organization_id],
        )
        .await?
        .map(|row| row.get(0));
    match active {
        None => return Err(Error::not_found("organization")),
        Some(false) => return Err(FORBIDDEN),
        Some(true) => {}
    }
    match actor.who {
        Who::Customer { customer_id } => {
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM customers WHERE organization_id = $1 AND id = $2",
                    &[&actor.organization_id, &customer_id],
                )
                .await?
                .is_some();
            if exists {
                Ok(Principal::Customer { id: customer_id })
            } else {
                Err(FORBIDDEN)
            }
        }
        Who::Staff { staff_id } => {
            let row = tx
                .query_opt(
                    "SELECT role, permissions FROM staff WHERE organization_id = $1 AND id = $2 AND active",
                    &[&actor.organization_id, &staff_id],
                )
                .await?
                .ok_or(FORBIDDEN)?;
            let role: String = row.get(0);
            Ok(Principal::Staff {
                id: staff_id,
                owner: role == "owner",
                permissions: row.get(1),
            })
        }
    }
}

//! Who the actor is, according to the database, and what they may do. Callers pass ids
//! only; roles and permissions are read here, so no prompt or caller can widen them.

pub use cita_shared::contracts::scheduling::permissions::{
    MANAGE_APPOINTMENTS, VIEW_BUSINESS_SCHEDULE,
};
use cita_shared::contracts::scheduling::{Actor, Who};
use uuid::Uuid;

use crate::{
    error::{Error, FORBIDDEN},
    store::Cached,
};

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
pub async fn resolve(tx: &impl Cached, actor: &Actor) -> Result<Principal, Error> {
    // One round trip: the organization's state and the actor's row together.
    let (sql, who) = match actor.who {
        Who::Customer { customer_id } => (
            "SELECT o.status = 'active', c.id IS NOT NULL, NULL::text, NULL::text[]
             FROM organizations o LEFT JOIN customers c ON c.organization_id = o.id AND c.id = $2
             WHERE o.id = $1",
            customer_id,
        ),
        Who::Staff { staff_id } => (
            "SELECT o.status = 'active', s.id IS NOT NULL, s.role, s.permissions
             FROM organizations o LEFT JOIN staff s ON s.organization_id = o.id AND s.id = $2 AND s.active
             WHERE o.id = $1",
            staff_id,
        ),
    };
    let row = tx
        .maybe_row(sql, &[&actor.organization_id, &who])
        .await?
        .ok_or_else(|| Error::not_found("organization"))?;
    let (active, known): (bool, bool) = (row.get(0), row.get(1));
    if !active || !known {
        return Err(FORBIDDEN);
    }
    Ok(match actor.who {
        Who::Customer { customer_id } => Principal::Customer { id: customer_id },
        Who::Staff { staff_id } => Principal::Staff {
            id: staff_id,
            owner: row.get::<_, Option<String>>(2).as_deref() == Some("owner"),
            permissions: row.get::<_, Option<Vec<String>>>(3).unwrap_or_default(),
        },
    })
}

/// The actor, if they are the organization's owner.
pub async fn owner(tx: &impl Cached, actor: &Actor) -> Result<Uuid, Error> {
    match resolve(tx, actor).await? {
        Principal::Staff {
            id, owner: true, ..
        } => Ok(id),
        _ => Err(FORBIDDEN),
    }
}

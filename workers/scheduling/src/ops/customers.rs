//! What the business keeps about a customer: the name staff know them by, notes, email
//! and tags. Any active staff member may change them; customers may not.

use cita_shared::contracts::scheduling::{CustomerRecord, Outcome, Reply, UpdateCustomerRequest};

use super::{Scheduler, writing};
use crate::{
    authz,
    error::{Error, FORBIDDEN},
    store::Cached,
};

const MAX_TAGS: usize = 20;

pub async fn update(scheduler: &Scheduler, request: UpdateCustomerRequest) -> Result<Reply, Error> {
    let actor = request.actor;
    let org_id = actor.organization_id;
    let key = request.idempotency_key.clone();
    let fingerprint = crate::store::fingerprint(&request);
    let command = writing(move |tx| {
        Box::pin(async move {
            if !authz::resolve(tx, &request.actor).await?.is_staff() {
                return Err(FORBIDDEN);
            }
            let name = request.name.as_deref().map(str::trim);
            if name.is_some_and(|n| n.is_empty() || n.chars().count() > 80) {
                return Err(Error::invalid("a customer's name has 1 to 80 characters"));
            }
            let notes = request.notes.as_deref().map(str::trim);
            if notes.is_some_and(|n| n.chars().count() > 2000) {
                return Err(Error::invalid("notes have at most 2000 characters"));
            }
            let email = request.email.as_deref().map(str::trim);
            if let Some(email) = email.filter(|e| !e.is_empty())
                && !plausible_email(email)
            {
                return Err(Error::invalid("that is not an email address"));
            }
            let tags = request
                .tags
                .as_ref()
                .map(|tags| tidy_tags(tags))
                .transpose()?;
            // An empty text clears its field; a name, once confirmed by staff, stays.
            let row = tx
                .maybe_row(
                    "UPDATE customers SET
                        name = COALESCE($3, name),
                        name_confirmed = name_confirmed OR $3 IS NOT NULL,
                        notes = CASE WHEN $4::text IS NULL THEN notes ELSE nullif($4, '') END,
                        email = CASE WHEN $5::text IS NULL THEN email ELSE nullif($5, '') END,
                        tags = COALESCE($6, tags),
                        updated_at = now()
                     WHERE organization_id = $1 AND id = $2
                     RETURNING id, name, phone, email, notes, tags",
                    &[&org_id, &request.customer_id, &name, &notes, &email, &tags],
                )
                .await?
                .ok_or_else(|| Error::not_found("customer"))?;
            Ok(Outcome::Customer {
                customer: CustomerRecord {
                    id: row.get(0),
                    name: row.get(1),
                    phone: row.get(2),
                    email: row.get(3),
                    notes: row.get(4),
                    tags: row.get(5),
                },
            })
        })
    });
    scheduler
        .once(actor, &key, &fingerprint, "update_customer", command)
        .await
}

/// The same shape the database checks: something, one `@`, a domain with a dot.
fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// Tags in lower case, trimmed, each once, in the order given.
fn tidy_tags(tags: &[String]) -> Result<Vec<String>, Error> {
    let mut tidy: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > 30 {
            return Err(Error::invalid("a tag has 1 to 30 characters"));
        }
        if !tidy.contains(&tag) {
            tidy.push(tag);
        }
    }
    if tidy.len() > MAX_TAGS {
        return Err(Error::invalid(format!("at most {MAX_TAGS} tags")));
    }
    Ok(tidy)
}

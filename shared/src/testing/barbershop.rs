//! The barbershop every crate's tests and benches book into: Barbería El Centro in
//! Mexico City, its owner Rosa and barber Luis (both cutting hair), opening hours,
//! services linked to every member of staff and, when asked for, customers and a sealed
//! access token. The builder covers what the crates need differently; the SQL is here
//! only.

use std::ops::RangeInclusive;

use deadpool_postgres::Pool;
use uuid::Uuid;

use crate::crypto::Keyring;

pub const SLUG: &str = "barberia";
pub const NAME: &str = "Barbería El Centro";
pub const ZONE: &str = "America/Mexico_City";
pub const OWNER_NAME: &str = "Rosa";
pub const BARBER_NAME: &str = "Luis";
/// Staff phones in the normalized form (52 + 10 digits).
pub const OWNER_PHONE: &str = "525500000001";
pub const BARBER_PHONE: &str = "525500000002";

/// A service the shop offers.
#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub minutes: i32,
    pub buffer_minutes: i32,
    pub price_minor: i64,
}

impl Service {
    pub fn new(name: impl Into<String>, minutes: i32, price_minor: i64) -> Self {
        Service {
            name: name.into(),
            minutes,
            buffer_minutes: 0,
            price_minor,
        }
    }

    /// Minutes kept free after each appointment.
    pub fn with_buffer(mut self, minutes: i32) -> Self {
        self.buffer_minutes = minutes;
        self
    }

    /// The haircut: 45 minutes, $250.
    pub fn haircut() -> Self {
        Service::new("Corte", 45, 25000)
    }
}

/// A customer known before the test starts; any of the three may be absent.
#[derive(Clone, Debug, Default)]
pub struct Customer {
    pub wa_id: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
}

/// The ids of what [`BarbershopBuilder::create`] inserted.
#[derive(Clone, Debug)]
pub struct Barbershop {
    pub organization: Uuid,
    pub location: Uuid,
    pub owner: Uuid,
    pub barber: Uuid,
    /// Every member of staff: the owner, the barber, then the extra staff.
    pub staff: Vec<Uuid>,
    /// In the order they were given.
    pub services: Vec<Uuid>,
    /// In the order they were given.
    pub customers: Vec<Uuid>,
}

impl Barbershop {
    /// Open Monday to Saturday 10:00–19:00, where Rosa and Luis work the same hours;
    /// one haircut service; no phone number, no token, no customers.
    pub fn builder() -> BarbershopBuilder {
        BarbershopBuilder {
            slug: SLUG.into(),
            timezone: ZONE.into(),
            plan: None,
            phone_number_id: None,
            token: None,
            staff_phones: (Some(OWNER_PHONE.into()), Some(BARBER_PHONE.into())),
            extra_staff: 0,
            weekdays: 1..=6,
            opening: vec![("10:00".into(), "19:00".into())],
            working: ("10:00".into(), "19:00".into()),
            services: vec![Service::haircut()],
            customers: Vec::new(),
        }
    }
}

pub struct BarbershopBuilder {
    slug: String,
    timezone: String,
    plan: Option<String>,
    phone_number_id: Option<String>,
    token: Option<(Keyring, String)>,
    staff_phones: (Option<String>, Option<String>),
    extra_staff: usize,
    weekdays: RangeInclusive<i16>,
    opening: Vec<(String, String)>,
    working: (String, String),
    services: Vec<Service>,
    customers: Vec<Customer>,
}

impl BarbershopBuilder {
    /// Another slug, for several shops in one database (slugs are unique).
    pub fn slug(mut self, slug: impl Into<String>) -> Self {
        self.slug = slug.into();
        self
    }

    pub fn timezone(mut self, zone: impl Into<String>) -> Self {
        self.timezone = zone.into();
        self
    }

    /// `free` (the default) or `paid`.
    pub fn plan(mut self, plan: impl Into<String>) -> Self {
        self.plan = Some(plan.into());
        self
    }

    /// The WhatsApp number the webhook finds the shop by.
    pub fn phone_number_id(mut self, id: impl Into<String>) -> Self {
        self.phone_number_id = Some(id.into());
        self
    }

    /// A Meta access token, sealed with `keyring` as the outbound worker expects it.
    pub fn access_token(mut self, keyring: Keyring, token: impl Into<String>) -> Self {
        self.token = Some((keyring, token.into()));
        self
    }

    /// Rosa's and Luis's phones (`None`: no phone, so no agendas or staff notices).
    pub fn staff_phones(mut self, owner: Option<&str>, barber: Option<&str>) -> Self {
        self.staff_phones = (owner.map(Into::into), barber.map(Into::into));
        self
    }

    /// `n` more employees ("Staff 1" …) with the same hours and services.
    pub fn extra_staff(mut self, n: usize) -> Self {
        self.extra_staff = n;
        self
    }

    /// Open on ISO `weekdays` (1 = Monday) in the `opening` intervals (local "HH:MM"),
    /// with every member of staff working `working` on those days.
    pub fn hours(
        mut self,
        weekdays: RangeInclusive<i16>,
        opening: &[(&str, &str)],
        working: (&str, &str),
    ) -> Self {
        self.weekdays = weekdays;
        self.opening = opening
            .iter()
            .map(|(opens, closes)| ((*opens).into(), (*closes).into()))
            .collect();
        self.working = (working.0.into(), working.1.into());
        self
    }

    /// The services instead of the one haircut, each offered by every member of staff.
    pub fn services(mut self, services: impl IntoIterator<Item = Service>) -> Self {
        self.services = services.into_iter().collect();
        self
    }

    pub fn customer(
        mut self,
        wa_id: Option<&str>,
        phone: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        self.customers.push(Customer {
            wa_id: wa_id.map(Into::into),
            phone: phone.map(Into::into),
            name: name.map(Into::into),
        });
        self
    }

    /// Inserts the shop into the database of `pool`.
    pub async fn create(self, pool: &Pool) -> Barbershop {
        let mut client = pool.get().await.expect("test database connection");
        let tx = client.transaction().await.expect("a transaction");
        let organization: Uuid = tx
            .query_one(
                "INSERT INTO organizations (slug, name, timezone, status, phone_number_id, plan)
                 VALUES ($1, $2, $3, 'active', $4, coalesce($5, 'free')) RETURNING id",
                &[
                    &self.slug,
                    &NAME,
                    &self.timezone,
                    &self.phone_number_id,
                    &self.plan,
                ],
            )
            .await
            .expect("insert the organization")
            .get(0);
        if let Some((keyring, token)) = &self.token {
            let sealed = keyring.seal(token.as_bytes(), organization.as_bytes());
            tx.execute(
                "UPDATE organizations SET access_token_ciphertext = $2, access_token_key_id = $3
                 WHERE id = $1",
                &[&organization, &sealed.ciphertext, &sealed.key_id],
            )
            .await
            .expect("store the access token");
        }
        let location: Uuid = tx
            .query_one(
                "INSERT INTO locations (organization_id, name) VALUES ($1, 'Centro') RETURNING id",
                &[&organization],
            )
            .await
            .expect("insert the location")
            .get(0);
        let weekdays: Vec<i16> = self.weekdays.clone().collect();
        for (opens, closes) in &self.opening {
            tx.execute(
                "INSERT INTO business_hours (organization_id, location_id, weekday, opens_at, closes_at)
                 SELECT $1, $2, d, $4::text::time, $5::text::time FROM unnest($3::smallint[]) d",
                &[&organization, &location, &weekdays, opens, closes],
            )
            .await
            .expect("insert the opening hours");
        }

        let (owner_phone, barber_phone) = &self.staff_phones;
        let mut members: Vec<(String, Option<String>, &str)> = vec![
            (OWNER_NAME.into(), owner_phone.clone(), "owner"),
            (BARBER_NAME.into(), barber_phone.clone(), "employee"),
        ];
        for n in 1..=self.extra_staff {
            members.push((
                format!("Staff {n}"),
                Some(format!("5255000001{n:02}")),
                "employee",
            ));
        }
        let mut staff = Vec::with_capacity(members.len());
        for (name, phone, role) in &members {
            let id: Uuid = tx
                .query_one(
                    "INSERT INTO staff (organization_id, name, phone, role) VALUES ($1, $2, $3, $4)
                     RETURNING id",
                    &[&organization, name, phone, role],
                )
                .await
                .expect("insert a member of staff")
                .get(0);
            staff.push(id);
        }
        tx.execute(
            "INSERT INTO staff_working_hours (organization_id, staff_id, weekday, starts_at, ends_at)
             SELECT $1, s, d, $4::text::time, $5::text::time
             FROM unnest($2::uuid[]) s, unnest($3::smallint[]) d",
            &[
                &organization,
                &staff,
                &weekdays,
                &self.working.0,
                &self.working.1,
            ],
        )
        .await
        .expect("insert the working hours");

        let mut services = Vec::with_capacity(self.services.len());
        for service in &self.services {
            let id: Uuid = tx
                .query_one(
                    "INSERT INTO service_types (organization_id, name, duration_minutes,
                                                buffer_minutes, price_minor, currency)
                     VALUES ($1, $2, $3, $4, $5, 'MXN') RETURNING id",
                    &[
                        &organization,
                        &service.name,
                        &service.minutes,
                        &service.buffer_minutes,
                        &service.price_minor,
                    ],
                )
                .await
                .expect("insert a service")
                .get(0);
            services.push(id);
        }
        tx.execute(
            "INSERT INTO staff_services (organization_id, staff_id, service_type_id)
             SELECT $1, s, v FROM unnest($2::uuid[]) s, unnest($3::uuid[]) v",
            &[&organization, &staff, &services],
        )
        .await
        .expect("link the staff to the services");

        let mut customers = Vec::with_capacity(self.customers.len());
        for customer in &self.customers {
            let id: Uuid = tx
                .query_one(
                    "INSERT INTO customers (organization_id, wa_id, phone, name)
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    &[
                        &organization,
                        &customer.wa_id,
                        &customer.phone,
                        &customer.name,
                    ],
                )
                .await
                .expect("insert a customer")
                .get(0);
            customers.push(id);
        }
        tx.commit().await.expect("commit the barbershop");
        Barbershop {
            organization,
            location,
            owner: staff[0],
            barber: staff[1],
            staff,
            services,
            customers,
        }
    }
}

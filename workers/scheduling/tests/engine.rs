//! The availability engine's rules, one by one, in zones with and without daylight saving.

use cita_scheduling::engine::{
    Business, EngineError, Interval, LocalHours, Query, Resource, Week, free_slots,
};
use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};
use uuid::Uuid;

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

fn hours(spans: &[(&str, &str)]) -> Vec<LocalHours> {
    spans
        .iter()
        .map(|(start, end)| LocalHours {
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        })
        .collect()
}

/// The same hours every day of the week.
fn every_day(spans: &[(&str, &str)]) -> Week {
    std::array::from_fn(|_| hours(spans))
}

fn business(zone: &str, opening: Week) -> Business {
    Business {
        time_zone: TimeZone::get(zone).unwrap(),
        opening_hours: opening,
        closures: Vec::new(),
        min_notice: mins(60),
        horizon: SignedDuration::from_hours(60 * 24),
        step: mins(15),
    }
}

fn resource(working: Week) -> Resource {
    Resource {
        id: Uuid::new_v4(),
        working_hours: working,
        busy: Vec::new(),
    }
}

/// An instant given as local time in `zone`, e.g. "2026-12-07T10:00".
fn at(zone: &str, local: &str) -> Timestamp {
    local
        .parse::<jiff::civil::DateTime>()
        .unwrap()
        .to_zoned(TimeZone::get(zone).unwrap())
        .unwrap()
        .timestamp()
}

fn local_times(zone: &str, slots: &[cita_scheduling::engine::Slot]) -> Vec<String> {
    let tz = TimeZone::get(zone).unwrap();
    slots
        .iter()
        .map(|s| s.start.to_zoned(tz.clone()).strftime("%H:%M").to_string())
        .collect()
}

fn query(day: &str, now: Timestamp, minutes: i64) -> Query {
    let date: Date = day.parse().unwrap();
    Query {
        duration: mins(minutes),
        buffer: SignedDuration::ZERO,
        from: date,
        to: date,
        now,
    }
}

const CDMX: &str = "America/Mexico_City";
const TIJUANA: &str = "America/Tijuana";
const BOGOTA: &str = "America/Bogota";

#[test]
fn slots_fill_the_opening_hours_around_the_lunch_break() {
    let split = every_day(&[("10:00", "14:00"), ("15:00", "19:00")]);
    let shop = business(CDMX, split.clone());
    let barber = resource(split);

    let slots = free_slots(
        &shop,
        std::slice::from_ref(&barber),
        &query("2026-12-07", at(CDMX, "2026-12-06T12:00"), 45),
    )
    .unwrap();

    let times = local_times(CDMX, &slots);
    assert_eq!(times.first().map(String::as_str), Some("10:00"));
    assert!(
        times.contains(&"13:15".to_string()),
        "the last morning start ends at 14:00"
    );
    assert!(
        !times.contains(&"13:30".to_string()),
        "13:30 + 45 min runs into lunch"
    );
    assert!(
        !times
            .iter()
            .any(|t| t.as_str() >= "14:00" && t.as_str() < "15:00"),
        "{times:?}"
    );
    assert_eq!(times.last().map(String::as_str), Some("18:15"));
    assert_eq!(times.len(), 28);
    assert!(slots.iter().all(|s| s.resources == [barber.id]));
}

#[test]
fn nothing_is_offered_in_the_past_or_within_the_minimum_notice() {
    let shop = business(CDMX, every_day(&[("10:00", "19:00")]));
    let barber = resource(every_day(&[("10:00", "19:00")]));

    let slots = free_slots(
        &shop,
        &[barber],
        &query("2026-12-07", at(CDMX, "2026-12-07T11:05"), 30),
    )
    .unwrap();

    assert_eq!(
        local_times(CDMX, &slots).first().map(String::as_str),
        Some("12:15")
    );
}

#[test]
fn nothing_is_offered_beyond_the_booking_horizon() {
    let mut shop = business(CDMX, every_day(&[("10:00", "19:00")]));
    shop.horizon = SignedDuration::from_hours(24);
    let barber = resource(every_day(&[("10:00", "19:00")]));
    let now = at(CDMX, "2026-12-07T12:00");

    let tomorrow = free_slots(
        &shop,
        std::slice::from_ref(&barber),
        &query("2026-12-08", now, 30),
    )
    .unwrap();
    let later = free_slots(&shop, &[barber], &query("2026-12-09", now, 30)).unwrap();

    assert_eq!(
        local_times(CDMX, &tomorrow).last().map(String::as_str),
        Some("12:00")
    );
    assert!(later.is_empty());
}

#[test]
fn staff_hours_are_clipped_to_opening_hours_and_each_slot_names_who_can_take_it() {
    let shop = business(CDMX, every_day(&[("10:00", "14:00")]));
    let early = resource(every_day(&[("08:00", "12:00")]));
    let late = resource(every_day(&[("11:00", "16:00")]));

    let slots = free_slots(
        &shop,
        &[early.clone(), late.clone()],
        &query("2026-12-07", at(CDMX, "2026-12-06T12:00"), 60),
    )
    .unwrap();

    let first = &slots[0];
    assert_eq!(local_times(CDMX, &slots[..1]), ["10:00"]);
    assert_eq!(first.resources, [early.id]);
    let eleven = slots
        .iter()
        .find(|s| s.start == at(CDMX, "2026-12-07T11:00"))
        .unwrap();
    assert_eq!(eleven.resources, [early.id, late.id]);
    assert_eq!(
        local_times(CDMX, &slots).last().map(String::as_str),
        Some("13:00"),
        "closing time bounds the late shift"
    );
    assert_eq!(slots.last().unwrap().resources, [late.id]);
}

#[test]
fn live_appointments_and_their_buffers_are_never_overlapped() {
    let shop = business(CDMX, every_day(&[("10:00", "14:00")]));
    let mut barber = resource(every_day(&[("10:00", "14:00")]));
    // 11:00–11:45 plus a 15-minute buffer.
    barber.busy.push(Interval {
        start: at(CDMX, "2026-12-07T11:00"),
        end: at(CDMX, "2026-12-07T12:00"),
    });

    let plain = free_slots(
        &shop,
        std::slice::from_ref(&barber),
        &query("2026-12-07", at(CDMX, "2026-12-06T12:00"), 45),
    )
    .unwrap();
    let mut buffered = query("2026-12-07", at(CDMX, "2026-12-06T12:00"), 45);
    buffered.buffer = mins(15);
    let with_buffer = free_slots(&shop, &[barber], &buffered).unwrap();

    let plain = local_times(CDMX, &plain);
    assert_eq!(
        &plain[..3],
        ["10:00", "10:15", "12:00"],
        "10:15–11:00 fits, 10:30 overlaps"
    );
    let with_buffer = local_times(CDMX, &with_buffer);
    assert_eq!(
        &with_buffer[..2],
        ["10:00", "12:00"],
        "10:15 + 45 min + 15 min buffer overlaps 11:00"
    );
}

#[test]
fn blocks_closures_and_holidays_remove_their_time() {
    let mut shop = business(CDMX, every_day(&[("10:00", "14:00")]));
    let mut barber = resource(every_day(&[("10:00", "14:00")]));
    // "Block 12 to 1 for lunch", and the whole business closed the next day.
    barber.busy.push(Interval {
        start: at(CDMX, "2026-12-07T12:00"),
        end: at(CDMX, "2026-12-07T13:00"),
    });
    shop.closures.push(Interval {
        start: at(CDMX, "2026-12-08T00:00"),
        end: at(CDMX, "2026-12-09T00:00"),
    });
    let mut two_days = query("2026-12-07", at(CDMX, "2026-12-06T12:00"), 60);
    two_days.to = "2026-12-08".parse().unwrap();

    let slots = free_slots(&shop, &[barber], &two_days).unwrap();

    let times = local_times(CDMX, &slots);
    assert_eq!(
        times,
        ["10:00", "10:15", "10:30", "10:45", "11:00", "13:00"]
    );
}

#[test]
fn several_resources_take_several_customers_per_slot() {
    let restaurant = business(BOGOTA, every_day(&[("19:00", "22:00")]));
    let mut tables: Vec<Resource> = (0..3)
        .map(|_| resource(every_day(&[("19:00", "22:00")])))
        .collect();
    let eight = Interval {
        start: at(BOGOTA, "2026-12-07T20:00"),
        end: at(BOGOTA, "2026-12-07T21:30"),
    };
    tables[0].busy.push(eight);
    tables[1].busy.push(eight);

    let slots = free_slots(
        &restaurant,
        &tables,
        &query("2026-12-07", at(BOGOTA, "2026-12-06T12:00"), 60),
    )
    .unwrap();

    let seven = slots
        .iter()
        .find(|s| s.start == at(BOGOTA, "2026-12-07T19:00"))
        .unwrap();
    assert_eq!(seven.resources.len(), 3);
    let at_eight = slots
        .iter()
        .find(|s| s.start == at(BOGOTA, "2026-12-07T20:00"))
        .unwrap();
    assert_eq!(at_eight.resources, [tables[2].id]);
}

#[test]
fn zones_without_daylight_saving_keep_their_offset_all_year() {
    let shop = business(CDMX, every_day(&[("10:00", "11:00")]));
    let barber = resource(every_day(&[("10:00", "11:00")]));
    let winter = free_slots(
        &shop,
        std::slice::from_ref(&barber),
        &query("2026-01-12", at(CDMX, "2026-01-01T00:00"), 60),
    )
    .unwrap();
    let summer = free_slots(
        &shop,
        &[barber],
        &query("2026-07-13", at(CDMX, "2026-07-01T00:00"), 60),
    )
    .unwrap();
    assert_eq!(winter[0].start.to_string(), "2026-01-12T16:00:00Z");
    assert_eq!(
        summer[0].start.to_string(),
        "2026-07-13T16:00:00Z",
        "Mexico City left DST in 2022"
    );

    let bogota = business(BOGOTA, every_day(&[("10:00", "11:00")]));
    let stylist = resource(every_day(&[("10:00", "11:00")]));
    let slots = free_slots(
        &bogota,
        &[stylist],
        &query("2026-07-13", at(BOGOTA, "2026-07-01T00:00"), 60),
    )
    .unwrap();
    assert_eq!(slots[0].start.to_string(), "2026-07-13T15:00:00Z");
}

fn night_shift() -> (Business, Resource) {
    let mut shop = business(
        TIJUANA,
        every_day(&[("00:00", "06:00"), ("10:00", "11:00")]),
    );
    shop.step = mins(60);
    let clinic = resource(every_day(&[("00:00", "06:00"), ("10:00", "11:00")]));
    (shop, clinic)
}

#[test]
fn on_the_spring_forward_day_no_slot_falls_in_the_skipped_hour() {
    // Tijuana, 8 March 2026: 02:00 PST becomes 03:00 PDT.
    let (shop, clinic) = night_shift();

    let slots = free_slots(
        &shop,
        &[clinic],
        &query("2026-03-08", at(TIJUANA, "2026-03-01T00:00"), 60),
    )
    .unwrap();

    assert_eq!(
        local_times(TIJUANA, &slots),
        ["00:00", "01:00", "03:00", "04:00", "05:00", "10:00"]
    );
    let utc: Vec<String> = slots.iter().map(|s| s.start.to_string()).collect();
    assert_eq!(utc[1], "2026-03-08T09:00:00Z", "01:00 is still PST (UTC-8)");
    assert_eq!(
        utc[2], "2026-03-08T10:00:00Z",
        "03:00 is PDT (UTC-7), one real hour later"
    );
    assert_eq!(utc[5], "2026-03-08T17:00:00Z", "10:00 PDT");
}

#[test]
fn on_the_fall_back_day_the_repeated_hour_is_offered_twice() {
    // Tijuana, 1 November 2026: 02:00 PDT becomes 01:00 PST.
    let (shop, clinic) = night_shift();

    let slots = free_slots(
        &shop,
        &[clinic],
        &query("2026-11-01", at(TIJUANA, "2026-10-25T00:00"), 60),
    )
    .unwrap();

    assert_eq!(
        local_times(TIJUANA, &slots),
        [
            "00:00", "01:00", "01:00", "02:00", "03:00", "04:00", "05:00", "10:00"
        ]
    );
    let utc: Vec<String> = slots.iter().map(|s| s.start.to_string()).collect();
    assert_eq!(utc[1], "2026-11-01T08:00:00Z", "the first 01:00 is PDT");
    assert_eq!(utc[2], "2026-11-01T09:00:00Z", "the second 01:00 is PST");
    assert_eq!(utc[7], "2026-11-01T18:00:00Z", "10:00 PST");
}

#[test]
fn an_appointment_across_the_transition_blocks_real_time_not_wall_time() {
    // 00:30–03:30 local on the spring-forward day is only two real hours long.
    let (shop, mut clinic) = night_shift();
    clinic.busy.push(Interval {
        start: at(TIJUANA, "2026-03-08T00:30"),
        end: at(TIJUANA, "2026-03-08T03:30"),
    });

    let slots = free_slots(
        &shop,
        &[clinic],
        &query("2026-03-08", at(TIJUANA, "2026-03-01T00:00"), 60),
    )
    .unwrap();

    assert_eq!(local_times(TIJUANA, &slots), ["04:00", "05:00", "10:00"]);
}

#[test]
fn bad_ranges_are_refused() {
    let shop = business(CDMX, every_day(&[("10:00", "11:00")]));
    let barber = resource(every_day(&[("10:00", "11:00")]));
    let now = at(CDMX, "2026-01-01T00:00");
    let mut backwards = query("2026-01-10", now, 30);
    backwards.to = "2026-01-09".parse().unwrap();
    let mut too_long = query("2026-01-10", now, 30);
    too_long.to = "2026-06-10".parse().unwrap();
    let mut zero = query("2026-01-10", now, 30);
    zero.duration = SignedDuration::ZERO;

    assert_eq!(
        free_slots(&shop, std::slice::from_ref(&barber), &backwards),
        Err(EngineError::EmptyRange)
    );
    assert!(matches!(
        free_slots(&shop, std::slice::from_ref(&barber), &too_long),
        Err(EngineError::RangeTooLong(_))
    ));
    assert_eq!(
        free_slots(&shop, &[barber], &zero),
        Err(EngineError::NonPositiveDuration)
    );
}

#[test]
fn opening_hours_of_a_day_are_instants_with_the_closures_taken_out() {
    let mut shop = business(CDMX, every_day(&[("10:00", "14:00"), ("15:00", "19:00")]));
    shop.closures = vec![Interval {
        start: at(CDMX, "2026-12-08T12:00"),
        end: at(CDMX, "2026-12-08T16:00"),
    }];
    let open = cita_scheduling::engine::open(&shop, "2026-12-08".parse().unwrap()).unwrap();
    let spans: Vec<(Timestamp, Timestamp)> = open.iter().map(|i| (i.start, i.end)).collect();
    assert_eq!(
        spans,
        [
            (at(CDMX, "2026-12-08T10:00"), at(CDMX, "2026-12-08T12:00")),
            (at(CDMX, "2026-12-08T16:00"), at(CDMX, "2026-12-08T19:00")),
        ]
    );
    // A day closed all day has nothing open; the next day is untouched.
    shop.closures = vec![Interval {
        start: at(CDMX, "2026-12-12T00:00"),
        end: at(CDMX, "2026-12-13T00:00"),
    }];
    assert!(
        cita_scheduling::engine::open(&shop, "2026-12-12".parse().unwrap())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        cita_scheduling::engine::open(&shop, "2026-12-13".parse().unwrap())
            .unwrap()
            .len(),
        2
    );
}

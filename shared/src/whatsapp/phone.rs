//! Phone identities. WhatsApp's `wa_id` is kept exactly as received (it may even be a
//! business-scoped user id such as `MX.1234…`, not a phone); matching it against numbers
//! a business typed goes through [`normalize`], which removes the mobile prefixes Meta
//! still sends for Mexico (`521` + 10 digits) and Argentina (`549` + 10 digits).

/// The normalized E.164 digits of a phone-shaped `wa_id`; `None` for anything that is
/// not 8–15 digits (a business-scoped user id, say).
pub fn normalize(wa_id: &str) -> Option<String> {
    let digits = wa_id.strip_prefix('+').unwrap_or(wa_id);
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.starts_with('0') {
        return None;
    }
    for (mobile, plain) in [("521", "52"), ("549", "54")] {
        if let Some(national) = digits.strip_prefix(mobile)
            && national.len() == 10
        {
            return Some(format!("{plain}{national}"));
        }
    }
    Some(digits.to_owned())
}

/// Every form under which this person's number may be stored: the `wa_id` as received,
/// its normalized form, and the old mobile form (`521…`/`549…`) of a normalized number.
pub fn variants(wa_id: &str) -> Vec<String> {
    let mut forms = vec![wa_id.to_owned()];
    if let Some(normal) = normalize(wa_id) {
        for (plain, mobile) in [("52", "521"), ("54", "549")] {
            if let Some(national) = normal.strip_prefix(plain)
                && national.len() == 10
            {
                forms.push(format!("{mobile}{national}"));
            }
        }
        forms.push(normal);
    }
    forms.sort();
    forms.dedup();
    forms
}

/// A number as a person typed it ("+52 55 1234 5678", "55-1234-5678"), normalized. A
/// number without a country code takes `default_country` (52 for Mexico, 57 for
/// Colombia): both countries use 10-digit national numbers.
pub fn parse_typed(typed: &str, default_country: &str) -> Option<String> {
    let trimmed = typed.trim();
    if trimmed.is_empty()
        || !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return None;
    }
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let mut digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed.starts_with("00") {
        digits.drain(..2);
    }
    if !international && digits.len() == 10 {
        digits = format!("{default_country}{digits}");
    }
    normalize(&digits)
}

/// The country calling code for an organization's currency/locale region.
pub fn country_code(locale: &str) -> &'static str {
    match locale.rsplit(['-', '_']).next() {
        Some("CO") => "57",
        Some("AR") => "54",
        _ => "52",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mexican_and_argentine_mobile_prefixes_are_removed() {
        assert_eq!(normalize("5215512345678").as_deref(), Some("525512345678"));
        assert_eq!(normalize("525512345678").as_deref(), Some("525512345678"));
        assert_eq!(normalize("5491123456789").as_deref(), Some("541123456789"));
        assert_eq!(normalize("573001234567").as_deref(), Some("573001234567"));
        // 521 followed by other than 10 digits is some other number, left alone.
        assert_eq!(normalize("52155123456").as_deref(), Some("52155123456"));
    }

    #[test]
    fn business_scoped_user_ids_are_not_phones() {
        assert_eq!(normalize("MX.13491208655302741918"), None);
        assert_eq!(normalize("US.ENT.1349"), None);
        assert_eq!(normalize("1234567"), None);
        assert_eq!(normalize(""), None);
        assert_eq!(variants("MX.1349"), vec!["MX.1349".to_owned()]);
    }

    #[test]
    fn variants_cover_both_mexican_forms() {
        assert_eq!(
            variants("5215512345678"),
            vec!["5215512345678".to_owned(), "525512345678".to_owned()]
        );
        assert_eq!(
            variants("525512345678"),
            vec!["5215512345678".to_owned(), "525512345678".to_owned()]
        );
        assert_eq!(variants("573001234567"), vec!["573001234567".to_owned()]);
    }

    #[test]
    fn typed_numbers_are_normalized_with_the_default_country() {
        assert_eq!(
            parse_typed("+52 55 1234 5678", "52").as_deref(),
            Some("525512345678")
        );
        assert_eq!(
            parse_typed("55-1234-5678", "52").as_deref(),
            Some("525512345678")
        );
        assert_eq!(
            parse_typed("300 123 4567", "57").as_deref(),
            Some("573001234567")
        );
        assert_eq!(
            parse_typed("0052 1 55 1234 5678", "52").as_deref(),
            Some("525512345678")
        );
        assert_eq!(parse_typed("llámame", "52"), None);
        assert_eq!(parse_typed("123", "52"), None);
        assert_eq!(country_code("es-CO"), "57");
        assert_eq!(country_code("es-MX"), "52");
    }
}

//! AIC amounts: decimal AIC text (`12.5`) to base units and back (the
//! CLI's and the worker's `--amount`, `--deposit`, `--bond` flags).

use aether_types::BASE_UNITS_PER_AIC;

/// Decimal places of one AIC.
pub const DECIMALS: usize = 9;

/// Parses decimal AIC (`"1"`, `"0.000000001"`, `"12.5"`) into base units.
pub fn parse_aic(text: &str) -> Result<u128, String> {
    let bad = || format!("{text:?} is not an AIC amount (decimal, at most {DECIMALS} places)");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    if !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > DECIMALS
        || (text.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac_units: u128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<DECIMALS$}").parse().map_err(|_| bad())?
    };
    whole
        .checked_mul(BASE_UNITS_PER_AIC)
        .and_then(|w| w.checked_add(frac_units))
        .ok_or_else(|| format!("{text} AIC is too large"))
}

/// Formats base units as decimal AIC without trailing zeros.
pub fn format_aic(units: u128) -> String {
    let whole = units / BASE_UNITS_PER_AIC;
    let frac = units % BASE_UNITS_PER_AIC;
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0>DECIMALS$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Formats an amount as the node sends it (decimal base units) as AIC;
/// text that is not a number is shown as it is.
pub fn format_aic_text(units: &str) -> String {
    units
        .parse::<u128>()
        .map(format_aic)
        .unwrap_or_else(|_| units.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_amounts_format_as_aic_and_other_text_stays() {
        assert_eq!(format_aic_text("12500000000"), "12.5");
        assert_eq!(format_aic_text("not a number"), "not a number");
    }

    #[test]
    fn parse_and_format() {
        assert_eq!(parse_aic("1").unwrap(), BASE_UNITS_PER_AIC);
        assert_eq!(
            parse_aic("12.5").unwrap(),
            12 * BASE_UNITS_PER_AIC + 500_000_000
        );
        assert_eq!(parse_aic("0.000000001").unwrap(), 1);
        assert_eq!(parse_aic(".5").unwrap(), 500_000_000);
        for bad in [
            "",
            ".",
            "1.",
            "-1",
            "1e3",
            "0.0000000001",
            "1.2.3",
            " 1",
            "abc",
        ] {
            assert!(parse_aic(bad).is_err(), "{bad:?}");
        }
        assert!(parse_aic(&"9".repeat(40)).is_err());
        assert_eq!(format_aic(12 * BASE_UNITS_PER_AIC + 500_000_000), "12.5");
        assert_eq!(format_aic(1), "0.000000001");
        assert_eq!(format_aic(0), "0");
        for units in [0u128, 1, 999, BASE_UNITS_PER_AIC, 123_456_789_012_345] {
            assert_eq!(parse_aic(&format_aic(units)).unwrap(), units);
        }
    }
}

//! Numbers with SI prefixes, for what devices say in their own words
//! (summaries, notices) and for front ends showing values.

/// `1.0234e-9, 3, "A"` → `1.023 nA`: engineering notation with an SI
/// prefix; values beyond the prefixes fall back to exponent notation.
pub fn si_format(value: f64, decimals: u8, unit: &str) -> String {
    const PREFIXES: [(i32, &str); 11] = [
        (-18, "a"),
        (-15, "f"),
        (-12, "p"),
        (-9, "n"),
        (-6, "µ"),
        (-3, "m"),
        (0, ""),
        (3, "k"),
        (6, "M"),
        (9, "G"),
        (12, "T"),
    ];
    let places = usize::from(decimals);
    let sep = if unit.is_empty() { "" } else { " " };
    if value == 0.0 || !value.is_finite() {
        return format!("{value:.places$}{sep}{unit}");
    }
    let mut exponent = (value.abs().log10() / 3.0).floor() as i32 * 3;
    // Rounding can carry into the next prefix (999.96 → 1000.0 → 1.000 k).
    let rounded: f64 = format!("{:.places$}", value / 10f64.powi(exponent))
        .parse()
        .unwrap_or(0.0);
    if rounded.abs() >= 1000.0 {
        exponent += 3;
    }
    let Some((_, prefix)) = PREFIXES.iter().find(|(p, _)| *p == exponent) else {
        return format!("{value:.places$e}{sep}{unit}");
    };
    let mantissa = value / 10f64.powi(exponent);
    format!("{mantissa:.places$} {prefix}{unit}")
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_prefixes() {
        assert_eq!(si_format(1.0234e-9, 3, "A"), "1.023 nA");
        assert_eq!(si_format(-2.5e-12, 2, "C"), "-2.50 pC");
        assert_eq!(si_format(2.0e9, 1, "Ω"), "2.0 GΩ");
        assert_eq!(si_format(1.5, 3, "V"), "1.500 V");
        assert_eq!(si_format(20e-3, 0, "A"), "20 mA");
        assert_eq!(si_format(0.0, 2, "A"), "0.00 A");
        assert_eq!(si_format(999.96e-12, 1, "A"), "1.0 nA");
        assert_eq!(si_format(0.5, 1, ""), "500.0 m");
        assert_eq!(si_format(9.9e37, 2, "A"), "9.90e37 A");
    }
}

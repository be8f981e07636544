//! INDI numbers: printf formats (`%.2f`, `%g`, `%5.2f`, `%.f`, `%d`) and
//! the sexagesimal `%<w>.<f>m` for output; sexagesimal input
//! (`-12:30:36`, `12 30`, `12;30;36.5`) as indipydriver's `getfloat`.

/// Render `value` with an INDI format.
pub fn format_number(value: f64, format: &str) -> String {
    let Some(spec) = Spec::parse(format) else {
        return plain(value);
    };
    let text = match spec.conversion {
        'm' => sexagesimal(value, spec.precision.unwrap_or(6)),
        'f' | 'F' => fixed(value, spec.precision.unwrap_or(6)),
        'e' | 'E' => {
            let t = exponent(value, spec.precision.unwrap_or(6));
            if spec.conversion == 'E' {
                t.to_uppercase()
            } else {
                t
            }
        }
        'g' | 'G' => general(value, spec.precision.unwrap_or(6)),
        'd' | 'i' => format!("{}", value.round() as i64),
        _ => plain(value),
    };
    if text.len() >= spec.width {
        text
    } else if spec.zero && !text.starts_with('-') && spec.conversion != 'm' {
        format!("{text:0>w$}", w = spec.width)
    } else if spec.zero && spec.conversion != 'm' {
        format!("-{:0>w$}", &text[1..], w = spec.width.saturating_sub(1))
    } else {
        format!("{text:>w$}", w = spec.width)
    }
}

/// Widest field a format may ask for.
const MAX_WIDTH: usize = 64;
/// Most digits after the point (f64 has 17 significant ones).
const MAX_PRECISION: usize = 30;

struct Spec {
    zero: bool,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

impl Spec {
    fn parse(format: &str) -> Option<Self> {
        let rest = format.trim().strip_prefix('%')?;
        let zero = rest.starts_with('0');
        let rest = rest.trim_start_matches(['-', '+', ' ', '#', '0']);
        let conversion = rest.chars().last()?;
        let body = &rest[..rest.len() - conversion.len_utf8()];
        let body = body.trim_end_matches(['l', 'h']);
        let (width, precision) = match body.split_once('.') {
            Some((w, p)) => (w, Some(p.parse().unwrap_or(0))),
            None => (body, None),
        };
        // A format comes from the peer that defined the vector: widths and
        // precisions past any sensible number are cut to one.
        Some(Self {
            zero,
            width: width.parse().unwrap_or(0).min(MAX_WIDTH),
            precision: precision.map(|p: usize| p.min(MAX_PRECISION)),
            conversion,
        })
    }
}

fn plain(value: f64) -> String {
    value.to_string()
}

/// `%.Nf`. The exact decimal expansion is slow (Rust falls back to Dragon
/// for many values, and a server formats every value it sends), so the
/// shortest round-trip text is used when it already has at most `N`
/// decimals: below 1e9 a double's spacing is under 0.5e-6, so the exact
/// value lies so near that text that rounding it to `N ≤ 6` places gives
/// the same digits.
fn fixed(value: f64, precision: usize) -> String {
    if precision <= 6 && value.abs() < 1e9 {
        let mut text = value.to_string();
        let decimals = text.find('.').map_or(0, |dot| text.len() - dot - 1);
        if decimals <= precision {
            if precision > 0 {
                if decimals == 0 {
                    text.push('.');
                }
                text.extend(std::iter::repeat_n('0', precision - decimals));
            }
            return text;
        }
    }
    format!("{value:.precision$}")
}

fn exponent(value: f64, precision: usize) -> String {
    let text = format!("{value:.precision$e}");
    // Rust writes e-9; printf writes e-09.
    match text.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => text,
    }
}

/// `%g`: the shorter of `%e` and `%f` at `precision` significant digits,
/// trailing zeros removed.
fn general(value: f64, precision: usize) -> String {
    let p = precision.max(1);
    if value == 0.0 {
        return "0".into();
    }
    let exp = value.abs().log10().floor() as i32;
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if exp < -4 || exp >= p as i32 {
        let t = exponent(value, p - 1);
        match t.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim(m.to_string())),
            None => t,
        }
    } else {
        trim(format!("{value:.*}", (p as i32 - 1 - exp).max(0) as usize))
    }
}

/// The `:mm`, `:mm.m`, `:mm:ss`, `:mm:ss.s`, `:mm:ss.ss` shapes by `f`.
fn sexagesimal(value: f64, fraction: usize) -> String {
    let sign = if value < 0.0 { "-" } else { "" };
    let v = value.abs();
    let (units, tail) = match fraction {
        3 => {
            let total = (v * 60.0).round() as i64;
            (total / 60, format!(":{:02}", total % 60))
        }
        5 => {
            let total = (v * 600.0).round() as i64;
            (
                total / 600,
                format!(":{:02}.{}", total % 600 / 10, total % 10),
            )
        }
        6 => {
            let total = (v * 3600.0).round() as i64;
            (
                total / 3600,
                format!(":{:02}:{:02}", total % 3600 / 60, total % 60),
            )
        }
        8 => {
            let total = (v * 36000.0).round() as i64;
            (
                total / 36000,
                format!(
                    ":{:02}:{:02}.{}",
                    total % 36000 / 600,
                    total % 600 / 10,
                    total % 10
                ),
            )
        }
        _ => {
            let total = (v * 360_000.0).round() as i64;
            (
                total / 360_000,
                format!(
                    ":{:02}:{:02}.{:02}",
                    total % 360_000 / 6000,
                    total % 6000 / 100,
                    total % 100
                ),
            )
        }
    };
    format!("{sign}{units}{tail}")
}

/// A number as a peer may type it: decimal (`,` accepted as the point)
/// or sexagesimal with `:`, ` ` or `;` between the parts.
pub fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(v) = text.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let parts: Vec<&str> = body.splitn(3, [' ', ':', ';']).collect();
    if parts.len() == 1 {
        return body
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .map(|v| if negative { -v } else { v });
    }
    let part = |i: usize| -> Option<f64> {
        match parts.get(i).map(|p| p.trim()) {
            None | Some("") => Some(0.0),
            Some(p) => p
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0),
        }
    };
    let value = part(0)? + part(1)? / 60.0 + part(2)? / 3600.0;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    proptest::proptest! {
        #[test]
        fn fixed_is_the_exact_expansion_rounded(
            value in proptest::prop_oneof![
                proptest::num::f64::NORMAL,
                (-2_000_000i64..2_000_000).prop_map(|n| n as f64 / 1000.0),
                (-1e9f64..1e9),
            ],
            precision in 0usize..8,
        ) {
            proptest::prop_assert_eq!(fixed(value, precision), format!("{value:.precision$}"));
        }
    }

    #[test]
    fn fixed_pads_and_keeps_the_sign_of_zero() {
        assert_eq!(format_number(12_345.0, "%.3f"), "12345.000");
        assert_eq!(format_number(0.5, "%.0f"), format!("{:.0}", 0.5));
        assert_eq!(format_number(-0.0, "%.2f"), "-0.00");
        assert_eq!(
            format_number(1.25, "%8.1f"),
            format!("{:>8}", format!("{:.1}", 1.25))
        );
        assert_eq!(format_number(3.0, "%05.1f"), "003.0");
    }

    /// Found by fuzzing: a peer's format with a width past what `format!`
    /// takes panicked (`-0:0:1.5` with `%1222222222.8m`).
    #[test]
    fn absurd_widths_and_precisions_are_cut() {
        let text = format_number(-1.0 / 2400.0, "%1222222222.8m");
        assert_eq!(text.len(), MAX_WIDTH);
        assert!(text.trim_start().starts_with("-0:00:01"), "{text:?}");
        assert_eq!(format_number(1.0, "%.99999999f").len(), 2 + MAX_PRECISION);
        assert_eq!(format_number(1.0, "%99999999999999999999999d").len(), 1);
    }

    #[test]
    fn sexagesimal_shapes_from_the_spec() {
        assert_eq!(format_number(-12.51, "%9.3m"), "   -12:31");
        assert_eq!(format_number(-12.51, "%9.5m"), " -12:30.6");
        assert_eq!(format_number(-12.51, "%9.6m"), "-12:30:36");
        assert_eq!(format_number(-12.51, "%10.8m"), "-12:30:36.0");
        assert_eq!(format_number(-12.51, "%12.9m"), "-12:30:36.00");
        assert_eq!(format_number(2.618_385_7, "%010.6m").trim(), "2:37:06");
    }

    #[test]
    fn printf_formats() {
        assert_eq!(format_number(21.5, "%.2f"), "21.50");
        assert_eq!(format_number(250.0, "%.f"), "250");
        assert_eq!(format_number(1.23456, "%5.2f"), " 1.23");
        assert_eq!(format_number(1.5e-9, "%g"), "1.5e-09");
        assert_eq!(format_number(800.0, "%g"), "800");
        assert_eq!(format_number(0.1, "%g"), "0.1");
        assert_eq!(format_number(1_234_567.0, "%g"), "1.23457e+06");
        assert_eq!(format_number(7.0, "%d"), "7");
        assert_eq!(format_number(2.5e-12, "%.3e"), "2.500e-12");
        assert_eq!(format_number(5.0, "nonsense"), "5");
    }

    #[test]
    fn typed_input() {
        assert_eq!(parse_number("-12:30:36"), Some(-12.51));
        assert_eq!(parse_number("12 30"), Some(12.5));
        assert!((parse_number("12;30;36.5").unwrap() - 12.510_138_888).abs() < 1e-6);
        assert_eq!(parse_number("36.6"), Some(36.6));
        assert_eq!(parse_number("36,6"), Some(36.6));
        assert_eq!(parse_number("2:"), Some(2.0));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("1:x"), None);
        assert_eq!(parse_number(""), None);
    }
}

//! Themes: TOML files mapping semantic roles to styles (`themes/*.toml`,
//! built in; user themes from the config directory). `NO_COLOR` strips
//! colours and keeps attributes.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use thiserror::Error;

use labdeck_core::config::ConfigError;

/// Every role a theme can style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Base,
    Border,
    BorderFocus,
    Title,
    TitleFocus,
    Header,
    HeaderAlarm,
    Tab,
    TabActive,
    HintKey,
    Hint,
    Selection,
    /// A search hit.
    Match,
    Dim,
    Label,
    Value,
    StateOk,
    StateBusy,
    StateAlert,
    StateIdle,
    LinkConnected,
    LinkConnecting,
    LinkRecovering,
    LinkDown,
    LinkIdle,
    Tx,
    Rx,
    Control,
    Decoded,
    Alarm,
    AlarmAcked,
    AlarmCleared,
    Sparkline,
    OutOfLimits,
    Overlay,
    Input,
    Ok,
    Error,
}

impl Role {
    const ALL: [(Role, &'static str); 38] = [
        (Role::Base, "base"),
        (Role::Border, "border"),
        (Role::BorderFocus, "border-focus"),
        (Role::Title, "title"),
        (Role::TitleFocus, "title-focus"),
        (Role::Header, "header"),
        (Role::HeaderAlarm, "header-alarm"),
        (Role::Tab, "tab"),
        (Role::TabActive, "tab-active"),
        (Role::HintKey, "hint-key"),
        (Role::Hint, "hint"),
        (Role::Selection, "selection"),
        (Role::Match, "match"),
        (Role::Dim, "dim"),
        (Role::Label, "label"),
        (Role::Value, "value"),
        (Role::StateOk, "state-ok"),
        (Role::StateBusy, "state-busy"),
        (Role::StateAlert, "state-alert"),
        (Role::StateIdle, "state-idle"),
        (Role::LinkConnected, "link-connected"),
        (Role::LinkConnecting, "link-connecting"),
        (Role::LinkRecovering, "link-recovering"),
        (Role::LinkDown, "link-down"),
        (Role::LinkIdle, "link-idle"),
        (Role::Tx, "tx"),
        (Role::Rx, "rx"),
        (Role::Control, "control"),
        (Role::Decoded, "decoded"),
        (Role::Alarm, "alarm"),
        (Role::AlarmAcked, "alarm-acked"),
        (Role::AlarmCleared, "alarm-cleared"),
        (Role::Sparkline, "sparkline"),
        (Role::OutOfLimits, "out-of-limits"),
        (Role::Overlay, "overlay"),
        (Role::Input, "input"),
        (Role::Ok, "ok"),
        (Role::Error, "error"),
    ];

    fn from_name(name: &str) -> Option<Role> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(r, _)| *r)
    }
}

/// Themes shipped with labdeck (`themes/*.toml`).
pub const BUILTIN_THEMES: &[&str] = &["default", "light", "high-contrast", "mono"];

/// Where user themes live: `$XDG_CONFIG_HOME/labdeck/themes/NAME.toml`.
pub fn user_theme_path(name: &str) -> Option<std::path::PathBuf> {
    directories::ProjectDirs::from("", "", "labdeck")
        .map(|d| d.config_dir().join("themes").join(format!("{name}.toml")))
}

const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    styles: BTreeMap<toml::Spanned<String>, Style>,
}

#[derive(Debug, Error)]
pub enum ThemeError {
    #[error("unknown theme {0:?}; built in: default, light, high-contrast, mono")]
    Unknown(String),
    #[error("cannot read theme {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(ConfigError),
}

/// Resolved styles for every role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: BTreeMap<Role, Style>,
}

impl Theme {
    /// A built-in theme or `$XDG_CONFIG_HOME/labdeck/themes/NAME.toml`.
    /// Roles a file leaves out come from the default theme.
    pub fn load(name: &str, no_color: bool) -> Result<Self, ThemeError> {
        let mut theme = Self::parse("default", BUILTIN[0].1, None)?;
        if name != "default" {
            let (text, origin) = if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
                (text.to_string(), format!("themes/{name}.toml"))
            } else {
                let path = user_theme_path(name)
                    .filter(|p| p.is_file())
                    .ok_or_else(|| ThemeError::Unknown(name.to_string()))?;
                let text = std::fs::read_to_string(&path).map_err(|source| ThemeError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                (text, path.display().to_string())
            };
            let overlay = Self::parse(name, &text, Some(&origin))?;
            theme.name = overlay.name;
            theme.styles.extend(overlay.styles);
        }
        if no_color {
            theme.strip_colours();
        }
        Ok(theme)
    }

    fn parse(name: &str, text: &str, origin: Option<&str>) -> Result<Self, ThemeError> {
        let origin = origin.unwrap_or("themes/default.toml");
        let file: ThemeFile = toml::from_str(text).map_err(|e| {
            ThemeError::Invalid(ConfigError::at(
                origin,
                text,
                e.span().unwrap_or(0..0),
                e.message().trim_end(),
            ))
        })?;
        let mut styles = BTreeMap::new();
        for (role, style) in file.styles {
            let Some(r) = Role::from_name(role.get_ref()) else {
                let known: Vec<&str> = Role::ALL.iter().map(|(_, n)| *n).collect();
                return Err(ThemeError::Invalid(ConfigError::at(
                    origin,
                    text,
                    role.span(),
                    format!(
                        "unknown role {:?}; roles: {}",
                        role.get_ref(),
                        known.join(", ")
                    ),
                )));
            };
            styles.insert(r, style);
        }
        Ok(Self {
            name: name.to_string(),
            styles,
        })
    }

    /// `NO_COLOR`: keep bold, dim, reverse and the rest; drop colours.
    pub fn strip_colours(&mut self) {
        for style in self.styles.values_mut() {
            style.fg = None;
            style.bg = None;
        }
        // Without colour the selection and header must still stand out.
        for role in [
            Role::Selection,
            Role::Header,
            Role::HeaderAlarm,
            Role::TabActive,
        ] {
            let style = self.styles.entry(role).or_default();
            *style = style.add_modifier(Modifier::REVERSED);
        }
        for role in [Role::StateAlert, Role::Alarm, Role::HeaderAlarm] {
            let style = self.styles.entry(role).or_default();
            *style = style.add_modifier(Modifier::BOLD);
        }
    }

    pub fn style(&self, role: Role) -> Style {
        self.styles.get(&role).copied().unwrap_or_default()
    }

    /// Whether any role uses a colour outside the 16 ANSI colours.
    pub fn uses_only_ansi_colours(&self) -> bool {
        self.styles.values().all(|s| {
            [s.fg, s.bg]
                .into_iter()
                .flatten()
                .all(|c| !matches!(c, Color::Rgb(..) | Color::Indexed(_)))
        })
    }
}

/// Whether the environment asks for no colour (`NO_COLOR` set and not
/// empty, see no-color.org).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_light_theme_is_readable_on_white() {
        let theme = Theme::load("light", false).unwrap();
        let readable = [
            Color::Black,
            Color::DarkGray,
            Color::Red,
            Color::Green,
            Color::Blue,
            Color::Magenta,
        ];
        for (role, name) in Role::ALL {
            let style = theme.style(role);
            // A role with a background of its own carries its contrast.
            if style.bg.is_some() {
                continue;
            }
            if let Some(fg) = style.fg {
                assert!(readable.contains(&fg), "{name}: {fg:?} on white");
            }
        }
    }

    #[test]
    fn every_builtin_theme_loads_and_covers_every_role() {
        for (name, _) in BUILTIN {
            let theme = Theme::load(name, false).unwrap_or_else(|e| panic!("{name}: {e}"));
            for (role, role_name) in Role::ALL {
                assert!(theme.styles.contains_key(&role), "{name} lacks {role_name}");
            }
        }
    }

    #[test]
    fn the_default_theme_uses_only_ansi_colours() {
        assert!(
            Theme::load("default", false)
                .unwrap()
                .uses_only_ansi_colours()
        );
    }

    #[test]
    fn mono_and_no_color_have_no_colours() {
        let no_colour = |t: &Theme| t.styles.values().all(|s| s.fg.is_none() && s.bg.is_none());
        assert!(no_colour(&Theme::load("mono", false).unwrap()));
        let stripped = Theme::load("default", true).unwrap();
        assert!(no_colour(&stripped));
        assert!(
            stripped
                .style(Role::Selection)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }

    #[test]
    fn bad_themes_say_where() {
        let err = Theme::parse(
            "x",
            "[styles]\nborder = { fg = \"dark-gray\" }\nborders = {}\n",
            Some("x.toml"),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("error: x.toml:3:1: unknown role \"borders\""),
            "{err}"
        );
        let err =
            Theme::parse("x", "[styles]\nborder = { fg = 12.5 }\n", Some("x.toml")).unwrap_err();
        assert!(err.to_string().contains("x.toml:2:"), "{err}");
        assert!(matches!(
            Theme::load("nope", false),
            Err(ThemeError::Unknown(_))
        ));
    }
}

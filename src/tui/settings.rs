//! The console's sections of the configuration file: `[console]` (frame
//! and data rates, theme, mouse, read-only, confirmations) and `[keys]`. The core reads the rest of the file;
//! this reads the same text again for these two, with the same
//! file:line:column errors, and [`load`] reports both sets of problems
//! together, in file order.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::keys::{Action, KeyChord, Keymap};
use super::theme::{BUILTIN_THEMES, user_theme_path};
use labdeck_core::config::{self, Config, ConfigError, ConfigErrors, ConfigOrigin, LoadError};

/// How the console looks and which keys do what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// Frames a second at most while the operator types.
    pub frame_rate: u32,
    /// Frames a second at most for what the lab changes by itself.
    pub data_rate: u32,
    pub theme: String,
    pub mouse: bool,
    /// Start refusing every write, action and fault toggle.
    pub read_only: bool,
    /// Ask before switching a pump, disconnecting a running device's
    /// link and an emergency stop.
    pub confirm: bool,
    pub keymap: Keymap,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            frame_rate: 30,
            data_rate: 5,
            theme: "default".into(),
            mouse: false,
            read_only: false,
            confirm: true,
            keymap: Keymap::default(),
        }
    }
}

/// The file as the console reads it: its two tables, anything else is
/// the core's business.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawFile {
    console: Option<RawConsole>,
    keys: Option<BTreeMap<Spanned<String>, Spanned<RawKeys>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConsole {
    frame_rate: Option<Spanned<u32>>,
    data_rate: Option<Spanned<u32>>,
    theme: Option<Spanned<String>>,
    mouse: Option<bool>,
    read_only: Option<bool>,
    confirm: Option<bool>,
}

/// One key or several for an action.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawKeys {
    One(String),
    Many(Vec<String>),
}

/// Discover, read and check the whole configuration: the core's part and
/// the console's.
pub fn load(explicit: Option<&Path>) -> Result<(Config, ConsoleSettings), LoadError> {
    let (text, origin) = config::discover(explicit)?;
    Ok(parse(&text, &origin)?)
}

/// Check a configuration text, the core's sections and the console's;
/// every problem of both, in file order.
pub fn parse(text: &str, origin: &ConfigOrigin) -> Result<(Config, ConsoleSettings), ConfigErrors> {
    let core = config::parse(text, origin.clone());
    // A file the core cannot even read says so alone, as TOML errors do.
    if let Err(e) = &core
        && e.0.len() == 1
        && toml::from_str::<toml::Table>(text).is_err()
    {
        return Err(e.clone());
    }
    let console = console(text, origin);
    match (core, console) {
        (Ok(core), Ok(console)) => Ok((core, console)),
        (Err(ConfigErrors(mut a)), Err(ConfigErrors(b))) => {
            a.extend(b);
            a.sort_by_key(|e| (e.line, e.column));
            Err(ConfigErrors(a))
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
    }
}

/// The console's sections of a configuration text.
pub fn console(text: &str, origin: &ConfigOrigin) -> Result<ConsoleSettings, ConfigErrors> {
    let name = origin.to_string();
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        ConfigErrors(vec![ConfigError::at(
            &name,
            text,
            span,
            e.message().trim_end(),
        )])
    })?;
    let mut errors = Vec::new();
    let mut error = |span: std::ops::Range<usize>, message: String| {
        errors.push(ConfigError::at(&name, text, span, message));
    };
    let mut settings = ConsoleSettings {
        keymap: keymap(raw.keys.as_ref(), &mut error),
        ..ConsoleSettings::default()
    };
    if let Some(console) = &raw.console {
        if let Some(rate) = &console.frame_rate {
            if (1..=240).contains(rate.get_ref()) {
                settings.frame_rate = *rate.get_ref();
                // The default data rate never exceeds a low frame rate.
                settings.data_rate = settings.data_rate.min(settings.frame_rate);
            } else {
                error(
                    rate.span(),
                    format!(
                        "frame-rate must be 1..=240 frames per second, found {}",
                        rate.get_ref()
                    ),
                );
            }
        }
        if let Some(rate) = &console.data_rate {
            if (1..=settings.frame_rate).contains(rate.get_ref()) {
                settings.data_rate = *rate.get_ref();
            } else {
                error(
                    rate.span(),
                    format!(
                        "data-rate must be 1..={} (the frame-rate) redraws per second, found {}",
                        settings.frame_rate,
                        rate.get_ref()
                    ),
                );
            }
        }
        if let Some(theme) = &console.theme {
            let name = theme.get_ref();
            let user_file = user_theme_path(name).filter(|p| p.is_file());
            if BUILTIN_THEMES.contains(&name.as_str()) || user_file.is_some() {
                settings.theme.clone_from(name);
            } else {
                error(
                    theme.span(),
                    format!(
                        "unknown theme {name:?}; built in: {}; user themes go in {}",
                        BUILTIN_THEMES.join(", "),
                        user_theme_path(name).map_or_else(
                            || "the config directory".into(),
                            |p| p.display().to_string()
                        )
                    ),
                );
            }
        }
        settings.mouse = console.mouse.unwrap_or(false);
        settings.read_only = console.read_only.unwrap_or(false);
        settings.confirm = console.confirm.unwrap_or(true);
    }
    if errors.is_empty() {
        Ok(settings)
    } else {
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(errors))
    }
}

/// Default keys, with the `[keys]` table applied; every chord must parse
/// and no two actions that can be active together may share a key.
fn keymap(
    table: Option<&BTreeMap<Spanned<String>, Spanned<RawKeys>>>,
    error: &mut impl FnMut(std::ops::Range<usize>, String),
) -> Keymap {
    let mut map = Keymap::default();
    let Some(table) = table else { return map };
    let mut spans = HashMap::new();
    for (name, value) in table {
        let Some(action) = Action::from_name(name.get_ref()) else {
            let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
            error(
                name.span(),
                format!(
                    "unknown action {:?}; actions: {}",
                    name.get_ref(),
                    known.join(", ")
                ),
            );
            continue;
        };
        let texts = match value.get_ref() {
            RawKeys::One(one) => vec![one.clone()],
            RawKeys::Many(many) => many.clone(),
        };
        let mut chords = Vec::new();
        for text in texts {
            match text.parse::<KeyChord>() {
                Ok(chord) => chords.push(chord),
                Err(e) => error(
                    value.span(),
                    format!("{}: key {text:?}: {e}", name.get_ref()),
                ),
            }
        }
        spans.insert(action, value.span());
        map.bind(action, chords);
    }
    for clash in map.clashes() {
        // Point at whichever side the user wrote.
        let span = spans
            .get(&clash.second)
            .or_else(|| spans.get(&clash.first))
            .cloned()
            .unwrap_or(0..0);
        error(
            span,
            format!(
                "key {} is bound to both {} and {}",
                clash.key,
                clash.first.name(),
                clash.second.name()
            ),
        );
    }
    map
}

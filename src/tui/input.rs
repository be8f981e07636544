//! Terminal events to messages.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind,
};

use super::update::Msg;
use crate::tui::keys::{KeyChord, KeyName};

/// A key press as a chord; releases (sent by some terminals) are ignored.
pub fn chord(key: KeyEvent) -> Option<KeyChord> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let name = match key.code {
        KeyCode::Char(' ') => KeyName::Space,
        KeyCode::Char(c) => KeyName::Char(c),
        KeyCode::Enter => KeyName::Enter,
        KeyCode::Esc => KeyName::Esc,
        KeyCode::Tab => KeyName::Tab,
        KeyCode::BackTab => KeyName::BackTab,
        KeyCode::Backspace => KeyName::Backspace,
        KeyCode::Delete => KeyName::Delete,
        KeyCode::Insert => KeyName::Insert,
        KeyCode::Up => KeyName::Up,
        KeyCode::Down => KeyName::Down,
        KeyCode::Left => KeyName::Left,
        KeyCode::Right => KeyName::Right,
        KeyCode::PageUp => KeyName::PageUp,
        KeyCode::PageDown => KeyName::PageDown,
        KeyCode::Home => KeyName::Home,
        KeyCode::End => KeyName::End,
        KeyCode::F(n) => KeyName::F(n),
        _ => return None,
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let name = match name {
        // Ctrl-letters arrive lower-case; match the parsed form.
        KeyName::Char(c) if ctrl => KeyName::Char(c.to_ascii_lowercase()),
        other => other,
    };
    Some(KeyChord {
        key: name,
        ctrl,
        alt,
    })
}

/// A terminal event as a message, if it means anything to the console.
pub fn message(event: &Event) -> Option<Msg> {
    match event {
        Event::Key(key) => chord(*key).map(Msg::Key),
        Event::Resize(w, h) => Some(Msg::Resize(*w, *h)),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::Down(_) => Some(Msg::Click {
                x: m.column,
                y: m.row,
            }),
            MouseEventKind::ScrollUp => Some(Msg::Scroll {
                x: m.column,
                y: m.row,
                up: true,
            }),
            MouseEventKind::ScrollDown => Some(Msg::Scroll {
                x: m.column,
                y: m.row,
                up: false,
            }),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_the_chords_the_config_names() {
        let press = |code, mods| chord(KeyEvent::new(code, mods)).unwrap();
        assert_eq!(
            press(KeyCode::Char('l'), KeyModifiers::CONTROL),
            "ctrl+l".parse().unwrap()
        );
        assert_eq!(
            press(KeyCode::Char('G'), KeyModifiers::SHIFT),
            "G".parse().unwrap()
        );
        assert_eq!(
            press(KeyCode::BackTab, KeyModifiers::SHIFT),
            "shift+tab".parse().unwrap()
        );
        assert_eq!(
            press(KeyCode::Char(' '), KeyModifiers::NONE),
            "space".parse().unwrap()
        );
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(chord(release), None);
    }
}

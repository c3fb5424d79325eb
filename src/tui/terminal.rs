//! Taking the terminal and giving it back — also when it has gone away. ratatui's own
//! `init`/`restore` and its `Terminal`'s drop report a failed restore with `eprintln!`,
//! which panics when stderr is the same dead pty (an ssh session dropped, a tmux session
//! killed); that panic inside a drop aborted the process before the demo could stop its
//! servers. Here every restore step ignores its error: there is nobody to tell.

use std::io::{Write, stdout};
use std::mem::ManuallyDrop;

use crossterm::cursor::Show;
use crossterm::execute;
use crossterm::terminal::{LeaveAlternateScreen, disable_raw_mode};
use ratatui::DefaultTerminal;

/// Leaves the alternate screen, shows the cursor, ends raw mode; never fails, never prints.
pub fn restore() {
    let _ = disable_raw_mode();
    let mut out = stdout();
    let _ = execute!(out, LeaveAlternateScreen, Show);
    let _ = out.flush();
}

/// The terminal, restored however the view ends (return, error, panic unwinding).
pub struct Guard {
    terminal: ManuallyDrop<DefaultTerminal>,
}

impl Guard {
    /// Raw mode and the alternate screen, and a panic hook that restores before the
    /// previous hook (color-eyre's) prints the report.
    pub fn take() -> std::io::Result<Guard> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        crossterm::terminal::enable_raw_mode()?;
        let mut out = stdout();
        if let Err(e) = execute!(out, crossterm::terminal::EnterAlternateScreen) {
            restore();
            return Err(e);
        }
        let backend = ratatui::backend::CrosstermBackend::new(out);
        match ratatui::Terminal::new(backend) {
            Ok(t) => Ok(Guard {
                terminal: ManuallyDrop::new(t),
            }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    pub fn terminal(&mut self) -> &mut DefaultTerminal {
        &mut self.terminal
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
        // Not dropped: ratatui's drop would show the cursor again and `eprintln!` its
        // failure on a terminal that is gone. It holds only buffers; the process ends.
    }
}

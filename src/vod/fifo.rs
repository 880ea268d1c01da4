//! Feeding a tool through a named pipe: a thread writes the archive's segments into the pipe
//! while the tool reads it, so a joined copy of the archive never touches the disk.

use std::fs::File;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::stat::Mode;

/// A pipe at `path` and the thread writing `segments` into it once a reader opens it. The
/// writer never blocks on a reader that does not come: it gives up when `stop` is set.
pub fn feed(
    path: &Path,
    segments: Vec<PathBuf>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<io::Result<()>>> {
    nix::unistd::mkfifo(path, Mode::S_IRUSR | Mode::S_IWUSR).map_err(io::Error::from)?;
    let path = path.to_path_buf();
    Ok(std::thread::spawn(move || {
        let Some(mut pipe) = open_writer(&path, &stop)? else {
            return Ok(());
        };
        for seg in &segments {
            let mut f = File::open(seg)?;
            match io::copy(&mut f, &mut pipe) {
                Ok(_) => {}
                // The reader left early (it failed): its own error says why.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }))
}

/// Waits for the feeding thread.
pub fn finish(h: JoinHandle<io::Result<()>>) -> io::Result<()> {
    h.join()
        .unwrap_or_else(|_| Err(io::Error::other("the thread feeding the packager panicked")))
}

/// Opens the pipe for writing once a reader has it open, as a blocking file; `None` if `stop`
/// came first.
fn open_writer(path: &Path, stop: &AtomicBool) -> io::Result<Option<File>> {
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(OFlag::O_NONBLOCK.bits())
            .open(path)
        {
            Ok(f) => {
                fcntl(&f, FcntlArg::F_SETFL(OFlag::empty())).map_err(io::Error::from)?;
                return Ok(Some(f));
            }
            // No reader yet.
            Err(e) if e.raw_os_error() == Some(Errno::ENXIO as i32) => {
                if stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_reader_gets_every_segment_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let segs: Vec<PathBuf> = (0..3)
            .map(|i| {
                let p = dir.path().join(format!("s{i}"));
                std::fs::write(&p, format!("[{i}]")).expect("write");
                p
            })
            .collect();
        let pipe = dir.path().join("p");
        let h = feed(&pipe, segs, Arc::new(AtomicBool::new(false))).expect("feed");
        let mut got = String::new();
        File::open(&pipe)
            .expect("open")
            .read_to_string(&mut got)
            .expect("read");
        assert_eq!(got, "[0][1][2]");
        finish(h).expect("fed");
    }

    #[test]
    fn a_reader_that_never_comes_does_not_hang_the_writer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stop = Arc::new(AtomicBool::new(false));
        let h = feed(&dir.path().join("p"), Vec::new(), stop.clone()).expect("feed");
        stop.store(true, Ordering::Relaxed);
        finish(h).expect("gave up cleanly");
    }
}

//! How long the picture has been black (or frozen, or the sound silent), across samples: a
//! stretch reaching a sample's end goes on in the next sample if that one starts with it.

use super::analyse::Stretch;

/// A stretch this close to a sample's edge touches it: the first frames of a segment and the
/// detectors' own timing are that far off.
const EDGE_S: f64 = 0.5;

/// One detector's run, on the stream's own timeline (seconds of media).
#[derive(Debug, Default, Clone)]
pub struct Run {
    since: Option<f64>,
}

impl Run {
    /// Takes a sample that begins at `at` on the stream's timeline and lasts `length` seconds,
    /// and what the detector found in it; `follows` is false when the sample does not continue
    /// the previous one (a new pipeline, a restarted encoder). Gives the signal's value: how
    /// long the run going on at the sample's end has lasted, or else the longest that ended in
    /// it (so that a stretch over before the next sample still fires), or 0; counted from
    /// `from` on the same timeline (the show's start: a slate before it is no fault).
    pub fn update(
        &mut self,
        at: f64,
        length: f64,
        found: &[Stretch],
        follows: bool,
        from: f64,
    ) -> f64 {
        let carried = if follows { self.since.take() } else { None };
        let mut ended: f64 = 0.0;
        for (i, s) in found.iter().enumerate() {
            let start = match carried {
                Some(c) if i == 0 && s.start <= EDGE_S => c,
                _ => at + s.start,
            };
            match s.end {
                Some(e) if e < length - EDGE_S => ended = ended.max(at + e - start.max(from)),
                _ => self.since = Some(start),
            }
        }
        let value = match self.since {
            Some(since) => (at + length - since.max(from)).max(ended),
            None => ended,
        };
        value.max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(start: f64) -> Stretch {
        Stretch { start, end: None }
    }

    fn closed(start: f64, end: f64) -> Stretch {
        Stretch {
            start,
            end: Some(end),
        }
    }

    impl Run {
        fn update_(&mut self, at: f64, length: f64, found: &[Stretch], follows: bool) -> f64 {
            self.update(at, length, found, follows, f64::NEG_INFINITY)
        }
    }

    #[test]
    fn a_slate_before_the_show_counts_from_its_start() {
        let mut r = Run::default();
        // Black from 90 s; the show starts at 100 s.
        assert_eq!(r.update(90.0, 3.0, &[open(0.0)], true, 100.0), 0.0);
        assert_eq!(r.update(99.0, 3.0, &[open(0.0)], true, 100.0), 2.0);
        assert_eq!(r.update(102.0, 3.0, &[closed(0.0, 1.0)], true, 100.0), 3.0);
    }

    #[test]
    fn a_run_goes_on_across_samples_until_it_ends() {
        let mut r = Run::default();
        assert_eq!(r.update_(0.0, 3.0, &[], true), 0.0);
        assert_eq!(r.update_(3.0, 3.0, &[open(1.0)], true), 2.0);
        assert_eq!(r.update_(6.0, 3.0, &[open(0.0)], true), 5.0);
        // It ends within the sample: its whole length, once.
        assert_eq!(r.update_(9.0, 3.0, &[closed(0.0, 1.0)], true), 6.0);
        assert_eq!(r.update_(12.0, 3.0, &[], true), 0.0);
    }

    #[test]
    fn a_sample_that_does_not_start_with_it_breaks_the_run() {
        let mut r = Run::default();
        assert_eq!(r.update_(0.0, 3.0, &[open(2.0)], true), 1.0);
        assert_eq!(r.update_(3.0, 3.0, &[open(1.5)], true), 1.5);
        assert_eq!(r.update_(6.0, 3.0, &[open(0.0)], false), 3.0);
    }

    #[test]
    fn a_stretch_ending_at_the_sample_end_still_runs() {
        let mut r = Run::default();
        assert_eq!(r.update_(0.0, 3.0, &[closed(1.0, 2.9)], true), 2.0);
        assert_eq!(r.update_(3.0, 3.0, &[closed(0.0, 2.0)], true), 4.0);
    }
}

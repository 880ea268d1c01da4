//! Anomaly detectors: is this value far from what the series has been doing lately?
//!
//! Both compare a value with a baseline learned from the values before it, in units of their
//! deviation. The value then joins the baseline, so that a lasting change of level becomes the
//! new normal and the alert resolves, as a person watching the graph would conclude.

use std::collections::VecDeque;
use std::time::Duration;

use crate::config::profile::{AnomalyMethod, AnomalySpec};

/// Deviations are never taken as smaller than this share of the mean: a perfectly steady
/// series (a constant 30 fps) would otherwise call its first 29.97 an anomaly.
const RELATIVE_FLOOR: f64 = 0.01;
const ABSOLUTE_FLOOR: f64 = 1e-9;

#[derive(Debug, Clone)]
pub enum Detector {
    ZScore(Rolling),
    Ewma(Ewma),
}

impl Detector {
    pub fn new(spec: &AnomalySpec) -> Self {
        match spec.method {
            AnomalyMethod::Zscore => Detector::ZScore(Rolling::new(spec.window.0)),
            AnomalyMethod::Ewma => Detector::Ewma(Ewma::new(spec.alpha)),
        }
    }

    /// How many deviations `value` is from the baseline, or `None` while there are fewer than
    /// `min_samples` values behind it; then learns it.
    pub fn score(&mut self, at_ms: i64, value: f64, min_samples: u32) -> Option<f64> {
        match self {
            Detector::ZScore(r) => r.score(at_ms, value, min_samples),
            Detector::Ewma(e) => e.score(value, min_samples),
        }
    }
}

fn deviations(value: f64, mean: f64, var: f64) -> f64 {
    let sd = var
        .max(0.0)
        .sqrt()
        .max(mean.abs() * RELATIVE_FLOOR)
        .max(ABSOLUTE_FLOOR);
    (value - mean).abs() / sd
}

/// Mean and deviation over a time window, kept as running sums (O(1) per value).
#[derive(Debug, Clone)]
pub struct Rolling {
    window_ms: i64,
    values: VecDeque<(i64, f64)>,
    sum: f64,
    sum_sq: f64,
}

impl Rolling {
    pub fn new(window: Duration) -> Self {
        Self {
            window_ms: window.as_millis().try_into().unwrap_or(i64::MAX),
            values: VecDeque::new(),
            sum: 0.0,
            sum_sq: 0.0,
        }
    }

    fn score(&mut self, at_ms: i64, value: f64, min_samples: u32) -> Option<f64> {
        while let Some(&(t, v)) = self.values.front() {
            if at_ms - t <= self.window_ms {
                break;
            }
            self.values.pop_front();
            self.sum -= v;
            self.sum_sq -= v * v;
        }
        let n = self.values.len() as f64;
        let score = (self.values.len() >= min_samples as usize && n > 0.0).then(|| {
            let mean = self.sum / n;
            deviations(value, mean, self.sum_sq / n - mean * mean)
        });
        if self.values.is_empty() {
            // Running sums drift with rounding; a fresh start resets them.
            self.sum = 0.0;
            self.sum_sq = 0.0;
        }
        self.values.push_back((at_ms, value));
        self.sum += value;
        self.sum_sq += value * value;
        score
    }
}

/// Exponentially weighted mean and variance (West's incremental form).
#[derive(Debug, Clone)]
pub struct Ewma {
    alpha: f64,
    mean: f64,
    var: f64,
    seen: u32,
}

impl Ewma {
    pub fn new(alpha: f64) -> Self {
        Self {
            alpha,
            mean: 0.0,
            var: 0.0,
            seen: 0,
        }
    }

    fn score(&mut self, value: f64, min_samples: u32) -> Option<f64> {
        let score = (self.seen >= min_samples && self.seen > 0)
            .then(|| deviations(value, self.mean, self.var));
        if self.seen == 0 {
            self.mean = value;
        } else {
            let diff = value - self.mean;
            let incr = self.alpha * diff;
            self.mean += incr;
            self.var = (1.0 - self.alpha) * (self.var + diff * incr);
        }
        self.seen = self.seen.saturating_add(1);
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(method: AnomalyMethod) -> AnomalySpec {
        AnomalySpec {
            method,
            window: crate::config::duration::HumanDuration(Duration::from_secs(60)),
            alpha: 0.1,
            sigma: 3.0,
            min_samples: 10,
        }
    }

    #[test]
    fn a_spike_scores_high_and_noise_does_not() {
        for method in [AnomalyMethod::Zscore, AnomalyMethod::Ewma] {
            let mut d = Detector::new(&spec(method));
            let mut worst: f64 = 0.0;
            for i in 0..50 {
                // 30 fps with a little jitter.
                let v = 30.0 + if i % 2 == 0 { 0.3 } else { -0.3 };
                if let Some(s) = d.score(i * 1000, v, 10) {
                    worst = worst.max(s);
                }
            }
            assert!(worst < 3.0, "{method:?}: steady jitter scored {worst}");
            let spike = d.score(50_000, 12.0, 10).unwrap_or(0.0);
            assert!(spike > 3.0, "{method:?}: a drop to 12 fps scored {spike}");
        }
    }

    #[test]
    fn nothing_is_scored_before_min_samples() {
        let mut d = Detector::new(&spec(AnomalyMethod::Zscore));
        for i in 0..10 {
            assert_eq!(d.score(i * 1000, 30.0, 10), None);
        }
        assert!(d.score(10_000, 30.0, 10).is_some());
    }

    #[test]
    fn the_rolling_window_forgets_old_values() {
        let mut r = Rolling::new(Duration::from_secs(10));
        for i in 0..10 {
            r.score(i * 1000, 100.0, 1);
        }
        // A new level held longer than the window is the baseline.
        for i in 10..30 {
            r.score(i * 1000, 10.0, 1);
        }
        let s = r.score(30_000, 10.0, 1).unwrap_or(f64::MAX);
        assert!(s < 1.0, "{s}");
    }
}

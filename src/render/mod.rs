//! Resource definitions from tera templates: `templates/<provider>/<kind>.tera`, rendered to
//! YAML and parsed into a JSON value (what the provider receives and what the plan diffs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tera::{Context, Tera};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read templates in {}", dir.display())]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", template.display())]
    Template {
        template: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("no template {} for the `{kind}` resources of provider `{provider}`", path.display())]
    Missing {
        path: PathBuf,
        provider: String,
        kind: String,
    },
    #[error("{}: the rendered definition is not valid YAML: {message}", template.display())]
    Output { template: PathBuf, message: String },
}

pub struct Renderer {
    tera: Tera,
    root: PathBuf,
    sources: HashMap<String, String>,
}

impl Renderer {
    /// Loads every `templates/<provider>/<kind>.tera` under `dir`.
    pub fn load(dir: &Path) -> Result<Self, RenderError> {
        let io = |source| RenderError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        let mut sources = Vec::new();
        let providers = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Self::from_sources(dir, sources);
            }
            Err(e) => return Err(io(e)),
        };
        for p in providers {
            let p = p.map_err(io)?.path();
            if !p.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&p).map_err(io)? {
                let f = f.map_err(io)?.path();
                if f.extension().and_then(|e| e.to_str()) != Some("tera") {
                    continue;
                }
                let name = f
                    .strip_prefix(dir)
                    .unwrap_or(&f)
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&f).map_err(io)?;
                sources.push((name, text));
            }
        }
        Self::from_sources(dir, sources)
    }

    /// Builds a renderer from (`provider/kind.tera`, source) pairs; `root` is used in messages.
    pub fn from_sources(
        root: &Path,
        templates: Vec<(String, String)>,
    ) -> Result<Self, RenderError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![]);
        let mut sources = HashMap::new();
        for (name, text) in templates {
            if let Err(e) = tera.add_raw_template(&name, &text) {
                let (line, column) = parse_position(&e).unwrap_or((1, 1));
                return Err(RenderError::Template {
                    template: root.join(&name),
                    line,
                    column,
                    message: first_line_of_chain(&e),
                });
            }
            sources.insert(name, text);
        }
        Ok(Self {
            tera,
            root: root.to_path_buf(),
            sources,
        })
    }

    pub fn template_name(provider: &str, kind: &str) -> String {
        format!("{provider}/{kind}.tera")
    }

    pub fn has(&self, provider: &str, kind: &str) -> bool {
        self.sources
            .contains_key(&Self::template_name(provider, kind))
    }

    pub fn render(&self, provider: &str, kind: &str, ctx: &Context) -> Result<Value, RenderError> {
        let name = Self::template_name(provider, kind);
        let path = self.root.join(&name);
        let Some(source) = self.sources.get(&name) else {
            return Err(RenderError::Missing {
                path,
                provider: provider.into(),
                kind: kind.into(),
            });
        };
        let text = self.tera.render(&name, ctx).map_err(|e| {
            let message = first_line_of_chain(&e);
            let line = locate(source, &message).unwrap_or(1);
            RenderError::Template {
                template: path.clone(),
                line,
                column: 1,
                message,
            }
        })?;
        serde_saphyr::from_str::<Value>(&text).map_err(|e| RenderError::Output {
            template: path,
            message: e.to_string().lines().next().unwrap_or_default().to_string(),
        })
    }
}

/// The innermost cause, which is where tera puts what went wrong.
fn first_line_of_chain(e: &tera::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let msg = cur.to_string();
    // Parse errors carry a pest report; its last line says what was expected.
    let lines: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [] => e.to_string(),
        [one] => one.to_string(),
        many => many
            .last()
            .map(|l| l.trim_start_matches("= ").to_string())
            .unwrap_or_default(),
    }
}

/// A tera parse error's `--> line:col`.
fn parse_position(e: &tera::Error) -> Option<(usize, usize)> {
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if let Some(i) = text.find("--> ") {
            let rest = &text[i + 4..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                .unwrap_or(rest.len());
            let mut it = rest[..end].split(':');
            if let (Some(l), Some(c)) = (it.next(), it.next()) {
                return Some((l.parse().ok()?, c.parse().ok()?));
            }
        }
        cur = err.source();
    }
    None
}

/// Tera's render errors name the expression (in backticks) but not the line: find it.
fn locate(source: &str, message: &str) -> Option<usize> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let needle = &message[start..start + len];
    source
        .lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer(src: &str) -> Result<Renderer, RenderError> {
        Renderer::from_sources(
            Path::new("templates"),
            vec![("sim/encoder.tera".into(), src.into())],
        )
    }

    #[test]
    fn renders_yaml_into_values() {
        let r = renderer("name: {{ resource.name }}\nbitrate: {{ n }}\n").unwrap();
        let mut ctx = Context::new();
        ctx.insert("resource", &serde_json::json!({"name": "enc"}));
        ctx.insert("n", &3000);
        let v = r.render("sim", "encoder", &ctx).unwrap();
        assert_eq!(v, serde_json::json!({"name": "enc", "bitrate": 3000}));
    }

    #[test]
    fn unknown_variable_names_template_and_line() {
        let r = renderer("a: 1\nb: {{ event.idd }}\n").unwrap();
        let mut ctx = Context::new();
        ctx.insert("event", &serde_json::json!({"id": "x"}));
        let e = r.render("sim", "encoder", &ctx).unwrap_err().to_string();
        assert!(e.starts_with("templates/sim/encoder.tera:2:1: "), "{e}");
        assert!(e.contains("event.idd"), "{e}");
    }

    #[test]
    fn syntax_error_names_template_line_and_column() {
        let e = renderer("a: 1\nb: {{ event.id + }}\nc: 2\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("templates/sim/encoder.tera:2:"), "{e}");
    }

    #[test]
    fn missing_template_is_named() {
        let r = renderer("a: 1").unwrap();
        let e = r
            .render("sim", "cdn", &Context::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("templates/sim/cdn.tera"), "{e}");
    }
}
